"""`trace(fn, *args, **kwargs)`: run a Python function once on symbolic tensors and
get the hl program it computes, with the plan that maps a call onto that program.

    t = trace(step, x, y)
    t.module                  # builtin.module { func.func @step(...) }: hl, before any pass
    t.input_arrays(x, y)      # the program's inputs for this call
    result = t.finish(outputs)  # after running it: write-backs done, the result pytree

The arguments are pytrees (nested tuples, lists, dicts); every array leaf (numpy
array, numpy scalar, `lm.Tensor`) becomes an explicit program input, in leaf order;
other leaves (Python scalars, strings) are static. Tensors the function reads from
its closure (module parameters, optimizer state, the RNG state) become extra
inputs after the explicit ones (`captured`). Tensors from outside that it updates
in place, and `.grad` fields it sets, become extra outputs (`data_writebacks`,
`grad_writebacks`); the trace leaves those tensors as they were, and `finish`
writes the program's values into them. `guards` say when the trace stops being
valid (`lamina.frontend.guards`): the Python state it was built from (a module's
`training` flag, a float in a closure, which tensor a global or a module attribute
holds) and the captured tensors' dtypes and `.grad` None-ness.

`lm.jit` compiles and caches traces; `lamina.onnx.export` converts one to ONNX;
tests lower `trace(...).module` through chosen passes.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, TensorType, i64

from lamina import dtypes, knobs
from lamina.errors import ArgumentError, with_location
from lamina.frontend import graph as graphs
from lamina.frontend import pytree
from lamina.frontend.guards import GuardSet
from lamina.frontend.guards import add_captured as add_captured_guard
from lamina.frontend.guards import collect as collect_guards
from lamina.frontend.tensor import Tensor

__all__ = ["DONATE", "Trace", "trace"]

DONATE = "lamina.donate"  # see lamina/passes/donate_buffers.py (not imported: no xDSL passes here)


@dataclass
class Trace:
    """A function traced into one hl program, and how a call maps onto it."""

    module: ModuleOp  # one `func.func`, hl, before any pass
    inputs: list[int]  # for each explicit program input, its flat leaf index in (args, kwargs)
    captured: list[Tensor]  # closure tensors the program reads: the inputs after `inputs`
    out_def: pytree.TreeDef  # the structure of the function's result
    outputs: list[tuple[str, Any]]  # per result leaf: ("out", program output) | ("static", value)
    data_writebacks: list[tuple[Tensor, int]]  # (tensor updated in place, program output)
    grad_writebacks: list[tuple[Tensor, int | None]]  # (tensor, output of its .grad; None: None)
    guards: GuardSet  # what the trace read that a call must find unchanged

    @property
    def func(self) -> func.FuncOp:
        fn = self.module.body.block.first_op
        assert isinstance(fn, func.FuncOp)
        return fn

    @property
    def name(self) -> str:
        return self.func.sym_name.data

    def guards_hold(self) -> bool:
        """Whether what the trace read (Python state, captured tensors) is unchanged."""
        return self.guards.holds()

    def guard_failure(self) -> str | None:
        """Why the trace is no longer valid (the first guard that fails), or None."""
        return self.guards.failure()

    def input_arrays(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        """The program's inputs for a call: the array leaves of the arguments, then the
        captured tensors' current values."""
        leaves, _ = pytree.flatten((args, kwargs))
        return self.leaf_arrays(leaves)

    def leaf_arrays(self, leaves: list[Any]) -> list[np.ndarray]:
        """`input_arrays` from the flattened (args, kwargs)."""
        return [as_array(leaves[i]) for i in self.inputs] + self.captured_arrays()

    def captured_arrays(self) -> list[np.ndarray]:
        return [t._concrete() for t in self.captured]

    def finish(self, outputs: list[np.ndarray]) -> Any:
        """After a run of the program: write the new values of the captured tensors it
        updated and of the `.grad`s it set, and return the function's result."""
        for tensor, j in self.data_writebacks:
            tensor._set_array(outputs[j])
        for tensor, j in self.grad_writebacks:
            tensor._reset_grad(None if j is None else Tensor._wrap(outputs[j]))
        results = [Tensor._wrap(outputs[v]) if kind == "out" else v for kind, v in self.outputs]
        return pytree.unflatten(self.out_def, results)


def trace(fn: Callable, /, *args: Any, **kwargs: Any) -> Trace:
    """Trace `fn(*args, **kwargs)` into an hl program (see the module docstring)."""
    leaves, treedef = pytree.flatten((args, kwargs))
    return trace_flat(fn, args, kwargs, leaves, treedef)


# One trace at a time, across threads: while a function is traced, the tensors it
# updates in place hold traced values (and their `.grad`s the traced ones) until the
# trace ends; a second trace reading them would capture those instead of their data.
_TRACING = threading.RLock()


def trace_flat(fn: Callable, args: tuple, kwargs: dict, leaves: list[Any],
               treedef: pytree.TreeDef, sizes: Any = None) -> Trace:
    """`trace` given the arguments already flattened (`lm.jit` has them). `sizes`: the
    record of a probe trace of a symbolic program (`lamina.frontend.sizes`)."""
    check_arguments(fn, args, kwargs)
    with _TRACING:
        return _trace_flat(fn, args, kwargs, leaves, treedef, sizes)


def _trace_flat(fn: Callable, args: tuple, kwargs: dict, leaves: list[Any],
                treedef: pytree.TreeDef, sizes: Any = None) -> Trace:
    graph = graphs.Graph("jit", sizes=sizes)
    names = _arg_names(fn, len(args)) if len(leaves) == len(args) else {}
    try:
        with graphs.push(graph):
            inputs, traced_leaves = _bind_inputs(graph, leaves, names)
            call_args, call_kwargs = pytree.unflatten(treedef, traced_leaves)
            out_leaves, out_def = pytree.flatten(fn(*call_args, **call_kwargs))
            values, outputs = [], []
            for leaf in out_leaves:
                if isinstance(leaf, Tensor):
                    outputs.append(("out", len(values)))
                    values.append(leaf._ssa(graph))
                else:
                    outputs.append(("static", leaf))
            data_writebacks, donate = _data_writebacks(graph, values)
            grad_writebacks = _grad_writebacks(graph, values)
    finally:
        _restore(graph)
    guards = collect_guards(fn)  # the Python state as the traced function left it
    name = str(getattr(fn, "__name__", ""))
    module = graph.to_module(values, name=name if name.isidentifier() else "main")
    if donate and knobs.donate():
        module.body.block.first_op.attributes[DONATE] = DenseArrayBase.from_list(
            i64, [donate.get(j, -1) for j in range(len(values))])
    captured = graph.captured[len(inputs):]
    # `.grad`'s None-ness is guarded only where the program read it before setting it
    # (a step that starts with zero_grad() does not depend on it)
    for t in reversed(captured):
        if isinstance(t, Tensor):
            add_captured_guard(guards, t, (t.grad is None) if id(t) in graph.grad_read else None)
    return Trace(module=module, inputs=inputs, captured=captured, out_def=out_def,
                 outputs=outputs, data_writebacks=data_writebacks,
                 grad_writebacks=grad_writebacks, guards=guards)


def _restore(graph: graphs.Graph) -> None:
    """The trace is over (or failed): tensors from outside go back to their state before it."""
    for tensor in graph.mutated.values():
        tensor._end_trace()
    for tensor, original in graph.grad_original.values():
        tensor._reset_grad(original)


def _bind_inputs(graph: graphs.Graph, leaves: list[Any],
                 names: dict[int, str]) -> tuple[list[int], list[Any]]:
    """A block argument and a traced tensor for every array leaf; other leaves as is."""
    inputs: list[int] = []
    traced_leaves: list[Any] = []
    for i, leaf in enumerate(leaves):
        if not is_array(leaf):
            traced_leaves.append(leaf)
            continue
        array = np.asarray(leaf._concrete() if isinstance(leaf, Tensor) else leaf)
        dt = dtypes.from_numpy(array.dtype)
        arg = graph.add_input(TensorType(dt.ir_type, list(array.shape)), names.get(i))
        wants_grad = isinstance(leaf, Tensor) and leaf.requires_grad
        if wants_grad:  # backward() inside the function fills the argument's .grad
            graph.leaf_owners[arg] = leaf
        inputs.append(i)
        traced_leaves.append(Tensor._from_value(arg, graph, wants_grad))
    return inputs, traced_leaves


def _data_writebacks(graph: graphs.Graph, values: list) -> tuple[list, dict[int, int]]:
    """Outputs for the outside tensors updated in place, and the donation map (output
    -> the captured input it is the new value of)."""
    writebacks, donate = [], {}
    for tensor in graph.mutated.values():
        # an input the output may reuse; a tensor only written (`buf.copy_(x)`,
        # `zero_()`) becomes one too, so that it keeps its array as in torch
        arg = graph.captured_ids.get(id(tensor))
        if arg is None and knobs.donate():
            arg = graph.capture(tensor)
        if arg is not None:
            donate[len(values)] = arg.index
        writebacks.append((tensor, len(values)))
        values.append(tensor.state.value)
    return writebacks, donate


def _grad_writebacks(graph: graphs.Graph, values: list) -> list:
    """Outputs for the `.grad` fields the function set (None where it set None)."""
    writebacks = []
    for tensor in graph.grad_touched.values():
        g = tensor.grad
        if g is None:
            writebacks.append((tensor, None))
        else:
            writebacks.append((tensor, len(values)))
            values.append(g._ssa(graph))
    return writebacks


def is_array(x: Any) -> bool:
    return isinstance(x, Tensor | np.ndarray | np.generic) and not isinstance(x, str)


def as_array(x: Any) -> np.ndarray:
    """An argument leaf as the array a program takes (lamina's dtype for numpy's)."""
    if isinstance(x, Tensor):
        return x._concrete()
    array = np.asarray(x)
    dt = dtypes.from_numpy(array.dtype)
    if array.dtype != dt.np_dtype:
        array = array.astype(dt.np_dtype)
    return array


def check_arguments(fn: Callable, args: tuple, kwargs: dict) -> None:
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
