"""Eager tensors, realized on demand.

Outside `lm.jit`, operations are recorded into the eager graph. When a value
is needed (`.numpy()`, `.item()`, printing), the ops it depends on are cut out
into a function, compiled (cached by the structure of that function, so a loop
body compiles once) and run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.frontend import graph as graphs
from lamina.frontend.tensor import Tensor


def backward_slice(outputs: Sequence[SSAValue]) -> tuple[list[Operation], list[SSAValue]]:
    """The ops `outputs` depend on (in block order) and the block arguments they read."""
    seen: set[Operation] = set()
    args: set[SSAValue] = set()
    stack = [v for v in outputs]
    while stack:
        v = stack.pop()
        owner = v.owner
        if isinstance(owner, Block):
            args.add(v)
            continue
        if owner in seen:
            continue
        seen.add(owner)
        stack.extend(owner.operands)
    block = outputs[0].owner if isinstance(outputs[0].owner, Block) else outputs[0].owner.parent
    ops = [op for op in block.ops if op in seen] if block is not None else []
    # arguments in order of first use, not of capture: a tensor captured by an earlier
    # iteration of a loop (a constant, an lr) must not change the slice's structural key
    ordered_args = list(dict.fromkeys(
        [v for op in ops for v in op.operands if v in args] + [v for v in outputs if v in args]))
    return ops, ordered_args


def structural_key(ops: Sequence[Operation], args: Sequence[SSAValue],
                   outputs: Sequence[SSAValue]) -> tuple:
    """A hashable key equal for two slices that are the same program."""
    number: dict[SSAValue, int] = {a: i for i, a in enumerate(args)}
    parts: list[tuple] = [tuple(a.type for a in args)]
    for op in ops:
        operands = tuple(number[v] for v in op.operands)
        parts.append((op.name, tuple(op.properties.items()), operands, tuple(op.result_types)))
        for r in op.results:
            number[r] = len(number)
    parts.append(tuple(number[v] for v in outputs))
    return tuple(parts)


def extract(ops: Sequence[Operation], args: Sequence[SSAValue], outputs: Sequence[SSAValue],
            name: str = "main") -> ModuleOp:
    """A module holding `func.func @name(args) -> outputs` with clones of `ops`."""
    block = Block(arg_types=[a.type for a in args])
    mapping: dict[SSAValue, SSAValue] = dict(zip(args, block.args, strict=True))
    for op in ops:
        clone = op.clone(value_mapper=mapping)
        block.add_op(clone)
        mapping.update(zip(op.results, clone.results, strict=True))
    block.add_op(func.ReturnOp(*(mapping[v] for v in outputs)))
    fn = func.FuncOp(name, ([a.type for a in args], [v.type for v in outputs]), Region(block))
    return ModuleOp([fn])


def run_slice(graph: graphs.Graph, outputs: Sequence[SSAValue]) -> list[np.ndarray]:
    from lamina.frontend.compile import compile_module

    ops, args = backward_slice(outputs)
    key = ("eager", structural_key(ops, args, outputs))
    from lamina.frontend.compile import _CACHE
    from lamina.runtime import backends

    program = _CACHE.get((key, backends.default_name()))
    if program is None:
        program = compile_module(extract(ops, args, outputs), key=key, name="eager")
    return program([graph.captured[a.index] for a in args])


def realize(*tensors: Tensor) -> None:
    """Compute the values of lazy tensors (one program for all of them)."""
    pending = [t for t in tensors if t._value is not None and t._graph is not None
               and t._graph.kind == "eager"]
    if not pending:
        return
    by_graph: dict[int, list[Tensor]] = {}
    for t in pending:
        by_graph.setdefault(id(t._graph), []).append(t)
    for group in by_graph.values():
        graph = group[0]._graph
        assert graph is not None
        outputs = [t._value for t in group]
        for t, data in zip(group, run_slice(graph, outputs), strict=True):
            t._data = data
            if t._is_leaf or not t._needs_grad:
                # later ops read the data; values gradients flow through stay in the graph
                t._value, t._graph = None, None
