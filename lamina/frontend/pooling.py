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

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "adaptive_max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "lp_pool1d", "lp_pool2d", "max_pool1d", "max_pool2d", "max_pool3d", "max_unpool1d",
    "max_unpool2d", "max_unpool3d",
]


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


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False) -> Tensor:
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices) -> Tensor:
    x = _pool_input(op, input, nd)
    if x.dtype == dtypes.bool_:
        raise DTypeError(with_location(f"{op}: not supported for bool tensors"))
    kernel, stride, lo, hi, dil, outs = _pool_geometry(op, x, nd, kernel_size, stride, padding,
                                                       dilation, ceil_mode)
    values = _reduce_window(x, "max", nd, kernel, stride, lo, hi, dil)
    if not return_indices:
        return values
    return values, _argmax_positions(x, nd, kernel, stride, lo, hi, dil, outs)


def _argmax_positions(x: Tensor, nd: int, kernel, stride, lo, hi, dil, outs) -> Tensor:
    """torch's `return_indices`: for each window, the flat position (over the spatial
    dims of the unpadded input) of its first maximum. The windows' elements are laid
    side by side by strided slices of the (-inf)-padded input, the argmax taken across
    them and turned back into input coordinates."""
    from lamina.frontend import movement

    lead = x.ndim - nd
    floor = float("-inf") if x.dtype.is_floating_point else int(np.iinfo(x.dtype.np_dtype).min)
    pads = [a for i in reversed(range(nd)) for a in (lo[i], hi[i])]
    xp = movement.pad(x, pads, value=floor) if any(pads) else x
    offsets = list(np.ndindex(*kernel))
    taps = []
    for offset in offsets:
        index = [slice(None)] * lead
        for i in range(nd):
            start = offset[i] * dil[i]
            index.append(slice(start, start + stride[i] * (outs[i] - 1) + 1, stride[i]))
        taps.append(xp[tuple(index)])
    which = ops.argmax(movement.stack(taps, lead), lead)  # the first maximum, as torch
    spatial = x.shape[lead:]
    flat = None
    for i in range(nd):
        tap_coord = ops.constant(np.array([o[i] * dil[i] for o in offsets]), dtype=dtypes.int64)
        shape = [1] * x.ndim
        shape[lead + i] = outs[i]
        window_start = ops.constant((np.arange(outs[i]) * stride[i] - lo[i]).reshape(shape),
                                    dtype=dtypes.int64)
        coord = movement.index_select(tap_coord, 0, which.reshape(-1)).reshape(
            *which.shape) + window_start
        flat = coord if flat is None else flat * spatial[i] + coord
    return flat


def max_unpool(op: str, nd: int, input: Any, indices: Any, kernel_size: Any, stride: Any,
               padding: Any, output_size: Any) -> Tensor:
    """The inverse of max pooling with indices: zeros, with each value written at its
    index (flat over the spatial dims), torch's MaxUnpoolNd."""
    x, idx = _tensor(input), _tensor(indices)
    kernel = _tuple(kernel_size, nd, op, "kernel_size")
    stride = kernel if stride is None else _tuple(stride, nd, op, "stride")
    pad = _tuple(padding, nd, op, "padding")
    lead = x.ndim - nd
    if idx.shape != x.shape or lead not in (1, 2):
        raise _shape_error(op, f"indices of shape {list(idx.shape)} must match the input "
                           f"{list(x.shape)} ({nd + 1}-D or {nd + 2}-D)")
    if output_size is None:
        sizes = [(x.shape[lead + i] - 1) * stride[i] - 2 * pad[i] + kernel[i]
                 for i in range(nd)]
    else:
        sizes = [int(v) for v in list(output_size)[-nd:]]
    rows = math.prod(x.shape[:lead])
    total = math.prod(sizes)
    per_row = math.prod(x.shape[lead:])
    row_base = ops.constant(np.repeat(np.arange(rows) * total, per_row), dtype=dtypes.int64)
    positions = idx.reshape(-1).to(dtypes.int64) + row_base
    flat = _unpool_scatter(x.reshape(-1), positions, rows * total)
    return flat.reshape(*x.shape[:lead], *sizes)


def _unpool_scatter(values: Tensor, positions: Tensor, size: int) -> Tensor:
    """The values written at their positions (a repeated position keeps the last), with
    torch's gradient: every value gets the output's gradient at its position (a gather),
    also one that a later duplicate overwrote (overlapping pooling windows)."""
    from lamina.dialects.hl.base import tensor_type
    from lamina.frontend.autograd import custom_vjp

    def scatter(v: Tensor, p: Tensor) -> Tensor:
        return ops.emit(hl.ScatterOp, p, v, result_type=tensor_type(v.dtype.ir_type, (size,)),
                        axis=0)

    def forward(v: Tensor, p: Tensor) -> tuple[Tensor, tuple]:
        return scatter(v, p), (p,)

    def backward(residuals: tuple, ct: Tensor) -> tuple:
        (p,) = residuals
        return ops.emit(hl.GatherOp, ct, p, axis=0), None

    unpool = custom_vjp(scatter)
    unpool.defvjp(forward, backward)
    return unpool(values, positions)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                      output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                      output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                      output_size)


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


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None) -> Tensor:
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
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


def _output_sizes(op: str, x: Tensor, nd: int, output_size: Any) -> list[int]:
    sizes = [output_size] * nd if output_size is None or isinstance(output_size, int) \
        else list(output_size)
    if len(sizes) != nd:
        raise ArgumentError(with_location(
            f"{op}: output_size must be an int or {nd} values, got {output_size!r}"))
    spatial = x.shape[x.ndim - nd:]
    out = [n if o is None else int(o) for n, o in zip(spatial, sizes, strict=True)]
    if any(o < 0 for o in out) or any(n == 0 for n in spatial):
        raise _shape_error(op, f"output_size {out} and input of shape {list(x.shape)}: sizes "
                           "must be non-negative and the input's spatial dims non-empty")
    return out


def _adaptive_avg(op: str, nd: int, input: Any, output_size: Any) -> Tensor:
    """torch's adaptive average pooling: bin i of n covers [floor(i*n_in/n), ceil((i+1)*
    n_in/n)); one matmul per spatial dim with averaging matrices built at trace time."""
    x = _pool_input(op, input, nd)
    if not x.dtype.is_floating_point:
        raise DTypeError(with_location(f"{op}: needs a floating-point tensor, got "
                                       f"{x.dtype.name}"))
    outs = _output_sizes(op, x, nd, output_size)
    for i, out in enumerate(outs):
        d = x.ndim - nd + i
        bins = ops.constant(_bins(x.shape[d], out).T, dtype=x.dtype)
        x = matmul(x.transpose(d, -1), bins).transpose(d, -1)
    return x


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Tensor:
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Tensor:
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Any, output_size: Any) -> Tensor:
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max(op: str, nd: int, input: Any, output_size: Any,
                  return_indices: bool) -> Tensor:
    """The maximum over torch's adaptive bins; separable, so one dim at a time: each bin
    a slice reduced with amax, the bins concatenated."""
    if return_indices:
        raise ArgumentError(with_location(f"{op}: return_indices=True is not supported"))
    x = _pool_input(op, input, nd)
    if x.dtype == dtypes.bool_:
        raise DTypeError(with_location(f"{op}: not supported for bool tensors"))
    from lamina.frontend import movement

    for i, out in enumerate(_output_sizes(op, x, nd, output_size)):
        d, n = x.ndim - nd + i, x.shape[x.ndim - nd + i]
        parts = []
        for b in range(out):
            start, end = (b * n) // out, math.ceil((b + 1) * n / out)
            parts.append(ops.amax(movement.narrow(x, d, start, end - start), d, True))
        x = movement.cat(parts, d)
    return x


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Tensor:
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Tensor:
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Any, output_size: Any, return_indices: bool = False) -> Tensor:
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def _lp_pool(op: str, nd: int, input: Any, norm_type: float, kernel_size: Any, stride: Any,
             ceil_mode: bool) -> Tensor:
    """(Σ x^p over the window)^(1/p), as torch computes it (from the average pool)."""
    x = _pool_input(op, input, nd)
    kernel = _tuple(kernel_size, nd, op, "kernel_size")
    avg = _avg_pool(op, nd, ops.pow(x, norm_type), kernel, stride, 0, ceil_mode, True, None)
    count = math.prod(kernel)
    return ops.pow(ops.sign(avg) * ops.relu(ops.abs(avg)) * count, 1.0 / norm_type)


def lp_pool1d(input: Any, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Any, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def _bins(n: int, out: int) -> np.ndarray:
    matrix = np.zeros((out, n))
    for i in range(out):
        start, end = (i * n) // out, math.ceil((i + 1) * n / out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix
