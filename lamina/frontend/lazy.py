"""Eager tensors, realized on demand.

Outside `lm.jit`, operations are recorded into the eager graph. When a value
is needed (`.numpy()`, `.item()`, printing), the ops it depends on are cut out
into a function, compiled (cached by the structure of that function, so a loop
body compiles once) and run.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.errors import OutOfMemoryError, with_location
from lamina.frontend import graph as graphs
from lamina.frontend.tensor import Lazy, Tensor

__all__ = ["backward_slice", "extract", "realize", "run_slice", "structural_key", "sweep"]


def backward_slice(outputs: Sequence[SSAValue], order: dict[Operation, int] | None = None
                   ) -> tuple[list[Operation], list[SSAValue]]:
    """The ops `outputs` depend on (in block order) and the block arguments they read.
    `order` (an eager graph's `Graph.order`, ops by append number) spares the walk
    over the whole block."""
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
    if order is not None and all(op in order for op in seen):
        ops = sorted(seen, key=order.__getitem__)
    else:
        block = outputs[0].owner if isinstance(outputs[0].owner, Block) else outputs[0].owner.parent
        ops = [op for op in block.ops if op in seen] if block is not None else []
    # arguments in order of first use, not of capture: a tensor captured by an earlier
    # iteration of a loop (a constant, an lr) must not change the slice's structural key
    ordered_args = list(dict.fromkeys(
        [v for op in ops for v in op.operands if v in args] + [v for v in outputs if v in args]))
    return ops, ordered_args


def structural_key(ops: Sequence[Operation], args: Sequence[SSAValue],
                   outputs: Sequence[SSAValue], memo: dict[Operation, int] | None = None
                   ) -> tuple:
    """A hashable key equal for two slices that are the same program: each op as the
    interned id of its signature (name, properties, result types) and its operands'
    numbers. `memo` (an eager graph's `Graph.signatures`) keeps each op's id, so an op
    read by many realizes is hashed once."""
    memo = {} if memo is None else memo
    number: dict[SSAValue, int] = {a: i for i, a in enumerate(args)}
    parts: list[Any] = [_intern(tuple(a.type for a in args))]
    for op in ops:
        sig = memo.get(op)
        if sig is None:
            sig = memo[op] = _intern(
                (op.name, tuple(op.properties.items()), tuple(op.result_types)))
        parts.append(sig)
        parts.append(tuple(number[v] for v in op.operands))
        for r in op.results:
            number[r] = len(number)
    parts.append(tuple(number[v] for v in outputs))
    return tuple(parts)


# signature -> id (never reused: clearing the table only costs recompiles' lookups)
_SIGNATURES: dict[tuple, int] = {}
_NEXT_ID = itertools.count()


def _intern(signature: tuple) -> int:
    found = _SIGNATURES.get(signature)
    if found is None:
        if len(_SIGNATURES) > 1_000_000:
            _SIGNATURES.clear()
        found = _SIGNATURES.setdefault(signature, next(_NEXT_ID))
    return found


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
    from lamina.frontend.compile import cached, compile_module

    ops, args = backward_slice(outputs, graph.order)
    key = ("eager", structural_key(ops, args, outputs, graph.signatures))
    program = cached(key)
    if program is None:
        # warm_start: a new process finds the slice's plan on disk (no pass pipeline)
        program = compile_module(extract(ops, args, outputs), key=key, name="eager",
                                 warm_start=True)
    return program([graph.captured[a.index] for a in args])


def realize(*tensors: Tensor) -> None:
    """Compute the values of lazy tensors (one program per graph for all of them)."""
    pending = [t for t in tensors if isinstance(t.state, Lazy)]
    if not pending:
        return
    by_graph: dict[int, list[Tensor]] = {}
    for t in pending:
        by_graph.setdefault(id(t.state.graph), []).append(t)
    for group in by_graph.values():
        graph = group[0].state.graph
        with graph.lock:  # another thread may be appending to it, or realizing it too
            group = [t for t in group if t._lazy_value(graph) is not None
                     and t._known_array() is None]
            if not group:
                continue
            group = group + _live_intermediates(graph, group)
            outputs = [t.state.value for t in group]
            try:
                results = run_slice(graph, outputs)
            except MemoryError as err:  # numpy's, from a buffer larger than memory
                raise OutOfMemoryError(with_location(
                    f"out of memory computing tensors of shapes "
                    f"{[list(t.shape) for t in group][:4]}: {err}")) from None
            for t, data in zip(group, results, strict=True):
                # later ops read the data; values gradients flow through stay in the graph
                t._set_realized(data)


def _live_intermediates(graph: graphs.Graph, wanted: list[Tensor]) -> list[Tensor]:
    """Other live lazy tensors the requested values depend on, computed by the same
    program: `acc = acc + x; print(acc[0])` in a loop then starts each step from
    `acc`'s data instead of recomputing an ever longer chain from the first step."""
    ops, _ = backward_slice([t.state.value for t in wanted], graph.order)
    position = {r: i for i, r in enumerate(r for op in ops for r in op.results)}
    seen = {id(t) for t in wanted}
    extra = []
    for t in graphs.live_tensors(graph):
        if t._lazy_value(graph) in position and id(t) not in seen and t._known_array() is None:
            seen.add(id(t))
            extra.append(t)
    return sorted(extra, key=lambda t: position[t.state.value])  # block order: a stable program


def sweep(graph: graphs.Graph) -> int:
    """Drop what no live lazy tensor of the eager graph can reach: dead ops and the data
    snapshots only they read; returns the number of ops kept. An eager loop that keeps
    one lazy tensor alive across iterations (so the graph is never replaced) would
    otherwise hold every iteration's ops and arrays until the graph's op cap. Custom
    rules (`lm.custom_vjp`) on live values keep their inputs and residuals."""
    with graph.lock:
        return _sweep(graph)


def _sweep(graph: graphs.Graph) -> int:
    roots = [v for t in graphs.live_tensors(graph) if (v := t._lazy_value(graph)) is not None]
    live_ops: list[Operation] = []
    live_args: list[SSAValue] = []
    while roots:
        live_ops, live_args = backward_slice(roots, graph.order)
        keep = set(live_ops)
        more = [v for v in _rule_values(graph, keep) if v not in roots]
        if not more:
            break
        roots = roots + list(dict.fromkeys(more))
    keep = set(live_ops)
    for op in reversed(list(graph.block.ops)):  # users before their operands
        if op not in keep:
            graph.locations.pop(op, None)
            graph.order.pop(op, None)
            graph.signatures.pop(op, None)
            graph.block.erase_op(op, safe_erase=False)
    for value in [v for v in graph.custom_rules if v.owner not in keep]:
        del graph.custom_rules[value]
    live = set(live_args)
    for key, arg in list(graph.captured_ids.items()):
        if arg not in live:
            del graph.captured_ids[key]
    for arg in graph.block.args:
        if arg not in live and graph.captured[arg.index] is not None:
            graph.forget_arg(arg)
    return len(keep)


def _rule_values(graph: graphs.Graph, keep: set[Operation]) -> list[SSAValue]:
    """Inputs and tensor residuals of the custom rules whose outputs are kept."""
    from lamina.frontend import pytree

    values: list[SSAValue] = []
    for output, rule in graph.custom_rules.items():
        if output.owner in keep:
            values += rule.inputs
            values += [v for t in pytree.flatten(rule.residuals)[0]
                       if isinstance(t, Tensor) and (v := t._lazy_value(graph)) is not None]
    return values
