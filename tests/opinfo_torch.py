"""The torch side of the OpInfo test: torch's `op_db`, its sample inputs (seeded, so a
sample's index names the same tensors on every run), a sample taken apart into its
tensor leaves and a structure that rebuilds it from lamina values, and torch's own
answer (outputs, and gradients of `sum(out * ct)` for random cotangents `ct`).

Nothing here imports lamina's internals: translating torch objects to lamina ones is
done through `lm.*` names only (`lm.float32`, `lm.tensor`)."""

from __future__ import annotations

import functools
import itertools
import sys
import types
import unittest
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lamina.runtime import backends

# the dtypes the OpInfo test runs (float32 always; the rest where the OpInfo supports them)
DTYPES = (torch.float32, torch.int64, torch.int32, torch.uint8, torch.bool)


@functools.cache
def op_db() -> list:
    """torch's OpInfo database. `common_utils` imports `expecttest` (a torch test-suite
    dependency that lamina's test extras do not pin) only to subclass its TestCase; without
    it a stand-in with that one class is enough to load the sample-input generators."""
    # torch's test modules import triton. lamina's Triton backend must be imported first:
    # it sets TRITON_INTERPRET=1 before triton loads (without a GPU), and a triton loaded
    # before it breaks every Triton kernel ("Cannot call @triton.jit'd outside of the scope
    # of a kernel": issue 14's crash list; a lamina bug, not something this test measures)
    if "triton" in backends.available():
        import lamina.runtime.triton_backend  # noqa: F401
    try:
        import expecttest  # noqa: F401
    except ImportError:
        shim = types.ModuleType("expecttest")
        shim.TestCase, shim.ACCEPT = unittest.TestCase, False
        sys.modules["expecttest"] = shim
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal.common_methods_invocations import op_db as db
    return list(db)


def op_key(op) -> str:
    """`name` or `name.variant`, the id an op has in the mapping and skip tables."""
    return f"{op.name}.{op.variant_test_name}" if op.variant_test_name else op.name


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def tested_dtypes(op) -> list[torch.dtype]:
    supported = op.supported_dtypes("cpu")
    return [d for d in DTYPES if d in supported]


def untested_ops() -> list[str]:
    """Ops torch supports on CPU in none of DTYPES (complex- or float8-only, CUDA-only):
    the sweep has no sample of theirs to run, and the report names them."""
    return [op_key(op) for op in op_db() if not tested_dtypes(op)]


def samples(op, dtype: torch.dtype, first: int | None = None) -> list:
    """The op's sample inputs for dtype (all, or the first ones), generated under a seed of
    (op, dtype): the same tensors on every run, whatever ran before. float32 samples of
    differentiable ops require grad (whether or not a path checks gradients, so that an
    index names the same sample everywhere)."""
    torch.manual_seed(zlib.crc32(f"{op_key(op)}/{dtype}".encode()))
    grad = dtype == torch.float32 and op.supports_autograd
    # the generator itself: `op.sample_inputs` wraps it in an iterator that walks the
    # Python stack (inspect.stack, ~0.25 s a call) looking for a unittest method to name
    found = op.sample_inputs_func(op, "cpu", dtype, grad)
    return list(found if first is None else itertools.islice(found, first))


# --- a sample taken apart -------------------------------------------------------------


class Untranslatable(Exception):
    """A torch object lamina has no counterpart for (a complex tensor, a memory_format)."""


@dataclass
class Parts:
    """A sample as tensor leaves plus a structure: `build(values)` gives (input, args,
    kwargs) with the i-th tensor replaced by values[i] and every other torch object
    (dtype, device, Size) translated for lamina. The same tensor object used twice is
    one leaf."""

    leaves: list[torch.Tensor]
    build: Callable[[list[Any]], tuple[Any, tuple, dict]]
    untranslatable: str | None = None


def take_apart(sample, translate: Callable[[Any], Any]) -> Parts:
    leaves: list[torch.Tensor] = []
    index: dict[int, int] = {}
    problems: list[str] = []

    def skeleton(obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            if id(obj) not in index:
                index[id(obj)] = len(leaves)
                leaves.append(obj)
            return _Leaf(index[id(obj)])
        if isinstance(obj, torch.Size):
            return tuple(int(d) for d in obj)
        if isinstance(obj, list | tuple):
            return type(obj)(skeleton(o) for o in obj)
        if isinstance(obj, dict):
            return {k: skeleton(v) for k, v in obj.items()}
        try:
            return translate(obj)
        except Untranslatable as e:
            problems.append(str(e))
            return None

    structure = skeleton((sample.input, tuple(sample.args), dict(sample.kwargs)))

    def build(values: list[Any]) -> tuple[Any, tuple, dict]:
        def fill(s: Any) -> Any:
            if isinstance(s, _Leaf):
                return values[s.i]
            if isinstance(s, list | tuple):
                return type(s)(fill(o) for o in s)
            if isinstance(s, dict):
                return {k: fill(v) for k, v in s.items()}
            return s

        return fill(structure)

    return Parts(leaves, build, problems[0] if problems else None)


@dataclass(frozen=True)
class _Leaf:
    i: int


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A torch tensor's values as numpy (bfloat16 as float32: numpy has no bfloat16)."""
    t = t.detach().resolve_conj().resolve_neg()
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.numpy(force=True).copy()  # force: a ZeroTensor gradient (torch >= 2.1)


def flatten(out: Any) -> list[Any]:
    """The leaves of an op's result: tensors and Python scalars, tuples/lists walked."""
    if isinstance(out, list | tuple):
        return [leaf for o in out for leaf in flatten(o)]
    return [out]


# --- torch's answer -------------------------------------------------------------------


@dataclass
class TorchAnswer:
    out: Any = None  # the result (None if torch raised)
    error: BaseException | None = None
    leaves: list[Any] = field(default_factory=list)  # flatten(out)
    returns_input: list[int | None] = field(default_factory=list)  # per leaf: input leaf it is
    diff_in: list[int] = field(default_factory=list)  # input leaves torch differentiates
    diff_out: list[int] = field(default_factory=list)  # output leaves that carry a gradient
    cotangents: list[np.ndarray] = field(default_factory=list)
    grads: list[np.ndarray] = field(default_factory=list)  # one per diff_in
    tol: tuple[float, float] | None = None  # (rtol, atol) torch allows itself: torch_tolerance


def torch_answer(op, sample, parts: Parts, with_grad: bool, seed: int) -> TorchAnswer:
    """Run torch on a copy of the sample's leaves (in-place ops must not touch them)."""
    copies = [t.detach().clone().requires_grad_(t.requires_grad) for t in parts.leaves]
    raw = _rebuild_torch(sample, parts.leaves, copies)
    ans = TorchAnswer(tol=torch_tolerance(op, parts.leaves[0].dtype if parts.leaves else None))
    try:
        ans.out = op(raw[0], *raw[1], **raw[2])
    except Exception as e:  # torch rejects the sample: lamina must reject it too
        ans.error = e
        return ans
    ans.leaves = flatten(ans.out)
    ans.returns_input = [next((i for i, c in enumerate(copies) if leaf is c), None)
                         for leaf in ans.leaves]
    if not with_grad:
        return ans
    ans.diff_in = [i for i, c in enumerate(copies) if c.requires_grad]
    ans.diff_out = [j for j, o in enumerate(ans.leaves)
                    if isinstance(o, torch.Tensor) and o.requires_grad and o.dtype.is_floating_point]
    if not ans.diff_in or not ans.diff_out:
        ans.diff_in, ans.diff_out = [], []
        return ans
    rng = np.random.default_rng(seed)
    ans.cotangents = [rng.standard_normal(tuple(ans.leaves[j].shape)).astype(np.float32)
                      for j in ans.diff_out]
    grads = torch.autograd.grad([ans.leaves[j] for j in ans.diff_out],
                                [copies[i] for i in ans.diff_in],
                                [torch.from_numpy(c) for c in ans.cotangents], allow_unused=True)
    ans.grads = [np.zeros(tuple(copies[i].shape), np.float32) if g is None else to_numpy(g)
                 for g, i in zip(grads, ans.diff_in, strict=True)]
    return ans


# torch's own tests that compare two computations of one op (another kernel, another
# memory layout) with a looser float tolerance where the op needs one (an OpInfo's
# `toleranceOverride` decorators): lamina is such another computation
_CROSS_KERNEL_TESTS = {"test_noncontiguous_samples", "test_variant_consistency_eager"}


def torch_tolerance(op, dtype: torch.dtype | None) -> tuple[float, float] | None:
    """(rtol, atol): the loosest float tolerance torch's own TestCommon cross-kernel tests
    allow this op at the sample's dtype (on any device), or None (the default one)."""
    found = []
    for info in op.decorators:
        if getattr(info, "cls_name", None) != "TestCommon" \
                or getattr(info, "test_name", None) not in _CROSS_KERNEL_TESTS:
            continue
        for dec in getattr(info, "decorators", ()):
            t = getattr(dec, "d", {}).get(dtype) if hasattr(dec, "d") else None
            if t is not None:
                found.append((t.rtol, t.atol))
    if not found:
        return None
    return max(r for r, _ in found), max(a for _, a in found)


def _rebuild_torch(sample, leaves: list[torch.Tensor], copies: list[torch.Tensor]):
    by_id = {id(t): c for t, c in zip(leaves, copies, strict=True)}

    def sub(obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            return by_id[id(obj)]
        if isinstance(obj, list | tuple) and not isinstance(obj, torch.Size):
            return type(obj)(sub(o) for o in obj)
        if isinstance(obj, dict):
            return {k: sub(v) for k, v in obj.items()}
        return obj

    return sub(sample.input), sub(tuple(sample.args)), sub(dict(sample.kwargs))


# --- describing a sample in one line ---------------------------------------------------


def describe(sample) -> str:
    """`f32[2,3], i64[5], dim=1`: the sample as the skip table and the report print it."""
    parts = [_short(sample.input)] + [_short(a) for a in sample.args]
    parts += [f"{k}={_short(v)}" for k, v in sample.kwargs.items()]
    text = ", ".join(parts)
    return text if len(text) <= 160 else text[:157] + "..."


_ABBREV = {"float32": "f32", "float64": "f64", "int64": "i64", "int32": "i32", "uint8": "u8",
           "bool": "b8", "float16": "f16", "bfloat16": "bf16", "int16": "i16", "int8": "i8"}


def _short(obj: Any) -> str:
    if isinstance(obj, torch.Tensor):
        name = dtype_name(obj.dtype)
        dims = ",".join(str(d) for d in obj.shape)
        if obj.numel() == 1 and obj.ndim <= 1:
            return f"{_ABBREV.get(name, name)}[{dims}]({obj.item():.4g})"
        return f"{_ABBREV.get(name, name)}[{dims}]"
    if isinstance(obj, list | tuple) and not isinstance(obj, torch.Size):
        inner = ", ".join(_short(o) for o in obj)
        return f"[{inner}]" if isinstance(obj, list) else f"({inner}{',' if len(obj) == 1 else ''})"
    if isinstance(obj, float):
        return f"{obj:.4g}"
    return repr(obj)


def iter_ops(names: set[str] | None = None) -> Iterator:
    for op in op_db():
        if names is None or op_key(op) in names or op.name in names:
            yield op
