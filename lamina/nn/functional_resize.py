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
