"""Binary elementwise hl ops: f(a, b) on operands of one type.

Integer scalar rules never trap: `x // 0` and `x % 0` give 0 (as numpy), `x // -1` is
`-x` and `x % -1` is 0 (no INT_MIN / -1 overflow in C); bool `+` is `or`, `*` is `and`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects import math as mth
from xdsl.dialects.builtin import TensorType, i1
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure

from lamina.dialects.hl.base import dtype_of, require, require_same_types
from lamina.dialects.hl.elementwise.unary import ElementwiseOp, float_only
from lamina.dialects.scalar import RemFOp, Scalars, is_float
from lamina.errors import DTypeError


class BinaryOp(ElementwiseOp):
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
            float_only(types[0])
        return types[0]


@irdl_op_definition
class AddOp(BinaryOp):
    """a + b.  `%r = hl.add %a, %b : tensor<4xf32>`"""

    name = "hl.add"

    def reference(self, a, b):
        return np.add(a, b) if a.dtype != np.bool_ else np.logical_or(a, b)

    def vjp(self, ct, out, a, b):
        return (ct, ct)

    def scalar(self, s, a, b):
        t = self.compute_type()
        if is_float(t):
            return s.op(arith.AddfOp(a, b))
        return s.op(arith.OrIOp(a, b) if t == i1 else arith.AddiOp(a, b))


@irdl_op_definition
class SubOp(BinaryOp):
    """a - b.  `%r = hl.sub %a, %b : tensor<4xf32>`"""

    name = "hl.sub"

    def reference(self, a, b):
        return np.subtract(a, b)

    def vjp(self, ct, out, a, b):
        return (ct, -ct)

    def scalar(self, s, a, b):
        t = self.compute_type()
        if is_float(t):
            return s.op(arith.SubfOp(a, b))
        return s.op(arith.XOrIOp(a, b) if t == i1 else arith.SubiOp(a, b))


@irdl_op_definition
class MulOp(BinaryOp):
    """a * b.  `%r = hl.mul %a, %b : tensor<4xf32>`"""

    name = "hl.mul"

    def reference(self, a, b):
        return np.multiply(a, b) if a.dtype != np.bool_ else np.logical_and(a, b)

    def vjp(self, ct, out, a, b):
        return (ct * b, ct * a)

    def scalar(self, s, a, b):
        t = self.compute_type()
        if is_float(t):
            return s.op(arith.MulfOp(a, b))
        return s.op(arith.AndIOp(a, b) if t == i1 else arith.MuliOp(a, b))


def _floor_rem_adjust(s: Scalars, b: SSAValue, r: SSAValue, t: Attribute) -> SSAValue:
    """Python/torch remainder from a truncated one: add b where r != 0 and signs differ."""
    zero = s.const(0, t)
    nonzero = s.op(arith.CmpiOp(r, zero, "ne"))
    differ = s.op(arith.XOrIOp(s.op(arith.CmpiOp(r, zero, "slt")),
                               s.op(arith.CmpiOp(b, zero, "slt"))))
    fix = s.op(arith.AndIOp(nonzero, differ))
    return s.op(arith.SelectOp(fix, s.op(arith.AddiOp(r, b)), r))


def _int_division(op: BinaryOp, s: Scalars, a: SSAValue, b: SSAValue, rem: bool) -> SSAValue:
    """Floor division or remainder (the divisor's sign) of integers, never trapping."""
    t = op.compute_type()
    zero, one = s.const(0, t), s.const(1, t)
    by_zero = s.op(arith.CmpiOp(b, zero, "eq"))
    if op.is_unsigned():
        safe = s.op(arith.SelectOp(by_zero, one, b))
        q = s.op(arith.RemUIOp(a, safe) if rem else arith.DivUIOp(a, safe))
        return s.op(arith.SelectOp(by_zero, zero, q))
    by_minus_one = s.op(arith.CmpiOp(b, s.const(-1, t), "eq"))
    safe = s.op(arith.SelectOp(s.op(arith.OrIOp(by_zero, by_minus_one)), one, b))
    if rem:
        q = _floor_rem_adjust(s, safe, s.op(arith.RemSIOp(a, safe)), t)
        q = s.op(arith.SelectOp(by_minus_one, zero, q))
    else:
        q = s.op(arith.FloorDivSIOp(a, safe))
        q = s.op(arith.SelectOp(by_minus_one, s.op(arith.SubiOp(zero, a)), q))
    return s.op(arith.SelectOp(by_zero, zero, q))


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

    def scalar(self, s, a, b):
        if is_float(self.compute_type()):
            return s.op(arith.DivfOp(a, b))
        return _int_division(self, s, a, b, rem=False)


@irdl_op_definition
class RemOp(BinaryOp):
    """Remainder with the sign of the divisor (torch.remainder).  `%r = hl.rem %a, %b : tensor<4xf32>`"""

    name = "hl.rem"

    def reference(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            if not np.issubdtype(a.dtype, np.floating):
                return np.remainder(a, b)
            return _float_remainder(np.fmod(a, b), b)

    def vjp(self, ct, out, a, b):
        return (ct, -(ct * (a / b).floor()))

    def scalar(self, s, a, b):
        t = self.compute_type()
        if not is_float(t):
            return _int_division(self, s, a, b, rem=True)
        mod = s.op(RemFOp(a, b))  # torch's: fmod, plus b where the signs differ
        zero = s.const(0.0, t)
        # (signs differ: i1 inequality, not xor, which Triton's interpreter refuses when
        # one side is a splat constant's comparison)
        differ = s.op(arith.CmpiOp(s.op(arith.CmpfOp(b, zero, "olt")),
                                   s.op(arith.CmpfOp(mod, zero, "olt")), "ne"))
        fix = s.op(arith.AndIOp(s.op(arith.CmpfOp(mod, zero, "une")), differ))
        return s.op(arith.SelectOp(fix, s.op(arith.AddfOp(mod, b)), mod))


def _float_remainder(mod: np.ndarray, b: np.ndarray) -> np.ndarray:
    """torch.remainder from fmod: exact, `5 % inf = 5`, `-5 % inf = inf`, `-0.0 % 3 =
    -0.0` (numpy's remainder gives NaN for the first and +0.0 for the last)."""
    fix = (mod != 0) & ((b < 0) != (mod < 0))
    return np.where(fix, mod + b, mod).astype(mod.dtype)


@irdl_op_definition
class PowOp(BinaryOp):
    """a ** b.  `%r = hl.pow %a, %b : tensor<4xf32>`"""

    name = "hl.pow"

    def reference(self, a, b):
        if np.issubdtype(a.dtype, np.integer):
            return _int_power(a, b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.power(a, b)

    def vjp(self, ct, out, a, b):
        # torch's rules: d/da = b a^(b-1), but 0 where b == 0 (also at a == 0);
        # d/db = a^b log a (NaN for a < 0, -inf for 0^b with b < 0), but 0 where a == 0
        # and b >= 0
        select = ct.builder.select
        da = select(b == 0.0, 0.0, ct * b * a ** (b - 1.0))
        # (the cotangent multiplies the selected factor, as torch: an infinite one
        # makes NaN at 0^b, b >= 0)
        log_term = out * a.log()
        db = ct * select(a == 0.0, select(b >= 0.0, 0.0, log_term), log_term)
        return (da, db)

    def scalar(self, s, a, b):
        t = self.compute_type()
        if is_float(t):
            return s.op(mth.PowFOp(a, b))
        return _int_pow_rule(s, a, b, t, self.is_unsigned())


def _int_power(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """torch's integer pow: square-and-multiply, wrapping around; for b < 0, 1 ** b = 1,
    (-1) ** b = +-1 and every other base gives 0 (numpy refuses negative exponents)."""
    a, b = np.broadcast_arrays(a, b)
    negative = b < 0
    result, base, e = np.ones_like(a), a.copy(), np.where(negative, 0, b)
    with np.errstate(over="ignore"):
        while (e != 0).any():
            result = np.where(e & 1, result * base, result)
            base, e = base * base, e >> 1
    if not negative.any():
        return result
    odd = b % 2 != 0
    small = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0)).astype(a.dtype)
    return np.where(negative, small, result)


def _int_pow_rule(s: Scalars, a: SSAValue, b: SSAValue, t: Attribute, unsigned: bool
                  ) -> SSAValue:
    """`_int_power` on one element: square-and-multiply unrolled over the exponent's bits
    (exact and wrapping, as torch's; the f64 pow it replaces rounded past 2^53)."""
    zero, one = s.const(0, t), s.const(1, t)
    bits = t.width.data if unsigned else t.width.data - 1  # type: ignore[attr-defined]
    negative = None if unsigned else s.op(arith.CmpiOp(b, zero, "slt"))
    e = b if unsigned else s.op(arith.SelectOp(negative, zero, b))
    result, base = one, a
    for i in range(bits):
        shifted = e if i == 0 else s.op(arith.ShRUIOp(e, s.const(i, t)))
        bit = s.op(arith.CmpiOp(s.op(arith.AndIOp(shifted, one)), zero, "ne"))
        result = s.op(arith.SelectOp(bit, s.op(arith.MuliOp(result, base)), result))
        if i < bits - 1:
            base = s.op(arith.MuliOp(base, base))
    if negative is None:
        return result
    minus_one = s.const(-1, t)
    odd = s.op(arith.CmpiOp(s.op(arith.AndIOp(b, one)), zero, "ne"))
    sign = s.op(arith.SelectOp(odd, minus_one, one))
    small = s.op(arith.SelectOp(s.op(arith.CmpiOp(a, one, "eq")), one, s.op(arith.SelectOp(
        s.op(arith.CmpiOp(a, minus_one, "eq")), sign, zero))))
    return s.op(arith.SelectOp(negative, small, result))


@irdl_op_definition
class Atan2Op(BinaryOp):
    """The angle of the point (b, a): atan(a / b) in the right quadrant, in [-pi, pi].
    `%r = hl.atan2 %a, %b : tensor<4xf32>`"""

    name = "hl.atan2"
    FLOAT_ONLY: ClassVar = True

    def reference(self, a, b):
        return np.arctan2(a, b)

    def vjp(self, ct, out, a, b):
        scale = ct / (a * a + b * b)
        return (scale * b, -(scale * a))

    def scalar(self, s, a, b):
        return s.op(mth.Atan2Op(a, b))


@irdl_op_definition
class FmodOp(BinaryOp):
    """Remainder with the sign of the dividend (C's fmod, torch.fmod); integers never
    trap (x fmod 0 is 0 here: the frontend refuses an integer zero divisor eagerly).
    `%r = hl.fmod %a, %b : tensor<4xf32>`"""

    name = "hl.fmod"

    def reference(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            if np.issubdtype(a.dtype, np.floating):
                return np.fmod(a, b)
            if a.dtype == np.bool_:
                return np.zeros_like(a)
            safe = np.where(b == 0, 1, b)
            return np.where(b == 0, 0, np.fmod(a, safe)).astype(a.dtype)

    def vjp(self, ct, out, a, b):
        return (ct, -(ct * (a / b).trunc()))

    def scalar(self, s, a, b):
        t = self.compute_type()
        if is_float(t):
            return s.op(RemFOp(a, b))
        zero, one = s.const(0, t), s.const(1, t)
        by_zero = s.op(arith.CmpiOp(b, zero, "eq"))
        if self.is_unsigned():
            safe = s.op(arith.SelectOp(by_zero, one, b))
            return s.op(arith.SelectOp(by_zero, zero, s.op(arith.RemUIOp(a, safe))))
        # a divisor of 0 or -1 (INT_MIN % -1 traps in C) gives 0
        minus = s.op(arith.CmpiOp(b, s.const(-1, t), "eq"))
        bad = s.op(arith.OrIOp(by_zero, minus))
        safe = s.op(arith.SelectOp(bad, one, b))
        return s.op(arith.SelectOp(bad, zero, s.op(arith.RemSIOp(a, safe))))


@irdl_op_definition
class CopysignOp(BinaryOp):
    """|a| with the sign of b (-0.0 and -NaN count as negative).
    `%r = hl.copysign %a, %b : tensor<4xf32>`"""

    name = "hl.copysign"
    FLOAT_ONLY: ClassVar = True

    def reference(self, a, b):
        return np.copysign(a, b)

    def vjp(self, ct, out, a, b):
        # torch's: d/da = sign(a) * sign(out) (0 at a == 0); nothing reaches b
        select = ct.builder.select
        da = select(a == 0.0, 0.0, ct * a.sign() * out.sign())
        return (da, None)

    def scalar(self, s, a, b):
        return s.op(mth.CopySignOp(a, b))


class _ShiftOp(BinaryOp):
    """An integer shift by any amount, as torch's: amounts past the width (or negative)
    shift every bit out."""

    DIFFERENTIABLE: ClassVar = False

    @classmethod
    def infer(cls, types, props, result_type):
        t = super().infer(types, props, result_type)
        require(not dtype_of(t).is_floating_point, f"needs integer tensors, got {t}", DTypeError)
        return t

    def width(self) -> int:
        return self.compute_type().width.data  # type: ignore[attr-defined]

    def in_range(self, s: Scalars, b: SSAValue) -> SSAValue:
        # unsigned comparison: a negative amount is out of range too
        return s.op(arith.CmpiOp(b, s.const(self.width(), self.compute_type()), "ult"))


@irdl_op_definition
class ShlOp(_ShiftOp):
    """a << b; 0 where b < 0 or b >= the width.  `%r = hl.shl %a, %b : tensor<4xi32>`"""

    name = "hl.shl"

    def reference(self, a, b):
        bits = a.dtype.itemsize * 8
        ok = (b >= 0) & (b < bits)
        u = _unsigned_view(a)
        out = np.left_shift(u, np.where(ok, b, 0).astype(u.dtype))
        return np.where(ok, out, 0).astype(u.dtype).view(a.dtype)

    def scalar(self, s, a, b):
        t, zero = self.compute_type(), s.const(0, self.compute_type())
        ok = self.in_range(s, b)
        shifted = s.op(arith.ShLIOp(a, s.op(arith.SelectOp(ok, b, zero))))
        return s.op(arith.SelectOp(ok, shifted, s.const(0, t)))


@irdl_op_definition
class ShrOp(_ShiftOp):
    """a >> b (arithmetic for signed types): b >= the width fills with the sign bit, b < 0
    gives 0.  `%r = hl.shr %a, %b : tensor<4xi32>`"""

    name = "hl.shr"

    def reference(self, a, b):
        bits = a.dtype.itemsize * 8
        unsigned = np.issubdtype(a.dtype, np.unsignedinteger)
        amount = np.where(b < 0, 0, np.minimum(b, bits - 1)).astype(a.dtype)
        out = np.right_shift(a, amount)
        if unsigned:
            out = np.where(b >= bits, 0, out)
        return np.where(b < 0, 0, out).astype(a.dtype)

    def scalar(self, s, a, b):
        t = self.compute_type()
        zero = s.const(0, t)
        ok = self.in_range(s, b)
        if self.is_unsigned():
            shifted = s.op(arith.ShRUIOp(a, s.op(arith.SelectOp(ok, b, zero))))
            return s.op(arith.SelectOp(ok, shifted, zero))
        amount = s.op(arith.SelectOp(ok, b, s.const(self.width() - 1, t)))
        shifted = s.op(arith.ShRSIOp(a, amount))
        negative = s.op(arith.CmpiOp(b, zero, "slt"))
        return s.op(arith.SelectOp(negative, zero, shifted))


def _unsigned_view(a: np.ndarray) -> np.ndarray:
    return a.view(f"uint{a.dtype.itemsize * 8}")


class _ExtremumOp(BinaryOp):
    """max / min: `ARITH` names the ops (float NaN-propagating, bool, unsigned, signed);
    `wins(a, b)` is where a strictly wins. Ties split the gradient evenly, as
    torch.maximum and torch.minimum do."""

    ARITH: ClassVar[tuple[type, type, type, type]]

    @staticmethod
    def wins(a, b):
        raise NotImplementedError

    def vjp(self, ct, out, a, b):
        # torch's rule: a tie splits the gradient; otherwise an operand gets it unless it
        # strictly loses (so where one is NaN both get it)
        # (selects, not products: a NaN cotangent must not reach the loser as NaN * 0)
        pick, tie, half = ct.builder.select, a == b, ct * 0.5
        return (pick(tie, half, pick(self.wins(b, a), 0.0, ct)),
                pick(tie, half, pick(self.wins(a, b), 0.0, ct)))

    def scalar(self, s, a, b):
        t = self.compute_type()
        floating, boolean, unsigned, signed = self.ARITH
        if is_float(t):
            return s.op(floating(a, b))
        if t == i1:
            return s.op(boolean(a, b))
        return s.op(unsigned(a, b) if self.is_unsigned() else signed(a, b))


@irdl_op_definition
class MaxOp(_ExtremumOp):
    """Elementwise maximum, NaN-propagating.  `%r = hl.max %a, %b : tensor<4xf32>`"""

    name = "hl.max"
    ARITH: ClassVar = (arith.MaximumfOp, arith.OrIOp, arith.MaxUIOp, arith.MaxSIOp)

    @staticmethod
    def wins(a, b):
        return a > b

    def reference(self, a, b):
        return np.maximum(a, b)


@irdl_op_definition
class MinOp(_ExtremumOp):
    """Elementwise minimum, NaN-propagating.  `%r = hl.min %a, %b : tensor<4xf32>`"""

    name = "hl.min"
    ARITH: ClassVar = (arith.MinimumfOp, arith.AndIOp, arith.MinUIOp, arith.MinSIOp)

    @staticmethod
    def wins(a, b):
        return a < b

    def reference(self, a, b):
        return np.minimum(a, b)


@irdl_op_definition
class AndOp(BinaryOp):
    """Logical/bitwise and.  `%r = hl.and %a, %b : tensor<4xi1>`"""

    name = "hl.and"
    DIFFERENTIABLE: ClassVar = False

    def reference(self, a, b):
        return np.logical_and(a, b) if a.dtype == np.bool_ else np.bitwise_and(a, b)

    def scalar(self, s, a, b):
        return s.op(arith.AndIOp(a, b))


@irdl_op_definition
class OrOp(BinaryOp):
    """Logical/bitwise or.  `%r = hl.or %a, %b : tensor<4xi1>`"""

    name = "hl.or"
    DIFFERENTIABLE: ClassVar = False

    def reference(self, a, b):
        return np.logical_or(a, b) if a.dtype == np.bool_ else np.bitwise_or(a, b)

    def scalar(self, s, a, b):
        return s.op(arith.OrIOp(a, b))


@irdl_op_definition
class XorOp(BinaryOp):
    """Logical/bitwise xor.  `%r = hl.xor %a, %b : tensor<4xi1>`"""

    name = "hl.xor"
    DIFFERENTIABLE: ClassVar = False

    def reference(self, a, b):
        return np.logical_xor(a, b) if a.dtype == np.bool_ else np.bitwise_xor(a, b)

    def scalar(self, s, a, b):
        return s.op(arith.XOrIOp(a, b))


__all__ = ["AddOp", "AndOp", "Atan2Op", "BinaryOp", "CopysignOp", "DivOp", "FmodOp", "MaxOp",
           "MinOp", "MulOp", "OrOp", "PowOp", "RemOp", "ShlOp", "ShrOp", "SubOp", "XorOp"]
