"""Producers: hl ops lowered as a whole onto buffers instead of element by element.

`hl.matmul` becomes `loop.matmul`. Its operands must be in memory, but a
reshape of a buffer is the same buffer, a transpose of the last two dims is the
`transpose_a/b` flag, and a batch broadcast of a matrix is a shared operand --
so `x.T @ g` in a backward pass reads `x` where it lies.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from xdsl.ir import SSAValue

from lamina.dialects import loop
from lamina.dialects.hl import contract
from lamina.dialects.hl import shape as sh
from lamina.passes.lower_hl_to_loop.kernel import shape

IsBuffer = Callable[[SSAValue], bool]


def _strip_reshapes(v: SSAValue, is_buffer: IsBuffer) -> SSAValue:
    while not is_buffer(v) and isinstance(v.owner, sh.ReshapeOp):
        v = v.owner.operands[0]
    return v


def _swaps_last_two(perm: tuple[int, ...]) -> bool:
    n = len(perm)
    return n >= 2 and perm == (*range(n - 2), n - 1, n - 2)


def matrix_operand(v: SSAValue, is_buffer: IsBuffer) -> tuple[SSAValue, bool, bool] | None:
    """(value in memory, transposed, shared by all batches) holding the data of the
    matrix stack `v` ([..., rows, cols]), or None if `v` must be materialized."""
    if is_buffer(v):
        return v, False, False
    op = v.owner
    if isinstance(op, sh.ReshapeOp):
        src = op.operands[0]
        found = matrix_operand(src, is_buffer) if len(shape(src)) >= 2 else \
            ((src, False, False) if is_buffer(src) else None)
        if found is None:
            return None
        if not found[1] and not found[2]:
            return found  # plain row-major data: any reshape is the same buffer
        regroups_batch = shape(src)[-2:] == shape(v)[-2:]
        return found if regroups_batch else None
    if isinstance(op, sh.TransposeOp) and _swaps_last_two(op.prop("perm")):
        found = matrix_operand(op.operands[0], is_buffer)
        return None if found is None else (found[0], not found[1], found[2])
    if isinstance(op, sh.BroadcastInDimOp) and _batch_broadcast(op):
        found = matrix_operand(op.operands[0], is_buffer)
        if found is not None and not found[2]:
            return found[0], found[1], True
    return None


def to_materialize(v: SSAValue, is_buffer: IsBuffer) -> SSAValue:
    """What to put in memory so that `matrix_operand(v)` succeeds: the source of a
    transpose of the last two dims rather than the transpose (read with the flag), the
    matrix under a batch broadcast rather than its copies."""
    op = v.owner
    if isinstance(op, sh.TransposeOp) and _swaps_last_two(op.prop("perm")):
        return to_materialize(op.operands[0], is_buffer)
    if isinstance(op, sh.BroadcastInDimOp) and _batch_broadcast(op):
        return to_materialize(op.operands[0], is_buffer)
    if isinstance(op, sh.ReshapeOp) and not is_buffer(op.operands[0]) \
            and not _is_flag(op.operands[0]):
        # the same data in its own shape: a kernel over im2col's [N, C, KH, KW, OH, OW]
        # indexes affinely; over the merged [N, C*KH*KW, OH*OW] it divides by OW
        return to_materialize(op.operands[0], is_buffer)
    return v


def _is_flag(v: SSAValue) -> bool:
    """A transpose or broadcast that `matrix_operand` reads as a flag of its source."""
    op = v.owner
    return (isinstance(op, sh.TransposeOp) and _swaps_last_two(op.prop("perm"))) or \
        (isinstance(op, sh.BroadcastInDimOp) and _batch_broadcast(op))


def _batch_broadcast(op: sh.BroadcastInDimOp) -> bool:
    """Copies one matrix (stack of size 1) to every batch: a shared operand."""
    src, v = op.operands[0], op.results[0]
    dims, rank = op.prop("dims"), len(shape(v))
    return len(shape(src)) >= 2 and tuple(dims[-2:]) == (rank - 2, rank - 1) \
        and shape(src)[-2:] == shape(v)[-2:] and all(n == 1 for n in shape(src)[:-2])


class MatmulProducer:
    def operands_in_memory(self, op, is_buffer: IsBuffer) -> list[SSAValue]:
        wanted = []
        for v in op.operands:
            if matrix_operand(v, is_buffer) is None:
                source = to_materialize(v, is_buffer)
                wanted.append(v if is_buffer(source) else source)  # no progress: copy v
        return wanted

    def lower(self, op, lowering, out: SSAValue) -> None:
        lhs, rhs = op.operands
        a, ta, _ = matrix_operand(lhs, lowering.is_buffer)
        b, tb, _ = matrix_operand(rhs, lowering.is_buffer)
        *batch, m, k = shape(lhs)
        n = shape(rhs)[-1]
        lowering.add(loop.MatmulOp(lowering.buffer(a), lowering.buffer(b), out,
                                   batch=math.prod(batch), m=m, n=n, k=k,
                                   transpose_a=ta, transpose_b=tb))


PRODUCERS: dict[str, object] = {contract.MatmulOp.name: MatmulProducer()}


class ScatterAddProducer:
    """`hl.scatter_add` as ONE kernel, parallel over the dims around `axis`: each point
    owns a column of the result, zeroes it (`loop.for`), then adds the updates in index
    order (`loop.seq_for`, read-modify-write). Indices are clamped into range.
    Updates and indices are fused (read through their element rules)."""

    def operands_in_memory(self, op, is_buffer: IsBuffer) -> list[SSAValue]:
        return []

    def lower(self, op, lowering, out: SSAValue) -> None:
        from xdsl.dialects import arith
        from xdsl.dialects.builtin import IndexType, IntegerType

        from lamina.passes.lower_hl_to_loop.kernel import (
            KernelBuilder,
            compute_type,
            elem_type,
        )
        from lamina.passes.lower_hl_to_loop.registry import REDUCING, RULES
        from lamina.passes.lower_hl_to_loop.rules_index import clamp

        indices, updates = op.operands
        res = shape(op.results[0])
        axis = op.prop("axis")
        around = [*res[:axis], *res[axis + 1:]]
        kb = KernelBuilder(f"scatter_add_{lowering.kernels}", around, range(len(around)),
                           lowering.buffers, RULES, REDUCING)
        args = kb.kernel.body.block.args
        pre, post = tuple(args[:axis]), tuple(args[axis:])
        element = elem_type(op.results[0])
        t = compute_type(element)
        zero = kb.number(0, t)

        fill = loop.ForOp([res[axis]])
        kb.nest(fill, 0)
        kb.store(zero, out, (*pre, *fill.body.block.args, *post), element)
        kb.stack = kb.stack[:1]

        seq = loop.SeqForOp(list(shape(indices)))
        kb.nest(seq, 0)
        here = len(kb.stack) - 1
        ps = tuple(seq.body.block.args)
        target = kb.op(arith.IndexCastOp(kb.element(indices, ps), IndexType()))
        target = clamp(kb, target, 0, res[axis] - 1)
        dest = (*pre, target, *post)
        update = kb.element(updates, (*pre, *ps, *post))
        old = kb.op(loop.LoadOp(out, dest), level=here)
        if t != elem_type_storage(element):
            old = kb.op(arith.ExtFOp(old, t), level=here)
        add = arith.AddfOp(old, update) if not isinstance(t, IntegerType) else \
            arith.AddiOp(old, update)
        kb.store(kb.op(add, level=here), out, dest, element)
        lowering.add(kb.kernel)


def elem_type_storage(element):
    from lamina.passes.lower_hl_to_loop.kernel import storage_type

    return storage_type(element)


PRODUCERS["hl.scatter_add"] = ScatterAddProducer()


def _register_window_producers() -> None:
    from lamina.passes.lower_hl_to_loop.rules_select import SelectAndScatterAddProducer

    PRODUCERS["hl.select_and_scatter_add"] = SelectAndScatterAddProducer()


_register_window_producers()
