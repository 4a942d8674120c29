"""Special functions with torch's names and values (`lm.lgamma`, `lm.digamma`,
`lm.polygamma`, `lm.erfc`, `lm.erfinv`, `lm.i0`, `lm.mvlgamma`, and `lm.special.*`),
written over existing elementwise ops so that every backend runs them.

Each is a classical approximation evaluated in the input's float dtype:
- lgamma: Lanczos (g = 7, 9 terms; ~1e-15 relative away from its zeros at 1 and 2,
  ~1e-16 absolute near them), reflection for x < 0.5 with an exact sin(pi x).
- digamma / polygamma(n): recurrence up to x >= 10, then the asymptotic series
  (~1e-16); reflection for x < 0.5 (n = 0, 1). polygamma with n >= 2 shifts by a
  count fixed at trace time: eagerly the count the data needs, under lm.jit 10 (x
  below -4 gives NaN there, never a wrong number).
- erfc / erfcx: 1 - erf below 0.5, else the Chebyshev fit of Numerical Recipes 3 (§6.2.2,
  ~1e-16 relative).
- erfinv / erfcinv / ndtri: Giles' single-precision start and three Halley steps
  on erf or erfc (whichever keeps the residual exact).
- i0, i0e, i1, i1e: the power series below |x| = 20, the Hankel asymptotic series
  above (~1e-16 relative).

Gradients follow by autodiff through the formulas, except where a formula is a
truncated approximation of a known derivative: lgamma, digamma and polygamma carry
torch's (digamma, polygamma(n + 1)) through `custom_vjp`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, DTypeError, with_location
from lamina.frontend import ops as O
from lamina.frontend.ops import method
from lamina.frontend.tensor import Tensor

__all__ = ["lgamma", "digamma", "polygamma", "erfc", "erfinv", "i0", "mvlgamma"]


def _float(x: Any, op: str) -> Tensor:
    """x as a float tensor: integers and bools promote to the default float, as torch's
    unary float ops."""
    x = x if isinstance(x, Tensor) else O.tensor(x)
    if not x.dtype.is_floating_point:
        x = x.to(dtypes.default_float())
    return x


def _where_safe(cond: Tensor, x: Tensor, safe: float) -> Tensor:
    """x where cond, else `safe`: the operand of a branch `where` discards, kept finite
    so that its (zero) cotangent does not turn into NaN."""
    return O.where(cond, x, safe)


def _custom(fn, grad):
    """fn with the gradient g * grad(x) (a custom_vjp, built per call)."""
    from lamina.frontend.autograd import custom_vjp

    op = custom_vjp(fn)
    op.defvjp(lambda x: (fn(x), (x,)), lambda res, g: O.mul(g, grad(res[0])))
    return op


# ---------------------------------------------------------------- sin(pi x), exact

def _sinpi_cospi(x: Tensor) -> tuple[Tensor, Tensor]:
    """sin(pi x) and cos(pi x) with the argument reduced exactly: 0 at the integers
    (resp. half-integers), as a library sinpi."""
    n = O.round(x)
    r = O.sub(x, n)  # exact, in [-0.5, 0.5]
    odd = O.ne(O.remainder(n, 2.0), 0)
    sign = O.where(odd, -1.0, 1.0)
    s = O.mul(sign, O.sin(O.mul(math.pi, r)))
    c = O.mul(sign, O.cos(O.mul(math.pi, r)))
    return s, O.where(O.eq(O.abs(r), 0.5), 0.0, c)


# ---------------------------------------------------------------- lgamma

_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028,
            771.32342877765313, -176.61502916214059, 12.507343278686905,
            -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _lgamma_pos(x: Tensor) -> Tensor:
    """lgamma for x >= 0.5 (finite), Lanczos' formula."""
    z = O.sub(x, 1.0)
    a = O.full_like(z, _LANCZOS[0])
    for i in range(1, 9):
        a = O.add(a, O.div(_LANCZOS[i], O.add(z, float(i))))
    t = O.add(z, 7.5)
    return O.add(O.sub(O.add(_LOG_SQRT_2PI, O.mul(O.add(z, 0.5), O.log(t))), t), O.log(a))


def _lgamma(x: Tensor) -> Tensor:
    small = O.lt(x, 0.5)
    finite = O.logical_not(O.logical_or(O.ne(x, x), O.eq(O.abs(x), math.inf)))
    pos = _lgamma_pos(_where_safe(O.logical_and(O.logical_not(small), finite), x, 1.0))
    xr = _where_safe(O.logical_and(small, finite), x, 0.25)
    s, _ = _sinpi_cospi(xr)
    pole = O.eq(s, 0)
    refl = O.sub(O.log(O.div(math.pi, O.abs(_where_safe(O.logical_not(pole), s, 1.0)))),
                 _lgamma_pos(O.sub(1.0, xr)))
    out = O.where(small, O.where(pole, math.inf, refl), pos)
    # lgamma(+-inf) = inf; NaN stays NaN
    return O.where(O.eq(O.abs(x), math.inf), math.inf, O.where(O.ne(x, x), x, out))


@method
def lgamma(input):
    """log|Gamma(x)|: inf at the poles (0 and the negative integers) and at +-inf."""
    x = _float(input, "lgamma")
    return _custom(_lgamma, lambda v: digamma(v))(x)


# ---------------------------------------------------------------- digamma, polygamma

# B_2k / 2k for the asymptotic series of digamma: psi(y) ~ log y - 1/2y - sum c_k y^-2k
_DIGAMMA_ASYM = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)
_SHIFT = 10


def _digamma_pos(x: Tensor) -> Tensor:
    """digamma for x > 0 (finite): recurrence up to x + 10, then the asymptotic series."""
    acc = O.zeros_like(x)
    for k in range(_SHIFT):
        acc = O.add(acc, O.reciprocal(O.add(x, float(k))))
    y = O.add(x, float(_SHIFT))
    y2 = O.reciprocal(O.square(y))
    series = O.full_like(y, _DIGAMMA_ASYM[-1])
    for c in reversed(_DIGAMMA_ASYM[:-1]):
        series = O.add(O.mul(series, y2), c)
    series = O.mul(series, y2)
    return O.sub(O.sub(O.sub(O.log(y), O.div(0.5, y)), series), acc)


def _digamma(x: Tensor) -> Tensor:
    small = O.lt(x, 0.5)
    finite = O.logical_not(O.logical_or(O.ne(x, x), O.eq(O.abs(x), math.inf)))
    pos = _digamma_pos(_where_safe(O.logical_and(O.logical_not(small), finite), x, 1.0))
    xr = _where_safe(O.logical_and(small, finite), x, 0.25)
    s, c = _sinpi_cospi(xr)
    pole = O.eq(s, 0)
    # psi(x) = psi(1 - x) - pi cot(pi x)
    refl = O.sub(_digamma_pos(O.sub(1.0, xr)),
                 O.div(O.mul(math.pi, c), _where_safe(O.logical_not(pole), s, 1.0)))
    # torch: digamma(+-0) = -+inf... (copysign(inf, -x)); NaN at negative integers
    zero = O.eq(x, 0)
    at_pole = O.where(zero, O.where(O.ne(O.copysign(O.ones_like(x), x), 1.0), math.inf,
                                    -math.inf), math.nan)
    out = O.where(small, O.where(pole, at_pole, refl), pos)
    out = O.where(O.eq(x, math.inf), math.inf, O.where(O.eq(x, -math.inf), math.nan, out))
    return O.where(O.ne(x, x), x, out)


def _trigamma(x: Tensor) -> Tensor:
    """polygamma(1, x), reflection pi^2 / sin^2(pi x) - psi1(1 - x) below 0.5."""
    small = O.lt(x, 0.5)
    xr = _where_safe(small, x, 0.25)
    s, _ = _sinpi_cospi(xr)
    pole = O.eq(s, 0)
    refl = O.sub(O.div(math.pi ** 2, O.square(_where_safe(O.logical_not(pole), s, 1.0))),
                 _polygamma_pos(1, O.sub(1.0, xr), _SHIFT))
    pos = _polygamma_pos(1, O.where(small, 1.0, x), _SHIFT)
    out = O.where(small, O.where(pole, math.inf, refl), pos)
    return O.where(O.eq(x, math.inf), 0.0, O.where(O.ne(x, x), x, out))


def _bernoulli(k: int) -> float:
    """B_2k for k >= 1 (the few the asymptotic series needs)."""
    table = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
             43867 / 798, -174611 / 330)
    return table[k - 1]


def _polygamma_pos(n: int, x: Tensor, shift: int) -> Tensor:
    """polygamma(n, x), n >= 1: (-1)^(n+1) n! sum_k (x + k)^-(n+1) over `shift` terms,
    then the asymptotic series of the tail at y = x + shift."""
    sign = 1.0 if n % 2 else -1.0
    acc = O.zeros_like(x)
    for k in range(shift):
        acc = O.add(acc, O.pow(O.add(x, float(k)), -(n + 1)))
    y = O.add(x, float(shift))
    # tail: (n-1)!/y^n + n!/(2 y^(n+1)) + sum_k B_2k (2k+n-1)!/(2k)! / y^(2k+n)
    tail = O.add(O.div(math.factorial(n - 1), O.pow(y, n)),
                 O.div(math.factorial(n) / 2, O.pow(y, n + 1)))
    for k in range(1, 11):
        coef = _bernoulli(k) * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
        tail = O.add(tail, O.div(coef, O.pow(y, 2 * k + n)))
    return O.mul(sign, O.add(O.mul(math.factorial(n), acc), tail))


def _polygamma(n: int, x: Tensor, shift: int) -> Tensor:
    if n == 0:
        return _digamma(x)
    if n == 1:
        return _trigamma(x)
    # n >= 2: the shifted series is valid where x + shift >= 6 (else NaN, never wrong)
    ok = O.ge(O.add(x, float(shift)), 6.0)
    nonpos_int = O.logical_and(O.le(x, 0), O.eq(x, O.floor(x)))
    out = _polygamma_pos(n, _where_safe(ok, x, 1.0), shift)
    out = O.where(ok, out, math.nan)
    # poles: (-1)^(n+1) n! zeta(n+1, x) with torch's zeta = inf there
    return O.where(nonpos_int, math.inf if n % 2 else -math.inf,
                   O.where(O.eq(x, math.inf), math.nan, out))  # torch: NaN at inf


def _polygamma_op(n: int, x: Tensor) -> Tensor:
    shift = _SHIFT
    if n >= 2 and not x.is_traced:
        values = x.numpy()
        low = float(np.min(values[np.isfinite(values)], initial=np.inf))
        if low + shift < 6:
            shift = int(math.ceil(6 - low))
    return _custom(lambda v: _polygamma(n, v, shift), lambda v: _polygamma_op(n + 1, v))(x)


@method
def digamma(input):
    """The logarithmic derivative of Gamma; torch's values at the poles: -inf at +0,
    +inf at -0, NaN at the negative integers."""
    return _polygamma_op(0, _float(input, "digamma"))


def polygamma(n: int, input):
    """The n-th derivative of digamma (n >= 0)."""
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 0:
        raise ArgumentError(with_location(
            f"polygamma(n, x) does not support negative n, got n={n!r}"))
    return _polygamma_op(int(n), _float(input, "polygamma"))


def _polygamma_method(self, n: int):
    return polygamma(n, self)


O.METHODS["polygamma"] = _polygamma_method  # x.polygamma(n): torch's argument order


# ---------------------------------------------------------------- erfc, erfcx

# Numerical Recipes 3rd ed., Erf::erfccheb: erfc(z) = t exp(-z^2 + P(4t - 2)), t = 2/(2+z)
_ERFC_CHEB = (-1.3026537197817094, 6.4196979235649026e-1, 1.9476473204185836e-2,
              -9.561514786808631e-3, -9.46595344482036e-4, 3.66839497852761e-4,
              4.2523324806907e-5, -2.0278578112534e-5, -1.624290004647e-6,
              1.303655835580e-6, 1.5626441722e-8, -8.5238095915e-8, 6.529054439e-9,
              5.059343495e-9, -9.91364156e-10, -2.27365122e-10, 9.6467911e-11,
              2.394038e-12, -6.886027e-12, 8.94487e-13, 3.13092e-13, -1.12708e-13,
              3.81e-16, 7.106e-15, -1.523e-15, -9.4e-17, 1.21e-16, -2.8e-17)


def _erfc_cheb_log(z: Tensor) -> tuple[Tensor, Tensor]:
    """(t, log-part) with erfc(z) = t exp(-z^2 + part) for z >= 0."""
    t = O.div(2.0, O.add(2.0, z))
    ty = O.sub(O.mul(4.0, t), 2.0)
    d = O.zeros_like(z)
    dd = O.zeros_like(z)
    for c in reversed(_ERFC_CHEB[1:]):
        d, dd = O.add(O.sub(O.mul(ty, d), dd), c), d
    part = O.sub(O.mul(0.5, O.add(_ERFC_CHEB[0], O.mul(ty, d))), dd)
    return t, part


def _erfc(x: Tensor) -> Tensor:
    a = O.abs(x)
    big = O.ge(a, 0.5)
    z = _where_safe(big, a, 1.0)
    t, part = _erfc_cheb_log(z)
    tail = O.mul(t, O.exp(O.sub(part, O.square(z))))  # erfc(|x|)
    tail = O.where(O.lt(x, 0), O.sub(2.0, tail), tail)
    return O.where(big, tail, O.sub(1.0, O.erf(O.where(big, 0.0, x))))


@method
def erfc(input):
    """1 - erf(x), accurate where it is tiny (x large)."""
    x = _float(input, "erfc")
    return O.where(O.ne(x, x), x, _erfc(x))


def erfcx(input):
    """exp(x^2) erfc(x), without its overflow."""
    x = _float(input, "erfcx")
    a = O.abs(x)
    small = O.lt(a, 0.5)
    z = _where_safe(small, 1.0, a)
    t, part = _erfc_cheb_log(z)
    pos = O.mul(t, O.exp(part))  # erfcx(|x|) for |x| >= 0.5
    xs = _where_safe(small, x, 0.0)
    near = O.mul(O.exp(O.square(xs)), O.sub(1.0, O.erf(xs)))
    neg = O.sub(O.mul(2.0, O.exp(O.square(O.where(O.lt(x, -26.7), 0.0, x)))), pos)
    neg = O.where(O.lt(x, -26.7), math.inf, neg)
    return O.where(small, near, O.where(O.lt(x, 0), neg, pos))


# ---------------------------------------------------------------- erfinv, erfcinv

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _giles(y: Tensor, w: Tensor) -> Tensor:
    """Giles' single-precision erfinv, with w = -log((1 - y)(1 + y)) given."""
    central = O.lt(w, 5.0)
    w1 = O.sub(_where_safe(central, w, 2.5), 2.5)
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
        p1 = O.add(O.mul(p1, w1), c)
    w2 = O.sub(O.sqrt(_where_safe(central, 9.0, w)), 3.0)
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
              -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
        p2 = O.add(O.mul(p2, w2), c)
    return O.mul(O.where(central, p1, p2), y)


def _erfcinv_tail(z: Tensor) -> Tensor:
    """erfcinv(z) for z in (0, 0.5) (result > 0.47): Newton on the smooth
    g(x) = log erfc(x) - log z, with log erfc from the Chebyshev form (no underflow);
    the start is Giles' where he is accurate, the asymptotic x^2 ~ -log(z x sqrt(pi))
    in the far tail."""
    w = O.neg(O.log(O.mul(z, O.sub(2.0, z))))
    giles = _giles(O.sub(1.0, z), _where_safe(O.lt(w, 25.0), w, 25.0))
    x0 = O.sqrt(O.neg(O.log(z)))
    far = O.sqrt(O.neg(O.log(O.mul(z, O.mul(math.sqrt(math.pi), x0)))))
    x = O.where(O.lt(w, 25.0), giles, far)
    logz = O.log(z)
    for _ in range(5):
        xc = O.maximum(x, 0.0)
        t, part = _erfc_cheb_log(xc)
        g = O.sub(O.sub(O.add(O.log(t), part), O.square(xc)), logz)
        gp = O.div(-_TWO_OVER_SQRT_PI, O.mul(t, O.exp(part)))
        x = O.sub(xc, O.div(g, gp))
    return x


def _erfcinv_small(z: Tensor) -> Tensor:
    """erfcinv(z) for z in (0, 1] (result >= 0)."""
    tail = O.lt(z, 0.5)
    near = _erfinv_central(O.sub(1.0, _where_safe(tail, 1.0, z)))  # 1 - z exact here
    return O.where(tail, _erfcinv_tail(_where_safe(tail, z, 0.25)), near)


def _erfinv_central(y: Tensor) -> Tensor:
    """erfinv(y) for |y| <= 0.5: Halley steps on erf(x) - y."""
    w = O.neg(O.log(O.mul(O.sub(1.0, y), O.add(1.0, y))))
    x = _giles(y, w)
    for _ in range(3):
        f = O.sub(O.erf(x), y)
        fp = O.mul(_TWO_OVER_SQRT_PI, O.exp(O.neg(O.square(x))))
        delta = O.div(f, fp)
        x = O.sub(x, O.div(delta, O.add(1.0, O.mul(x, delta))))
    return x


def _erfinv(y: Tensor) -> Tensor:
    a = O.abs(y)
    central = O.le(a, 0.5)
    inside = O.lt(a, 1.0)
    mid = _erfinv_central(_where_safe(central, y, 0.0))
    tail_z = O.sub(1.0, _where_safe(O.logical_and(O.logical_not(central), inside), a, 0.75))
    tail = O.copysign(_erfcinv_small(tail_z), y)
    out = O.where(central, mid, tail)
    out = O.where(O.eq(a, 1.0), O.copysign(O.full_like(y, math.inf), y), out)
    return O.where(O.gt(a, 1.0), math.nan, O.where(O.ne(y, y), y, out))


def _erfinv_grad(y: Tensor) -> Tensor:
    x = _erfinv(y)
    return O.mul(math.sqrt(math.pi) / 2, O.exp(O.square(x)))


@method
def erfinv(input):
    """The inverse of erf on (-1, 1); +-inf at +-1, NaN outside."""
    x = _float(input, "erfinv")
    return _custom(_erfinv, _erfinv_grad)(x)


def erfcinv(z: Tensor) -> Tensor:
    """The inverse of erfc on (0, 2) (used by ndtri)."""
    low = O.le(z, 1.0)
    inside = O.logical_and(O.gt(z, 0), O.lt(z, 2.0))
    zz = _where_safe(inside, O.where(low, z, O.sub(2.0, z)), 0.5)
    x = _erfcinv_small(zz)
    out = O.where(low, x, O.neg(x))
    out = O.where(O.eq(z, 0), math.inf, O.where(O.eq(z, 2.0), -math.inf, out))
    return O.where(O.logical_or(O.lt(z, 0), O.gt(z, 2.0)), math.nan,
                   O.where(O.ne(z, z), z, out))


# ---------------------------------------------------------------- Bessel I0, I1

_BESSEL_SWITCH = 20.0


def _bessel_series(nu: int, x: Tensor) -> Tensor:
    """I_nu(x) for |x| < 20: (x/2)^nu sum_k (x^2/4)^k / (k! (k+nu)!)."""
    q = O.mul(0.25, O.square(x))
    term = O.full_like(x, 1.0 / math.factorial(nu))
    total = term
    for k in range(1, 72):
        term = O.mul(term, O.div(q, float(k * (k + nu))))
        total = O.add(total, term)
    return O.mul(total, O.mul(0.5, x)) if nu == 1 else total


def _bessel_scaled_asym(nu: int, a: Tensor) -> Tensor:
    """exp(-a) I_nu(a) for a >= 20 (Hankel's series)."""
    mu = 4.0 * nu * nu
    term = O.ones_like(a)
    total = term
    inv8 = O.reciprocal(O.mul(8.0, a))
    for k in range(1, 30):
        term = O.mul(term, O.mul(-(mu - (2 * k - 1) ** 2) / k, inv8))
        total = O.add(total, term)
    return O.mul(total, O.rsqrt(O.mul(2 * math.pi, a)))


def _bessel(nu: int, x: Tensor, scaled: bool) -> Tensor:
    a = O.abs(x)
    near = O.lt(a, _BESSEL_SWITCH)
    xs = _where_safe(near, x, 0.0)
    series = _bessel_series(nu, xs)
    if scaled:
        series = O.mul(series, O.exp(O.neg(O.abs(xs))))
    af = _where_safe(near, _BESSEL_SWITCH, a)
    inf = O.eq(a, math.inf)
    af = _where_safe(inf, 1e300 if x.dtype == dtypes.float64 else 1e30, af)
    asym = _bessel_scaled_asym(nu, af)
    if not scaled:
        asym = O.mul(asym, O.exp(af))  # overflows to inf as I_nu does
    if nu == 1:
        asym = O.copysign(asym, x)
    out = O.where(near, series, asym)
    if not scaled:  # torch's (Cephes') I0(+-inf) and I1(+-inf) are NaN
        out = O.where(inf, math.nan, out)
    return O.where(O.ne(x, x), x, out)


@method
def i0(input):
    """The modified Bessel function of the first kind, order 0."""
    return _bessel(0, _float(input, "i0"), False)


def i0e(input):
    return _bessel(0, _float(input, "special.i0e"), True)


def i1(input):
    return _bessel(1, _float(input, "special.i1"), False)


def i1e(input):
    return _bessel(1, _float(input, "special.i1e"), True)


# ---------------------------------------------------------------- mvlgamma and the rest


@method
def mvlgamma(input, p: int):
    """The multivariate log-gamma of dimension p: sum_i lgamma(x - i/2) + p(p-1)/4 log pi.
    Elements at or below (p - 1) / 2 are outside its domain: the formula's value there
    (inf at the poles), as torch 2.13's, which no longer checks them."""
    x = input if isinstance(input, Tensor) else O.tensor(input)
    if not x.dtype.is_floating_point:
        raise DTypeError(with_location(
            f"mvlgamma: not implemented for {x.dtype.name} tensors (needs floating point)"))
    if p < 1:
        raise ArgumentError(with_location("mvlgamma: p has to be greater than or equal to 1"))
    total = O.full_like(x, p * (p - 1) / 4 * math.log(math.pi))
    for i in range(p):
        total = O.add(total, lgamma(O.sub(x, i / 2)))
    return total


def xlog1py(input, other):
    """x * log1p(y), 0 where x is 0 (unless y is NaN)."""
    from lamina.frontend.math_extra import _floats

    x, y = _floats("xlog1py", input, other)
    zero = O.logical_and(O.eq(x, 0), O.eq(y, y))
    return O.where(zero, 0.0, O.mul(x, O.log1p(O.where(zero, 0.0, y))))


def entr(input):
    """-x log x for x > 0, 0 at 0, -inf for x < 0."""
    x = _float(input, "special.entr")
    pos = O.gt(x, 0)
    val = O.neg(O.mul(x, O.log(_where_safe(pos, x, 1.0))))
    out = O.where(pos, val, O.where(O.eq(x, 0), 0.0, -math.inf))
    return O.where(O.ne(x, x), x, out)


def ndtr(input):
    """The standard normal CDF, 0.5 erfc(-x / sqrt 2)."""
    x = _float(input, "special.ndtr")
    return O.mul(0.5, erfc(O.mul(-1 / math.sqrt(2), x)))


def log_ndtr(input):
    """log(ndtr(x)), accurate in both tails: log1p(-ndtr(-x)) above 0, the log of
    erfc's exp-free form below, and the asymptotic series below -20."""
    x = _float(input, "special.log_ndtr")
    z = O.mul(-1 / math.sqrt(2), x)
    upper = O.gt(x, 0)
    right = O.log1p(O.neg(O.mul(0.5, _erfc(O.mul(1 / math.sqrt(2),
                                                  _where_safe(upper, x, 1.0))))))
    zl = _where_safe(O.logical_not(upper), z, 1.0)  # z >= 0 here
    big = O.ge(zl, 0.5)
    t, part = _erfc_cheb_log(_where_safe(big, zl, 1.0))
    left_big = O.add(O.add(O.log(O.mul(0.5, t)), part), O.neg(O.square(_where_safe(big, zl,
                                                                                 1.0))))
    left_small = O.log(O.mul(0.5, O.sub(1.0, O.erf(_where_safe(big, 0.0, zl)))))
    left = O.where(big, left_big, left_small)
    return O.where(upper, right, left)


def ndtri(input):
    """The inverse of ndtr: -sqrt(2) erfcinv(2p)."""
    p = _float(input, "special.ndtri")
    return O.mul(-math.sqrt(2), erfcinv(O.mul(2.0, p)))


def logit(input, eps: float | None = None):
    from lamina.frontend import spellings

    return spellings.logit(input, eps)


def spherical_bessel_j0(input):
    """sin(x) / x (1 at 0, 0 at +-inf)."""
    x = _float(input, "special.spherical_bessel_j0")
    zero = O.eq(x, 0)
    safe = _where_safe(O.logical_not(zero), x, 1.0)
    out = O.where(zero, 1.0, O.div(O.sin(safe), safe))
    return O.where(O.eq(O.abs(x), math.inf), 0.0, out)


def sinc(input):
    from lamina.frontend.math_extra import sinc as _sinc

    return _sinc(input)

