"""Resizing and rearranging of `torch.nn.functional` (re-exported by `lm.nn.functional`):
interpolate (nearest, nearest-exact, linear, bilinear, trilinear), pixel_shuffle,
pixel_unshuffle.

Interpolation is separable: one spatial dim at a time, each output position reads
one input position (nearest) or two, blended with a constant weight (linear), by
gathers whose indices and weights follow torch's source-index formula exactly —
including its use of 1/scale_factor (not in/out) when a scale factor is given."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamina.errors import ArgumentError, ShapeError, like, with_location
from lamina.frontend import movement
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor

__all__ = ["interpolate", "pixel_shuffle", "pixel_unshuffle", "upsample"]

_LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else O.tensor(x)


def _sizes(x: Tensor, nd: int, size: Any, scale_factor: Any) -> tuple[list[int], list[float]]:
    """Output sizes and the per-dim ratio torch maps output to input positions with."""
    spatial = list(x.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ArgumentError(with_location(
            "interpolate: exactly one of size and scale_factor must be given"))
    if size is not None:
        sizes = [int(size)] * nd if isinstance(size, int) else [int(s) for s in size]
        if len(sizes) != nd:
            raise ShapeError(with_location(
                f"interpolate: size {list(sizes)} must have {nd} values for an input of "
                f"shape {list(x.shape)}"))
        return sizes, [n / o if o else 0.0 for n, o in zip(spatial, sizes, strict=True)]
    scales = [float(scale_factor)] * nd if isinstance(scale_factor, int | float) \
        else [float(s) for s in scale_factor]
    if len(scales) != nd or any(s <= 0 for s in scales):
        raise ArgumentError(with_location(
            f"interpolate: scale_factor {scale_factor!r} must be {nd} positive values"))
    return [math.floor(n * s) for n, s in zip(spatial, scales, strict=True)], \
        [1.0 / s for s in scales]


def _gather(x: Tensor, d: int, index: np.ndarray) -> Tensor:
    return movement.index_select(x, d, Tensor._wrap(index.astype(np.int64)))


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    x = _t(input)
    nd = x.ndim - 2
    if nd < 1 or nd > 3:
        raise ShapeError(with_location(
            f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, *spatial), got shape "
            f"{list(x.shape)}"))
    if mode in _LINEAR_MODES and _LINEAR_MODES[mode] != nd:
        raise like(ArgumentError, NotImplementedError)(with_location(
            f"interpolate: mode {mode!r} needs a {_LINEAR_MODES[mode] + 2}-D input, got "
            f"shape {list(x.shape)}"))
    if mode not in ("nearest", "nearest-exact", *_LINEAR_MODES):
        raise like(ArgumentError, NotImplementedError)(with_location(
            f"interpolate: mode {mode!r} is not supported (nearest, nearest-exact, linear, "
            "bilinear, trilinear are)"))
    if align_corners is not None and mode not in _LINEAR_MODES:
        raise ArgumentError(with_location(
            "interpolate: align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"))
    if antialias:
        raise ArgumentError(with_location("interpolate: antialias=True is not supported"))
    sizes, ratios = _sizes(x, nd, size, scale_factor)
    if recompute_scale_factor:
        ratios = [n / o if o else 0.0 for n, o in zip(x.shape[2:], sizes, strict=True)]
    for i, (out, ratio) in enumerate(zip(sizes, ratios, strict=True)):
        d, n = 2 + i, x.shape[2 + i]
        dst = np.arange(out, dtype=np.float64)
        if mode == "nearest":
            x = _gather(x, d, np.minimum(np.floor(dst * ratio), n - 1))
        elif mode == "nearest-exact":
            x = _gather(x, d, np.minimum(np.floor((dst + 0.5) * ratio), n - 1))
        else:
            if align_corners:
                src = dst * ((n - 1) / (out - 1)) if out > 1 else np.zeros(out)
            else:
                src = np.maximum((dst + 0.5) * ratio - 0.5, 0.0)
            lo = np.minimum(np.floor(src), n - 1)
            hi = np.minimum(lo + 1, n - 1)
            w = (src - lo).astype(x.dtype.np_dtype)
            shape = [1] * x.ndim
            shape[d] = out
            weight = O.constant(w.reshape(shape), dtype=x.dtype)
            x = _gather(x, d, lo) * (1 - weight) + _gather(x, d, hi) * weight
    return x


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) -> (*, C, H·r, W·r)."""
    x, r = _t(input), int(upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ShapeError(with_location(
            f"pixel_shuffle: expected an input of at least 3 dims whose channels (dim -3) "
            f"are divisible by upscale_factor² = {r * r}, got shape {list(x.shape)}"))
    *lead, c, h, w = x.shape
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    k = len(lead)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) -> (*, C·r², H, W)."""
    x, r = _t(input), int(downscale_factor)
    if x.ndim < 3 or x.shape[-1] % r or x.shape[-2] % r:
        raise ShapeError(with_location(
            f"pixel_unshuffle: expected an input of at least 3 dims whose height and width "
            f"are divisible by downscale_factor = {r}, got shape {list(x.shape)}"))
    *lead, c, h, w = x.shape
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    k = len(lead)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


def _pairs(value: Any, name: str, op: str) -> tuple[int, int]:
    pair = (int(value), int(value)) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(pair) != 2 or (name != "padding" and min(pair) <= 0) or min(pair) < 0:
        raise ArgumentError(with_location(f"{op}: {name} must be a positive int or a pair, "
                                          f"got {value!r}"))
    return pair


def _blocks(op: str, size: tuple[int, int], kernel: Any, dilation: Any, padding: Any,
            stride: Any) -> tuple:
    k, d = _pairs(kernel, "kernel_size", op), _pairs(dilation, "dilation", op)
    p, s = _pairs(padding, "padding", op), _pairs(stride, "stride", op)
    outs = tuple((size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))
    if min(outs) <= 0:
        raise ShapeError(with_location(
            f"{op}: the kernel {list(k)} (dilation {list(d)}) does not fit the padded input "
            f"of spatial size {list(size)} (padding {list(p)})"))
    return k, d, p, s, outs


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
           stride: Any = 1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C·kh·kw, L), each column one sliding block, rows in
    (channel, kernel row, kernel column) order, as torch's."""
    x = _t(input)
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    if x.ndim != 4:
        raise ShapeError(with_location(
            f"unfold: expected a 3-D or 4-D input, got shape {list(x.shape)}"))
    n, c, h, w = x.shape
    k, d, p, s, (oh, ow) = _blocks("unfold", (h, w), kernel_size, dilation, padding, stride)
    xp = movement.pad(x, (p[1], p[1], p[0], p[0])) if any(p) else x
    patches = []
    for i in range(k[0]):
        for j in range(k[1]):
            r0, c0 = i * d[0], j * d[1]
            patches.append(xp[:, :, r0:r0 + s[0] * (oh - 1) + 1:s[0],
                              c0:c0 + s[1] * (ow - 1) + 1:s[1]])
    out = movement.stack(patches, 2).reshape(n, c * k[0] * k[1], oh * ow)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1,
         padding: Any = 0, stride: Any = 1) -> Tensor:
    """col2im, the adjoint of unfold: each column's block added back at its place
    (overlaps sum)."""
    from lamina.dialects import hl

    x = _t(input)
    unbatched = x.ndim == 2
    if unbatched:
        x = x.unsqueeze(0)
    if x.ndim != 3:
        raise ShapeError(with_location(
            f"fold: expected a 2-D or 3-D input, got shape {list(x.shape)}"))
    size = _pairs(output_size, "output_size", "fold")
    k, d, p, s, (oh, ow) = _blocks("fold", size, kernel_size, dilation, padding, stride)
    n, ckk, blocks = x.shape
    if ckk % (k[0] * k[1]) or blocks != oh * ow:
        raise ShapeError(with_location(
            f"fold: input of shape {list(x.shape)} does not hold C·{k[0]}·{k[1]} rows and "
            f"{oh * ow} blocks for output_size {list(size)}"))
    c = ckk // (k[0] * k[1])
    cols = x.reshape(n, c, k[0] * k[1], oh, ow)
    hp, wp = size[0] + 2 * p[0], size[1] + 2 * p[1]
    total = None
    for i in range(k[0]):
        for j in range(k[1]):
            r0, c0 = i * d[0], j * d[1]
            block = cols[:, :, i * k[1] + j]
            placed = O.emit(hl.PadOp, block, low=(0, 0, r0, c0),
                            high=(0, 0, hp - r0 - s[0] * (oh - 1) - 1,
                                  wp - c0 - s[1] * (ow - 1) - 1),
                            interior=(0, 0, s[0] - 1, s[1] - 1), value=0.0)
            total = placed if total is None else total + placed
    out = total[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return out.squeeze(0) if unbatched else out


__all__ += ["fold", "unfold"]
