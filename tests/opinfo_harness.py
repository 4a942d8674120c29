"""Runs one OpInfo sample through lamina on one path and says what happened.

Paths: "eager" (lamina tensors, realized on demand; gradients by `.backward()`), and
`lm.jit(..., backend=B)` for B in "c", "triton" (gradients by `lm.grad` inside the same
jitted program, so forward and backward compile once).

Outcomes, worst first:
  wrong        values, shape, dtype, structure or gradient differ from torch (or lamina
               answers where torch raises, or returns its input object where torch does not)
  crash        a non-lamina exception escaped lamina (IndexError, AssertionError, ...)
  clean-error  a `lm.LaminaError`, or the exception type torch raises for the sample
  unsupported  a lamina error saying an argument or dtype is not supported, a signature
               that does not take torch's arguments, or a torch object lamina lacks
  missing      lamina has no callable for the op
  pass
"""

from __future__ import annotations

import functools
import operator
import os
import re
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from opinfo_map import Target
from opinfo_torch import Parts, TorchAnswer, Untranslatable, dtype_name, flatten, to_numpy

import lamina as lm

PATHS = ("eager", "c", "triton")
OUTCOMES = ("pass", "wrong", "crash", "clean-error", "unsupported", "missing")

# value tolerances per result dtype: torch.testing.assert_close's defaults
TOLERANCES = {"float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7), "float16": (1e-3, 1e-5),
              "bfloat16": (1.6e-2, 1e-5)}
# float32 gradients: lamina and torch sum cotangent contributions in different orders
GRAD_TOLERANCE = (1e-5, 1e-5)

_UNSUPPORTED = re.compile(r"not supported|unsupported|does not support|not implemented|"
                          r"only supports?\b|only .* (is|are) supported|not yet", re.IGNORECASE)
_SIGNATURE = re.compile(r"unexpected keyword argument|positional argument|takes no arguments|"
                        r"takes \d+ |missing \d+ required|got multiple values")
_HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Verdict:
    outcome: str
    stage: str = ""  # "fwd" or "grad"
    detail: str = ""


PASS = Verdict("pass")


class _Mismatch(Exception):
    """lamina's result does not have the leaves torch's gradient needs (reported by the
    forward comparison, which runs next)."""


# --- translating torch objects -----------------------------------------------------------


def lamina_dtype(dtype: torch.dtype) -> lm.DType | None:
    found = getattr(lm, dtype_name(dtype), None)
    return found if isinstance(found, lm.DType) else None


def translate(obj: Any) -> Any:
    """A non-tensor torch object as lamina takes it."""
    if isinstance(obj, torch.dtype):
        dt = lamina_dtype(obj)
        if dt is None:
            raise Untranslatable(f"lamina has no dtype {dtype_name(obj)}")
        return dt
    if isinstance(obj, torch.device):
        return str(obj)
    if isinstance(obj, torch.memory_format | torch.layout | torch.Generator):
        raise Untranslatable(f"lamina has no {type(obj).__name__} ({obj})")
    return obj


def untranslatable_leaf(parts: Parts) -> str | None:
    for t in parts.leaves:
        if lamina_dtype(t.dtype) is None:
            return f"lamina has no dtype {dtype_name(t.dtype)} (a sample tensor)"
    return parts.untranslatable


# --- classifying an exception --------------------------------------------------------------


def classify(exc: BaseException, torch_error: BaseException | None, stage: str) -> Verdict:
    text = f"{type(exc).__name__}: {_first_line(exc)}"
    if isinstance(exc, lm.LaminaError):
        if torch_error is None and _UNSUPPORTED.search(str(exc)):
            return Verdict("unsupported", stage, text)
        return Verdict("clean-error", stage, text)
    if torch_error is not None and isinstance(exc, type(torch_error)):
        return Verdict("clean-error", stage, text)
    if isinstance(exc, TypeError) and _raised_at_call(exc) and _SIGNATURE.search(str(exc)):
        return Verdict("unsupported", stage, text)  # the signature does not take the arguments
    return Verdict("crash", stage, f"{text} [{_origin(exc)}]")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""


def _raised_at_call(exc: BaseException) -> bool:
    """The innermost frame is this harness: binding the arguments failed."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and os.path.dirname(os.path.abspath(frames[-1].filename)) == _HERE


def _origin(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if f"{os.sep}lamina{os.sep}" in f.filename] or frames
    if not inside:
        return "?"
    f = inside[-1]
    path = f.filename[f.filename.rfind(f"{os.sep}lamina{os.sep}") + 1:]
    return f"{path}:{f.lineno}"


# --- lamina's answer, materialized ----------------------------------------------------------


@dataclass
class Got:
    tensor: bool
    dtype: str = ""
    shape: tuple = ()
    values: Any = None
    obj: Any = None


def materialize(out: Any) -> list[Got]:
    got = []
    for leaf in flatten(out):
        if isinstance(leaf, lm.Tensor):
            array = np.asarray(leaf)
            values = array.astype(np.float32) if leaf.dtype.name == "bfloat16" else array
            # a .shape that disagrees with the data shows as a shape mismatch of the values
            got.append(Got(True, leaf.dtype.name, tuple(leaf.shape), values, leaf))
        else:
            got.append(Got(False, type(leaf).__name__, (), leaf, leaf))
    return got


# --- comparing -------------------------------------------------------------------------------


def compare_values(want: np.ndarray, got: np.ndarray, dtype: str,
                   tol: tuple[float, float] | None = None) -> str | None:
    """None if equal (NaN-aware, within tolerance), else one line saying where they differ."""
    want, got = np.asarray(want), np.asarray(got)
    if want.shape != got.shape:
        return f"shape: torch {list(want.shape)}, lamina {list(got.shape)}"
    if want.size == 0:
        return None
    if dtype in TOLERANCES or want.dtype.kind == "f":
        rtol, atol = tol or TOLERANCES.get(dtype, TOLERANCES["float32"])
        w, g = want.astype(np.float64), got.astype(np.float64)
        both_nan = np.isnan(w) & np.isnan(g)
        finite = np.isfinite(w) & np.isfinite(g)  # an inf must match exactly (w == g)
        with np.errstate(invalid="ignore", over="ignore"):
            close = finite & (np.abs(w - g) <= atol + rtol * np.abs(w))
        ok = both_nan | (w == g) | close
    else:
        ok = want == got
    if ok.all():
        return None
    bad = np.argwhere(~ok)
    first = tuple(int(i) for i in bad[0])
    w0, g0 = want[first] if want.ndim else want, got[first] if got.ndim else got
    return f"{len(bad)}/{want.size} differ, first at {list(first)}: torch {w0}, lamina {g0}"


def compare(ans: TorchAnswer, got: list[Got], inputs: list[Any] | None, random: bool) -> str | None:
    if ans.error is not None:
        return f"torch raises {type(ans.error).__name__} ({_first_line(ans.error)}), lamina answers"
    if len(got) != len(ans.leaves):
        return f"structure: torch returns {len(ans.leaves)} values, lamina {len(got)}"
    for k, (want, g) in enumerate(zip(ans.leaves, got, strict=True)):
        at = f"result {k}: " if len(got) > 1 else ""
        problem = _compare_leaf(want, g, random, ans.tol)
        if problem is None and inputs is not None:
            problem = _identity(ans.returns_input[k], g, inputs)
        if problem:
            return at + problem
    return None


def _compare_leaf(want: Any, g: Got, random: bool,
                  tol: tuple[float, float] | None) -> str | None:
    if isinstance(want, torch.Tensor):
        if not g.tensor:
            return f"torch returns a tensor, lamina a {g.dtype} ({g.values!r})"
        if g.dtype != dtype_name(want.dtype):
            return f"dtype: torch {dtype_name(want.dtype)}, lamina {g.dtype}"
        if g.shape != tuple(want.shape):
            return f"shape: torch {list(want.shape)}, lamina {list(g.shape)}"
        if random:
            return None
        return compare_values(to_numpy(want), g.values, g.dtype, _looser(g.dtype, tol))
    if g.tensor:
        return f"torch returns a Python {type(want).__name__} ({want!r}), lamina a tensor"
    if _kind(want) != _kind(g.values):
        return f"torch returns {type(want).__name__} {want!r}, lamina {g.dtype} {g.values!r}"
    if random:
        return None
    return compare_values(np.asarray(want), np.asarray(g.values), type(want).__name__)


def _kind(x: Any) -> str:
    if isinstance(x, bool | np.bool_):
        return "bool"
    if isinstance(x, int | np.integer):
        return "int"
    if isinstance(x, float | np.floating):
        return "float"
    return type(x).__name__


def _identity(torch_input: int | None, g: Got, inputs: list[Any]) -> str | None:
    lamina_input = next((i for i, x in enumerate(inputs) if x is g.obj), None) if g.tensor else None
    if lamina_input is not None and torch_input is None:
        return "returns its input tensor object, torch returns a new tensor"
    if torch_input is not None and lamina_input != torch_input:
        return "torch returns its input tensor object (in place), lamina a new tensor"
    return None


def _looser(dtype: str, override: tuple[float, float] | None,
            default: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """The dtype's tolerance (or default), loosened to torch's own override for the op."""
    base = default or TOLERANCES.get(dtype)
    if base is None or override is None:
        return base
    return max(base[0], override[0]), max(base[1], override[1])


def compare_grads(ans: TorchAnswer, grads: list[Any]) -> str | None:
    for i, want, g in zip(ans.diff_in, ans.grads, grads, strict=True):
        problem = compare_values(want, g, "float32", _looser("float32", ans.tol, GRAD_TOLERANCE))
        if problem:
            return f"gradient of input {i}: {problem}"
    return None


# --- the paths -------------------------------------------------------------------------------


@dataclass
class Item:
    """One sample, ready to run: its structure, its tensors as numpy, torch's answer."""

    parts: Parts
    arrays: list[np.ndarray]
    ans: TorchAnswer
    random: bool
    with_grad: bool  # check gradients on this path

    @property
    def grads_wanted(self) -> bool:
        return self.with_grad and bool(self.ans.diff_in)

    def lamina_inputs(self) -> list[Any]:
        return [lm.tensor(a, requires_grad=self.grads_wanted and i in self.ans.diff_in)
                for i, a in enumerate(self.arrays)]


def run_eager(target: Target, item: Item) -> Verdict:
    return eager_batch(target, [item])[0]


def eager_batch(target: Target, items: list[Item]) -> list[Verdict]:
    """Each sample called eagerly, all of them realized by one program and differentiated
    by one backward program (each sample has its own input tensors). A sample that fails
    inside the shared program is rerun on its own."""
    verdicts: list[Verdict | None] = [None] * len(items)
    live = []
    for k, item in enumerate(items):
        inputs = item.lamina_inputs()
        inp, args, kwargs = item.parts.build(inputs)
        try:
            out = target.call(inp, *args, **kwargs)
        except Exception as e:
            verdicts[k] = classify(e, item.ans.error, "fwd")
            continue
        live.append((k, inputs, out))
    try:
        lm.realize(*[x for _, _, out in live for x in flatten(out) if isinstance(x, lm.Tensor)])
    except Exception as e:
        if len(live) == 1:
            verdicts[live[0][0]] = classify(e, items[live[0][0]].ans.error, "fwd")
            return verdicts
        return _alone(verdicts, [k for k, _, _ in live], lambda k: run_eager(target, items[k]))
    to_grad = []
    for k, inputs, out in live:
        try:
            got = materialize(out)
        except Exception as e:
            verdicts[k] = classify(e, items[k].ans.error, "fwd")
            continue
        problem = compare(items[k].ans, got, inputs, items[k].random)
        if problem:
            verdicts[k] = Verdict("wrong", "fwd", problem)
        elif items[k].grads_wanted:
            to_grad.append((k, inputs, out))
        else:
            verdicts[k] = PASS
    if not to_grad:
        return verdicts
    try:
        loss = functools.reduce(operator.add, [
            _loss([flatten(out)[j] for j in items[k].ans.diff_out],
                  [lm.tensor(c) for c in items[k].ans.cotangents]) for k, _, out in to_grad])
        loss.backward()
        grads = {k: [np.zeros(inputs[i].shape, np.float32) if inputs[i].grad is None
                     else np.asarray(inputs[i].grad) for i in items[k].ans.diff_in]
                 for k, inputs, _ in to_grad}
    except Exception as e:
        if len(to_grad) == 1:
            verdicts[to_grad[0][0]] = classify(e, None, "grad")
            return verdicts
        return _alone(verdicts, [k for k, _, _ in to_grad], lambda k: run_eager(target, items[k]))
    for k, _, _ in to_grad:
        problem = compare_grads(items[k].ans, grads[k])
        verdicts[k] = Verdict("wrong", "grad", problem) if problem else PASS
    return verdicts


def run_jit(backend: str, target: Target, item: Item) -> Verdict:
    return jit_batch(backend, target, [item])[0]


def jit_batch(backend: str, target: Target, items: list[Item]) -> list[Verdict]:
    """All samples in one `lm.jit` program (forward and, through `lm.grad`, gradients); if
    it fails to trace, compile or run, each sample on its own."""
    sizes = [len(it.arrays) for it in items]
    starts = [sum(sizes[:k]) for k in range(len(items))]
    n_in = sum(sizes)
    grad_items = [k for k, it in enumerate(items) if it.grads_wanted]

    def outputs(xs: tuple) -> list[Any]:
        outs = []
        for k, it in enumerate(items):
            inp, args, kwargs = it.parts.build(list(xs[starts[k]:starts[k] + sizes[k]]))
            outs.append(target.call(inp, *args, **kwargs))
        return outs

    def loss(*xs: Any) -> Any:
        outs = outputs(xs[:n_in])
        terms, cts = [], iter(xs[n_in:])
        for k in grad_items:
            leaves, ans = flatten(outs[k]), items[k].ans
            if len(leaves) != len(ans.leaves) or not all(
                    isinstance(leaves[j], lm.Tensor) for j in ans.diff_out):
                raise _Mismatch
            terms.append(_loss([leaves[j] for j in ans.diff_out], [next(cts) for _ in ans.diff_out]))
        return functools.reduce(operator.add, terms), outs

    arrays = [a for it in items for a in it.arrays]
    try:
        if grad_items:
            argnums = tuple(starts[k] + i for k in grad_items for i in items[k].ans.diff_in)
            cts = [c for k in grad_items for c in items[k].ans.cotangents]
            program = lm.jit(lm.grad(loss, argnums=argnums, has_aux=True), backend=backend)
            flat_grads, outs = program(*arrays, *cts)
            flat_grads = iter([np.asarray(g) for g in flat_grads])
            grads = {k: [next(flat_grads) for _ in items[k].ans.diff_in] for k in grad_items}
        else:
            outs, grads = lm.jit(lambda *xs: outputs(xs), backend=backend)(*arrays), {}
        got = [materialize(o) for o in outs]
    except Exception as e:
        if len(items) > 1:
            return [jit_batch(backend, target, [it])[0] for it in items]
        return [_jit_failure(backend, target, items[0], e)]
    verdicts = []
    for k, it in enumerate(items):
        problem = compare(it.ans, got[k], None, it.random)
        stage = "fwd"
        if problem is None and k in grads:
            problem, stage = compare_grads(it.ans, grads[k]), "grad"
        verdicts.append(Verdict("wrong", stage, problem) if problem else PASS)
    return verdicts


def _jit_failure(backend: str, target: Target, item: Item, exc: BaseException) -> Verdict:
    """A single sample's program failed: a forward problem is the one to report."""
    if not item.grads_wanted:
        return classify(exc, item.ans.error, "fwd")
    forward_only = Item(item.parts, item.arrays, item.ans, item.random, with_grad=False)
    fwd = run_jit(backend, target, forward_only)
    if fwd.outcome != "pass" or isinstance(exc, _Mismatch):
        return fwd
    return classify(exc, None, "grad")


def _alone(verdicts: list, ks: list[int], run) -> list[Verdict]:
    for k in ks:
        verdicts[k] = run(k)
    return verdicts


def _loss(outs: list[Any], cotangents: list[Any]) -> Any:
    return functools.reduce(operator.add, [(o * c).sum() for o, c in zip(outs, cotangents,
                                                                          strict=True)])


def run_batch(path: str, target: Target, items: list[Item]) -> list[Verdict]:
    """Verdicts for items on path, compiled together; a wrong answer is confirmed by running
    the sample on its own (one seen only together with other samples says so)."""
    batch = eager_batch if path == "eager" else functools.partial(jit_batch, path)
    verdicts = batch(target, items)
    if len(items) == 1:
        return verdicts
    for k, v in enumerate(verdicts):
        if v.outcome == "wrong":
            alone = batch(target, [items[k]])[0]
            verdicts[k] = alone if alone.outcome != "pass" else Verdict(
                "wrong", v.stage, f"only when compiled with the op's other samples: {v.detail}")
    return verdicts
