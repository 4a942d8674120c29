"""Elementwise hl ops: unary, binary, comparisons, select and cast.

Operands of a binary op have one type (the frontend broadcasts and promotes
first, so every op below sees equal shapes and dtypes). Integer semantics follow
PyTorch: `div` on integers is floor division, `rem` takes the sign of the divisor.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import TensorType, i1
from xdsl.irdl import irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure

from lamina.dialects.hl.base import (
    HlOp,
    dtype_of,
    require,
    require_same_types,
    shape_of,
    tensor_type,
)
from lamina.errors import DTypeError

_erf = np.frompyfunc(math.erf, 1, 1)


def _float_only(t: TensorType) -> None:
    require(dtype_of(t).is_floating_point,
            f"needs a floating-point tensor, got {t}", DTypeError)


# ---------------------------------------------------------------- unary


class UnaryOp(HlOp):
    """f(x) elementwise; the result has the operand's type."""

    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    FLOAT_ONLY: ClassVar[bool] = True

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        if cls.FLOAT_ONLY:
            _float_only(t)
        return t


@irdl_op_definition
class NegOp(UnaryOp):
    """-x.  `%r = hl.neg %x : tensor<4xf32>`"""

    name = "hl.neg"
    FLOAT_ONLY: ClassVar = False

    def reference(self, x):
        return np.negative(x)

    def vjp(self, ct, out, x):
        return (-ct,)


@irdl_op_definition
class AbsOp(UnaryOp):
    """|x|.  `%r = hl.abs %x : tensor<4xf32>`"""

    name = "hl.abs"
    FLOAT_ONLY: ClassVar = False

    def reference(self, x):
        return np.abs(x)

    def vjp(self, ct, out, x):
        return (ct * x.sign(),)


@irdl_op_definition
class SignOp(UnaryOp):
    """sign(x) in {-1, 0, 1}; zero gradient.  `%r = hl.sign %x : tensor<4xf32>`"""

    name = "hl.sign"
    FLOAT_ONLY: ClassVar = False

    def reference(self, x):
        return np.sign(x)

    def vjp(self, ct, out, x):
        return (ct.zeros_like(),)


@irdl_op_definition
class ExpOp(UnaryOp):
    """e^x.  `%r = hl.exp %x : tensor<4xf32>`"""

    name = "hl.exp"

    def reference(self, x):
        return np.exp(x)

    def vjp(self, ct, out, x):
        return (ct * out,)


@irdl_op_definition
class LogOp(UnaryOp):
    """Natural logarithm.  `%r = hl.log %x : tensor<4xf32>`"""

    name = "hl.log"

    def reference(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    def vjp(self, ct, out, x):
        return (ct / x,)


@irdl_op_definition
class SqrtOp(UnaryOp):
    """Square root.  `%r = hl.sqrt %x : tensor<4xf32>`"""

    name = "hl.sqrt"

    def reference(self, x):
        with np.errstate(invalid="ignore"):
            return np.sqrt(x)

    def vjp(self, ct, out, x):
        return (ct * 0.5 / out,)


@irdl_op_definition
class RsqrtOp(UnaryOp):
    """1/sqrt(x).  `%r = hl.rsqrt %x : tensor<4xf32>`"""

    name = "hl.rsqrt"

    def reference(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 / np.sqrt(x)

    def vjp(self, ct, out, x):
        return (ct * -0.5 * out * out * out,)


@irdl_op_definition
class TanhOp(UnaryOp):
    """Hyperbolic tangent.  `%r = hl.tanh %x : tensor<4xf32>`"""

    name = "hl.tanh"

    def reference(self, x):
        return np.tanh(x)

    def vjp(self, ct, out, x):
        return (ct * (1.0 - out * out),)


@irdl_op_definition
class SigmoidOp(UnaryOp):
    """1/(1+e^-x).  `%r = hl.sigmoid %x : tensor<4xf32>`"""

    name = "hl.sigmoid"

    def reference(self, x):
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-x))

    def vjp(self, ct, out, x):
        return (ct * out * (1.0 - out),)


@irdl_op_definition
class ErfOp(UnaryOp):
    """The error function.  `%r = hl.erf %x : tensor<4xf32>`"""

    name = "hl.erf"

    def reference(self, x):
        return _erf(x.astype(np.float64)).astype(np.float64)

    def vjp(self, ct, out, x):
        return (ct * (2.0 / math.sqrt(math.pi)) * (-(x * x)).exp(),)


@irdl_op_definition
class SinOp(UnaryOp):
    """Sine.  `%r = hl.sin %x : tensor<4xf32>`"""

    name = "hl.sin"

    def reference(self, x):
        return np.sin(x)

    def vjp(self, ct, out, x):
        return (ct * x.cos(),)


@irdl_op_definition
class CosOp(UnaryOp):
    """Cosine.  `%r = hl.cos %x : tensor<4xf32>`"""

    name = "hl.cos"

    def reference(self, x):
        return np.cos(x)

    def vjp(self, ct, out, x):
        return (-(ct * x.sin()),)


@irdl_op_definition
class FloorOp(UnaryOp):
    """Round down; zero gradient.  `%r = hl.floor %x : tensor<4xf32>`"""

    name = "hl.floor"

    def reference(self, x):
        return np.floor(x)

    def vjp(self, ct, out, x):
        return (ct.zeros_like(),)


@irdl_op_definition
class CeilOp(UnaryOp):
    """Round up; zero gradient.  `%r = hl.ceil %x : tensor<4xf32>`"""

    name = "hl.ceil"

    def reference(self, x):
        return np.ceil(x)

    def vjp(self, ct, out, x):
        return (ct.zeros_like(),)


@irdl_op_definition
class RoundOp(UnaryOp):
    """Round half to even (as torch.round); zero gradient.  `%r = hl.round %x : tensor<4xf32>`"""

    name = "hl.round"

    def reference(self, x):
        return np.round(x)

    def vjp(self, ct, out, x):
        return (ct.zeros_like(),)


@irdl_op_definition
class NotOp(UnaryOp):
    """Logical not of a bool tensor.  `%r = hl.not %x : tensor<4xi1>`"""

    name = "hl.not"
    FLOAT_ONLY: ClassVar = False
    DIFFERENTIABLE: ClassVar = False

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        require(t.get_element_type() == i1, f"needs a bool tensor, got {t}", DTypeError)
        return t

    def reference(self, x):
        return np.logical_not(x)


@irdl_op_definition
class StopGradientOp(UnaryOp):
    """The identity, with a zero gradient.  `%r = hl.stop_gradient %x : tensor<4xf32>`"""

    name = "hl.stop_gradient"
    FLOAT_ONLY: ClassVar = False

    def reference(self, x):
        return x

    def vjp(self, ct, out, x):
        return (None,)


# ---------------------------------------------------------------- binary


class BinaryOp(HlOp):
    """f(a, b) elementwise on operands of one type."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    FLOAT_ONLY: ClassVar[bool] = False

    @classmethod
    def infer(cls, types, props, result_type):
        require_same_types(cls.name, types)
        if cls.FLOAT_ONLY:
            _float_only(types[0])
        return types[0]


@irdl_op_definition
class AddOp(BinaryOp):
    """a + b.  `%r = hl.add %a, %b : tensor<4xf32>`"""

    name = "hl.add"

    def reference(self, a, b):
        return np.add(a, b) if a.dtype != np.bool_ else np.logical_or(a, b)

    def vjp(self, ct, out, a, b):
        return (ct, ct)


@irdl_op_definition
class SubOp(BinaryOp):
    """a - b.  `%r = hl.sub %a, %b : tensor<4xf32>`"""

    name = "hl.sub"

    def reference(self, a, b):
        return np.subtract(a, b)

    def vjp(self, ct, out, a, b):
        return (ct, -ct)


@irdl_op_definition
class MulOp(BinaryOp):
    """a * b.  `%r = hl.mul %a, %b : tensor<4xf32>`"""

    name = "hl.mul"

    def reference(self, a, b):
        return np.multiply(a, b) if a.dtype != np.bool_ else np.logical_and(a, b)

    def vjp(self, ct, out, a, b):
        return (ct * b, ct * a)


@irdl_op_definition
class DivOp(BinaryOp):
    """a / b; floor division on integers (as torch's //).  `%r = hl.div %a, %b : tensor<4xf32>`"""

    name = "hl.div"

    def reference(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            if np.issubdtype(a.dtype, np.integer):
                return np.floor_divide(a, b)
            return np.true_divide(a, b)

    def vjp(self, ct, out, a, b):
        return (ct / b, -(ct * out / b))


@irdl_op_definition
class RemOp(BinaryOp):
    """Remainder with the sign of the divisor (torch.remainder).  `%r = hl.rem %a, %b : tensor<4xf32>`"""

    name = "hl.rem"

    def reference(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.remainder(a, b)

    def vjp(self, ct, out, a, b):
        return (ct, -(ct * (a / b).floor()))


@irdl_op_definition
class PowOp(BinaryOp):
    """a ** b.  `%r = hl.pow %a, %b : tensor<4xf32>`"""

    name = "hl.pow"

    def reference(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.power(a, b)

    def vjp(self, ct, out, a, b):
        da = ct * b * a ** (b - 1.0)
        # d/db a^b = a^b log a; defined as 0 where a == 0 (as torch does)
        safe_log = ct.builder.select(a == 0.0, a.zeros_like(), a.abs().log())
        db = ct * out * safe_log
        return (da, db)


@irdl_op_definition
class MaxOp(BinaryOp):
    """Elementwise maximum, NaN-propagating.  `%r = hl.max %a, %b : tensor<4xf32>`"""

    name = "hl.max"

    def reference(self, a, b):
        return np.maximum(a, b)

    def vjp(self, ct, out, a, b):
        # ties split the gradient evenly, as torch.maximum does
        a_wins = (a > b).to(ct.dtype) + (a == b).to(ct.dtype) * 0.5
        return (ct * a_wins, ct * (1.0 - a_wins))


@irdl_op_definition
class MinOp(BinaryOp):
    """Elementwise minimum, NaN-propagating.  `%r = hl.min %a, %b : tensor<4xf32>`"""

    name = "hl.min"

    def reference(self, a, b):
        return np.minimum(a, b)

    def vjp(self, ct, out, a, b):
        a_wins = (a < b).to(ct.dtype) + (a == b).to(ct.dtype) * 0.5
        return (ct * a_wins, ct * (1.0 - a_wins))


@irdl_op_definition
class AndOp(BinaryOp):
    """Logical/bitwise and.  `%r = hl.and %a, %b : tensor<4xi1>`"""

    name = "hl.and"
    DIFFERENTIABLE: ClassVar = False

    def reference(self, a, b):
        return np.logical_and(a, b) if a.dtype == np.bool_ else np.bitwise_and(a, b)


@irdl_op_definition
class OrOp(BinaryOp):
    """Logical/bitwise or.  `%r = hl.or %a, %b : tensor<4xi1>`"""

    name = "hl.or"
    DIFFERENTIABLE: ClassVar = False

    def reference(self, a, b):
        return np.logical_or(a, b) if a.dtype == np.bool_ else np.bitwise_or(a, b)


@irdl_op_definition
class XorOp(BinaryOp):
    """Logical/bitwise xor.  `%r = hl.xor %a, %b : tensor<4xi1>`"""

    name = "hl.xor"
    DIFFERENTIABLE: ClassVar = False

    def reference(self, a, b):
        return np.logical_xor(a, b) if a.dtype == np.bool_ else np.bitwise_xor(a, b)


# ---------------------------------------------------------------- comparisons


class CompareOp(BinaryOp):
    """A comparison; the result is a bool (i1) tensor of the operands' shape."""

    DIFFERENTIABLE: ClassVar = False

    @classmethod
    def infer(cls, types, props, result_type):
        require_same_types(cls.name, types)
        return tensor_type(i1, shape_of(types[0]))


@irdl_op_definition
class EqOp(CompareOp):
    """a == b.  `%r = hl.eq %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.eq"

    def reference(self, a, b):
        return np.equal(a, b)


@irdl_op_definition
class NeOp(CompareOp):
    """a != b.  `%r = hl.ne %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.ne"

    def reference(self, a, b):
        return np.not_equal(a, b)


@irdl_op_definition
class LtOp(CompareOp):
    """a < b.  `%r = hl.lt %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.lt"

    def reference(self, a, b):
        return np.less(a, b)


@irdl_op_definition
class LeOp(CompareOp):
    """a <= b.  `%r = hl.le %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.le"

    def reference(self, a, b):
        return np.less_equal(a, b)


@irdl_op_definition
class GtOp(CompareOp):
    """a > b.  `%r = hl.gt %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.gt"

    def reference(self, a, b):
        return np.greater(a, b)


@irdl_op_definition
class GeOp(CompareOp):
    """a >= b.  `%r = hl.ge %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.ge"

    def reference(self, a, b):
        return np.greater_equal(a, b)


# ---------------------------------------------------------------- select, cast


@irdl_op_definition
class SelectOp(HlOp):
    """cond ? a : b.  `%r = hl.select %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>`"""

    name = "hl.select"
    cond = operand_def(TensorType)
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        c, a, b = types
        require(c.get_element_type() == i1, f"condition must be a bool tensor, got {c}",
                DTypeError)
        require_same_types(cls.name, [a, b])
        require(shape_of(c) == shape_of(a),
                f"condition shape {shape_of(c)} differs from value shape {shape_of(a)}")
        return a

    def reference(self, c, a, b):
        return np.where(c, a, b)

    def vjp(self, ct, out, c, a, b):
        zero = ct.zeros_like()
        return (None, ct.builder.select(c, ct, zero), ct.builder.select(c, zero, ct))


@irdl_op_definition
class CastOp(HlOp):
    """Convert the element type; float->int truncates toward zero.
    `%r = hl.cast %x : tensor<4xf32> -> tensor<4xi32>`"""

    name = "hl.cast"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        require(result_type is not None, "needs a result type")
        require(shape_of(result_type) == shape_of(t),
                f"cannot change the shape {shape_of(t)} to {shape_of(result_type)}")
        return result_type

    def reference(self, x):
        target = dtype_of(self.out.type)
        if target.np_dtype == np.bool_:
            return x != 0
        if target.category == 1 and x.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                return np.trunc(x).astype(target.np_dtype)
        return x.astype(target.np_dtype)

    def vjp(self, ct, out, x):
        if not x.dtype.is_floating_point:
            return (None,)
        return (ct.to(x.dtype),)
