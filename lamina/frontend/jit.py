"""`lm.jit`: trace once per signature, compile, cache, call.

A signature is the pytree structure of the arguments, the shape and dtype of
every array leaf, and the value of every other leaf (Python scalars and strings
are static). Tensors the function reads from its closure (module parameters,
optimizer state) become extra inputs; tensors it updates in place and `.grad`
fields it sets become extra outputs, written back after every call. Guards on
those captured tensors (shape, dtype, whether `.grad` was None) trigger a
retrace when they no longer hold, as Dynamo's guards do.

Donation: the traced function says which output is the new value of which captured
input (`lamina.donate`); where the C backend finds that safe it writes the output
into the input's own array (`lamina/passes/donate_buffers.py`), so a training step
updates parameters and optimizer state in place: no new parameter-sized arrays per
step, and arrays or views a user holds (`p.numpy()`) see the update, as in torch.
Other backends allocate fresh outputs (same values). `LAMINA_DONATE=0` turns it off.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, TensorType, i64

from lamina import dtypes, knobs
from lamina.errors import ArgumentError, LaminaError, with_location
from lamina.frontend import graph as graphs
from lamina.frontend import pytree
from lamina.frontend.tensor import Tensor
from lamina.runtime import backends

DONATE = "lamina.donate"  # see lamina/passes/donate_buffers.py (not imported: no xDSL passes here)


def _is_array(x: Any) -> bool:
    return isinstance(x, Tensor | np.ndarray | np.generic) and not isinstance(x, str)


def _leaf_signature(x: Any) -> tuple:
    if isinstance(x, Tensor):
        # same signature as an ndarray of that shape and dtype: no retrace between the two
        return ("A", x.shape, x.dtype.name) + (("grad",) if x.requires_grad else ())
    if isinstance(x, np.ndarray | np.generic):
        return ("A", tuple(np.shape(x)), dtypes.from_numpy(np.asarray(x).dtype).name)
    if isinstance(x, bool | int | float | str | bytes | type(None)):
        return ("S", type(x).__name__, x)
    try:
        hash(x)
    except TypeError:
        raise ArgumentError(with_location(
            f"lm.jit: cannot pass an argument of type {type(x).__name__} (pass arrays, "
            "tensors, Python scalars, or tuples/lists/dicts of them)")) from None
    return ("S", type(x).__name__, x)


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x._concrete()
    array = np.asarray(x)
    dt = dtypes.from_numpy(array.dtype)
    if array.dtype != dt.np_dtype:
        array = array.astype(dt.np_dtype)
    return array


@dataclass
class _Entry:
    """One compiled signature: how to gather inputs and scatter outputs."""

    program: backends.Program
    module_text: Callable[[], str]
    arg_leaf_indices: list[int]  # flat leaf index for each explicit program input
    captured: list[Tensor]  # closure tensors read by the program, after the explicit ones
    out_def: pytree.TreeDef
    out_plan: list[tuple[str, Any]]  # ("out", j) | ("static", value)
    data_writebacks: list[tuple[Tensor, int]]
    grad_writebacks: list[tuple[Tensor, int | None]]
    guards: list[tuple[Tensor, tuple, bool | None]] = field(default_factory=list)
    # inputs whose arrays the program updates in place (C backend, see donate-buffers)
    donated: list[int] = field(default_factory=list)

    def guards_hold(self) -> bool:
        return all(t.shape == shape and (grad_none is None or (t._grad is None) == grad_none)
                   for t, shape, grad_none in self.guards)


class Jitted:
    """A function compiled on first call for each signature (see module docstring)."""

    def __init__(self, fn: Callable, backend: str | None = None):
        self.fn = fn
        self.backend = backend
        self._cache: dict[tuple, _Entry] = {}
        # calls whose arguments are all plain ndarrays skip flattening and signatures:
        # (backend, (shape, dtype) per argument) -> entry
        self._fast: dict[tuple, _Entry] = {}
        functools.update_wrapper(self, fn)

    # ------------------------------------------------------------ calling

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if graphs.tracing():  # inside another trace: inline
            return self.fn(*args, **kwargs)
        backend = self.backend or backends.default_name()
        fast = None if kwargs else _fast_key(backend, args)
        if fast is not None:
            entry = self._fast.get(fast)
            if entry is not None and entry.guards_hold():
                return self._run(entry, args, ready=True)
        leaves, treedef = pytree.flatten((args, kwargs))
        key = (treedef, tuple(_leaf_signature(x) for x in leaves), backend)
        entry = self._cache.get(key)
        if entry is None or not entry.guards_hold():
            entry = self._trace(args, kwargs, leaves, treedef, backend, warm_start=True)
            self._cache[key] = entry
        if fast is not None and entry.arg_leaf_indices == list(range(len(args))) and all(
                a.dtype == dtypes.from_numpy(a.dtype).np_dtype for a in args):
            self._fast[fast] = entry
        return self._run(entry, leaves)

    def _run(self, entry: _Entry, leaves: list[Any] | tuple, ready: bool = False) -> Any:
        """`ready`: the leaves are exactly the program's arrays (the fast path)."""
        inputs = list(leaves) if ready else [_as_array(leaves[i])
                                             for i in entry.arg_leaf_indices]
        inputs += [t._concrete() for t in entry.captured]
        if entry.donated:  # arrays the program overwrites: pending eager ops keep a copy
            graphs.keep_snapshots([inputs[i] for i in entry.donated])
        outputs = entry.program(inputs, donate=True)
        for tensor, j in entry.data_writebacks:
            tensor._data, tensor._value, tensor._graph = outputs[j], None, None
        for tensor, j in entry.grad_writebacks:
            tensor._grad = None if j is None else Tensor(outputs[j])
        results = [Tensor(outputs[v]) if kind == "out" else v for kind, v in entry.out_plan]
        return pytree.unflatten(entry.out_def, results)

    # ------------------------------------------------------------ tracing

    def _trace_module(self, args, kwargs, leaves, treedef):
        _check_arguments(self.fn, args, kwargs)
        graph = graphs.Graph("jit")
        names = _arg_names(self.fn, len(args)) if len(leaves) == len(args) else {}
        arg_leaf_indices: list[int] = []
        traced_leaves: list[Any] = []
        with graphs.push(graph):
            for i, leaf in enumerate(leaves):
                if not _is_array(leaf):
                    traced_leaves.append(leaf)
                    continue
                array = np.asarray(leaf._concrete() if isinstance(leaf, Tensor) else leaf)
                dt = dtypes.from_numpy(array.dtype)
                t_type = TensorType(dt.ir_type, list(array.shape))
                arg = graph.add_input(t_type, names.get(i))
                wants_grad = isinstance(leaf, Tensor) and leaf.requires_grad
                tensor = Tensor._from_value(arg, graph, wants_grad)
                if wants_grad:
                    graph.leaf_owners[arg] = leaf
                    tensor._needs_grad = True
                arg_leaf_indices.append(i)
                traced_leaves.append(tensor)
            call_args, call_kwargs = pytree.unflatten(treedef, traced_leaves)
            result = self.fn(*call_args, **call_kwargs)
            out_leaves, out_def = pytree.flatten(result)
            outputs, out_plan = [], []
            for leaf in out_leaves:
                if isinstance(leaf, Tensor):
                    out_plan.append(("out", len(outputs)))
                    outputs.append(leaf._ssa(graph))
                else:
                    out_plan.append(("static", leaf))
            data_writebacks = []
            donate: dict[int, int] = {}  # output -> the captured input it is the new value of
            for tensor in graph.mutated.values():
                # an input the output may reuse; a tensor only written (`buf.copy_(x)`,
                # `zero_()`) becomes one too, so that it keeps its array as in torch
                arg = graph.captured_ids.get(id(tensor))
                if arg is None and knobs.donate():
                    arg = graph.capture(tensor)
                if arg is not None:
                    donate[len(outputs)] = arg.index
                data_writebacks.append((tensor, len(outputs)))
                outputs.append(tensor._value)
            grad_writebacks = []
            for tensor in graph.grad_touched.values():
                g = tensor._grad
                if g is None:
                    grad_writebacks.append((tensor, None))
                else:
                    grad_writebacks.append((tensor, len(outputs)))
                    outputs.append(g._ssa(graph))
        # the trace is over: captured tensors go back to being concrete
        for tensor in graph.mutated.values():
            tensor._value, tensor._graph = None, None
        for tensor, original in graph.grad_original.values():
            tensor._grad = original
        module = graph.to_module(outputs, name=getattr(self.fn, "__name__", "main")
                                 if str(getattr(self.fn, "__name__", "")).isidentifier()
                                 else "main")
        if donate and knobs.donate():
            fn = module.body.block.first_op
            assert fn is not None
            fn.attributes[DONATE] = DenseArrayBase.from_list(
                i64, [donate.get(j, -1) for j in range(len(outputs))])
        n_explicit = len(arg_leaf_indices)
        captured = graph.captured[n_explicit:]
        # `.grad`'s None-ness is guarded only where the program read it before setting it
        # (a step that starts with zero_grad() does not depend on it)
        guards = [(t, t.shape, (t._grad is None) if id(t) in graph.grad_read else None)
                  for t in captured if isinstance(t, Tensor)]
        plan = dict(arg_leaf_indices=arg_leaf_indices, captured=captured, out_def=out_def,
                    out_plan=out_plan, data_writebacks=data_writebacks,
                    grad_writebacks=grad_writebacks, guards=guards)
        return module, plan

    def _trace(self, args, kwargs, leaves, treedef, backend: str,
               warm_start: bool = False) -> _Entry:
        from lamina.frontend.compile import compile_module

        module, plan = self._trace_module(args, kwargs, leaves, treedef)
        program = compile_module(module, backend, name=module.body.block.first_op.sym_name.data,
                                 warm_start=warm_start)
        donated = sorted(getattr(program.run, "donated", {}).values())
        return _Entry(program=program, module_text=lambda: str(module), donated=donated, **plan)

    # ------------------------------------------------------------ inspection

    def lower(self, *args: Any, backend: str | None = None, **kwargs: Any) -> Lowered:
        """Trace and compile for these arguments without running; see `Lowered`."""
        leaves, treedef = pytree.flatten((args, kwargs))
        entry = self._trace(args, kwargs, leaves, treedef, backend or self.backend
                            or backends.default_name())
        return Lowered(entry.program)

    def trace(self, *args: Any, **kwargs: Any) -> ModuleOp:
        """The traced hl module, before any pass."""
        leaves, treedef = pytree.flatten((args, kwargs))
        module, _ = self._trace_module(args, kwargs, leaves, treedef)
        return module


class Lowered:
    """A compiled program's levels: `.ir("hl" | "loop" | "hw")`, `.source()`, `.compile()`."""

    def __init__(self, program: backends.Program):
        self.program = program

    def ir(self, level: str = "hl") -> str:
        if level not in self.program.levels:
            raise LaminaError(f"backend {self.program.backend!r} has no level {level!r}; "
                              f"it has {sorted(self.program.levels)}")
        return self.program.levels[level]

    def source(self) -> str:
        if self.program.source is None:
            raise LaminaError(f"backend {self.program.backend!r} generates no source")
        return self.program.source

    @property
    def kernel_count(self) -> int:
        return self.program.kernel_count

    def compile(self) -> Callable[..., list[np.ndarray]]:
        return lambda *arrays: self.program([_as_array(a) for a in arrays])


def _fast_key(backend: str, args: tuple) -> tuple | None:
    """The cache key of a call whose arguments are all plain ndarrays, else None."""
    key: list = [backend]
    for a in args:
        if type(a) is not np.ndarray:
            return None
        key.append((a.shape, a.dtype))
    return tuple(key)


def _check_arguments(fn: Callable, args: tuple, kwargs: dict) -> None:
    """A call that does not fit the function's signature fails here, naming the function,
    what it was given and the caller's line (not deep inside the trace)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as err:
        given = ", ".join([_describe(a) for a in args]
                          + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        name = getattr(fn, "__name__", "function")
        raise ArgumentError(with_location(
            f"lm.jit({name}): {err} (signature {name}{signature}; called with ({given}))"
        )) from None


def _describe(x: Any) -> str:
    if isinstance(x, Tensor):
        return f"Tensor{list(x.shape)} {x.dtype.name}"
    if isinstance(x, np.ndarray):
        return f"ndarray{list(x.shape)} {x.dtype}"
    return type(x).__name__


def _arg_names(fn: Callable, n: int) -> dict[int, str]:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}
    return {i: params[i] for i in range(min(n, len(params)))}


def jit(fn: Callable | None = None, *, backend: str | None = None) -> Any:
    """`@lm.jit`, `lm.jit(fn)`, `lm.jit(fn, backend=...)`, `@lm.jit(backend=...)`."""
    if fn is None:
        return lambda f: Jitted(f, backend)
    if isinstance(fn, Jitted):
        return fn if backend in (None, fn.backend) else Jitted(fn.fn, backend)
    return Jitted(fn, backend)
