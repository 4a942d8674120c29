"""The few tensor primitives the ONNX converters need beyond `lamina.frontend.ops`.

Each uses the frontend function of lamina's linalg/indexing modules when that
module provides it, and otherwise an exact composition of core hl ops (one-hot
selection for gathers, slices and concatenation; broadcast-multiply-sum for
matmul). The compositions are slower but bit-exact, so an ONNX model imports
on any lamina that has the core ops.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import tensor_type
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor


def landed(module: str, name: str) -> Callable[..., Any] | None:
    """`lamina.frontend.<module>.<name>` if that module and function exist."""
    try:
        mod = importlib.import_module(f"lamina.{module}")
    except ModuleNotFoundError:
        return None
    return getattr(mod, name, None)


def iota(shape: Sequence[int], dim: int) -> Tensor:
    return ops.emit(hl.IotaOp, result_type=tensor_type(dtypes.int64.ir_type, tuple(shape)),
                    dim=dim)


def _summable(x: Tensor) -> Tensor:
    return x.to(dtypes.int32) if x.dtype == dtypes.bool_ else x


def take(x: Tensor, index: Tensor, axis: int) -> Tensor:
    """numpy.take(x, index, axis) with ONNX's negative-index wrap (ONNX Gather)."""
    n = x.shape[axis]
    index = index.to(dtypes.int64) if index.dtype != dtypes.int64 else index
    index = ops.where(ops.lt(index, 0), ops.add(index, n), index)
    pre, post = x.shape[:axis], x.shape[axis + 1:]
    p, q, k = int(np.prod(pre)), int(np.prod(post)), int(np.prod(index.shape))
    onehot = ops.eq(index.reshape((k, 1)).expand(k, n), iota((k, n), 1))  # (k, n)
    xs = _summable(x).reshape((p, 1, n, q)).expand(p, k, n, q)
    picked = ops.where(onehot.reshape((1, k, n, 1)).expand(p, k, n, q), xs, 0)
    out = ops.sum(picked, dim=2)
    out = out.to(x.dtype) if out.dtype != x.dtype else out
    return out.reshape(pre + tuple(index.shape) + post)


def take_static(x: Tensor, index: np.ndarray, axis: int) -> Tensor:
    """Gather with indices known at import time; a contiguous full range is a no-op."""
    index = np.asarray(index, dtype=np.int64)
    n = x.shape[axis]
    index = np.where(index < 0, index + n, index)
    if index.ndim == 1 and np.array_equal(index, np.arange(n)):
        return x
    return take(x, ops.constant(index), axis)


def slice_axis(x: Tensor, axis: int, start: int, end: int, step: int) -> Tensor:
    """x[start:end:step] along one axis (Python/numpy clamping of the bounds)."""
    index = np.arange(x.shape[axis])[slice(start, end, step)]
    getitem = landed("frontend.indexing", "getitem")
    if getitem is not None and step > 0:
        lo, hi = slice(start, end, step).indices(x.shape[axis])[:2]
        key = (slice(None),) * axis + (slice(lo, max(hi, lo), step),)
        return getitem(x, key)
    return take_static(x, index, axis)


def cat(xs: Sequence[Tensor], axis: int) -> Tensor:
    """Concatenate along `axis` (ONNX Concat)."""
    xs = [x for x in xs if x.shape[axis] > 0] or list(xs[:1])
    if len(xs) == 1:
        return xs[0]
    fn = landed("frontend.indexing", "cat")
    if fn is not None:
        return fn(list(xs), dim=axis)
    total = sum(x.shape[axis] for x in xs)
    positions = np.arange(total)
    out, offset = None, 0
    for x in xs:
        n = x.shape[axis]
        piece = take_static(x, np.clip(positions - offset, 0, n - 1), axis)
        if out is None:
            out = piece
        else:
            view = [1] * x.ndim
            view[axis] = total
            mask = ops.constant((positions >= offset).reshape(view))
            out = ops.where(ops.broadcast_to(mask, piece.shape), piece, out)
        offset += n
    return out


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """numpy.matmul semantics: 1-D operands, batch broadcasting."""
    fn = landed("frontend.linalg", "matmul")
    if fn is not None:
        return fn(a, b)
    a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
    b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
    prod = ops.mul(_summable(a2).unsqueeze(-1), _summable(b2).unsqueeze(-3))
    out = ops.sum(prod, dim=-2)
    out = out.to(a.dtype) if out.dtype != a.dtype else out
    if a.ndim == 1:
        out = out.squeeze(-2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    return out
