"""The tensor primitives ONNX converters need beyond `lamina.frontend.ops`, with
ONNX's conventions: negative gather indices wrap, slices may step backwards,
pads are asymmetric (begin, end) pairs. Each is one or two hl ops."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.frontend import linalg, movement, ops
from lamina.frontend.tensor import Tensor

__all__ = ["cat", "matmul", "slice_axis", "take", "take_static"]


def take(x: Tensor, index: Tensor, axis: int) -> Tensor:
    """numpy.take(x, index, axis) with negative indices counted from the end (ONNX Gather)."""
    if index.dtype not in (dtypes.int32, dtypes.int64):
        index = index.to(dtypes.int64)
    index = ops.where(ops.lt(index, 0), ops.add(index, x.shape[axis]), index)
    return ops.emit(hl.GatherOp, x, index, axis=axis)


def take_static(x: Tensor, index: np.ndarray, axis: int) -> Tensor:
    """Gather with indices known at import time (wrapped here, not in the program)."""
    index = np.asarray(index, dtype=np.int64)
    index = np.where(index < 0, index + x.shape[axis], index)
    if index.ndim == 1 and np.array_equal(index, np.arange(x.shape[axis])):
        return x
    return ops.emit(hl.GatherOp, x, ops.constant(index), axis=axis)


def slice_axis(x: Tensor, axis: int, start: int, end: int, step: int) -> Tensor:
    """x[start:end:step] along one axis, with Python's clamping of the bounds."""
    picked = np.arange(x.shape[axis])[slice(start, end, step)]
    if picked.size == 0:  # an empty slice
        first = slice(start, end, step).indices(x.shape[axis])[0]
        return movement._slice_dim(x, axis, first, first, 1)
    lo, hi = int(picked.min()), int(picked.max()) + 1
    out = movement._slice_dim(x, axis, lo, hi, abs(step))
    return ops.emit(hl.ReverseOp, out, dims=(axis,)) if step < 0 else out


def cat(xs: Sequence[Tensor], axis: int) -> Tensor:
    """Concatenate along `axis` (ONNX Concat; empty inputs are dropped)."""
    xs = [x for x in xs if x.shape[axis] > 0] or list(xs[:1])
    return movement.cat(xs, dim=axis)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """numpy.matmul semantics: 1-D operands, batch broadcasting."""
    return linalg.matmul(a, b)
