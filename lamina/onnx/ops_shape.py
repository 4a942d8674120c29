"""ONNX -> lamina converters for shape and indexing ops: Shape, Size, Reshape,
Flatten, Transpose, Expand, (Un)Squeeze, Concat, Slice, Gather(Elements), Pad.

Shapes, axes and slice bounds are read as static values (see `node.static`)."""

from __future__ import annotations

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.frontend import movement, ops
from lamina.onnx import prims
from lamina.onnx.node import Node, axis_of, converter, ints, static, tensor

__all__: list[str] = []  # importing registers the converters in `node.CONVERTERS`

# ---------------------------------------------------------------- shapes


@converter("Shape")
def shape(n: Node, x):
    dims = np.array(x.shape, dtype=np.int64)
    rank = len(dims)
    start, end = n.attr("start", 0), n.attr("end", rank)
    return dims[slice(axis_of(start, rank), axis_of(end, rank))]


@converter("Size")
def size(n: Node, x):
    return np.array(int(np.prod(x.shape)), dtype=np.int64)


@converter("Reshape", static=(1,))
def reshape(n: Node, x, target):
    x, target = tensor(x), ints(target, n, "shape")
    if not n.attr("allowzero", 0):  # a 0 copies the input's dim
        target = [x.shape[i] if s == 0 else s for i, s in enumerate(target)]
    return x.reshape(tuple(target))


@converter("Flatten")
def flatten(n: Node, x):
    x = tensor(x)
    axis = axis_of(n.attr("axis", 1), x.ndim)
    return x.reshape((int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:]))))


@converter("Transpose")
def transpose(n: Node, x):
    x = tensor(x)
    perm = n.attr("perm") or list(reversed(range(x.ndim)))
    return x.permute(*perm) if x.ndim else x


@converter("Expand", static=(1,))
def expand(n: Node, x, target):
    x = tensor(x)
    target = ops.broadcast_shapes(x.shape, tuple(ints(target, n, "shape")), op="Expand")
    return ops.broadcast_to(x, target)


@converter("Unsqueeze", static=(1,))
def unsqueeze(n: Node, x, axes=None):
    x = tensor(x)
    axes = n.attr("axes") if n.opset < 13 else ints(axes, n, "axes")
    rank = x.ndim + len(axes)
    out = list(x.shape)
    for a in sorted(axis_of(a, rank) for a in axes):
        out.insert(a, 1)
    return x.reshape(tuple(out))


@converter("Squeeze", static=(1,))
def squeeze(n: Node, x, axes=None):
    x = tensor(x)
    axes = n.attr("axes") if n.opset < 13 else ints(axes, n, "axes")
    if axes is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    drop = {axis_of(a, x.ndim) for a in axes}
    return x.reshape(tuple(s for i, s in enumerate(x.shape) if i not in drop))


@converter("Concat")
def concat(n: Node, *xs):
    xs = [tensor(x) for x in xs]
    return prims.cat(xs, axis_of(n.attr("axis"), xs[0].ndim))


@converter("Slice", static=(1, 2, 3, 4))
def slice_(n: Node, x, starts=None, ends=None, axes=None, steps=None):
    x = tensor(x)
    if n.opset < 10:  # Slice-1: starts, ends, axes are attributes; no steps
        starts, ends, axes = n.attr("starts"), n.attr("ends"), n.attr("axes")
    else:
        starts, ends, axes = (ints(starts, n, "starts"), ints(ends, n, "ends"),
                              ints(axes, n, "axes"))
    axes = list(axes) if axes else list(range(len(starts)))
    steps = ints(steps, n, "steps") or [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        x = prims.slice_axis(x, axis_of(axis, x.ndim), start, end, step)
    return x


@converter("Gather")
def gather(n: Node, x, index):
    x = tensor(x)
    axis = axis_of(n.attr("axis", 0), x.ndim)
    if isinstance(index, np.ndarray):
        if index.ndim == 0:  # a scalar index drops the axis
            out = prims.take_static(x, index.reshape(1), axis)
            return out.squeeze(axis)
        return prims.take_static(x, index, axis)
    return prims.take(x, index, axis)


@converter("Pad", static=(1, 2, 3))
def pad(n: Node, x, pads, value=None, axes=None):
    x = tensor(x)
    pads = ints(pads, n, "pads") if n.opset >= 11 else list(n.attr("pads"))
    axes = [axis_of(a, x.ndim) for a in (ints(axes, n, "axes") or range(x.ndim))]
    low, high = [0] * x.ndim, [0] * x.ndim
    for i, a in enumerate(axes):
        low[a], high[a] = pads[i], pads[i + len(axes)]
    mode = n.attr("mode", "constant")
    if mode == "constant":
        fill = static(value, n, "constant_value").reshape(-1)[0].item() if value is not None \
            else n.attr("value", 0)
        fill = bool(fill) if x.dtype == dtypes.bool_ else (
            float(fill) if x.dtype.is_floating_point else int(fill))
        return ops.emit(hl.PadOp, x, low=tuple(low), high=tuple(high),
                        interior=(0,) * x.ndim, value=fill)
    if mode not in _PAD_INDEX:
        raise n.unsupported(f"mode={mode}")
    for a in range(x.ndim):
        if low[a] or high[a]:
            positions = np.arange(-low[a], x.shape[a] + high[a])
            x = prims.take_static(x, _PAD_INDEX[mode](positions, x.shape[a]), a)
    return x


def _reflect(i: np.ndarray, size: int) -> np.ndarray:
    if size == 1:
        return np.zeros_like(i)
    i = np.mod(i, 2 * size - 2)
    return np.where(i >= size, 2 * size - 2 - i, i)


# which input element each padded position copies, per mode
_PAD_INDEX = {"edge": lambda i, size: np.clip(i, 0, size - 1), "reflect": _reflect,
              "wrap": lambda i, size: np.mod(i, size)}


@converter("GatherElements")
def gather_elements(n: Node, x, index):
    x, index = tensor(x), tensor(index)
    axis = axis_of(n.attr("axis", 0), x.ndim)
    index = ops.where(ops.lt(index, 0), ops.add(index, x.shape[axis]), index)
    return movement.gather(x, axis, index)
