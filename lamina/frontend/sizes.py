"""Sizes that stand for the symbolic dim while lm.jit traces a probe (docs/dynamic_shapes.md).

During a probe trace (`lamina.frontend.dynamic_dims`), the shape of every traced
tensor holds a `SymSize` wherever a dim is a polynomial of the symbolic size `s`
(`s`, `2*s`, `s*s*4`). A SymSize is the probe's int, so every shape rule computes as
usual; what it adds is a record: arithmetic keeps the polynomial, and a comparison
whose answer depends on `s` (`T > 128`, `min(T, 64)`, `n == 256`) becomes a guard,
checked on every call of the symbolic program; a call that fails one runs a program
traced for its own shapes. Arithmetic that leaves the polynomials (`s // 3`) makes the
probe fail to generalize (`Sizes.failure`), never silently specialize.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lamina.runtime.dynamic import NotGeneric, Poly, decode_one

__all__: list[str] = []

MAX_GUARDS = 64


def symbolic(n: int) -> bool:
    """Whether `n` stands for the symbolic dim of a probe trace: code that picks an
    algorithm by size (blocked attention for long sequences) takes the one that is
    right for every size instead of asking (and guarding) the size."""
    return isinstance(n, SymSize)


def _add(a: tuple, b: tuple, sign: int = 1) -> tuple:
    n = max(len(a), len(b))
    out = [(a[i] if i < len(a) else 0) + sign * (b[i] if i < len(b) else 0) for i in range(n)]
    while out and out[-1] == 0:
        out.pop()
    return tuple(out)


def _mul(a: tuple, b: tuple) -> tuple:
    if not a or not b:
        return ()
    out = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] += x * y
    return tuple(out)


_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne}


@dataclass(frozen=True)
class Guard:
    """`poly(s) <op> 0` was `result` at the probe, and must be at every call."""

    poly: Poly
    op: str
    result: bool

    def holds(self, s: int) -> bool:
        return _COMPARE[self.op](self.poly(s), 0) == self.result

    def __str__(self) -> str:
        return f"{'' if self.result else 'not '}{self.poly} {self.op} 0"


@dataclass
class Sizes:
    """The record of one probe trace: its size, the guards, the first failure."""

    probe: int
    guards: list[Guard] = field(default_factory=list)
    failure: str = ""

    def wrap(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(self.size(d) for d in shape)

    def size(self, d: int) -> int:
        if d < self.probe // 2:
            return d
        try:
            poly = decode_one(d, self.probe)
        except NotGeneric:
            return d
        return SymSize(d, poly.coeffs, self)

    def compare(self, poly: tuple, op: str, result: bool) -> None:
        if len(poly) > 1 and (g := Guard(Poly(poly), op, result)) not in self.guards:
            self.guards.append(g)
            if len(self.guards) > MAX_GUARDS:  # a Python loop over the size: stop the trace
                raise NotGeneric(f"the trace asked more than {MAX_GUARDS} questions of the "
                                 "size (a Python loop over it?)")

    def fail(self, why: str) -> None:
        self.failure = self.failure or why


def _coeffs(x: object, sizes: Sizes) -> tuple | None:
    """A SymSize's polynomial; a plain int's: itself, unless it is the probe's value of
    a polynomial (a size that lost its wrapper through `int()` or numpy)."""
    if isinstance(x, SymSize):
        return x.coeffs
    if isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_):
        found = sizes.size(int(x))
        if isinstance(found, SymSize):
            return found.coeffs
        return (int(x),) if x else ()
    return None


class SymSize(int):
    """The probe's value of a size that is a polynomial of the symbolic dim."""

    coeffs: tuple
    sizes: Sizes

    def __new__(cls, value: int, coeffs: tuple, sizes: Sizes) -> SymSize:
        self = int.__new__(cls, value)
        self.coeffs, self.sizes = coeffs, sizes
        return self

    def _make(self, coeffs: tuple) -> int:
        value = Poly(coeffs)(self.sizes.probe)
        return SymSize(value, coeffs, self.sizes) if len(coeffs) > 1 else value

    def _arith(self, other: object, fn: Callable[[tuple, tuple], tuple], plain) -> object:
        c = _coeffs(other, self.sizes)
        return plain(int(self), other) if c is None else self._make(fn(self.coeffs, c))

    def __add__(self, o):
        return self._arith(o, _add, operator.add)

    __radd__ = __add__

    def __sub__(self, o):
        return self._arith(o, lambda a, b: _add(a, b, -1), operator.sub)

    def __rsub__(self, o):
        return self._arith(o, lambda a, b: _add(b, a, -1), lambda x, y: y - x)

    def __mul__(self, o):
        return self._arith(o, _mul, operator.mul)

    __rmul__ = __mul__

    def __neg__(self):
        return self._make(_mul(self.coeffs, (-1,)))

    def __floordiv__(self, o):
        c = _coeffs(o, self.sizes)
        if c is not None and len(c) == 1 and all(x % c[0] == 0 for x in self.coeffs):
            return self._make(tuple(x // c[0] for x in self.coeffs))
        if c is not None and c == self.coeffs:
            return 1
        self.sizes.fail(f"a size divided by {o!r} is no polynomial of the symbolic dim")
        return int(self) // o

    def __mod__(self, o):
        c = _coeffs(o, self.sizes)
        if c is not None and len(c) == 1 and all(x % c[0] == 0 for x in self.coeffs):
            return 0
        self.sizes.fail(f"a size modulo {o!r} depends on the symbolic dim")
        return int(self) % o

    def __rfloordiv__(self, o):
        self.sizes.fail("a number divided by a symbolic size")
        return o // int(self)

    def _cmp(self, o: object, op: str) -> bool:
        result = _COMPARE[op](int(self), o)
        c = _coeffs(o, self.sizes)
        if c is not None:
            self.sizes.compare(_add(self.coeffs, c, -1), op, result)
        return result

    def __lt__(self, o):
        return self._cmp(o, "<")

    def __le__(self, o):
        return self._cmp(o, "<=")

    def __gt__(self, o):
        return self._cmp(o, ">")

    def __ge__(self, o):
        return self._cmp(o, ">=")

    def __eq__(self, o):
        return self._cmp(o, "==")

    def __ne__(self, o):
        return self._cmp(o, "!=")

    __hash__ = int.__hash__

    def __repr__(self) -> str:
        return f"{int(self)}"
