"""The ONNX -> lamina converter table: elementwise, reductions, constants.

One function per ONNX op (or family), registered with `@converter`. Shape and
indexing ops are in `ops_shape`; neural-network ops (MatMul, Gemm, Conv, pools,
normalizations, activations) in `ops_nn`. ONNX has no implicit type promotion, so operands arrive with equal
dtypes and the converters only broadcast (ONNX and lamina broadcast alike).
"""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from lamina import dtypes
from lamina.dialects import hl
from lamina.frontend import ops
from lamina.onnx.node import Node, axis_of, converter, ints, static, tensor
from lamina.onnx.types import lamina_dtype, numpy_dtype, to_lamina_array

__all__: list[str] = []  # importing registers the converters in `node.CONVERTERS`

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


@converter("Mod")
def mod(n: Node, a, b):
    """fmod=0: the divisor's sign (numpy remainder); fmod=1: the dividend's (C fmod)."""
    a, b = tensor(a), tensor(b)
    r = ops.remainder(a, b)
    if not n.attr("fmod", 0):
        return r
    differs = ops.logical_and(ops.ne(r, 0), ops.ne(ops.lt(r, 0), ops.lt(a, 0)))
    return ops.where(differs, ops.sub(r, b), r)


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


@converter("ArgMax", "ArgMin")
def arg_extremum(n: Node, x):
    x = tensor(x)
    axis = axis_of(n.attr("axis", 0), x.ndim)
    fn = ops.argmax if n.op_type == "ArgMax" else ops.argmin
    keep = bool(n.attr("keepdims", 1))
    if n.attr("select_last_index", 0):  # the first index of the reversed axis, mirrored
        flipped = fn(ops.emit(hl.ReverseOp, x, dims=(axis,)), dim=axis, keepdim=keep)
        return ops.sub(x.shape[axis] - 1, flipped)
    return fn(x, dim=axis, keepdim=keep)


def _empty_value(op_type: str, dt: dtypes.DType):
    value = _EMPTY.get(op_type, 0)
    if dt.is_floating_point or value in (0, 1) or np.isnan(value):
        return value
    info = np.iinfo(dt.np_dtype) if dt != dtypes.bool_ else None
    if info is None:
        return value < 0 if op_type != "ReduceMin" else True
    return info.min if value < 0 else info.max


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
