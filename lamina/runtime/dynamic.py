"""Programs compiled once for every size of one symbolic dim (docs/dynamic_shapes.md).

A dynamic program is traced and lowered twice, with the symbolic dim `s` at two probe
sizes (`PROBES`: large primes, different residues modulo 2^k, 3 and 5). Every level
below the trace is a function of the sizes it was given; where the two lowerings
agree token for token except for integers, each integer that differs is a polynomial
in `s` with small integer coefficients (a loop bound `s`, a stride `64*s`, an
allocation `10*s*s`). `generalize` reads that polynomial off the first probe (its
balanced base-P digits) and checks it on the second; the C source is then the one
program with `lm_dyn_s` in those places, read at run time. Anything else that differs
(a decision the passes took differently, a constant computed from the size, a
structure) makes the pair fail to generalize, with the reason, and the caller compiles
for the static shape instead: a wrong answer is never the fallback.

What the probes cannot see is a decision that is the same at both probe sizes but
different at a smaller one (`min(s, 64)`, a check elided because an index is known
below `s`): the frontend requires symbolic dims >= 2 (size-1 dims stay static, as
torch's 0/1 specialization), and docs/dynamic_shapes.md lists the decisions the
passes take on sizes and why each generalizes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lamina.dialects import check
from lamina.errors import ShapeError, with_location

# Far apart (P1 > 2 * P0): a size computed without being a polynomial of s (a block
# count s // k, a clamp min(s, k)) differs between them unless it is the same for
# every s below P0 -- and a symbolic program serves sizes below P0 only (MAX_SIZE).
PROBES = (65537, 140191)
MAX_SIZE = check.MAY_BE_SYMBOLIC - 1  # larger sizes run programs compiled for them
assert min(PROBES) > check.MAY_BE_SYMBOLIC and PROBES[1] > 2 * PROBES[0]
SYMBOL = "lm_dyn_s"  # the C global holding the symbolic size of the current call
MAX_DEGREE = 3


class NotGeneric(Exception):
    """The two probe lowerings do not generalize; the message says where."""


# ---------------------------------------------------------------- polynomials


@dataclass(frozen=True)
class Poly:
    """c0 + c1*s + c2*s^2 + ...: a size as a function of the symbolic dim."""

    coeffs: tuple[int, ...]

    def __call__(self, s: int) -> int:
        return sum(c * s**i for i, c in enumerate(self.coeffs))

    def c_text(self, sym: str = SYMBOL) -> str:
        terms = []
        for i, c in enumerate(self.coeffs):
            if c == 0:
                continue
            mono = "*".join([sym] * i)
            terms.append(str(c) if not mono else mono if c == 1 else f"{c}*{mono}")
        return "(" + (" + ".join(terms) or "0") + ")"

    def __str__(self) -> str:
        return self.c_text("s")[1:-1]


def decode_one(v: int, probe: int) -> Poly:
    """The polynomial with coefficients below probe/2 whose value at `probe` is `v`
    (its balanced base-`probe` digits)."""
    digits, rest = [], v
    while rest:
        d = rest % probe
        if d > probe // 2:
            d -= probe
        digits.append(d)
        rest = (rest - d) // probe
        if len(digits) > MAX_DEGREE + 1:
            raise NotGeneric(f"{v} is no polynomial of degree <= {MAX_DEGREE} in the size")
    return Poly(tuple(digits))


def decode(v0: int, v1: int, probes: Sequence[int] = PROBES) -> Poly:
    """The polynomial p with small coefficients and p(probes[0]) = v0, p(probes[1]) = v1."""
    poly = decode_one(v0, probes[0])
    if poly(probes[1]) != v1:
        raise NotGeneric(f"{v0} at size {probes[0]} and {v1} at {probes[1]} are no "
                         "polynomial of the size")
    return poly


# ---------------------------------------------------------------- C sources

_TOKEN = re.compile(r"""
    "(?:\\.|[^"\\])*" | '(?:\\.|[^'\\])*'         # string and char literals
  | 0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?\d+[fFlL]?  # hex floats
  | 0[xX][0-9a-fA-F]+[uUlL]*                     # hex integers
  | \d+\.\d*(?:[eE][+-]?\d+)?[fFlL]? | \d+[eE][+-]?\d+[fFlL]?  # decimal floats
  | \d+[uUlL]*                                   # decimal integers
  | [A-Za-z_]\w*
  | \s+ | .""", re.VERBOSE | re.DOTALL)
_INT = re.compile(r"(\d+)([uUlL]*)")


_HEX_FLOAT = re.compile(r"(0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?\d+)([fF]?)")


def _float_of_size(ta: str, tb: str) -> str:
    """A float constant computed from the size: `n` itself (`float(s)`) or `c / s`
    (a mean's 1/s), recognized when both probes reproduce it bit for bit; the C
    computes it the way Python did (in double, then rounded to the literal's type)."""
    ma, mb = _HEX_FLOAT.fullmatch(ta), _HEX_FLOAT.fullmatch(tb)
    if not (ma and mb and ma.group(2) == mb.group(2)):
        raise NotGeneric(f"the generated C differs in {ta[:40]!r} / {tb[:40]!r}")
    single = bool(ma.group(2))
    ctype = "float" if single else "double"
    a, b = float.fromhex(ma.group(1)), float.fromhex(mb.group(1))

    def rounded(x: float) -> float:
        return float(np.float32(x)) if single else x

    if a.is_integer() and b.is_integer():
        poly = decode(int(a), int(b))
        if all(rounded(float(poly(p))) == v for p, v in zip(PROBES, (a, b), strict=True)):
            return f"(({ctype}){poly.c_text()})"
    inverse = _inverse_poly(a, b, rounded)
    if inverse is not None:  # 1 / (5*s): a mean over s and a static dim
        return f"(({ctype})(1.0 / (double){inverse.c_text()}))"
    for kind in (1, 2):  # c / s, c / s^2
        c = round(a * PROBES[0] ** kind)
        if c and all(rounded(c / p ** kind) == v for p, v in zip(PROBES, (a, b), strict=True)):
            denominator = "*".join(["(double)" + SYMBOL] * kind)
            return f"(({ctype})((double){c} / ({denominator})))"
    raise NotGeneric(f"a float constant depends on the size in a way not recognized: "
                     f"{a!r} at {PROBES[0]}, {b!r} at {PROBES[1]}")


def _inverse_poly(a: float, b: float, rounded) -> Poly | None:
    """p with 1 / p(probe) reproducing both values bit for bit, else None."""
    if not (a and b) or abs(1 / a) > 2**62 or abs(1 / b) > 2**62:
        return None
    try:
        poly = decode(round(1 / a), round(1 / b))
    except NotGeneric:
        return None
    ok = all(rounded(1.0 / poly(p)) == v for p, v in zip(PROBES, (a, b), strict=True))
    return poly if ok and len(poly.coeffs) > 1 else None


_LITERAL_MACROS = ("INT64_C", "UINT64_C", "INT32_C", "UINT32_C")


def _tokens(source: str) -> list[str]:
    return _TOKEN.findall(source)


def generalize_c(sources: Sequence[str]) -> tuple[str, int]:
    """The C source for every size from the two probes' sources, and how many integers
    became polynomials of the size. Raises NotGeneric naming the first difference."""
    a, b = _tokens(sources[0]), _tokens(sources[1])
    if len(a) != len(b):
        raise NotGeneric("the two probe sizes gave programs of different structure")
    out, changed = [], 0
    for ta, tb in zip(a, b, strict=True):
        if ta == tb:
            out.append(ta)
            continue
        ma, mb = _INT.fullmatch(ta), _INT.fullmatch(tb)
        if not (ma and mb):
            out.append(_float_of_size(ta, tb))
            changed += 1
            continue
        poly = decode(int(ma.group(1)), int(mb.group(1)))
        solid = [k for k in range(len(out) - 1, -1, -1) if not out[k].isspace()][:2]
        if len(solid) == 2 and out[solid[0]] == "(" and out[solid[1]] in _LITERAL_MACROS:
            out[solid[1]] = ""  # INT64_C(x) pastes a suffix onto x: an expression is none
        out.append(f"((int64_t){poly.c_text()})")
        changed += 1
    # declared before the kernels (in the text every compile unit includes), defined
    # once in the main unit; hidden: kernels in other units read it without the GOT
    text = "".join(out)
    kernel, main = "/* lamina-unit: kernel */", "/* lamina-unit: main */"
    decl = f'extern int64_t {SYMBOL} __attribute__((visibility("hidden")));\n'
    define = (f"int64_t {SYMBOL};\n"
              f"void lamina_set_size(int64_t s) {{ {SYMBOL} = s; }}\n")
    at = text.find(kernel)
    at = at if at >= 0 else text.find(main)
    text = text[:at] + decl + text[at:]
    at = text.find(main)
    at = text.find("\n", at) + 1 if at >= 0 else len(text)
    return text[:at] + define + text[at:], changed


# ---------------------------------------------------------------- shapes


@dataclass(frozen=True)
class DimSpec:
    """A buffer's shape: an int per static dim, a Poly per dim that follows the size."""

    dims: tuple[int | Poly, ...]

    def at(self, s: int) -> tuple[int, ...]:
        return tuple(d(s) if isinstance(d, Poly) else d for d in self.dims)


def generalize_shapes(shapes0: Sequence[tuple[int, ...]],
                      shapes1: Sequence[tuple[int, ...]]) -> list[DimSpec]:
    specs = []
    for s0, s1 in zip(shapes0, shapes1, strict=True):
        if len(s0) != len(s1):
            raise NotGeneric("a program buffer changed rank between the probe sizes")
        specs.append(DimSpec(tuple(a if a == b else decode(a, b) for a, b in
                                   zip(s0, s1, strict=True))))
    return specs


@dataclass(frozen=True)
class Binding:
    """Where a call's symbolic size is read: dim `dim` of program input `input`; every
    other bound dim must agree, and static dims must match the trace."""

    input: int
    dim: int


def bind_size(name: str, arrays: Sequence[np.ndarray], inputs: Sequence[DimSpec],
              bindings: Sequence[Binding]) -> int:
    """The symbolic size of this call; a ShapeError (torch's RuntimeError) naming the
    program, the arguments and the user's line when the shapes do not fit."""
    first = bindings[0]
    s = int(np.shape(arrays[first.input])[first.dim])
    for i, spec in enumerate(inputs):
        shape = tuple(np.shape(arrays[i]))
        want = spec.at(s)
        if shape != want:
            raise ShapeError(with_location(
                f"dynamic program @{name}: argument {i} has shape {shape}, but the "
                f"symbolic size s = {s} (dim {first.dim} of argument {first.input}) "
                f"makes it {want}: the sizes of the dims traced as one symbol must match"))
    return s


class SizedEntry:
    """A compiled dynamic C program: sets the size, then runs the per-size Runner
    (concrete buffer specs, made once per size). Calls are serialized: the size is a
    global of the library."""

    def __init__(self, set_size, make_runner, name: str, inputs: list[DimSpec],
                 bindings: list[Binding], donated: dict[int, int]):
        self.set_size = set_size
        self.make_runner = make_runner
        self.name, self.inputs, self.bindings = name, inputs, bindings
        self.donated = donated
        self._runners: dict[int, tuple] = {}  # size -> (Runner, input shapes)
        self._lock = threading.Lock()

    def __call__(self, args: Sequence, donate: bool = False) -> list[np.ndarray]:
        first = self.bindings[0]
        s = int(np.shape(args[first.input])[first.dim])
        found = self._runners.get(s)
        if found is None:
            bind_size(self.name, args, self.inputs, self.bindings)  # raises on a mismatch
            found = (self.make_runner(s), [spec.at(s) for spec in self.inputs])
            if len(self._runners) >= 64:
                self._runners.pop(next(iter(self._runners)))
            self._runners[s] = found
        runner, shapes = found
        for a, shape in zip(args, shapes, strict=True):
            if (a.shape if type(a) is np.ndarray else np.shape(a)) != shape:
                bind_size(self.name, args, self.inputs, self.bindings)
        with self._lock:
            self.set_size(s)
            return runner(args, donate=donate)  # type: ignore[operator]


# ---------------------------------------------------------------- hl programs (interp)


def _attr_template(a, b):
    """How an attribute follows the size: a function s -> attribute, from the two probes."""
    from xdsl.dialects.builtin import (
        DenseArrayBase,
        FloatAttr,
        FunctionType,
        IntegerAttr,
        TensorType,
    )

    if isinstance(a, TensorType) and isinstance(b, TensorType) and \
            a.element_type == b.element_type:
        (spec,) = generalize_shapes([a.get_shape()], [b.get_shape()])
        return lambda s: TensorType(a.element_type, list(spec.at(s)))
    if isinstance(a, DenseArrayBase) and isinstance(b, DenseArrayBase) and \
            a.elt_type == b.elt_type:
        (spec,) = generalize_shapes([tuple(a.get_values())], [tuple(b.get_values())])
        return lambda s: DenseArrayBase.from_list(a.elt_type, list(spec.at(s)))
    if isinstance(a, IntegerAttr) and isinstance(b, IntegerAttr) and a.type == b.type:
        poly = decode(a.value.data, b.value.data)
        return lambda s: IntegerAttr(poly(s), a.type)
    if isinstance(a, FloatAttr) and isinstance(b, FloatAttr) and a.type == b.type:
        va, vb = a.value.data, b.value.data
        if va.is_integer() and vb.is_integer():
            poly = decode(int(va), int(vb))
            return lambda s: FloatAttr(float(poly(s)), a.type)
        for kind in (1, 2):  # c / s, c / s^2 (as the frontend computed them, in double)
            c = round(va * PROBES[0] ** kind)
            if c and c / PROBES[0] ** kind == va and c / PROBES[1] ** kind == vb:
                return lambda s, c=c, kind=kind: FloatAttr(c / s ** kind, a.type)
        for rounded in (lambda x: x, lambda x: float(np.float32(x))):  # f64 or f32 math
            inverse = _inverse_poly(va, vb, rounded)
            if inverse is not None:
                return lambda s, r=rounded, p=inverse: FloatAttr(r(1.0 / p(s)), a.type)
    if isinstance(a, FunctionType) and isinstance(b, FunctionType):
        ins = [_attr_template(x, y) for x, y in zip(a.inputs.data, b.inputs.data, strict=True)]
        outs = [_attr_template(x, y) for x, y in zip(a.outputs.data, b.outputs.data,
                                                      strict=True)]
        return lambda s: FunctionType.from_lists([f(s) for f in ins], [f(s) for f in outs])
    raise NotGeneric(f"an attribute depends on the size in a way not recognized: {a} / {b}")


class HlTemplate:
    """An hl program at every size, from its two probe lowerings: the first probe's
    module, and where its attributes and types follow the size. `at(s)` is the
    program at size s (a copy with those rewritten)."""

    def __init__(self, m0, m1):
        ops0, ops1 = list(m0.walk()), list(m1.walk())
        if [o.name for o in ops0] != [o.name for o in ops1]:
            raise NotGeneric("the two probe sizes gave programs of different structure")
        self.base = m0
        self.sites: list[tuple] = []
        for k, (a, b) in enumerate(zip(ops0, ops1, strict=True)):
            for name, attr in a.properties.items():
                if b.properties.get(name) != attr:
                    self.sites.append((k, "prop", name,
                                       _attr_template(attr, b.properties.get(name))))
            for i, (ra, rb) in enumerate(zip(a.results, b.results, strict=True)):
                if ra.type != rb.type:
                    self.sites.append((k, "result", i, _attr_template(ra.type, rb.type)))
            args0 = [x for r in a.regions for blk in r.blocks for x in blk.args]
            args1 = [x for r in b.regions for blk in r.blocks for x in blk.args]
            for i, (xa, xb) in enumerate(zip(args0, args1, strict=True)):
                if xa.type != xb.type:
                    self.sites.append((k, "arg", i, _attr_template(xa.type, xb.type)))

    def at(self, s: int):
        from xdsl.rewriter import Rewriter

        module = self.base.clone()
        ops = list(module.walk())
        for k, kind, key, make in self.sites:
            op = ops[k]
            if kind == "prop":
                op.properties[key] = make(s)
            elif kind == "result":
                Rewriter.replace_value_with_new_type(op.results[key], make(s))
            else:
                args = [x for r in op.regions for blk in r.blocks for x in blk.args]
                Rewriter.replace_value_with_new_type(args[key], make(s))
        return module


class SizedInterp:
    """A symbolic hl program run by the numpy interpreter: instantiated once per size
    (the pipeline ran once), then interpreted."""

    def __init__(self, template: HlTemplate, name: str, inputs: list[DimSpec],
                 bindings: list[Binding]):
        self.template, self.name = template, name
        self.inputs, self.bindings = inputs, bindings
        self._at: dict[int, object] = {}

    def __call__(self, args: Sequence) -> list[np.ndarray]:
        from lamina.runtime import interp

        s = bind_size(self.name, args, self.inputs, self.bindings)
        fn = self._at.get(s)
        if fn is None:
            fn = interp.find_function(self.template.at(s))
            if len(self._at) >= 64:
                self._at.pop(next(iter(self._at)))
            self._at[s] = fn
        return interp.run_function(fn, args)  # type: ignore[arg-type]
