"""The C backend's performance pieces against independent oracles.

* vector math (exp/log/tanh/erf/sigmoid/expm1/log1p in `omp simd` loops, glibc's
  libmvec where present) vs numpy in float64, in ulps of float32, over wide ranges
  and the special values (+-inf, nan, +-0, denormals, overflow/underflow edges);
* GEMM (BLAS dispatch for f32/f64, the register-tile kernel otherwise) vs numpy in
  float64 for odd sizes, batches, shared operands, transposes, accumulation;
* the output buffer pool (`lamina.runtime.buffers`) and the runner's fast path;
* intermediates reused across calls (`lm_pool_alloc`), also from several threads.
"""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

import lamina as lm
from lamina.runtime import backends, blas, buffers

pytestmark = pytest.mark.skipif("c" not in backends.available(), reason="no C backend")

F32 = np.float32
TINY = np.finfo(F32).tiny
DENORMALS = np.array([1e-45, 3e-42, 1e-40, TINY / 2, TINY * 0.999], F32)
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, TINY, -TINY,
                    np.finfo(F32).max, -np.finfo(F32).max], F32)


def _ulps(got: np.ndarray, want64: np.ndarray) -> np.ndarray:
    """|got - want| in units of float32 spacing at the exact value (0 where both are
    the same special value)."""
    with np.errstate(over="ignore"):
        want32 = want64.astype(F32)
    same = (got == want32) | (np.isnan(got) & np.isnan(want32))
    spacing = np.spacing(np.abs(want32)).astype(np.float64)
    spacing = np.maximum(spacing, np.spacing(F32(0)))  # denormal results
    with np.errstate(invalid="ignore"):
        err = np.abs(got.astype(np.float64) - want64) / spacing
    return np.where(same, 0.0, err)


def _run(fn, x: np.ndarray) -> np.ndarray:
    return np.asarray(lm.jit(fn, backend="c")(x))


def _sample(lo: float, hi: float, n: int = 20000) -> np.ndarray:
    rng = np.random.default_rng(0)
    mid = rng.uniform(lo, hi, n).astype(F32)
    return np.concatenate([mid, np.linspace(lo, hi, 2001, dtype=F32), DENORMALS, -DENORMALS,
                           SPECIAL])


def _sigmoid64(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _erf64(x):
    import math

    return np.vectorize(math.erf, otypes=[np.float64])(x)


# (name, lamina fn, float64 oracle, domain, ulp bound): libmvec documents <= 4 ulp;
# exp is lamina's own (c_kernels.lm_expf, ~1 ulp)
MATH = [
    ("exp", lm.exp, np.exp, (-104.0, 89.0), 1.5),  # lm_expf: max 1.01 measured on 8M
    ("log", lm.log, np.log, (0.0, 1e30), 4),
    ("tanh", lm.tanh, np.tanh, (-20.0, 20.0), 4),
    ("erf", lm.erf, _erf64, (-6.0, 6.0), 4),
    ("sigmoid", lm.sigmoid, _sigmoid64, (-100.0, 100.0), 6),
]
# lm.expm1 / lm.log1p are composed in the frontend without cancellation near 0
MATH += [
    ("expm1", lm.expm1, np.expm1, (-20.0, 88.0), 4),
    ("log1p", lm.log1p, np.log1p, (-0.999, 1e30), 4),
]


@pytest.mark.parametrize(("name", "fn", "oracle", "domain", "bound"), MATH,
                         ids=[m[0] if isinstance(m, tuple) else m.id for m in MATH])
def test_vector_math_ulps(name, fn, oracle, domain, bound):
    x = _sample(*domain)
    if name == "log":
        x = np.concatenate([x, np.abs(x), np.array([-1.0, -np.inf], F32)])
    got = _run(fn, x)
    with np.errstate(all="ignore"):
        want = oracle(x.astype(np.float64))
    assert got.dtype == F32 and got.shape == x.shape
    # special values exactly: nan where numpy says nan, infinities and signed zeros
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want).astype(bool), err_msg=name)
    if name == "sigmoid":
        # 1 / (1 + exp(-x)): exp(-x) overflows to inf for x < -88.72, so results below
        # ~2.9e-39 (denormal) become 0, as float32 numpy/torch give: bounded absolutely
        under = want < 3e-39
        assert np.all(got[under] <= 3e-39), name
        got, want = got[~under], want[~under]
    err = _ulps(got, want)
    worst = int(np.argmax(err))
    assert err.max() <= bound, f"{name}({x[worst]!r}) = {got[worst]!r}, want {want[worst]!r}"


def test_vector_math_large_loop_is_vectorized_and_correct():
    """A 1M-element gelu-style chain (the bench workload's math) matches float64."""
    x = np.random.default_rng(1).standard_normal(1 << 20).astype(F32) * 4
    got = _run(lambda v: 0.5 * v * (1.0 + lm.tanh(0.79788456 * (v + 0.044715 * v ** 3))), x)
    x64 = x.astype(np.float64)
    want = 0.5 * x64 * (1.0 + np.tanh(0.79788456 * (x64 + 0.044715 * x64 ** 3)))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


# ---------------------------------------------------------------- GEMM

GEMMS = [
    ("a@b", (1, 1), (1, 1), lambda a, b: a @ b),
    ("a@b", (37, 53), (53, 29), lambda a, b: a @ b),
    ("a@b", (5, 300), (300, 3), lambda a, b: a @ b),
    ("a@b", (129, 65), (65, 97), lambda a, b: a @ b),
    ("a@b.T", (64, 65), (70, 65), lambda a, b: a @ b.T),
    ("a.T@b", (130, 64), (130, 70), lambda a, b: a.T @ b),
    ("a.T@b.T", (33, 47), (61, 33), lambda a, b: a.T @ b.T),
    ("batched", (3, 40, 33), (3, 33, 50), lambda a, b: a @ b),
    ("shared b", (4, 40, 33), (33, 50), lambda a, b: a @ b),
    ("shared a", (40, 33), (2, 33, 50), lambda a, b: a @ b),
    ("batched bt", (2, 3, 31, 45), (2, 3, 47, 45), lambda a, b: a @ b.swapaxes(-1, -2)),
    ("matvec", (257, 129), (129,), lambda a, b: a @ b),
    ("epilogue", (100, 70), (70, 90), lambda a, b: (a @ b) * 2.0 + 1.0),
    ("chain", (64, 48), (48, 48), lambda a, b: (a @ b) @ b),
]


def _gemm_case(shape_a, shape_b, fn, dtype):
    rng = np.random.default_rng(sum(shape_a) * 31 + sum(shape_b))
    a = rng.standard_normal(shape_a).astype(dtype)
    b = rng.standard_normal(shape_b).astype(dtype)
    got = np.asarray(lm.jit(fn, backend="c")(a, b))
    want = fn(a.astype(np.float64), b.astype(np.float64))
    k = shape_b[-2] if len(shape_b) > 1 else shape_b[0]
    tol = (2e-6 if dtype == F32 else 1e-13) * k
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "shape_a", "shape_b", "fn"), GEMMS, ids=[g[0] for g in GEMMS])
def test_gemm_blas(name, shape_a, shape_b, fn, dtype):
    _gemm_case(shape_a, shape_b, fn, dtype)


@pytest.mark.parametrize(("name", "shape_a", "shape_b", "fn"), GEMMS[1:8],
                         ids=[g[0] for g in GEMMS[1:8]])
def test_gemm_without_blas(monkeypatch, name, shape_a, shape_b, fn):
    """The register-tile kernel that runs when no BLAS is found (shapes offset by one so
    that these programs are compiled and bound here, not taken from another test)."""
    monkeypatch.setattr(blas, "find", lambda: None)
    grow = lambda s: tuple(d + 1 for d in s)  # noqa: E731
    a, b = grow(shape_a), grow(shape_b)
    if name in ("a@b", "batched"):
        b = (*b[:-2], a[-1], b[-1])
    elif name == "a@b.T":
        b = (b[0], a[1])
    elif name == "a.T@b":
        b = (a[0], b[1])
    elif name == "a.T@b.T":
        b = (b[0], a[0])
    _gemm_case(a, b, fn, F32)


def test_blas_found_and_bound():
    """numpy wheels bundle OpenBLAS: the dispatch must find it here (else the bench
    numbers in bench/README.md do not apply)."""
    found = blas.find()
    assert found is not None and found.sgemm and found.dgemm


def test_big_gemm_matches_numpy():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((512, 384), dtype=F32)
    b = rng.standard_normal((384, 640), dtype=F32)
    got = np.asarray(lm.jit(lambda a, b: a @ b, backend="c")(a, b))
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------- memory


def test_pool_reuses_freed_blocks_only():
    pool = buffers.BufferPool(limit_bytes=64 << 20)
    a = pool.empty((512, 1024), np.dtype(F32))
    addr = a.ctypes.data
    assert addr % 64 == 0 and a.flags.c_contiguous and a.shape == (512, 1024)
    view = a[3:, ::2]
    del a
    gc.collect()
    b = pool.empty((512, 1024), np.dtype(F32))
    assert b.ctypes.data != addr  # a view still uses the first block
    del view
    c = pool.empty((1024, 512), np.dtype(F32))  # same bytes, other shape
    assert c.ctypes.data == addr and pool.hits == 1
    del b, c
    assert pool.idle_bytes == 2 * 512 * 1024 * 4


def test_pool_limit_and_small_arrays():
    pool = buffers.BufferPool(limit_bytes=3 << 20)
    small = pool.empty((10,), np.dtype(F32))
    assert small.base is None  # plain numpy allocation below MIN_POOLED_BYTES
    blocks = [pool.empty((1 << 18,), np.dtype(F32)) for _ in range(4)]  # 1 MiB each
    del blocks
    assert pool.idle_bytes == 3 << 20  # the fourth was dropped, not kept


def test_program_outputs_come_from_the_pool():
    x = np.random.default_rng(0).standard_normal((1024, 1024), dtype=F32)
    f = lm.jit(lambda x: x * 2.0 + 1.0, backend="c")
    first = np.asarray(f(x))
    kept = np.asarray(f(x))
    assert first.ctypes.data != kept.ctypes.data  # both alive: distinct memory
    np.testing.assert_array_equal(first, x * 2.0 + 1.0)
    np.testing.assert_array_equal(kept, x * 2.0 + 1.0)
    addr = first.ctypes.data
    del first
    gc.collect()
    again = np.asarray(f(x))
    assert again.ctypes.data == addr  # the freed result's pages are reused
    np.testing.assert_array_equal(again, x * 2.0 + 1.0)
    np.testing.assert_array_equal(kept, x * 2.0 + 1.0)  # untouched by the reuse


def test_runner_converts_what_does_not_fit():
    f = lm.jit(lambda x, y: x * y + 1.0, backend="c")
    x = np.arange(12, dtype=F32).reshape(3, 4)
    y = np.full((3, 4), 2, F32)
    np.testing.assert_array_equal(np.asarray(f(x, y)), x * 2 + 1)
    program = next(iter(f._cache.values())).program
    strided = np.arange(24, dtype=F32).reshape(3, 8)[:, ::2]
    np.testing.assert_array_equal(program([strided, y])[0], strided * 2 + 1)
    fortran = np.asfortranarray(x)
    np.testing.assert_array_equal(program([fortran, y])[0], x * 2 + 1)
    with pytest.raises(lm.ArgumentError, match="shape"):
        program([np.zeros((4, 3), F32), y])
    zero_d = lm.jit(lambda s, v: s * v, backend="c")
    np.testing.assert_array_equal(np.asarray(zero_d(np.float32(3), np.ones(4, F32))),
                                  np.full(4, 3, F32))


def test_intermediates_reused_across_calls_and_threads():
    """A program with big intermediates (softmax: max and sum rows, exp) gives the same
    result on every call and from concurrent threads."""
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((256, 1000), dtype=F32) for _ in range(4)]

    def softmax_twice(x):
        import lamina.nn.functional as F

        s = F.softmax(x, dim=1)
        return s * 2.0 + lm.exp(s)

    def oracle(x):
        x = x.astype(np.float64)
        e = np.exp(x - x.max(axis=1, keepdims=True))
        s = e / e.sum(axis=1, keepdims=True)
        return s * 2.0 + np.exp(s)

    f = lm.jit(softmax_twice, backend="c")
    wants = [oracle(x) for x in xs]
    for _ in range(3):
        for x, want in zip(xs, wants, strict=True):
            np.testing.assert_allclose(np.asarray(f(x)), want, rtol=1e-5)
    errors: list[str] = []

    def worker(i: int) -> None:
        for _ in range(20):
            got = np.asarray(f(xs[i]))
            if not np.allclose(got, wants[i], rtol=1e-5):
                errors.append(f"thread {i}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


_WARM = """
import sys, numpy as np, lamina as lm
x = np.arange(12, dtype=np.float32).reshape(3, 4)
y = lm.jit(lambda x: lm.exp(x) * 2.0 + x.sum(), backend="c")(x)
np.testing.assert_allclose(y.numpy(), np.exp(x) * 2.0 + x.sum(), rtol=1e-6)
print("pipeline" if "lamina.codegen.c" in sys.modules else "warm")
"""


def test_warm_start_skips_the_pipeline(tmp_path):
    """A second process finds the traced program's plan on disk and runs it without
    importing the pass pipeline (no simplification, lowering or C generation)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, LAMINA_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", _WARM], env=env, capture_output=True,
                           text=True, timeout=300) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert [r.stdout.strip() for r in runs] == ["pipeline", "warm"]
    assert list((tmp_path / "cache").glob("*.plan"))


def test_lower_still_has_levels_after_a_warm_call():
    f = lm.jit(lambda x: x * 3.0 + 1.0, backend="c")
    x = np.ones((5, 7), F32)
    np.testing.assert_array_equal(np.asarray(f(x)), np.full((5, 7), 4, F32))
    lowered = f.lower(x)
    assert "lamina_main" in lowered.source() and "loop" in lowered.program.levels


def test_threads_split_only_the_outer_dims_they_need():
    """A 4-d elementwise kernel: OpenMP collapses the fewest outer dims that give 64
    iterations (collapsing all of them made gcc's index bookkeeping dominate: the bench
    CNN's im2col kernel took 0.31 ms, 0.04 ms with the short collapse)."""
    x = np.random.default_rng(3).standard_normal((32, 3, 28, 28)).astype(np.float32)
    fn = lambda x: x.permute(0, 2, 1, 3) * 2.0  # noqa: E731
    np.testing.assert_allclose(np.asarray(lm.jit(fn)(x)), x.transpose(0, 2, 1, 3) * 2.0)
    source = lm.jit(fn).lower(x).source()
    kernel = source[source.index("LM_KERNEL void lm_k0"):]
    assert "#pragma omp parallel for collapse(2) schedule(static)" in kernel, kernel[:400]
