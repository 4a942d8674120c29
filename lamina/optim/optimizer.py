"""`Optimizer`: parameter groups, per-parameter state tensors, `step()` and `zero_grad()`.

The state (momentum buffers, Adam moments, the step count) lives in concrete
tensors created when the optimizer is built, and every update is an in-place
tensor op under `no_grad`. That one design serves both ways of training:

- inside `lm.jit`, the parameters and state tensors are captured as program
  inputs and their in-place updates become outputs written back after each
  call, so forward + backward + step compile to one program. The step count is
  a tensor for this reason: a Python int would be baked into the trace. On the
  C backend those outputs are donated: written into the tensors' own arrays
  (`lamina/passes/donate_buffers.py`; every parameter, momentum buffer and Adam
  moment of torch's optimizers qualifies, the 0-d step counters do not).
- outside jit (eager), the updates are recorded lazily and `step()` realizes
  all of them at once: one compiled program per step, cached by its structure.
  That program does not donate: in the usual loop `loss` is still lazy at
  `step()` (`print(loss.item())` after it recomputes the forward from the
  parameters' old arrays, measured), and values kept for autograd read them too,
  so an in-place update would first have to copy each of them.

The learning rate is a tensor too (see `ParamGroup`), so a schedule that
assigns `group["lr"]` works with a jitted step. The other hyperparameters
(betas, momentum, ...) are read at trace time and become program constants: they
are guarded (`lamina.frontend.guards`), so changing one retraces a jitted step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from lamina.errors import ArgumentError, with_location
from lamina.frontend import graph as graphs
from lamina.frontend import guards
from lamina.frontend import ops as O
from lamina.frontend.lazy import realize
from lamina.frontend.tensor import Tensor

__all__ = ["Optimizer", "ParamGroup", "step_counter", "zeros_like"]


class ParamGroup(dict):
    """A parameter group (a dict, as in torch). Its learning rate is mirrored in a
    concrete 0-d tensor that a jitted step captures as an input, so assigning
    `group["lr"]` (a schedule) takes effect at the next call without a retrace."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lr_tensor = Tensor._wrap(np.array(float(self.get("lr", 0.0)), np.float64))

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if key == "lr":
            self.lr_tensor._set_array(np.array(float(value), np.float64))
        else:
            guards.changed()  # a constant of a jitted step

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def lr(self, dtype: Any) -> Tensor:
        """The learning rate as a tensor of the parameters' dtype (read when tracing)."""
        return self.lr_tensor.to(dtype)


class Optimizer:
    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.param_groups: list[ParamGroup] = []
        self.state: dict[Tensor, dict[str, Tensor]] = {}
        groups = list(params)
        if not groups:
            raise ArgumentError(with_location(
                f"{type(self).__name__}: got an empty parameter list"))
        for group in (groups if isinstance(groups[0], dict) else [{"params": groups}]):
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        group = ParamGroup({**self.defaults, **group})
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.is_leaf or not p.dtype.is_floating_point:
                raise ArgumentError(with_location(
                    f"{type(self).__name__} can only optimize floating-point leaf tensors, "
                    f"got {type(p).__name__}"))
            self.state[p] = self._init_state(p, group)
        self.param_groups.append(group)
        guards.changed()

    # ------------------------------------------------------------ what each optimizer defines

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Tensor]:
        return {}

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: dict[str, Any]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ public API

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with O.enable_grad():
                loss = closure()
        touched: list[Tensor] = []
        with O.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    self._update(p, p.grad, state, group)
                    touched += [p, *state.values()]
        if not graphs.tracing():
            realize(*touched)  # eager: the whole update is one compiled program
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = O.zeros_like(p)

    def state_dict(self) -> dict[str, Any]:
        """torch's layout: {"state": {index: {name: array}}, "param_groups": [...]}."""
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        state = {index[id(p)]: {k: np.array(t.numpy(), copy=True) for k, t in s.items()}
                 for p, s in self.state.items()}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Copy the arrays into the existing state tensors (a jitted step that captured
        them keeps working) and take the groups' hyperparameters."""
        params = [p for g in self.param_groups for p in g["params"]]
        for i, entries in state_dict["state"].items():
            own = self.state[params[int(i)]]
            for name, value in entries.items():
                if name in own:
                    t = own[name]
                    t._set_array(np.array(np.asarray(value), dtype=t.dtype.np_dtype)
                                 .reshape(t.shape))
        for group, saved in zip(self.param_groups, state_dict["param_groups"], strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _guard_snapshot(opt: Optimizer) -> dict[str, Any]:
    """What a jitted step reads from the optimizer's Python state: each group's
    hyperparameters (its `lr` is an input, not a constant) and parameters."""
    out: dict[str, Any] = {".param_groups": len(opt.param_groups)}
    for i, group in enumerate(opt.param_groups):
        for key, value in group.items():
            if key == "params":
                value = tuple(guards.Same(p) for p in value)
            elif key == "lr":
                continue
            elif not guards.is_scalar(value):
                value = guards.Same(value)
            out[f".param_groups[{i}][{key!r}]"] = value
    return out


guards.register(Optimizer, _guard_snapshot)


def zeros_like(p: Tensor) -> Tensor:
    """A concrete state tensor (a captured input under jit, never a traced constant)."""
    return Tensor._wrap(np.zeros(p.shape, p.dtype.np_dtype))


def step_counter() -> Tensor:
    return Tensor._wrap(np.zeros((), np.float32))  # torch keeps `step` as a float32 tensor too
