"""Strided views: how a chain of hl reshapes, transposes, slices and broadcasts
re-indexes the buffer under it, so that a GEMM can read the view in place.

`Strided` is numpy's model: element (i0, i1, ...) of the view lies at
`offset + i0 * strides[0] + i1 * strides[1] + ...` of the buffer. A transpose
permutes strides, a slice adds to the offset and multiplies strides by its steps,
a broadcast gives stride 0, a reshape regroups dims where the strides allow it
(numpy's no-copy reshape). Attention's `qkv[..., :D].reshape(B, S, H, Dh)
.transpose(1, 2)` is the QKV product's buffer with offset 0, strides
(S*3D, Dh, 3D, 1): a GEMM reads it with lda = 3D and batch strides (S*3D, Dh).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from lamina.dialects.hl import indexing
from lamina.dialects.hl import shape as sh
from lamina.passes.lower_hl_to_loop.kernel import shape

VIEW_OPS = (sh.ReshapeOp, sh.TransposeOp, sh.BroadcastInDimOp, indexing.SliceOp)


@dataclass(frozen=True)
class Strided:
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int = 0

    @staticmethod
    def contiguous(dims: tuple[int, ...]) -> Strided:
        strides, step = [], 1
        for d in reversed(dims):
            strides.append(step)
            step *= d
        return Strided(tuple(dims), tuple(reversed(strides)))


def through(op: Operation, src: Strided) -> Strided | None:
    """The view `op` makes of `src`, or None when it is not a strided view of it."""
    out = tuple(shape(op.results[0]))
    if isinstance(op, sh.TransposeOp):
        perm = op.prop("perm")
        return Strided(out, tuple(src.strides[p] for p in perm), src.offset)
    if isinstance(op, indexing.SliceOp):
        start, step = op.prop("start"), op.prop("step")
        offset = src.offset + sum(b * s for b, s in zip(start, src.strides, strict=True))
        return Strided(out, tuple(s * t for s, t in zip(src.strides, step, strict=True)), offset)
    if isinstance(op, sh.BroadcastInDimOp):
        strides = [0] * len(out)
        for i, d in enumerate(op.prop("dims")):
            strides[d] = src.strides[i] if src.shape[i] == out[d] else 0
        return Strided(out, tuple(strides), src.offset)
    if isinstance(op, sh.ReshapeOp):
        strides = _reshaped_strides(src, out)
        return None if strides is None else Strided(out, strides, src.offset)
    return None


def _reshaped_strides(src: Strided, new: tuple[int, ...]) -> tuple[int, ...] | None:
    """numpy's `_attempt_nocopy_reshape`: strides of `new` over the same elements."""
    if math.prod(new) == 0:
        return None
    old = [(d, s) for d, s in zip(src.shape, src.strides, strict=True) if d != 1]
    dims = [d for d, _ in old]
    ostr = [s for _, s in old]
    strides = [0] * len(new)
    oi, oj, ni, nj = 0, 1, 0, 1
    while ni < len(new) and oi < len(dims):
        np_, op_ = new[ni], dims[oi]
        while np_ != op_:
            if np_ < op_:
                np_ *= new[nj]
                nj += 1
            else:
                op_ *= dims[oj]
                oj += 1
        if any(ostr[k] != dims[k + 1] * ostr[k + 1] for k in range(oi, oj - 1)):
            return None
        strides[nj - 1] = ostr[oj - 1]
        for nk in range(nj - 1, ni, -1):
            strides[nk - 1] = strides[nk] * new[nk]
        ni, nj, oi, oj = nj, nj + 1, oj, oj + 1
    return tuple(strides)


def chain(v: SSAValue, is_buffer) -> list[SSAValue]:
    """`v` and the values under it through view ops, down to the first in memory."""
    out = [v]
    while not is_buffer(out[-1]) and isinstance(out[-1].owner, VIEW_OPS):
        out.append(out[-1].owner.operands[0])  # type: ignore[union-attr]
    return out


def view_of(values: list[SSAValue]) -> Strided | None:
    """How `values[0]` indexes `values[-1]` (a chain from `chain`) held contiguously."""
    s: Strided | None = Strided.contiguous(tuple(shape(values[-1])))
    for v in reversed(values[:-1]):
        s = through(v.owner, s)  # type: ignore[arg-type]
        if s is None:
            return None
    return s


@dataclass(frozen=True)
class MatrixView:
    """A stack of matrices [*batch, rows, cols] as a GEMM operand: stored row-major
    (transposed: column-major) with rows `ld` apart, batch dims at `strides`."""

    offset: int
    ld: int
    transposed: bool
    strides: tuple[int, ...]


def as_matrices(s: Strided) -> MatrixView | None:
    """`s` as a GEMM operand, or None when neither matrix dim has unit stride."""
    *_, r, c = s.shape
    *batch, sr, sc = s.strides
    if (c == 1 or sc == 1) and (r == 1 or sr >= c):
        return MatrixView(s.offset, sr if r > 1 else max(c, 1), False, tuple(batch))
    if (r == 1 or sr == 1) and (c == 1 or sc >= r):
        return MatrixView(s.offset, sc if c > 1 else max(r, 1), True, tuple(batch))
    return None


def under(op: Operation, out: Strided) -> Strided | None:
    """Where the elements of `op`'s operand lie, given where those of its result lie
    (`out`): the inverse of `through` for a transpose or a reshape."""
    src = tuple(shape(op.operands[0]))
    if isinstance(op, sh.TransposeOp):
        strides = [0] * len(src)
        for k, p in enumerate(op.prop("perm")):
            strides[p] = out.strides[k]
        return Strided(src, tuple(strides), out.offset)
    if isinstance(op, sh.ReshapeOp):
        strides = _reshaped_strides(out, src)
        return None if strides is None else Strided(src, strides, out.offset)
    return None
