"""Unary elementwise hl ops: f(x), the result of the operand's type."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects import math as mth
from xdsl.dialects.builtin import TensorType, i1
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure

from lamina.dialects import scalar
from lamina.dialects.hl.base import HlOp, dtype_of, element_of, require
from lamina.dialects.scalar import Scalars, is_float
from lamina.errors import DTypeError

_erf = np.frompyfunc(math.erf, 1, 1)


def float_only(t: TensorType) -> None:
    require(dtype_of(t).is_floating_point,
            lambda: f"needs a floating-point tensor, got {t}", DTypeError)


class ElementwiseOp(HlOp):
    """Shared by every elementwise op: the types its scalar rule computes in."""

    def compute_type(self, i: int = 0):
        """The register type of operand i's elements (f16/bf16 as f32)."""
        return scalar.compute_type(element_of(self.operands[i].type))

    def is_unsigned(self, i: int = 0) -> bool:
        return scalar.is_unsigned(element_of(self.operands[i].type))


class UnaryOp(ElementwiseOp):
    """f(x) elementwise; the result has the operand's type. A subclass naming a `math`
    op in `MATH` needs no scalar rule of its own."""

    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    FLOAT_ONLY: ClassVar[bool] = True
    MATH: ClassVar[type[Operation] | None] = None

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        if cls.FLOAT_ONLY:
            float_only(t)
        return t

    def scalar(self, b: Scalars, x: SSAValue) -> SSAValue:
        if self.MATH is None:
            raise NotImplementedError(f"{self.name} has no scalar rule")
        if not is_float(self.compute_type()):  # floor/ceil/round of integers
            return x
        return b.op(self.MATH(x))


@irdl_op_definition
class NegOp(UnaryOp):
    """-x.  `%r = hl.neg %x : tensor<4xf32>`"""

    name = "hl.neg"
    FLOAT_ONLY: ClassVar = False

    def reference(self, x):
        return np.negative(x)

    def vjp(self, ct, out, x):
        return (-ct,)

    def scalar(self, b, x):
        t = self.compute_type()
        if is_float(t):
            return b.op(arith.NegfOp(x))
        return b.op(arith.SubiOp(b.const(0, t), x))


@irdl_op_definition
class AbsOp(UnaryOp):
    """|x|.  `%r = hl.abs %x : tensor<4xf32>`"""

    name = "hl.abs"
    FLOAT_ONLY: ClassVar = False

    def reference(self, x):
        return np.abs(x)

    def vjp(self, ct, out, x):
        return (ct * x.sign(),)

    def scalar(self, b, x):
        t = self.compute_type()
        if is_float(t):
            return b.op(mth.AbsFOp(x))
        return x if self.is_unsigned() or t == i1 else b.op(mth.AbsIOp(x))


@irdl_op_definition
class SignOp(UnaryOp):
    """sign(x) in {-1, 0, 1}, 0 for NaN (as torch); zero gradient.  `%r = hl.sign %x : tensor<4xf32>`"""

    name = "hl.sign"
    FLOAT_ONLY: ClassVar = False

    def reference(self, x):
        if x.dtype == np.bool_:
            return x.copy()
        # torch's (x > 0) - (x < 0): sign(NaN) = sign(-0.0) = +0.0 (np.sign keeps both)
        return ((x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)).astype(x.dtype)

    def vjp(self, ct, out, x):
        return (ct.zeros_like(),)

    def scalar(self, b, x):
        t = self.compute_type()
        if t == i1:  # sign(True) is True, as torch's
            return x
        zero, one, minus = b.const(0, t), b.const(1, t), b.const(-1, t)
        if is_float(t):
            pos = b.op(arith.CmpfOp(x, zero, "ogt"))  # NaN and -0.0 give +0.0, as torch's
            neg = b.op(arith.CmpfOp(x, zero, "olt"))
            return b.op(arith.SelectOp(pos, one, b.op(arith.SelectOp(neg, minus, zero))))
        if self.is_unsigned():  # uint8 200 is positive, not -56
            return b.op(arith.SelectOp(b.op(arith.CmpiOp(x, zero, "ne")), one, zero))
        pos = b.op(arith.CmpiOp(x, zero, "sgt"))
        neg = b.op(arith.CmpiOp(x, zero, "slt"))
        return b.op(arith.SelectOp(pos, one, b.op(arith.SelectOp(neg, minus, zero))))


@irdl_op_definition
class ExpOp(UnaryOp):
    """e^x.  `%r = hl.exp %x : tensor<4xf32>`"""

    name = "hl.exp"
    MATH: ClassVar = mth.ExpOp

    def reference(self, x):
        return np.exp(x)

    def vjp(self, ct, out, x):
        return (ct * out,)


@irdl_op_definition
class LogOp(UnaryOp):
    """Natural logarithm.  `%r = hl.log %x : tensor<4xf32>`"""

    name = "hl.log"
    MATH: ClassVar = mth.LogOp

    def reference(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    def vjp(self, ct, out, x):
        return (ct / x,)


@irdl_op_definition
class SqrtOp(UnaryOp):
    """Square root.  `%r = hl.sqrt %x : tensor<4xf32>`"""

    name = "hl.sqrt"
    MATH: ClassVar = mth.SqrtOp

    def reference(self, x):
        with np.errstate(invalid="ignore"):
            return np.sqrt(x)

    def vjp(self, ct, out, x):
        return (ct * 0.5 / out,)


@irdl_op_definition
class RsqrtOp(UnaryOp):
    """1/sqrt(x).  `%r = hl.rsqrt %x : tensor<4xf32>`"""

    name = "hl.rsqrt"
    MATH: ClassVar = mth.RsqrtOp

    def reference(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 / np.sqrt(x)

    def vjp(self, ct, out, x):
        return (ct * -0.5 * out * out * out,)


@irdl_op_definition
class TanhOp(UnaryOp):
    """Hyperbolic tangent.  `%r = hl.tanh %x : tensor<4xf32>`"""

    name = "hl.tanh"
    MATH: ClassVar = mth.TanhOp

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

    def scalar(self, b, x):
        one = b.const(1.0, self.compute_type())
        e = b.op(mth.ExpOp(b.op(arith.NegfOp(x))))
        return b.op(arith.DivfOp(one, b.op(arith.AddfOp(one, e))))


@irdl_op_definition
class ErfOp(UnaryOp):
    """The error function.  `%r = hl.erf %x : tensor<4xf32>`"""

    name = "hl.erf"
    MATH: ClassVar = mth.ErfOp

    def reference(self, x):
        return np.asarray(_erf(np.asarray(x, np.float64)), np.float64)  # 0-d: a Python float

    def vjp(self, ct, out, x):
        return (ct * (2.0 / math.sqrt(math.pi)) * (-(x * x)).exp(),)


@irdl_op_definition
class SinOp(UnaryOp):
    """Sine.  `%r = hl.sin %x : tensor<4xf32>`"""

    name = "hl.sin"
    MATH: ClassVar = mth.SinOp

    def reference(self, x):
        return np.sin(x)

    def vjp(self, ct, out, x):
        return (ct * x.cos(),)


@irdl_op_definition
class CosOp(UnaryOp):
    """Cosine.  `%r = hl.cos %x : tensor<4xf32>`"""

    name = "hl.cos"
    MATH: ClassVar = mth.CosOp

    def reference(self, x):
        return np.cos(x)

    def vjp(self, ct, out, x):
        return (-(ct * x.sin()),)


@irdl_op_definition
class AtanOp(UnaryOp):
    """Arctangent, in (-pi/2, pi/2).  `%r = hl.atan %x : tensor<4xf32>`"""

    name = "hl.atan"
    MATH: ClassVar = mth.AtanOp

    def reference(self, x):
        return np.arctan(x)

    def vjp(self, ct, out, x):
        return (ct / (1.0 + x * x),)


def _unit_slope(x, sign: float):
    """+-1/sqrt(1 - x^2), the slope of asin (+) and acos (-)."""
    return sign / _one_minus_square(x).sqrt()


def _one_minus_square(x):
    """1 - x^2 as (1 - x)(1 + x): exact where x^2 rounds, near |x| = 1 (as torch's fused
    multiply-add)."""
    return (1.0 - x) * (x + 1.0)


@irdl_op_definition
class AsinOp(UnaryOp):
    """Arcsine, in [-pi/2, pi/2]; NaN outside [-1, 1].  `%r = hl.asin %x : tensor<4xf32>`"""

    name = "hl.asin"
    MATH: ClassVar = mth.AsinOp

    def reference(self, x):
        with np.errstate(invalid="ignore"):
            return np.arcsin(x)

    def vjp(self, ct, out, x):
        return (ct * _unit_slope(x, 1.0),)


@irdl_op_definition
class AcosOp(UnaryOp):
    """Arccosine, in [0, pi]; NaN outside [-1, 1].  `%r = hl.acos %x : tensor<4xf32>`"""

    name = "hl.acos"
    MATH: ClassVar = mth.AcosOp

    def reference(self, x):
        with np.errstate(invalid="ignore"):
            return np.arccos(x)

    def vjp(self, ct, out, x):
        return (ct * _unit_slope(x, -1.0),)


@irdl_op_definition
class SinhOp(UnaryOp):
    """Hyperbolic sine.  `%r = hl.sinh %x : tensor<4xf32>`"""

    name = "hl.sinh"
    MATH: ClassVar = mth.SinhOp

    def reference(self, x):
        with np.errstate(over="ignore"):
            return np.sinh(x)

    def vjp(self, ct, out, x):
        return (ct * x.cosh(),)


@irdl_op_definition
class CoshOp(UnaryOp):
    """Hyperbolic cosine.  `%r = hl.cosh %x : tensor<4xf32>`"""

    name = "hl.cosh"
    MATH: ClassVar = mth.CoshOp

    def reference(self, x):
        with np.errstate(over="ignore"):
            return np.cosh(x)

    def vjp(self, ct, out, x):
        return (ct * x.sinh(),)


@irdl_op_definition
class AsinhOp(UnaryOp):
    """Inverse hyperbolic sine.  `%r = hl.asinh %x : tensor<4xf32>`"""

    name = "hl.asinh"
    MATH: ClassVar = mth.AsinhOp

    def reference(self, x):
        return np.arcsinh(x)

    def vjp(self, ct, out, x):
        return (ct / (x * x + 1.0).sqrt(),)


@irdl_op_definition
class AcoshOp(UnaryOp):
    """Inverse hyperbolic cosine; NaN below 1.  `%r = hl.acosh %x : tensor<4xf32>`"""

    name = "hl.acosh"
    MATH: ClassVar = mth.AcoshOp

    def reference(self, x):
        with np.errstate(invalid="ignore"):
            return np.arccosh(x)

    def vjp(self, ct, out, x):
        # torch's formula, finite below -1 too (where the value itself is NaN)
        # torch's formula: finite below -1 too (where the value itself is NaN), inf at ±1
        return (ct / (x * x - 1.0).sqrt(),)


@irdl_op_definition
class AtanhOp(UnaryOp):
    """Inverse hyperbolic tangent; +-inf at +-1, NaN outside.  `%r = hl.atanh %x : tensor<4xf32>`"""

    name = "hl.atanh"
    MATH: ClassVar = mth.AtanhOp

    def reference(self, x):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.arctanh(x)

    def vjp(self, ct, out, x):
        return (ct / _one_minus_square(x),)


@irdl_op_definition
class TruncOp(UnaryOp):
    """Round toward zero; zero gradient.  `%r = hl.trunc %x : tensor<4xf32>`"""

    name = "hl.trunc"
    MATH: ClassVar = mth.TruncOp

    def reference(self, x):
        return np.trunc(x)

    def vjp(self, ct, out, x):
        return (ct.zeros_like(),)


@irdl_op_definition
class FloorOp(UnaryOp):
    """Round down; zero gradient.  `%r = hl.floor %x : tensor<4xf32>`"""

    name = "hl.floor"
    MATH: ClassVar = mth.FloorOp

    def reference(self, x):
        return np.floor(x)

    def vjp(self, ct, out, x):
        return (ct.zeros_like(),)


@irdl_op_definition
class CeilOp(UnaryOp):
    """Round up; zero gradient.  `%r = hl.ceil %x : tensor<4xf32>`"""

    name = "hl.ceil"
    MATH: ClassVar = mth.CeilOp

    def reference(self, x):
        return np.ceil(x)

    def vjp(self, ct, out, x):
        return (ct.zeros_like(),)


@irdl_op_definition
class RoundOp(UnaryOp):
    """Round half to even (as torch.round); zero gradient.  `%r = hl.round %x : tensor<4xf32>`"""

    name = "hl.round"
    MATH: ClassVar = mth.RoundEvenOp

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
        require(t.get_element_type() == i1, lambda: f"needs a bool tensor, got {t}", DTypeError)
        return t

    def reference(self, x):
        return np.logical_not(x)

    def scalar(self, b, x):
        return b.op(arith.XOrIOp(x, b.const(1, i1)))


@irdl_op_definition
class StopGradientOp(UnaryOp):
    """The identity, with a zero gradient.  `%r = hl.stop_gradient %x : tensor<4xf32>`"""

    name = "hl.stop_gradient"
    FLOAT_ONLY: ClassVar = False

    def reference(self, x):
        return x

    def vjp(self, ct, out, x):
        return (None,)

    def scalar(self, b, x):
        return x


__all__ = ["AbsOp", "AcosOp", "AcoshOp", "AsinOp", "AsinhOp", "AtanOp", "AtanhOp", "CeilOp",
           "CosOp", "CoshOp", "SinhOp", "TruncOp", "ElementwiseOp", "ErfOp", "ExpOp", "FloorOp", "LogOp",
           "NegOp", "NotOp", "RoundOp", "RsqrtOp", "SigmoidOp", "SignOp", "SinOp", "SqrtOp",
           "StopGradientOp", "TanhOp", "UnaryOp", "float_only"]
