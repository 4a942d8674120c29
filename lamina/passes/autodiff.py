"""Reverse-mode autodiff as an IR -> IR transformation of hl.

`emit_vjp` walks the ops between the values differentiated with respect to and
the outputs in reverse, asks each op for its gradient rule (`HlOp.vjp`) and
accumulates cotangents. The rules emit ordinary hl ops through the value-level
builder (`lamina.dialects.hl.builder`), so the backward program is plain hl that
the same passes simplify, fuse and lower. This module never names a specific op,
and knows nothing of the frontend: a user-written rule (`lm.custom_vjp`) reaches it
as a `CustomRule` over SSA values.

`AutodiffPass` (`lamina-opt -p autodiff`) applies it to every `func.func` carrying
the unit attribute `autodiff`: `@f(x...) -> (y...)` gains a sibling
`@f_vjp(x..., dy...) -> (y..., dx...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects.hl.base import HlOp, dtype_of, fmt_types
from lamina.dialects.hl.builder import Builder, Value
from lamina.errors import GradientError, with_location


class CustomRule(Protocol):
    """A gradient given for a group of values instead of their ops' rules."""

    inputs: Sequence[SSAValue]
    outputs: Sequence[SSAValue]

    def backward(self, builder: Builder, cts: list[Value]) -> Sequence[Value | None]:
        """Cotangents of `inputs` given those of `outputs` (zeros where none flowed)."""
        ...


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


def emit_vjp(builder: Builder, outputs: Sequence[SSAValue], cotangents: Sequence[SSAValue],
             wrt: Sequence[SSAValue], custom: Mapping[SSAValue, CustomRule] | None = None,
             locate: Callable[[Operation], str | None] = lambda op: None,
             ) -> list[SSAValue | None]:
    """Emit, through `builder`, the ops computing d(outputs . cotangents)/d(wrt).

    All values live in one block, to whose end the builder appends. Returns one
    cotangent per `wrt` value (None where no gradient reaches it). `locate(op)` names
    the user's source line of an op, for errors."""
    custom = custom or {}
    block = outputs[0].owner.parent_block() if isinstance(outputs[0].owner, Operation) \
        else outputs[0].owner
    assert isinstance(block, Block)
    body = [op for op in block.ops if not isinstance(op, func.ReturnOp)]
    reach = _forward_reachable(block, wrt)
    on_path = _backward_reachable(block, outputs)
    adjoint: dict[SSAValue, Value] = {}
    wanted = set(wrt)  # a wrt value made by an op keeps its cotangent after the op's rule

    def accumulate(value: SSAValue, ct: Value | None) -> None:
        if ct is None or value not in reach or not dtype_of(value.type).is_floating_point:
            return  # integer and bool values carry no gradient (as in torch and JAX)
        if ct.type != value.type:
            owner = value.owner if isinstance(value.owner, Operation) else None
            raise GradientError(with_location(
                f"gradient rule produced a cotangent of type {ct.type} for a value of "
                f"type {value.type}", locate(owner) if owner else None))
        adjoint[value] = adjoint[value] + ct if value in adjoint else ct

    for out, ct in zip(outputs, cotangents, strict=True):
        accumulate(out, builder.wrap(ct))
    done: set[int] = set()  # custom rules already applied (one rule covers many ops)
    for op in reversed(body):
        if op not in on_path or not any(r in adjoint for r in op.results):
            continue
        if not any(v in reach for v in op.operands):
            continue  # the op that made a wrt value (or a constant): nothing to propagate to
        rule = next((custom[r] for r in op.results if r in custom), None)
        if rule is not None:
            if id(rule) not in done:
                done.add(id(rule))
                _apply_custom(builder, rule, adjoint, accumulate)
            continue
        if not isinstance(op, HlOp):
            raise GradientError(with_location(f"cannot differentiate through '{op.name}'",
                                              locate(op)))
        if not op.DIFFERENTIABLE:
            continue
        result = op.results[0]
        ct = adjoint[result] if result in wanted else adjoint.pop(result)
        try:
            cts = op.vjp(ct, builder.wrap(op.results[0]), *map(builder.wrap, op.operands))
        except GradientError as err:
            raise GradientError(with_location(
                f"{err} (operand types: {fmt_types([v.type for v in op.operands])})",
                locate(op))) from None
        for v, c in zip(op.operands, cts, strict=True):
            accumulate(v, c)
    return [adjoint[v].ssa if v in adjoint else None for v in wrt]


def _apply_custom(builder: Builder, rule: CustomRule, adjoint: dict[SSAValue, Value],
                  accumulate: Callable[[SSAValue, Value | None], None]) -> None:
    cts = [adjoint.pop(v) if v in adjoint else builder.wrap(v).zeros_like()
           for v in rule.outputs]
    grads = list(rule.backward(builder, cts))
    if len(grads) != len(rule.inputs):
        raise GradientError(with_location(
            f"custom_vjp backward returned {len(grads)} cotangents for {len(rule.inputs)} "
            "inputs"))
    for v, g in zip(rule.inputs, grads, strict=True):
        accumulate(v, g)


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
    clone = fn.clone()
    block = clone.body.block
    ret = block.last_op
    assert isinstance(ret, func.ReturnOp)
    outputs = list(ret.operands)
    ret.detach()
    ret.erase()
    wrt = list(block.args)
    cts = [block.insert_arg(v.type, len(block.args)) for v in outputs]
    for i, ct in enumerate(cts):
        ct.name_hint = f"d{i}"
    builder = Builder.at_end(block)
    grads = emit_vjp(builder, outputs, cts, wrt)
    results = [g if g is not None else builder.wrap(w).zeros_like().ssa
               for g, w in zip(grads, wrt, strict=True)]
    block.add_op(func.ReturnOp(*outputs, *results))
    clone.body.detach_block(block)
    return func.FuncOp(fn.sym_name.data + "_vjp",
                       ([a.type for a in block.args], [v.type for v in [*outputs, *results]]),
                       Region(block))
