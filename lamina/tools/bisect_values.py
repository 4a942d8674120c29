"""The values `lamina-bisect` feeds a program and how it compares what comes out.

Inputs come from an `.npz` file (positional `arr_0, arr_1, ...` as `np.savez(f, *xs)`
writes them, or the function's argument names) or are drawn at random from the
function's signature with a seed: floats uniform in a range (standard normal without
one), integers uniform in a range ([-10, 10], [0, 10] unsigned), bools fair coins.

Outputs are compared element by element, |got - want| <= atol + rtol * |want|, with a
tolerance per dtype (integers and bools exactly); NaN must meet NaN. The tolerances
are loose enough for a reordered float32 reduction and tight enough for a wrong
element to stand out (a miscompile is rarely off by one ulp).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import TensorType

from lamina import dtypes
from lamina.errors import LaminaError


class UsageError(LaminaError):
    """A mistake in what the user gave the bisector: reported in one line, exit 2."""


@dataclass(frozen=True)
class Param:
    """One program input or output, as the hl function declares it."""

    name: str  # the SSA name in the file (`%ct`), or its position (`%0`)
    shape: tuple[int, ...]
    dtype: dtypes.DType

    def describe(self) -> str:
        return f"{self.name}: {'x'.join(map(str, self.shape)) or 'scalar'} {self.dtype.name}"


def signature(fn: func.FuncOp) -> tuple[list[Param], list[Param]]:
    """The inputs and outputs of an hl function (tensors only)."""

    def param(t, name: str) -> Param:
        if not isinstance(t, TensorType):
            raise UsageError(f"@{fn.sym_name.data}: {name} has type {t}; the bisector "
                             "takes an hl function on tensors (the `00-input.mlir` of a dump)")
        return Param(name, tuple(int(d) for d in t.get_shape()), dtypes.from_ir(t.element_type))

    args = fn.body.block.args
    ins = [param(a.type, f"%{a.name_hint or i}") for i, a in enumerate(args)]
    outs = [param(t, f"result {j}") for j, t in enumerate(fn.function_type.outputs.data)]
    return ins, outs


# ---------------------------------------------------------------- inputs

DEFAULT_INT_RANGE = (-10, 10)


def parse_ranges(specs: Sequence[str]) -> dict[str, tuple[float, float]]:
    """`["-1:1", "ct=0:5", "2=0:3"]` -> {"*": (-1, 1), "ct": (0, 5), "2": (0, 3)}."""
    ranges: dict[str, tuple[float, float]] = {}
    for spec in specs:
        key, _, rest = spec.rpartition("=")
        found = re.fullmatch(r"\s*([-+.\deE]+|-?inf)\s*:\s*([-+.\deE]+|-?inf)\s*", rest)
        try:
            lo, hi = (float(found.group(1)), float(found.group(2))) if found else (0, -1)
        except ValueError:
            lo, hi = 0, -1
        if not lo < hi:
            raise UsageError(f"--range {spec!r}: expected LO:HI with LO < HI "
                             "(optionally NAME=LO:HI or INDEX=LO:HI for one input)")
        ranges[key.strip().lstrip("%") or "*"] = (lo, hi)
    return ranges


def random_inputs(params: Sequence[Param], seed: int = 0,
                  ranges: Mapping[str, tuple[float, float]] | None = None) -> list[np.ndarray]:
    """One array per input, drawn with `seed`; `ranges` by input name, index or "*"."""
    ranges = dict(ranges or {})
    known = {p.name.lstrip("%") for p in params} | {str(i) for i in range(len(params))} | {"*"}
    unknown = sorted(set(ranges) - known)
    if unknown:
        raise UsageError(f"--range names no input {unknown[0]!r}; the inputs are "
                         + ", ".join(p.describe() for p in params))
    rng = np.random.default_rng(seed)
    arrays = []
    for i, p in enumerate(params):
        span = ranges.get(p.name.lstrip("%"), ranges.get(str(i), ranges.get("*")))
        arrays.append(_draw(rng, p, span))
    return arrays


def _draw(rng: np.random.Generator, p: Param, span: tuple[float, float] | None) -> np.ndarray:
    if p.dtype.category == 0:
        return rng.random(p.shape) < 0.5
    if p.dtype.category == 1:
        info = np.iinfo(p.dtype.np_dtype)
        lo, hi = span or ((0, 10) if info.min == 0 else DEFAULT_INT_RANGE)
        lo, hi = max(int(np.ceil(lo)), int(info.min)), min(int(np.floor(hi)), int(info.max))
        return rng.integers(lo, hi, size=p.shape, endpoint=True).astype(p.dtype.np_dtype)
    x = rng.standard_normal(p.shape) if span is None else rng.uniform(*span, size=p.shape)
    return np.asarray(x).astype(p.dtype.np_dtype)


def load_npz(path: str, params: Sequence[Param]) -> list[np.ndarray]:
    """The inputs stored in an `.npz`, in the program's order, checked against it."""
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise UsageError(f"{path}: not a readable .npz file ({err})") from None
    names = [p.name.lstrip("%") for p in params]
    if set(names) <= set(stored):
        order = names
    elif all(f"arr_{i}" in stored for i in range(len(params))):
        order = [f"arr_{i}" for i in range(len(params))]
    elif all(f"arg{i}" in stored for i in range(len(params))):
        order = [f"arg{i}" for i in range(len(params))]
    else:
        raise UsageError(
            f"{path}: holds {sorted(stored)}; the program takes {len(params)} inputs ("
            + ", ".join(p.describe() for p in params)
            + "): store them as np.savez(path, *arrays) or under those names")
    return [check_input(stored[k], p, f"{path}: {k!r}") for k, p in zip(order, params,
                                                                        strict=True)]


def check_input(x, p: Param, where: str) -> np.ndarray:
    """`x` as input `p` wants it; a wrong shape or an unsafe dtype is a UsageError."""
    a = np.asarray(x)
    if a.shape != p.shape:
        raise UsageError(f"{where}: shape {a.shape}, but input {p.describe()} "
                         f"has shape {p.shape}")
    want = np.dtype(p.dtype.np_dtype)
    if a.dtype != want and not np.can_cast(a.dtype, want, "same_kind"):
        raise UsageError(f"{where}: dtype {a.dtype} cannot be used as input {p.describe()}")
    return a.astype(want)


# ---------------------------------------------------------------- comparison

# (rtol, atol) per floating dtype
TOLERANCES = {"float64": (1e-9, 1e-12), "float32": (1e-4, 1e-6),
              "float16": (1e-2, 1e-3), "bfloat16": (3e-2, 1e-2)}


def tolerance(dtype: np.dtype, rtol: float | None = None,
              atol: float | None = None) -> tuple[float, float]:
    """(rtol, atol) for comparing values of `dtype`; (0, 0) for integers and bools."""
    found = TOLERANCES.get(dtypes.from_numpy(dtype).name)
    if found is None:
        return 0.0, 0.0
    return (found[0] if rtol is None else rtol), (found[1] if atol is None else atol)


@dataclass(frozen=True)
class Mismatch:
    """How one output differs from the reference."""

    output: int
    name: str
    detail: str  # a shape mismatch, or the counts below in words
    count: int = 0  # elements out of tolerance
    size: int = 0
    first_index: tuple[int, ...] = ()
    got: object = None
    want: object = None
    max_abs: float = 0.0
    max_rel: float = 0.0

    def describe(self) -> str:
        return f"{self.name}: {self.detail}"


def compare(got: Sequence[np.ndarray], want: Sequence[np.ndarray], names: Sequence[str],
            rtol: float | None = None, atol: float | None = None) -> list[Mismatch]:
    """Every output that differs from the reference beyond its dtype's tolerance."""
    if len(got) != len(want):
        return [Mismatch(-1, "outputs", f"{len(got)} outputs, the reference has {len(want)}")]
    found = []
    for j, (g, w) in enumerate(zip(got, want, strict=True)):
        m = _compare_one(j, names[j], np.asarray(g), np.asarray(w), rtol, atol)
        if m is not None:
            found.append(m)
    return found


def _compare_one(j: int, name: str, g: np.ndarray, w: np.ndarray, rtol: float | None,
                 atol: float | None) -> Mismatch | None:
    if g.shape != w.shape:
        return Mismatch(j, name, f"shape {g.shape}, the reference has {w.shape}")
    r, a = tolerance(w.dtype, rtol, atol)
    gf, wf = g.astype(np.float64), w.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(gf - wf)
        same_special = (np.isnan(gf) & np.isnan(wf)) | (gf == wf)
        bad = ~same_special & ~(diff <= a + r * np.abs(wf))
        if not bad.any():
            return None
        finite = np.where(bad & np.isfinite(diff), diff, 0.0)
        rel = finite / np.maximum(np.abs(wf), np.finfo(np.float64).tiny)
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
    count = int(bad.sum())
    got, want = g[first].item(), w[first].item()
    max_abs, max_rel = float(finite.max()), float(rel.max())
    where = f"[{', '.join(map(str, first))}]" if first else "the value"
    detail = (f"{count} of {bad.size} elements differ; first at {where}: got {got!r}, want "
              f"{want!r}; max abs err {max_abs:.3g}, max rel err {max_rel:.3g} "
              f"(rtol {r:g}, atol {a:g})")
    return Mismatch(j, name, detail, count, int(bad.size), first, got, want, max_abs, max_rel)
