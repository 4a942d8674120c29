"""The scalar-op table: every `arith`/`math` function a kernel body may hold, with its
meaning on each target, one row per op class.

| column | read by | text |
|---|---|---|
| `numpy` | the loop interpreter (`lamina.runtime.loop_interp`), the tests | a function on arrays |
| `c` | the C emitter (`lamina.codegen.c_scalar`) | an expression over `{a}` `{b}` `{c}` |
| `triton` | the Triton emitter (`lamina.codegen.triton`) | an expression, or a `TritonHelper` |

C placeholders: `{f}` the libm suffix of the result (`f` for float, none for double),
`{s}`/`{u}` the signed/unsigned C type of the result, `{w}` its width in bits; a float
result is rounded to f16/bf16 precision by the emitter where its type says so. Triton
placeholders: `{t}`/`{ut}` the tl type of the result and its unsigned twin.

Triton's interpreter (how the Triton backend runs without a GPU) has no libdevice: a
`TritonHelper` row becomes one `@triton.jit` function whose `body` runs on a GPU and
whose `interp` formula, over core `tl` ops, runs in the interpreter. The interpreter
formulas are accurate to a few ulp on finite inputs and follow C99 on signed zeros,
infinities and NaNs (tests/test_scalar_table.py, tests/test_fuzz_found.py).

Comparisons (`arith.cmpf`/`cmpi`, by predicate), `arith.select`, `arith.constant` and
the casts are the type system rather than functions: each target handles them in one
place (`STRUCTURAL`). A kernel body holding any other op fails verification
(`check_kernel_body`), so every op a lowering can emit has a row here, and
`tests/test_scalar_table.py` runs every row on numpy, C and Triton.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    IndexType,
    IntegerType,
    Signedness,
    f32,
)
from xdsl.ir import Attribute, Block, Dialect, Operation, SSAValue
from xdsl.irdl import irdl_op_definition, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class RemFOp(arith.FloatingPointLikeBinaryOperation):
    """MLIR's `arith.remf` (xDSL 0.74 lacks it): C's fmod, exact, with the sign of the
    dividend; fmod(x, inf) = x, fmod(inf, y) = NaN.
    `%r = arith.remf %a, %b : f32`"""

    name = "arith.remf"
    traits = traits_def(Pure())


# xDSL's arith dialect and the ops lamina adds to it (all_dialects loads this one)
ARITH = Dialect("arith", [*arith.Arith.operations, RemFOp], [*arith.Arith.attributes])


@dataclass(frozen=True)
class TritonHelper:
    """A `@triton.jit` function `_lm_<op>(a, b, ...)`: `body` (statements ending in a
    `return`) on a GPU, `interp` (same form) in Triton's interpreter when given."""

    body: str
    interp: str | None = None


@dataclass(frozen=True)
class ScalarOp:
    numpy: Callable[..., np.ndarray]
    c: str | Callable[[Operation, list[str]], str]
    triton: str | TritonHelper
    kind: str = "float"  # "float": float operands; "int": signless integers; "uint": unsigned


class Scalars(Protocol):
    """What an elementwise hl op's scalar rule (`HlOp.scalar`) writes with: a place for
    arith/math ops (the loop lowering puts each in the outermost scope its operands
    allow, and CSEs it) and constants."""

    def op(self, op: Operation) -> SSAValue: ...

    def const(self, value: bool | int | float, t: Attribute) -> SSAValue: ...


def compute_type(element: Attribute) -> Attribute:
    """Element type in registers: f16/bf16 -> f32, integers signless."""
    if isinstance(element, Float16Type | BFloat16Type):
        return f32
    if isinstance(element, IntegerType):
        return IntegerType(element.width.data)
    return element


def is_unsigned(element: Attribute) -> bool:
    return isinstance(element, IntegerType) and element.signedness.data == Signedness.UNSIGNED


def is_float(t: Attribute) -> bool:
    return not isinstance(t, IntegerType | IndexType)


def helper_name(op_cls: type[Operation]) -> str:
    """The name of a TritonHelper row's function: math.tanh -> _lm_math_tanh."""
    return "_lm_" + op_cls.name.replace(".", "_")


# ---------------------------------------------------------------- numpy helpers

_erf = np.vectorize(pymath.erf, otypes=[np.float64])


def _unsigned(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(np.uint8) if x.dtype == np.bool_ else x.view(f"uint{x.dtype.itemsize * 8}")


def _as_unsigned(fn: Callable, safe_divisor: bool = False) -> Callable:
    """`fn` on the unsigned views of integer operands; the result viewed back."""
    def apply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ua, ub = _unsigned(a), _unsigned(b)
        if safe_divisor:
            out = np.where(ub == 0, 0, fn(ua, np.where(ub == 0, 1, ub)))
        else:
            out = fn(ua, ub)
        return np.asarray(out).astype(ua.dtype).view(np.asarray(a).dtype)

    return apply


def _trunc_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C's `/` on integers (toward zero), 0 for a zero divisor, no overflow trap."""
    safe = np.where(b == 0, 1, b)
    q = np.floor_divide(a, safe)
    q = q + ((np.remainder(a, safe) != 0) & ((a < 0) != (safe < 0)))
    return np.where(b == 0, 0, q).astype(np.asarray(a).dtype)


def _floor_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(b == 0, 0, np.floor_divide(a, np.where(b == 0, 1, b)))


def _trunc_rem(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(b == 0, 0, np.fmod(a, np.where(b == 0, 1, b)))


def _round_half_away(x: np.ndarray) -> np.ndarray:
    t = np.floor(np.abs(x))
    return np.copysign(t + (np.abs(x) - t >= 0.5), x).astype(x.dtype)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return (a.astype(np.float64) * b + c).astype(a.dtype)


# ---------------------------------------------------------------- C helpers


def _c_muli(op: Operation, args: list[str]) -> str:
    t = op.results[0].type
    narrow = isinstance(t, IntegerType) and t.width.data < 32
    # uint16 * uint16 promotes to (signed) int in C and may overflow: multiply unsigned
    return f"(uint32_t){args[0]} * {args[1]}" if narrow and not isinstance(t, IndexType) \
        else f"{args[0]} * {args[1]}"


# ---------------------------------------------------------------- Triton formulas

_UNSIGNED_TL = "tl.cast(tl.cast({a}, {ut}, bitcast=True) %s tl.cast({b}, {ut}, bitcast=True), " \
    "{t}, bitcast=True)"
_UNSIGNED_TL_FN = "tl.cast(%s(tl.cast({a}, {ut}, bitcast=True), tl.cast({b}, {ut}, " \
    "bitcast=True)), {t}, bitcast=True)"

_TANH = TritonHelper("return libdevice.tanh(a)", """\
ax = tl.abs(a)
e = tl.exp(-2.0 * ax)
big = (1.0 - e) / (1.0 + e)
a2 = a * a
small = ax * (1.0 - a2 * (1.0 / 3.0 - a2 * (2.0 / 15.0 - a2 * (17.0 / 315.0))))
t = tl.where(ax < 0.0625, small, big)
return tl.where(a < 0, -t, t)""")

_LOG1P = TritonHelper("return libdevice.log1p(a)", """\
u = 1.0 + a
return tl.where(u == 1.0, a, tl.log(u) * (a / (u - 1.0)))""")

_EXPM1 = TritonHelper("return libdevice.expm1(a)", """\
u = tl.exp(a)
small = a + a * a * (0.5 + a * (1.0 / 6.0 + a * (1.0 / 24.0)))
return tl.where(tl.abs(a) < 1e-3, small, u - 1.0)""")

_POW = TritonHelper("return libdevice.pow(a, b)", """\
r = tl.exp(b * tl.log(tl.abs(a)))
finite_b = tl.abs(b) != float("inf")
integer = (tl.floor(b) == b) & finite_b
odd = integer & ((b - 2.0 * tl.floor(b * 0.5)) != 0)
negative = (a < 0) | ((a == 0) & ((1.0 / a) < 0))  # -0.0 ** odd keeps the sign
r = tl.where(negative & odd, -r, r)
r = tl.where((a < 0) & ~integer & finite_b & (tl.abs(a) != float("inf")), float("nan"), r)
r = tl.where((a == -1.0) & ~finite_b, 1.0, r)
r = tl.where((b == 0) | (a == 1.0), 1.0, r)  # C99: even where the other one is NaN
return r.to(a.dtype)""")

# atan by two argument halvings (|t| <= tan(pi/16)) and its odd series to t^15
_ATAN = TritonHelper("return libdevice.atan(a)", """\
ax = tl.abs(a)
inv = ax > 1.0
t = tl.where(inv, 1.0 / ax, ax)
t = t / (1.0 + tl.sqrt(1.0 + t * t))
t = t / (1.0 + tl.sqrt(1.0 + t * t))
t2 = t * t
p = 1.0 / 13.0 - t2 / 15.0
p = 1.0 / 11.0 - t2 * p
p = 1.0 / 9.0 - t2 * p
p = 1.0 / 7.0 - t2 * p
p = 1.0 / 5.0 - t2 * p
p = 1.0 / 3.0 - t2 * p
r = 4.0 * t * (1.0 - t2 * p)
r = tl.where(inv, 1.5707963267948966 - r, r)
return tl.where(a < 0, -r, r)""")

_ATAN2 = TritonHelper("return libdevice.atan2(a, b)", """\
r = _lm_math_atan(a / b)
r = tl.where(b < 0, tl.where(a < 0, r - 3.141592653589793, r + 3.141592653589793), r)
z = tl.zeros_like(b)  # z + c: the constant c in the operands' type (a bare one is f32)
neg_a = (a < 0) | ((a == 0) & ((1.0 / a) < 0))  # signed zeros pick the half-plane
neg_b = (b < 0) | ((b == 0) & ((1.0 / b) < 0))
pi = tl.where(neg_a, z - 3.141592653589793, z + 3.141592653589793)
r = tl.where(neg_b & (a == 0), pi, r)
on_x = tl.where(neg_b & (a == 0), pi, 0.0 * a)  # NaN stays NaN
axis = tl.where(a > 0, z + 1.5707963267948966, tl.where(a < 0, z - 1.5707963267948966, on_x))
r = tl.where(b == 0, axis, r)
corner = tl.where(b > 0, z + 0.7853981633974483, z + 2.356194490192345)  # both infinite
both = (tl.abs(a) == float("inf")) & (tl.abs(b) == float("inf"))
return tl.where(both, tl.where(a < 0, -corner, corner), r)""")

_ASINH = TritonHelper("return libdevice.asinh(a)", """\
ax = tl.abs(a)
r = _lm_math_log1p(ax + ax * ax / (1.0 + tl.sqrt(1.0 + ax * ax)))
r = tl.where(ax > 1e18, tl.log(ax) + 0.6931471805599453, r)
return tl.where(a < 0, -r, r)""")

_ACOSH = TritonHelper("return libdevice.acosh(a)", """\
r = _lm_math_log1p((a - 1.0) + tl.sqrt((a - 1.0) * (a + 1.0)))
return tl.where(a > 1e18, tl.log(a) + 0.6931471805599453, r)""")

_CBRT = TritonHelper("return libdevice.cbrt(a)", """\
r = tl.exp(tl.log(tl.abs(a)) / 3.0)
r = tl.where(a < 0, -r, r)
r = r - (r * r * r - a) / (3.0 * r * r)
return tl.where((a == 0) | (tl.abs(a) == float("inf")), a, r)""")

_RINT = TritonHelper("return libdevice.rint(a)", """\
f = tl.floor(a)
d = a - f
even = (f - 2.0 * tl.floor(f * 0.5)) == 0
r = tl.where((d > 0.5) | ((d == 0.5) & ~even), f + 1.0, f)
return tl.where(a < 0, -tl.abs(r), r)  # a negative number rounds to -0.0, as rint""")

_SQRT = TritonHelper("""\
if a.dtype == tl.float32:
    return tl.sqrt_rn(a)  # tl.sqrt is approximate in f32
else:
    return tl.sqrt(a)""")

_ROUND = TritonHelper("""\
t = tl.floor(tl.abs(a))
t = tl.where(tl.abs(a) - t >= 0.5, t + 1.0, t)
return tl.where(a < 0, -t, t)""")

_FLOORDIV = TritonHelper("""\
q = a // b
fix = ((a % b) != 0) & ((a < 0) != (b < 0))
return q - fix.to(q.dtype)""")


def _libdevice(fn: str, interp: str) -> TritonHelper:
    return TritonHelper(f"return libdevice.{fn}(a)", interp)


# ---------------------------------------------------------------- the table

SCALAR_OPS: dict[type[Operation], ScalarOp] = {
    # float arithmetic
    arith.AddfOp: ScalarOp(np.add, "{a} + {b}", "{a} + {b}"),
    arith.SubfOp: ScalarOp(np.subtract, "{a} - {b}", "{a} - {b}"),
    arith.MulfOp: ScalarOp(np.multiply, "{a} * {b}", "{a} * {b}"),
    arith.DivfOp: ScalarOp(np.divide, "{a} / {b}", "{a} / {b}"),
    RemFOp: ScalarOp(np.fmod, "fmod{f}({a}, {b})", "{a} % {b}"),  # tl's float % is frem
    arith.NegfOp: ScalarOp(np.negative, "-{a}", "-{a}"),
    arith.MaximumfOp: ScalarOp(np.maximum, "lm_max{f}({a}, {b})",
                               "tl.maximum({a}, {b}, propagate_nan=tl.PropagateNan.ALL)"),
    arith.MinimumfOp: ScalarOp(np.minimum, "lm_min{f}({a}, {b})",
                               "tl.minimum({a}, {b}, propagate_nan=tl.PropagateNan.ALL)"),
    # math on floats
    math.AbsFOp: ScalarOp(np.abs, "fabs{f}({a})", "tl.abs({a})"),
    math.CopySignOp: ScalarOp(np.copysign, "copysign{f}({a}, {b})",
                              "tl.where(({b} < 0) | ((1.0 / {b}) < 0), -tl.abs({a}), "
                              "tl.abs({a}))"),
    math.FmaOp: ScalarOp(_fma, "fma{f}({a}, {b}, {c})", "tl.fma({a}, {b}, {c})"),
    math.PowFOp: ScalarOp(np.power, "pow{f}({a}, {b})", _POW),
    math.SqrtOp: ScalarOp(np.sqrt, "sqrt{f}({a})", _SQRT),
    math.RsqrtOp: ScalarOp(lambda x: 1 / np.sqrt(x), "1 / sqrt{f}({a})",
                           "(1.0 / _lm_math_sqrt({a}))"),
    math.CbrtOp: ScalarOp(np.cbrt, "cbrt{f}({a})", _CBRT),
    math.ExpOp: ScalarOp(np.exp, "exp{f}({a})", "tl.exp({a})"),
    math.Exp2Op: ScalarOp(np.exp2, "exp2{f}({a})", "tl.exp2({a})"),
    math.ExpM1Op: ScalarOp(np.expm1, "expm1{f}({a})", _EXPM1),
    math.LogOp: ScalarOp(np.log, "log{f}({a})", "tl.log({a})"),
    math.Log2Op: ScalarOp(np.log2, "log2{f}({a})", "tl.log2({a})"),
    math.Log10Op: ScalarOp(np.log10, "log10{f}({a})",
                           _libdevice("log10", "return tl.log(a) * 0.4342944819032518")),
    math.Log1pOp: ScalarOp(np.log1p, "log1p{f}({a})", _LOG1P),
    math.ErfOp: ScalarOp(lambda x: _erf(x), "erf{f}({a})", "tl.erf({a})"),
    math.SinOp: ScalarOp(np.sin, "sin{f}({a})", "tl.sin({a})"),
    math.CosOp: ScalarOp(np.cos, "cos{f}({a})", "tl.cos({a})"),
    math.TanOp: ScalarOp(np.tan, "tan{f}({a})", _libdevice("tan", "return tl.sin(a) / tl.cos(a)")),
    math.AsinOp: ScalarOp(np.arcsin, "asin{f}({a})", _libdevice(
        "asin", "return _lm_math_atan2(a, tl.sqrt(1.0 - a * a))")),
    math.AcosOp: ScalarOp(np.arccos, "acos{f}({a})", _libdevice(
        "acos", "return _lm_math_atan2(tl.sqrt(1.0 - a * a), a)")),
    math.AtanOp: ScalarOp(np.arctan, "atan{f}({a})", _ATAN),
    math.Atan2Op: ScalarOp(np.arctan2, "atan2{f}({a}, {b})", _ATAN2),
    math.SinhOp: ScalarOp(np.sinh, "sinh{f}({a})", _libdevice(
        "sinh", "return 0.5 * (_lm_math_expm1(a) - _lm_math_expm1(-a))")),
    math.CoshOp: ScalarOp(np.cosh, "cosh{f}({a})", _libdevice(
        "cosh", "e = tl.exp(tl.abs(a))\nreturn 0.5 * (e + 1.0 / e)")),
    math.TanhOp: ScalarOp(np.tanh, "tanh{f}({a})", _TANH),
    math.AsinhOp: ScalarOp(np.arcsinh, "asinh{f}({a})", _ASINH),
    math.AcoshOp: ScalarOp(np.arccosh, "acosh{f}({a})", _ACOSH),
    math.AtanhOp: ScalarOp(np.arctanh, "atanh{f}({a})", _libdevice(
        "atanh", "return 0.5 * _lm_math_log1p(2.0 * a / (1.0 - a))")),
    math.FloorOp: ScalarOp(np.floor, "floor{f}({a})", "tl.floor({a})"),
    math.CeilOp: ScalarOp(np.ceil, "ceil{f}({a})", "tl.ceil({a})"),
    math.TruncOp: ScalarOp(np.trunc, "trunc{f}({a})",
                           "tl.where({a} < 0, tl.ceil({a}), tl.floor({a}))"),
    math.RoundOp: ScalarOp(_round_half_away, "round{f}({a})", _ROUND),
    math.RoundEvenOp: ScalarOp(np.rint, "nearbyint{f}({a})", _RINT),
    # integers: C computes on the unsigned register type, where wrapping is defined
    arith.AddiOp: ScalarOp(np.add, "{a} + {b}", "{a} + {b}", "int"),
    arith.SubiOp: ScalarOp(np.subtract, "{a} - {b}", "{a} - {b}", "int"),
    arith.MuliOp: ScalarOp(np.multiply, _c_muli, "{a} * {b}", "int"),
    arith.AndIOp: ScalarOp(np.bitwise_and, "{a} & {b}", "{a} & {b}", "int"),
    arith.OrIOp: ScalarOp(np.bitwise_or, "{a} | {b}", "{a} | {b}", "int"),
    arith.XOrIOp: ScalarOp(np.bitwise_xor, "{a} ^ {b}", "{a} ^ {b}", "int"),
    arith.ShRUIOp: ScalarOp(_as_unsigned(np.right_shift), "({u}){a} >> {b}",
                            _UNSIGNED_TL % ">>", "uint"),
    # (shifts by less than the width: the hl ops guard the amount)
    arith.ShLIOp: ScalarOp(_as_unsigned(np.left_shift), "({u}){a} << {b}", "{a} << {b}", "int"),
    arith.ShRSIOp: ScalarOp(np.right_shift, "({s}){a} >> {b}", "{a} >> {b}", "int"),
    arith.DivSIOp: ScalarOp(_trunc_div, "lm_divsi{w}({a}, {b})", "{a} // {b}", "int"),
    arith.RemSIOp: ScalarOp(_trunc_rem, "lm_remsi{w}({a}, {b})", "{a} % {b}", "int"),
    arith.FloorDivSIOp: ScalarOp(_floor_div, "lm_floordivsi{w}({a}, {b})", _FLOORDIV, "int"),
    arith.DivUIOp: ScalarOp(_as_unsigned(np.floor_divide, True), "lm_divui{w}({a}, {b})",
                            _UNSIGNED_TL % "//", "uint"),
    arith.RemUIOp: ScalarOp(_as_unsigned(np.remainder, True), "lm_remui{w}({a}, {b})",
                            _UNSIGNED_TL % "%", "uint"),
    arith.MaxSIOp: ScalarOp(np.maximum, "({s}){a} > ({s}){b} ? {a} : {b}",
                            "tl.maximum({a}, {b})", "int"),
    arith.MinSIOp: ScalarOp(np.minimum, "({s}){a} < ({s}){b} ? {a} : {b}",
                            "tl.minimum({a}, {b})", "int"),
    arith.MaxUIOp: ScalarOp(_as_unsigned(np.maximum), "({u}){a} > ({u}){b} ? {a} : {b}",
                            _UNSIGNED_TL_FN % "tl.maximum", "uint"),
    arith.MinUIOp: ScalarOp(_as_unsigned(np.minimum), "({u}){a} < ({u}){b} ? {a} : {b}",
                            _UNSIGNED_TL_FN % "tl.minimum", "uint"),
    math.AbsIOp: ScalarOp(np.abs, "({s}){a} < 0 ? 0 - {a} : {a}", "tl.abs({a})", "int"),
}

# Handled by each target in one place: constants, comparisons by predicate, select, casts.
STRUCTURAL: tuple[type[Operation], ...] = (
    arith.ConstantOp, arith.CmpfOp, arith.CmpiOp, arith.SelectOp, arith.ExtFOp,
    arith.TruncFOp, arith.SIToFPOp, arith.UIToFPOp, arith.FPToSIOp, arith.FPToUIOp,
    arith.ExtSIOp, arith.ExtUIOp, arith.TruncIOp, arith.IndexCastOp, arith.BitcastOp,
)


def check_kernel_body(block: Block, where: str) -> None:
    """Every `arith`/`math` op of a kernel body has a row here or is structural (ops of
    other dialects answer to their own verifiers)."""
    for op in block.walk():
        if op.dialect_name() not in ("arith", "math"):
            continue
        if type(op) not in SCALAR_OPS and not isinstance(op, STRUCTURAL):
            raise VerifyException(
                f"{where}: '{op.name}' has no row in the scalar-op table "
                "(lamina/dialects/scalar.py), so no backend can run it")
