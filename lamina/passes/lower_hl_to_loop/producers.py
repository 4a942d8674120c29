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
    rows_cols = shape(v)[-2:]
    w = _strip_reshapes(v, is_buffer)
    if is_buffer(w):
        return w, False, False  # a reshape of a buffer keeps its row-major data
    if isinstance(w.owner, sh.TransposeOp) and shape(w)[-2:] == rows_cols \
            and _swaps_last_two(w.owner.prop("perm")):
        src = _strip_reshapes(w.owner.operands[0], is_buffer)
        if is_buffer(src) and shape(src)[-2:] == rows_cols[::-1]:
            return src, True, False
    if isinstance(w.owner, sh.BroadcastInDimOp) and shape(w)[-2:] == rows_cols:
        src = w.owner.operands[0]
        dims, rank = w.owner.prop("dims"), len(shape(w))
        lead = shape(src)[:-2]
        if len(dims) >= 2 and tuple(dims[-2:]) == (rank - 2, rank - 1) \
                and shape(src)[-2:] == rows_cols and all(n == 1 for n in lead):
            found = matrix_operand(src, is_buffer) if len(shape(src)) >= 2 else None
            if found is not None and not found[2]:
                return found[0], found[1], True
    return None


class MatmulProducer:
    def operands_in_memory(self, op, is_buffer: IsBuffer) -> list[SSAValue]:
        return [v for v in op.operands if matrix_operand(v, is_buffer) is None]

    def lower(self, op, lowering, out: SSAValue) -> None:
        lhs, rhs = op.operands
        a, ta, _ = matrix_operand(lhs, lowering.is_buffer)
        b, tb, _ = matrix_operand(rhs, lowering.is_buffer)
        *batch, m, k = shape(lhs)
        n = shape(rhs)[-1]
        lowering.add(loop.MatmulOp(lowering.buffer(a), lowering.buffer(b), out,
                                   batch=math.prod(batch), m=m, n=n, k=k,
                                   transpose_a=ta, transpose_b=tb))


PRODUCERS: dict[type, object] = {contract.MatmulOp: MatmulProducer()}
