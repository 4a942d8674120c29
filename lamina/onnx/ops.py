"""The ONNX -> lamina converter table: elementwise, reductions, shapes, constants.

One function per ONNX op (or family), registered with `@converter`. Neural
network ops (MatMul, Gemm, Conv, pools, normalizations, activations) are in
`ops_nn`. ONNX has no implicit type promotion, so operands arrive with equal
dtypes and the converters only broadcast (ONNX and lamina broadcast alike).
"""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from lamina import dtypes
from lamina.dialects import hl
from lamina.frontend import movement, ops
from lamina.onnx import prims
from lamina.onnx.node import Node, axis_of, converter, ints, static, tensor
from lamina.onnx.types import lamina_dtype, numpy_dtype, to_lamina_array

# ---------------------------------------------------------------- elementwise

_BINARY = {"Add": ops.add, "Sub": ops.sub, "Mul": ops.mul, "Equal": ops.eq, "Less": ops.lt,
           "Greater": ops.gt, "LessOrEqual": ops.le, "GreaterOrEqual": ops.ge,
           "And": ops.logical_and, "Or": ops.logical_or, "Xor": ops.logical_xor}
_UNARY = {"Neg": ops.neg, "Abs": ops.abs, "Exp": ops.exp, "Log": ops.log, "Sqrt": ops.sqrt,
          "Tanh": ops.tanh, "Sigmoid": ops.sigmoid, "Erf": ops.erf, "Not": ops.logical_not,
          "Floor": ops.floor, "Ceil": ops.ceil, "Sin": ops.sin, "Cos": ops.cos,
          "Sign": ops.sign, "Reciprocal": ops.reciprocal}


@converter(*_BINARY)
def binary(n: Node, a, b):
    return _BINARY[n.op_type](tensor(a), tensor(b))


@converter(*_UNARY)
def unary(n: Node, x):
    return _UNARY[n.op_type](tensor(x))


@converter("Div")
def div(n: Node, a, b):
    a, b = tensor(a), tensor(b)
    if a.dtype.is_floating_point:
        return ops.div(a, b)
    return ops.div(a, b, rounding_mode="trunc")  # ONNX integer division truncates


@converter("Pow")
def pow_(n: Node, a, b):
    a, b = tensor(a), tensor(b)
    if b.dtype != a.dtype:  # the exponent may have its own type; the result has the base's
        b = b.to(a.dtype if a.dtype.is_floating_point else dtypes.float64)
    out = ops.pow(a, b) if b.dtype == a.dtype else ops.pow(a.to(b.dtype), b)
    return out.to(a.dtype) if out.dtype != a.dtype else out


@converter("Max", "Min")
def extremum(n: Node, *xs):
    fn = ops.maximum if n.op_type == "Max" else ops.minimum
    out = tensor(xs[0])
    for x in xs[1:]:
        out = fn(out, tensor(x))
    return out


@converter("Sum", "Mean")
def variadic_sum(n: Node, *xs):
    out = tensor(xs[0])
    for x in xs[1:]:
        out = ops.add(out, tensor(x))
    return ops.div(out, len(xs)) if n.op_type == "Mean" else out


@converter("Where")
def where(n: Node, cond, a, b):
    return ops.where(tensor(cond), tensor(a), tensor(b))


@converter("Clip")
def clip(n: Node, x, lo=None, hi=None):
    x = tensor(x)
    if n.opset < 11:
        lo, hi = n.attr("min"), n.attr("max")
    out = x
    if lo is not None:
        out = ops.maximum(out, tensor(lo).to(x.dtype) if not np.isscalar(lo) else lo)
    if hi is not None:
        out = ops.minimum(out, tensor(hi).to(x.dtype) if not np.isscalar(hi) else hi)
    return out


@converter("Cast")
def cast(n: Node, x):
    if n.attr("saturate", 1) != 1 or n.attr("round_mode", "up") != "up":
        raise n.unsupported("saturate/round_mode (float8 casts)")
    if isinstance(x, np.ndarray):
        return to_lamina_array(x.astype(numpy_dtype(n.attr("to"))))
    return ops.to_dtype(x, lamina_dtype(n.attr("to")))


@converter("CastLike")
def cast_like(n: Node, x, like):
    return ops.to_dtype(tensor(x), tensor(like).dtype)


@converter("Identity", "Dropout", static=(2,))
def identity(n: Node, x, ratio=None, training_mode=None):
    if n.op_type != "Dropout":
        return x
    if training_mode is not None and bool(static(training_mode, n, "training_mode")):
        raise n.unsupported("training_mode=True (only inference is imported)")
    if n.n_outputs > 1:  # inference: the mask is all true
        return x, ops.full(tuple(x.shape), True, dtype=dtypes.bool_)
    return x


# ---------------------------------------------------------------- reductions

_REDUCE = {"ReduceSum": ops.sum, "ReduceMean": ops.mean, "ReduceMax": ops.amax,
           "ReduceMin": ops.amin, "ReduceProd": ops.prod, "ReduceSumSquare": ops.sum,
           "ReduceL1": ops.sum, "ReduceL2": ops.sum, "ReduceLogSumExp": ops.logsumexp,
           "ReduceLogSum": ops.sum}
# what each reduction of an empty set gives (ONNX: the identity of the reduction)
_EMPTY = {"ReduceMean": np.nan, "ReduceMax": -np.inf, "ReduceMin": np.inf, "ReduceProd": 1,
          "ReduceLogSumExp": -np.inf, "ReduceLogSum": -np.inf}
# ReduceSum takes its axes as an input from opset 13, the others from opset 18
_AXES_INPUT_SINCE = {"ReduceSum": 13}


@converter(*_REDUCE, static=(1,))
def reduce(n: Node, x, axes=None):
    x = tensor(x)
    if n.opset < _AXES_INPUT_SINCE.get(n.op_type, 18):
        axes = n.attr("axes")
    else:
        axes = ints(axes, n, "axes")
    keep = bool(n.attr("keepdims", 1))
    if not axes:
        if n.attr("noop_with_empty_axes", 0):
            return x
        axes = list(range(x.ndim))
    dims = tuple(sorted(axis_of(a, x.ndim) for a in axes))
    if any(x.shape[d] == 0 for d in dims):
        shape = [1 if i in dims else s for i, s in enumerate(x.shape) if keep or i not in dims]
        return ops.full(tuple(shape), _empty_value(n.op_type, x.dtype), dtype=x.dtype)
    if n.op_type == "ReduceSumSquare":
        x = ops.mul(x, x)
    elif n.op_type in ("ReduceL1", "ReduceL2"):
        x = ops.abs(x) if n.op_type == "ReduceL1" else ops.mul(x, x)
    out = _REDUCE[n.op_type](x, dim=dims, keepdim=keep) if n.op_type != "ReduceLogSumExp" \
        else ops.logsumexp(x, dims, keepdim=keep)
    if n.op_type == "ReduceL2":
        out = ops.sqrt(out)
    elif n.op_type == "ReduceLogSum":
        out = ops.log(out)
    return out.to(x.dtype) if out.dtype != x.dtype else out


def _empty_value(op_type: str, dt: dtypes.DType):
    value = _EMPTY.get(op_type, 0)
    if dt.is_floating_point or value in (0, 1) or np.isnan(value):
        return value
    info = np.iinfo(dt.np_dtype) if dt != dtypes.bool_ else None
    if info is None:
        return value < 0 if op_type != "ReduceMin" else True
    return info.min if value < 0 else info.max


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
def slice_(n: Node, x, starts, ends, axes=None, steps=None):
    x = tensor(x)
    starts, ends = ints(starts, n, "starts"), ints(ends, n, "ends")
    axes = ints(axes, n, "axes") or list(range(len(starts)))
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


# ---------------------------------------------------------------- constants


@converter("Constant")
def constant(n: Node):
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        value = n.attr(key)
        if value is None:
            continue
        if key == "value":
            return to_lamina_array(numpy_helper.to_array(value))
        dtype = np.float32 if "float" in key else np.int64
        return np.asarray(value, dtype=dtype)
    raise n.unsupported("only tensor, float and int constants are supported")


@converter("ConstantOfShape", static=(0,))
def constant_of_shape(n: Node, target):
    value = n.attr("value")
    fill = to_lamina_array(numpy_helper.to_array(value)) if value is not None \
        else np.zeros(1, np.float32)
    shape = tuple(ints(target, n, "shape"))
    if int(np.prod(shape)) <= 1024:  # small: stays a static array (shape arithmetic)
        return np.full(shape, fill.reshape(-1)[0], dtype=fill.dtype)
    return ops.full(shape, fill.reshape(-1)[0].item(), dtype=dtypes.from_numpy(fill.dtype))
