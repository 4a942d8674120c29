"""ONNX -> lamina converters that real exported models need beyond the core table:
Split, GatherND, Einsum, LRN, InstanceNormalization, ConvTranspose, Resize and
Upsample (nearest / linear / cubic, every coordinate transform exporters emit).

Resampling indices and weights are computed at import time with numpy (shapes are
static), so a Resize becomes gathers and a weighted sum per resized axis."""

from __future__ import annotations

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.frontend import linalg, ops
from lamina.frontend.tensor import Tensor
from lamina.onnx import prims
from lamina.onnx.node import Node, axis_of, converter, ints, static, tensor

__all__: list[str] = []  # importing registers the converters in `node.CONVERTERS`

# ---------------------------------------------------------------- Split


@converter("Split", static=(1,))
def split(n: Node, x, sizes=None):
    x = tensor(x)
    axis = axis_of(n.attr("axis", 0), x.ndim)
    length = x.shape[axis]
    if n.opset < 13:
        sizes = n.attr("split")
    else:
        sizes = ints(sizes, n, "split")
    if not sizes:
        parts = n.attr("num_outputs") if n.opset >= 18 and n.attr("num_outputs") else n.n_outputs
        if n.opset >= 18 and n.attr("num_outputs"):  # ceil-sized chunks, the last smaller
            chunk = -(-length // parts)
            sizes = [min(chunk, length - i * chunk) for i in range(parts)]
        else:
            if length % parts:
                raise n.unsupported(f"axis of size {length} does not split into {parts} equal "
                                    "parts")
            sizes = [length // parts] * parts
    if sum(sizes) != length or any(s < 0 for s in sizes):
        raise n.unsupported(f"split sizes {list(sizes)} do not add up to the axis size {length}")
    outs, start = [], 0
    for size in sizes:
        outs.append(prims.slice_axis(x, axis, start, start + size, 1))
        start += size
    return tuple(outs)


# ---------------------------------------------------------------- gathers and contractions


@converter("GatherND")
def gather_nd(n: Node, x, index):
    x = tensor(x)
    b = int(n.attr("batch_dims", 0))
    shape = tuple(x.shape)
    k = (index.shape[-1] if isinstance(index, np.ndarray) else index.shape[-1])
    indexed = shape[b:b + k]
    rest = shape[b + k:]
    batch = int(np.prod(shape[:b], dtype=np.int64))
    span = int(np.prod(indexed, dtype=np.int64))
    strides = [int(np.prod(indexed[j + 1:], dtype=np.int64)) for j in range(k)]
    lead = tuple(index.shape[:-1])
    if isinstance(index, np.ndarray):
        idx = index.astype(np.int64)
        idx = np.where(idx < 0, idx + np.array(indexed, dtype=np.int64), idx)
        linear = (idx * np.array(strides, dtype=np.int64)).sum(axis=-1) if k else \
            np.zeros(lead, np.int64)
        if b:
            offsets = np.arange(batch, dtype=np.int64).reshape(shape[:b] + (1,) * (len(lead) - b))
            linear = linear + offsets * span
        linear_t = ops.constant(linear.reshape(-1))
    else:
        idx = index.to(dtypes.int64) if index.dtype != dtypes.int64 else index
        sizes = ops.constant(np.array(indexed, dtype=np.int64))
        idx = ops.where(ops.lt(idx, 0), ops.add(idx, sizes), idx)
        linear_t = ops.sum(ops.mul(idx, ops.constant(np.array(strides, dtype=np.int64))), dim=-1)
        if b:
            offsets = np.arange(batch, dtype=np.int64).reshape(shape[:b] + (1,) * (len(lead) - b))
            linear_t = ops.add(linear_t, ops.constant(offsets * span))
        linear_t = linear_t.reshape((int(np.prod(lead, dtype=np.int64)),))
    flat = x.reshape((batch * span,) + rest)
    out = ops.emit(hl.GatherOp, flat, linear_t, axis=0)
    return out.reshape(lead + rest)


@converter("Einsum")
def einsum(n: Node, *xs):
    return linalg.einsum(n.attr("equation"), *[tensor(x) for x in xs])


# ---------------------------------------------------------------- normalizations


@converter("LRN")
def lrn(n: Node, x):
    """y = x / (bias + alpha / size * sum of x^2 over `size` neighbouring channels) ^ beta."""
    x = tensor(x)
    size = int(n.attr("size"))
    alpha, beta, bias = n.attr("alpha", 1e-4), n.attr("beta", 0.75), n.attr("bias", 1.0)
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    nd = x.ndim
    window = (1, size) + (1,) * (nd - 2)
    padding = (0, 0, lo, hi) + (0, 0) * (nd - 2)
    total = ops.emit(hl.ReduceWindowOp, ops.mul(x, x), kind="sum", window=window,
                     strides=(1,) * nd, padding=padding)
    denom = ops.pow(ops.add(ops.mul(total, alpha / size), bias), beta)
    return ops.div(x, denom)


@converter("InstanceNormalization")
def instance_norm(n: Node, x, scale, bias):
    x = tensor(x)
    dims = tuple(range(2, x.ndim))
    mean = ops.mean(x, dim=dims, keepdim=True)
    centered = ops.sub(x, mean)
    var = ops.mean(ops.mul(centered, centered), dim=dims, keepdim=True)
    y = ops.mul(centered, ops.rsqrt(ops.add(var, n.attr("epsilon", 1e-5))))
    view = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return ops.add(ops.mul(y, tensor(scale).reshape(view)), tensor(bias).reshape(view))


# ---------------------------------------------------------------- ConvTranspose


@converter("ConvTranspose")
def conv_transpose(n: Node, x, w, b=None):
    """The full transposed convolution (no padding), then its ends cropped by `pads` (or
    grown by `output_padding` / `output_shape`) per spatial axis."""
    x, w = tensor(x), tensor(w)
    nd = x.ndim - 2
    if nd not in (1, 2, 3):
        raise n.unsupported(f"{nd} spatial dims")
    kernel = list(n.attr("kernel_shape") or w.shape[2:])
    strides = list(n.attr("strides") or [1] * nd)
    dilations = list(n.attr("dilations") or [1] * nd)
    extra = list(n.attr("output_padding") or [0] * nd)
    groups = int(n.attr("group", 1))
    full = [(size - 1) * s + d * (k - 1) + 1
            for size, s, d, k in zip(x.shape[2:], strides, dilations, kernel, strict=True)]
    out_shape = n.attr("output_shape")
    auto_pad = n.attr("auto_pad", "NOTSET")
    if out_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        target = list(out_shape)[-nd:] if out_shape is not None else \
            [size * s for size, s in zip(x.shape[2:], strides, strict=True)]
        lo, hi = [], []
        for f, e, t in zip(full, extra, target, strict=True):
            total = f + e - t
            small = total // 2
            # ONNX: SAME_UPPER puts the larger half at the end, otherwise at the start
            first = small if auto_pad == "SAME_UPPER" else total - small
            lo.append(first)
            hi.append(total - first)
    elif auto_pad in ("NOTSET", "VALID"):
        pads = list(n.attr("pads") or [0] * 2 * nd) if auto_pad == "NOTSET" else [0] * 2 * nd
        lo, hi = pads[:nd], pads[nd:]
    else:
        raise n.unsupported(f"auto_pad={auto_pad}")
    fn = {1: linalg.conv_transpose1d, 2: linalg.conv_transpose2d,
          3: linalg.conv_transpose3d}[nd]
    y = fn(x, w, None, stride=tuple(strides), padding=0, output_padding=0, groups=groups,
           dilation=tuple(dilations))
    for i in range(nd):
        axis = 2 + i
        length = full[i]
        end = length - hi[i] + extra[i]  # the output's end on the full axis
        start = lo[i]
        if start > 0 or end < length:
            y = prims.slice_axis(y, axis, max(start, 0), min(end, length), 1)
        grow_lo, grow_hi = max(-start, 0), max(end - length, 0)
        if grow_lo or grow_hi:
            low = [0] * y.ndim
            high = [0] * y.ndim
            low[axis], high[axis] = grow_lo, grow_hi
            y = ops.emit(hl.PadOp, y, low=tuple(low), high=tuple(high),
                         interior=(0,) * y.ndim, value=0.0)
    if b is not None:
        y = ops.add(y, tensor(b).reshape((1, y.shape[1]) + (1,) * nd))
    return y


# ---------------------------------------------------------------- Resize / Upsample


@converter("Resize", static=(1, 2, 3))
def resize(n: Node, x, roi=None, scales=None, sizes=None):
    x = tensor(x)
    if n.opset < 11:  # Resize-10: (X, scales), Upsample-9's semantics
        return _resample(n, x, _floats(roi, n, "scales"), None, mode=n.attr("mode", "nearest"),
                         transform="asymmetric", nearest="simple")
    if n.attr("antialias", 0):
        raise n.unsupported("antialias=1")
    transform = n.attr("coordinate_transformation_mode", "half_pixel")
    if transform == "tf_crop_and_resize":
        raise n.unsupported("coordinate_transformation_mode=tf_crop_and_resize")
    scales = _floats(scales, n, "scales")
    sizes = ints(sizes, n, "sizes") if sizes is not None else None
    if scales is not None and len(scales) == 0:
        scales = None
    if sizes is not None and len(sizes) == 0:
        sizes = None
    axes = n.attr("axes")
    if axes is not None:  # opset 18: scales/sizes only for these axes
        axes = [axis_of(a, x.ndim) for a in axes]
        if scales is not None:
            full = [1.0] * x.ndim
            for a, s in zip(axes, scales, strict=True):
                full[a] = s
            scales = full
        if sizes is not None:
            full_sizes = list(x.shape)
            for a, s in zip(axes, sizes, strict=True):
                full_sizes[a] = s
            sizes = full_sizes
    policy = n.attr("keep_aspect_ratio_policy", "stretch")
    if sizes is not None and policy != "stretch":
        picked = axes or list(range(x.ndim))
        ratios = [sizes[a] / x.shape[a] for a in picked]
        r = min(ratios) if policy == "not_larger" else max(ratios)
        sizes = list(x.shape)
        for a in picked:
            sizes[a] = int(np.floor(r * x.shape[a] + 0.5))
        scales = [r if a in picked else 1.0 for a in range(x.ndim)]  # onnxruntime's
    return _resample(n, x, scales, sizes, mode=n.attr("mode", "nearest"), transform=transform,
                     nearest=n.attr("nearest_mode", "round_prefer_floor"),
                     cubic_a=n.attr("cubic_coeff_a", -0.75),
                     exclude_outside=bool(n.attr("exclude_outside", 0)))


@converter("Upsample", static=(1,))
def upsample(n: Node, x, scales=None):
    x = tensor(x)
    scales = list(n.attr("scales")) if n.opset < 9 else _floats(scales, n, "scales")
    return _resample(n, x, scales, None, mode=n.attr("mode", "nearest"), transform="asymmetric",
                     nearest="simple")


def _floats(v, n: Node, what: str) -> list[float] | None:
    return None if v is None else [float(f) for f in static(v, n, what).reshape(-1)]


def _resample(n: Node, x: Tensor, scales, sizes, mode: str, transform: str, nearest: str,
              cubic_a: float = -0.75, exclude_outside: bool = False) -> Tensor:
    if mode not in ("nearest", "linear", "bilinear", "trilinear", "cubic"):
        raise n.unsupported(f"mode={mode}")
    if sizes is None and scales is None:
        raise n.unsupported("neither scales nor sizes given")
    for axis in range(x.ndim):
        size = x.shape[axis]
        if sizes is not None:
            out = int(sizes[axis])
            scale = np.float32(scales[axis]) if scales is not None else \
                np.float32(out) / np.float32(size)
        else:
            scale = np.float32(scales[axis])
            out = int(np.floor(size * np.float64(scale)))
        if out == size and scale == 1:
            continue
        coords = _source_coords(n, transform, out, size, scale)
        if mode == "nearest":
            index = _nearest_index(n, coords, nearest, scale)
            x = prims.take_static(x, np.clip(index, 0, size - 1), axis)
            continue
        if mode == "cubic":
            base = np.floor(coords).astype(np.int64)
            frac = (coords - base).astype(np.float64)
            offsets = np.arange(-1, 3)
            taps = base[:, None] + offsets[None, :]
            weights = _cubic_weights(frac, cubic_a)
            if exclude_outside:
                inside = (taps >= 0) & (taps < size)
                weights = np.where(inside, weights, 0.0)
                weights = weights / weights.sum(axis=1, keepdims=True)
        else:
            base = np.floor(coords).astype(np.int64)
            frac = (coords - base).astype(np.float64)
            taps = base[:, None] + np.arange(2)[None, :]
            weights = np.stack([1.0 - frac, frac], axis=1)
        x = _weighted_taps(x, axis, np.clip(taps, 0, size - 1), weights)
    return x


def _source_coords(n: Node, transform: str, out: int, size: int, scale) -> np.ndarray:
    """The input coordinate of each output position (float32, as onnxruntime computes)."""
    o = np.arange(out, dtype=np.float32)
    scale = np.float32(scale)
    half = np.float32(0.5)
    if transform == "half_pixel":
        return (o + half) / scale - half
    if transform == "half_pixel_symmetric":
        adjustment = np.float32(out) / (scale * np.float32(size))
        center = np.float32(size) / np.float32(2)
        offset = center * (np.float32(1) - adjustment)
        return offset + (o + half) / scale - half
    if transform == "pytorch_half_pixel":
        return (o + half) / scale - half if out > 1 else np.zeros(out, np.float32)
    if transform == "align_corners":
        if out == 1:
            return np.zeros(out, np.float32)
        return o * np.float32(size - 1) / np.float32(out - 1)
    if transform == "asymmetric":
        return o / scale
    if transform == "tf_half_pixel_for_nn":
        return (o + half) / scale
    raise n.unsupported(f"coordinate_transformation_mode={transform}")


def _nearest_index(n: Node, coords: np.ndarray, mode: str, scale) -> np.ndarray:
    c = coords.astype(np.float64)
    if mode == "simple":  # Resize-10 / Upsample: floor when enlarging, ceil when shrinking
        return (np.ceil(c) if scale < 1 else np.floor(c)).astype(np.int64)
    base = np.floor(c)
    frac = c - base
    if mode == "round_prefer_floor":
        up = frac > 0.5
    elif mode == "round_prefer_ceil":
        up = frac >= 0.5
    elif mode == "floor":
        up = np.zeros_like(frac, dtype=bool)
    elif mode == "ceil":
        up = frac > 0
    else:
        raise n.unsupported(f"nearest_mode={mode}")
    return (base + up).astype(np.int64)


def _cubic_weights(t: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution weights of the taps at -1, 0, 1, 2 for fraction t."""
    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


def _weighted_taps(x: Tensor, axis: int, taps: np.ndarray, weights: np.ndarray) -> Tensor:
    """sum_j weights[:, j] * x.take(taps[:, j], axis), broadcast along `axis`."""
    view = [1] * x.ndim
    view[axis] = taps.shape[0]
    out = None
    for j in range(taps.shape[1]):
        w = weights[:, j]
        if not np.any(w):
            continue
        term = prims.take_static(x, taps[:, j], axis)
        if not np.all(w == 1):
            term = ops.mul(term, ops.constant(w.astype(x.dtype.np_dtype).reshape(view)))
        out = term if out is None else ops.add(out, term)
    return out if out is not None else ops.mul(prims.take_static(x, taps[:, 0], axis), 0.0)


@converter("Trilu", static=(1,))
def trilu(n: Node, x, k=None):
    """The upper (upper=1) or lower triangle of the last two dims, from diagonal k."""
    k = 0 if k is None else int(static(k, n, "k").reshape(-1)[0])
    upper = bool(n.attr("upper", 1))
    rows, cols = x.shape[-2], x.shape[-1]
    keep = np.triu(np.ones((rows, cols), dtype=bool), k) if upper else \
        np.tril(np.ones((rows, cols), dtype=bool), k)
    if isinstance(x, np.ndarray):
        return np.where(keep, x, np.zeros((), x.dtype))
    x = tensor(x)
    zero = False if x.dtype == dtypes.bool_ else 0
    return ops.where(ops.constant(keep), x, zero)
