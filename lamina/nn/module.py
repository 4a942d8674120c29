"""`nn.Module` and `nn.Parameter`, with PyTorch's registration rules and key names.

Parameters are concrete `lm.Tensor`s with `requires_grad=True`. A module does
nothing special under `lm.jit`: when a jitted function calls it, each parameter
it reads is captured as a program input, and in-place updates (an optimizer
step) become outputs written back after each call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, ShapeError, like, with_location
from lamina.frontend import guards
from lamina.frontend import ops as O
from lamina.frontend.handles import RemovableHandle
from lamina.frontend.tensor import Tensor

__all__ = ["Module", "Parameter"]


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict` returns, as torch's `_IncompatibleKeys`."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Parameter(Tensor):
    """A tensor that is a module's learnable weight (requires grad unless told not to)."""

    def __init__(self, data: Any = None, requires_grad: bool = True):
        if data is None:
            data = np.zeros((0,), np.float32)
        if isinstance(data, Tensor):
            data = np.array(data.numpy(), copy=True)
        self._init_value(data, None, requires_grad)  # keeps the data's dtype, as torch

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


def _set_data(tensor: Tensor, array: Any, name: str) -> None:
    """Overwrite a concrete tensor's data in place (load_state_dict, .to(dtype))."""
    array = np.asarray(array)
    if tuple(array.shape) != tensor.shape:
        raise ShapeError(with_location(
            f"load_state_dict: {name!r} has shape {list(array.shape)} in the state dict but "
            f"{list(tensor.shape)} in the module"))
    tensor._set_array(np.array(array, dtype=tensor.dtype.np_dtype, copy=True))


class Module:
    """Base of every layer: parameters, buffers and submodules registered on assignment."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("call super().__init__() before assigning to a Module")
        guards.changed()  # a jitted function that read this module is checked again
        if isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)  # (a parametrized tensor's setter)
            return
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif isinstance(value, Tensor) and name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        guards.changed()
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        if tensor is not None and not isinstance(tensor, Tensor):  # torch: TypeError
            raise ArgumentError(with_location(
                f"register_buffer: cannot register a {type(tensor).__name__} as buffer "
                f"{name!r} (a Tensor or None)"))
        if "_buffer_names" not in self.__dict__:
            object.__setattr__(self, "_buffer_names", set())
            object.__setattr__(self, "_non_persistent", set())
        self._buffer_names.add(name)
        if not persistent:
            self._non_persistent.add(name)
        if tensor is None:
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, tensor if isinstance(tensor, Tensor) else Tensor._wrap(tensor))

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):  # torch: TypeError
            raise ArgumentError(with_location(
                f"add_module: {type(module).__name__} is not a Module subclass"))
        if not isinstance(name, str) or "." in name or not name:  # torch: KeyError/TypeError
            raise like(ArgumentError, KeyError)(with_location(
                f"add_module: module name must be a non-empty str without '.', got {name!r}"))
        guards.changed()
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------ traversal

    def named_modules(self, memo: set | None = None, prefix: str = "") -> Iterator[tuple[str, Module]]:
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self) -> Iterator[Module]:
        return (m for _, m in self.named_children())

    def _named(self, table: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, t in getattr(module, table).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        return self._named("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        return (b for _, b in self.named_buffers(recurse=recurse))

    # ------------------------------------------------------------ state

    def _state_entries(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(key, tensor) for every parameter and persistent buffer, as torch's
        `state_dict` walks the module tree: every path to a tensor is a key, so a tied
        weight (`lm_head.weight = wte.weight`) or a module registered twice appears
        under each of its names."""
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        skip = self.__dict__.get("_non_persistent", ())
        for name, b in self._buffers.items():
            if b is not None and name not in skip:
                yield prefix + name, b
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_entries(f"{prefix}{name}.")

    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers under torch's keys (a tied weight under each
        of its names, as torch): tensors without gradient history holding a copy of the
        data (torch's share it: mutate the module, not its state_dict), or the
        parameters themselves with `keep_vars=True`."""
        if args:  # torch's deprecated positional (destination, prefix, keep_vars)
            destination, prefix, keep_vars = (*args, *(None, "", False)[len(args):])[:3]
        out = destination if destination is not None else OrderedDict()
        for key, t in self._state_entries(prefix):
            out[key] = t if keep_vars else Tensor._wrap(np.array(t.numpy(), copy=True))
        return out

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays (numpy, lm.Tensor, or anything np.asarray takes, such as torch
        CPU tensors) into the parameters and buffers; returns (missing, unexpected).
        As torch, every key `state_dict()` lists is expected, so a tied weight is
        loaded from each of its keys (the last one wins)."""
        own = dict(self._state_entries())
        given = {k: v for k, v in state_dict.items()}
        missing = [k for k in own if k not in given]
        unexpected = [k for k in given if k not in own]
        if strict and (missing or unexpected):
            raise ArgumentError(with_location(
                f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}"))
        for key, value in given.items():
            if key in own:
                if hasattr(value, "detach") and not isinstance(value, Tensor):
                    value = value.detach().cpu().numpy()  # a torch tensor
                _set_data(own[key], value, key)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ modes and conversions

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        guards.changed()  # dropout, batch norm: a jitted forward is traced again
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = p.grad * 0

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """`.to(dtype)` / `.to(device, dtype)` / `.to(tensor)`: converts floating-point
        parameters and buffers; devices are accepted and ignored (see `lm.cuda`)."""
        dtype = kwargs.get("dtype")
        device = kwargs.get("device")
        if device is not None and not O.is_device(device):
            raise like(ArgumentError, RuntimeError)(with_location(
                f"Module.to: {device!r:.40} is not a device"))
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif not O.is_device(a) and not isinstance(a, bool):  # (non_blocking)
                dtype = a
        if isinstance(dtype, str) and O.is_device(dtype):
            dtype = None
        if dtype is None:
            return self
        dt = dtypes.as_dtype(dtype)
        for t in list(self.parameters()) + list(self.buffers()):
            if t.dtype.is_floating_point:
                t._set_array(t.numpy().astype(dt.np_dtype), dtype=dt)
        return self

    def cuda(self, device: Any = None) -> Module:
        return self

    def cpu(self) -> Module:
        return self

    def float(self) -> Module:
        return self.to(dtypes.float32)

    def double(self) -> Module:
        return self.to(dtypes.float64)

    def half(self) -> Module:
        return self.to(dtypes.float16)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ calling

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hooks = self.__dict__.get("_hooks")
        if not hooks:
            return self.forward(*args, **kwargs)
        for hook, with_kwargs in list(hooks["pre"].values()):
            if with_kwargs:
                changed = hook(self, args, kwargs)
                if changed is not None:
                    args, kwargs = changed
            else:
                changed = hook(self, args)
                if changed is not None:
                    args = changed if isinstance(changed, tuple) else (changed,)
        watch = (hooks.get("backward") or hooks.get("backward_pre")) and O.is_grad_enabled()
        if watch:
            args, grads = self._watch_inputs(args)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(hooks["post"].values()):
            changed = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if changed is not None:
                output = changed
        if watch:
            output = self._watch_outputs(output, grads)
        return output

    # ------------------------------------------------------------ backward hooks

    def _watch_inputs(self, args: tuple) -> tuple[tuple, dict]:
        """Copies of the tensor arguments gradients flow through, whose gradients (the
        module's grad_input) reach the full backward hooks."""
        from lamina.frontend.autograd import on_gradients

        grads: dict[str, Any] = {"output": None, "n_inputs": 0}
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        watched = [i for i in positions if args[i].needs_grad]
        grads["n_inputs"] = len(positions)
        if not watched:
            return args, grads

        shapes = {i: (args[i].shape, args[i].dtype) for i in positions}

        def arrived(cts: tuple) -> Any:
            # (torch hands zeros for a tensor input no gradient flows to)
            grad_input = [O.zeros(*shapes[i][0], dtype=shapes[i][1]) for i in positions]
            for i, ct in zip(watched, cts, strict=True):
                grad_input[positions.index(i)] = ct
            grad_input = self._call_backward_hooks(tuple(grad_input), grads["output"])
            return [grad_input[positions.index(i)] for i in watched]

        copies = on_gradients([args[i] for i in watched], arrived)
        args = list(args)
        for i, c in zip(watched, copies, strict=True):
            args[i] = c
        grads["watched"] = True
        return tuple(args), grads

    def _watch_outputs(self, output: Any, grads: dict) -> Any:
        from lamina.frontend import pytree
        from lamina.frontend.autograd import on_gradients

        leaves, treedef = pytree.flatten(output)
        watched = [i for i, t in enumerate(leaves) if isinstance(t, Tensor) and t.needs_grad]
        if not watched:
            return output

        def arrived(cts: tuple) -> Any:
            grad_output = tuple(cts)
            for hook, _ in list(self._hook_table("backward_pre").values()):
                changed = hook(self, grad_output)
                if changed is not None:
                    grad_output = tuple(changed) if isinstance(changed, tuple | list) \
                        else (changed,)
            grads["output"] = grad_output
            if not grads.get("watched"):  # no input needs grad: torch calls the hooks now
                self._call_backward_hooks((None,) * max(grads["n_inputs"], 1), grad_output)
            return list(grad_output)

        copies = on_gradients([leaves[i] for i in watched], arrived)
        for i, c in zip(watched, copies, strict=True):
            leaves[i] = c
        return pytree.unflatten(treedef, leaves)

    def _call_backward_hooks(self, grad_input: tuple, grad_output: Any) -> tuple:
        for hook, _ in list(self._hook_table("backward").values()):
            changed = hook(self, grad_input, grad_output)
            if changed is not None:
                grad_input = tuple(changed) if isinstance(changed, tuple | list) else (changed,)
        return grad_input

    # ------------------------------------------------------------ hooks

    def _hook_table(self, kind: str) -> OrderedDict:
        hooks = self.__dict__.get("_hooks")
        if hooks is None:
            hooks = {"pre": OrderedDict(), "post": OrderedDict()}
            object.__setattr__(self, "_hooks", hooks)
        return hooks.setdefault(kind, OrderedDict())

    def _add_hook(self, kind: str, hook: Callable, prepend: bool,
                  with_kwargs: bool) -> RemovableHandle:
        table = self._hook_table(kind)
        guards.changed()  # a jitted function that called this module traces again
        handle = RemovableHandle(table)
        table[handle.id] = (hook, with_kwargs)
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """`hook(module, args)` before forward; a non-None result replaces the args
        (`hook(module, args, kwargs)` -> `(args, kwargs)` with `with_kwargs=True`)."""
        return self._add_hook("pre", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """`hook(module, args, output)` after forward; a non-None result replaces the
        output."""
        return self._add_hook("post", hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False
                                    ) -> RemovableHandle:
        """`hook(module, grad_input, grad_output)` when the gradients w.r.t. the module's
        tensor inputs are computed; a non-None result replaces grad_input. Eagerly the
        gradients are concrete tensors (the tape is cut around the module); under
        `lm.jit` the hook runs while the backward is traced."""
        return self._add_hook("backward", hook, prepend, False)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False
                                        ) -> RemovableHandle:
        """`hook(module, grad_output)` before the module's gradients are computed; a
        non-None result replaces grad_output."""
        return self._add_hook("backward_pre", hook, prepend, False)

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """torch's deprecated form; lamina gives it the full hook's (correct) gradients."""
        return self.register_full_backward_hook(hook)

    def get_submodule(self, target: str) -> Module:
        module: Module = self
        for part in target.split(".") if target else ():
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}`")
            module = module._modules[part]
        return module

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}`")
        return module._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._buffers:
            raise AttributeError(f"{type(module).__name__} has no buffer `{name}`")
        return module._buffers[name]

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _guard_snapshot(module: Module) -> dict[str, Any]:
    """What a trace may have read from a module tree: every submodule's attributes
    (`training`, `p`, `eps`, ... by value; others by identity) and which parameter,
    buffer and submodule each name holds (`m.weight = nn.Parameter(...)` retraces)."""
    out: dict[str, Any] = {}
    for path, m in module.named_modules():
        prefix = f".{path}" if path else ""
        for name, value in m.__dict__.items():
            if name == "_hooks":  # which hooks are registered, not the dict holding them
                out[f"{prefix}._hooks"] = tuple((kind, tuple(table)) for kind, table in
                                                value.items())
            elif name not in ("_parameters", "_buffers", "_modules"):
                out[f"{prefix}.{name}"] = value if guards.is_scalar(value) else guards.Same(value)
        for table in ("_parameters", "_buffers", "_modules"):
            for name, value in m.__dict__[table].items():
                out[f"{prefix}.{name}"] = guards.Same(value)
    return out


guards.register(Module, _guard_snapshot, parts=Module.modules)
