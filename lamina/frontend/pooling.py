"""Pooling with torch semantics (`lm.max_pool2d`, `lm.avg_pool2d`, ...), expressed as
`hl.reduce_window` over the trailing spatial dims (window 1 on the leading ones).
Output sizes, ceil_mode and the average's divisor follow torch exactly; the
divisor depends only on shapes, so it is computed at trace time as a constant."""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.errors import ArgumentError, DTypeError, with_location
from lamina.frontend import ops
from lamina.frontend.linalg import _shape_error, _tensor, _tuple, matmul
from lamina.frontend.tensor import Tensor

__all__ = ["adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d"]


def _pool_geometry(op: str, x: Tensor, nd: int, kernel_size: Any, stride: Any, padding: Any,
                   dilation: Any, ceil_mode: bool):
    """Per spatial dim: kernel, stride, lo pad, hi pad (extended for ceil_mode), out size."""
    kernel = _tuple(kernel_size, nd, op, "kernel_size")
    stride = kernel if stride is None or stride == () else _tuple(stride, nd, op, "stride")
    pad = _tuple(padding, nd, op, "padding")
    dil = _tuple(dilation, nd, op, "dilation")
    for name, values in (("kernel_size", kernel), ("stride", stride), ("dilation", dil)):
        if builtins.any(v <= 0 for v in values):  # torch: RuntimeError
            raise ArgumentError(with_location(
                f"{op}: {name} must be positive, got {list(values)}"))
    his, outs = [], []
    for i in range(nd):
        size = x.shape[x.ndim - nd + i]
        extent = dil[i] * (kernel[i] - 1) + 1
        if not 0 <= pad[i] <= extent // 2:
            raise _shape_error(op, f"padding {list(pad)} should be at most half of the "
                               f"kernel size {list(kernel)}")
        span = size + 2 * pad[i] - extent
        if span < 0:
            raise _shape_error(op, f"kernel {list(kernel)} is larger than the padded input "
                               f"of shape {list(x.shape)} (padding {list(pad)})")
        out = (-(-span // stride[i]) if ceil_mode else span // stride[i]) + 1
        if ceil_mode and (out - 1) * stride[i] >= size + pad[i]:
            out -= 1  # the last window must start inside the input or its left padding
        his.append(builtins.max(pad[i], (out - 1) * stride[i] + extent - size - pad[i]))
        outs.append(out)
    return kernel, stride, pad, his, dil, outs


def _reduce_window(x: Tensor, kind: str, nd: int, kernel, stride, lo, hi, dil) -> Tensor:
    lead = x.ndim - nd
    padding = (0, 0) * lead + tuple(p for pair in zip(lo, hi, strict=True) for p in pair)
    props: dict[str, Any] = {}
    if any(d != 1 for d in dil):
        props["dilation"] = (1,) * lead + tuple(dil)
    return ops.emit(hl.ReduceWindowOp, x, kind=kind, window=(1,) * lead + tuple(kernel),
                    strides=(1,) * lead + tuple(stride), padding=padding, **props)


def _pool_input(op: str, input: Any, nd: int) -> Tensor:
    x = _tensor(input)
    if x.ndim not in (nd + 1, nd + 2):
        raise _shape_error(op, f"expected a {nd + 1}-D or {nd + 2}-D input, got shape "
                           f"{list(x.shape)}")
    return x


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False) -> Tensor:
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False) -> Tensor:
    """torch.nn.functional.max_pool2d over the last two dims (padding counts as -inf)."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices) -> Tensor:
    if return_indices:
        raise ArgumentError(with_location(f"{op}: return_indices=True is not supported"))
    x = _pool_input(op, input, nd)
    if x.dtype == dtypes.bool_:
        raise DTypeError(with_location(f"{op}: not supported for bool tensors"))
    kernel, stride, lo, hi, dil, _ = _pool_geometry(op, x, nd, kernel_size, stride, padding,
                                                    dilation, ceil_mode)
    return _reduce_window(x, "max", nd, kernel, stride, lo, hi, dil)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True) -> Tensor:
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None) -> Tensor:
    """torch.nn.functional.avg_pool2d: a window sum divided by a per-position count
    computed at trace time (shapes are static), with torch's count_include_pad rule."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override) -> Tensor:
    x = _pool_input(op, input, nd)
    if not x.dtype.is_floating_point:
        raise DTypeError(with_location(f"{op}: needs a floating-point tensor, got "
                                       f"{x.dtype.name}"))
    kernel, stride, lo, hi, _, outs = _pool_geometry(op, x, nd, kernel_size, stride, padding,
                                                     1, ceil_mode)
    total = _reduce_window(x, "sum", nd, kernel, stride, lo, hi, (1,) * nd)
    if divisor_override:
        return ops.div(total, float(divisor_override))
    sizes = x.shape[x.ndim - nd:]
    counts = [_window_counts(n, k, s, p, o, count_include_pad)
              for n, k, s, p, o in zip(sizes, kernel, stride, lo, outs, strict=True)]
    divisor = counts[0]
    for c in counts[1:]:
        divisor = np.multiply.outer(divisor, c)
    return ops.div(total, ops.constant(divisor, dtype=x.dtype))


def _window_counts(size: int, k: int, s: int, pad: int, out: int, include_pad: bool):
    """torch's per-position divisor along one dim: windows clipped to the padded input
    (count_include_pad) or to the input itself."""
    start = np.arange(out) * s - pad
    end = np.minimum(start + k, size + pad)
    if include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    """torch's adaptive average pooling: bin i of n covers [floor(i*n_in/n), ceil((i+1)*
    n_in/n)); written as two matmuls with averaging matrices built at trace time."""
    x = _pool_input("adaptive_avg_pool2d", input, 2)
    if not x.dtype.is_floating_point:
        raise DTypeError(with_location("adaptive_avg_pool2d: needs a floating-point tensor, "
                                       f"got {x.dtype.name}"))
    h, w = x.shape[-2:]
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else output_size
    oh, ow = h if oh is None else oh, w if ow is None else ow
    rows = ops.constant(_bins(h, oh), dtype=x.dtype)
    cols = ops.constant(_bins(w, ow).T, dtype=x.dtype)
    return matmul(matmul(rows, x), cols)


def _bins(n: int, out: int) -> np.ndarray:
    matrix = np.zeros((out, n))
    for i in range(out):
        start, end = (i * n) // out, math.ceil((i + 1) * n / out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix
