"""GEMMs that write their result straight into a slice of another value's buffer.

Attention merges its heads with `cat(o_0, ..., o_n, dim=S).transpose(1, 2)`: each
block's `p @ v` ([B, H, Sq, Dh]) is copied into the merged [B, S, H, Dh] tensor by a
kernel (0.13-0.35 ms per block at B8 S256 D256). When a materialized value `w` is
made only of matmul results by transposes, reshapes and at most one concatenation,
and nothing else reads those results, each GEMM writes its part of `w` in place
(`c` view: offset, ldc, batch strides) and `w` needs no kernel.
"""

from __future__ import annotations

from collections.abc import Collection

from xdsl.ir import SSAValue

from lamina.dialects.gemm_layout import MAX_BATCH_DIMS
from lamina.dialects.hl import contract, indexing
from lamina.dialects.hl import shape as sh
from lamina.passes.lower_hl_to_loop.kernel import shape
from lamina.passes.lower_hl_to_loop.views import Strided, as_matrices, under

# value written by a GEMM -> (the value whose buffer it is written into, where in it)
InPlace = dict[SSAValue, tuple[SSAValue, Strided]]


def _single_use(v: SSAValue) -> bool:
    return len(list(v.uses)) == 1


def _parts(v: SSAValue, at: Strided) -> list[tuple[SSAValue, Strided]]:
    """The matmul results `v` is made of (itself, or the operands of a concatenation)
    and where each lies, given where `v` lies."""
    op = v.owner
    if isinstance(op, contract.MatmulOp):
        return [(v, at)]
    if not isinstance(op, indexing.ConcatOp):
        return []
    dim, parts, start = op.prop("dim"), [], 0
    for part in op.operands:
        parts.append((part, Strided(tuple(shape(part)), at.strides,
                                    at.offset + start * at.strides[dim])))
        start += shape(part)[dim]
    return parts


def written_in_place(materialized: Collection[SSAValue]) -> InPlace:
    """The matmul results to write into the buffers of other materialized values."""
    found: InPlace = {}
    for w in materialized:
        if isinstance(w.owner, contract.MatmulOp):
            continue
        v, at, private = w, Strided.contiguous(tuple(shape(w))), True
        while private and isinstance(v.owner, sh.TransposeOp | sh.ReshapeOp):
            below = under(v.owner, at)
            if below is None:
                break
            v, at = v.owner.operands[0], below  # type: ignore[union-attr]
            # read by the chain only, and not a buffer of its own (a matmul result is)
            private = _single_use(v) and (v not in materialized or
                                          isinstance(v.owner, contract.MatmulOp))
        parts = _parts(v, at) if private else []
        if parts and all(isinstance(p.owner, contract.MatmulOp) and _single_use(p)
                         and _writable(s) for p, s in parts):
            found.update((p, (w, s)) for p, s in parts)
    return found


def _writable(s: Strided) -> bool:
    """A GEMM's C: rows apart, unit column stride, few enough batch dims."""
    view = as_matrices(s)
    return view is not None and not view.transposed and len(s.shape) - 2 <= MAX_BATCH_DIMS
