"""Reverse-mode autodiff as an IR -> IR transformation of hl.

`emit_vjp` walks the ops between the values differentiated with respect to and
the outputs in reverse, asks each op for its gradient rule (`op.vjp`) and
accumulates cotangents. The rules emit ordinary hl ops, so the backward
program is plain hl that the same passes simplify, fuse and lower. This module
never names a specific op.

`AutodiffPass` (`lamina-opt -p autodiff`) applies it to every `func.func`
carrying the unit attribute `autodiff`: `@f(x...) -> (y...)` gains a sibling
`@f_vjp(x..., dy...) -> (y..., dx...)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects.hl.base import HlOp, fmt_types
from lamina.errors import GradientError, with_location
from lamina.frontend import graph as graphs
from lamina.frontend.tensor import Tensor


def _forward_reachable(block: Block, wrt: Sequence[SSAValue]) -> set[SSAValue]:
    live = set(wrt)
    for op in block.ops:
        if any(v in live for v in op.operands):
            live.update(op.results)
    return live


def _backward_reachable(block: Block, outputs: Sequence[SSAValue]) -> set[Operation]:
    needed_values = set(outputs)
    ops: set[Operation] = set()
    for op in reversed(list(block.ops)):
        if any(r in needed_values for r in op.results):
            ops.add(op)
            needed_values.update(op.operands)
    return ops


def _is_float(value: SSAValue) -> bool:
    from lamina.dialects.hl.base import dtype_of

    return dtype_of(value.type).is_floating_point


def emit_vjp(graph: graphs.Graph, outputs: Sequence[SSAValue], cotangents: Sequence[Tensor],
             wrt: Sequence[SSAValue]) -> list[Tensor | None]:
    """Append to `graph` the ops computing d(outputs . cotangents)/d(wrt).

    Returns one cotangent per `wrt` value (None where no gradient reaches it).
    `graph` must be the active graph (rules emit through the frontend)."""
    from lamina.frontend import ops as F

    block = graph.block
    body = [op for op in block.ops if not isinstance(op, func.ReturnOp)]
    reach = _forward_reachable(block, wrt)
    on_path = _backward_reachable(block, outputs)
    adjoint: dict[SSAValue, Tensor] = {}

    def accumulate(value: SSAValue, ct: Tensor | None) -> None:
        if ct is None or value not in reach or not _is_float(value):
            return  # integer and bool values carry no gradient (as in torch and JAX)
        if ct.shape != tuple(value.type.get_shape()):
            raise GradientError(with_location(
                f"gradient rule produced a cotangent of shape {ct.shape} for a value of "
                f"type {value.type}", graph.locations.get(value.owner)))
        adjoint[value] = F.add(adjoint[value], ct) if value in adjoint else ct

    def wrap(v: SSAValue) -> Tensor:
        return Tensor._from_value(v, graph, needs_grad=True)

    for out, ct in zip(outputs, cotangents, strict=True):
        accumulate(out, ct)
    custom_done: set[int] = set()
    for op in reversed(body):
        if op not in on_path or not any(r in adjoint for r in op.results):
            continue
        if not any(v in reach for v in op.operands):
            continue  # the op that made a wrt value (or a constant): nothing to propagate to
        rule = next((graph.custom_rules[r] for r in op.results if r in graph.custom_rules), None)
        if rule is not None:
            if id(rule) not in custom_done:
                custom_done.add(id(rule))
                _apply_custom_rule(rule, adjoint, accumulate, wrap)
            continue
        if not isinstance(op, HlOp):
            raise GradientError(f"cannot differentiate through '{op.name}'")
        if not op.DIFFERENTIABLE:
            continue
        ct = adjoint.pop(op.results[0])
        primals = [wrap(v) for v in op.operands]
        try:
            cts = op.vjp(ct, wrap(op.results[0]), *primals)
        except GradientError as err:
            raise GradientError(with_location(
                f"{err} (operand types: {fmt_types([v.type for v in op.operands])})",
                graph.locations.get(op))) from None
        for v, c in zip(op.operands, cts, strict=True):
            accumulate(v, c)
    return [adjoint.get(v) for v in wrt]


def _apply_custom_rule(rule: graphs.CustomRule, adjoint, accumulate, wrap) -> None:
    from lamina.frontend import ops as F

    cts = [adjoint.pop(v) if v in adjoint else F.zeros_like(wrap(v)) for v in rule.outputs]
    grads = rule.backward(rule.residuals, cts[0] if len(cts) == 1 else tuple(cts))
    grads = grads if isinstance(grads, tuple | list) else (grads,)
    if len(grads) != len(rule.inputs):
        raise GradientError(with_location(
            f"custom_vjp backward returned {len(grads)} cotangents for {len(rule.inputs)} "
            "inputs"))
    for v, g in zip(rule.inputs, grads, strict=True):
        accumulate(v, None if g is None else F.as_tensor(g, like=wrap(v)))


@dataclass(frozen=True)
class AutodiffPass(ModulePass):
    """hl -> hl. For every `func.func @f` with the unit attribute `autodiff`, add
    `@f_vjp(primals..., output cotangents...) -> (outputs..., input cotangents...)`.
    Input cotangents of non-float inputs, and inputs no gradient reaches, are zeros."""

    name = "autodiff"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in list(op.ops):
            if isinstance(fn, func.FuncOp) and "autodiff" in fn.attributes:
                op.body.block.add_op(vjp_function(fn))


def vjp_function(fn: func.FuncOp) -> func.FuncOp:
    from lamina.frontend import ops as F

    clone = fn.clone()
    block = clone.body.block
    ret = block.last_op
    assert isinstance(ret, func.ReturnOp)
    outputs = list(ret.operands)
    ret.detach()
    ret.erase()
    graph = graphs.Graph("pass", block=block, captured=[None] * len(block.args))
    with graphs.push(graph):
        cts = [graph.add_input(v.type, f"d{i}") for i, v in enumerate(outputs)]
        wrt = list(block.args[: len(fn.body.block.args)])
        grads = emit_vjp(graph, outputs, [Tensor._from_value(c, graph, True) for c in cts], wrt)
        results = [g._ssa(graph) if g is not None
                   else F.zeros_like(Tensor._from_value(w, graph, False))._ssa(graph)
                   for g, w in zip(grads, wrt, strict=True)]
    block.add_op(func.ReturnOp(*outputs, *results))
    types_in = [a.type for a in block.args]
    types_out = [v.type for v in [*outputs, *results]]
    assert all(isinstance(t, TensorType) for t in types_in)
    new = func.FuncOp(fn.sym_name.data + "_vjp", (types_in, types_out), Region(_take_block(clone)))
    return new


def _take_block(fn: func.FuncOp) -> Block:
    block = fn.body.block
    fn.body.detach_block(block)
    return block
