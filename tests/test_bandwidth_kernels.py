"""The bandwidth kernels (row softmax, masked softmax, layer norm, sums) through the C
backend against numpy in float64, and the lowering rewrites that make them fast:

* a reduction keeps its expensive yielded values for the loop that recomputes them
  (`lower_hl_to_loop/reuse.py`): softmax computes `exp` once per element;
* `x / d` with `d` invariant in a loop is `x * (1/d)`, with the division kept for
  divisors whose reciprocal is not a normal number (the `cpu-hoist-reciprocals` pass).

Special values as torch: -inf entries give 0, a row of -inf gives nan, a +inf entry
gives nan for its row.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina as lm
import lamina.nn.functional as F
from lamina.dialects import loop
from lamina.frontend.trace import trace
from lamina.passes import pipeline
from lamina.passes.pipeline import run_pipeline
from lamina.runtime import backends

pytestmark = pytest.mark.skipif("c" not in backends.available(), reason="no C backend")


def _softmax64(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)


def _run(fn, *xs):
    return np.asarray(lm.jit(fn, backend="c")(*xs))


def _lowered(fn, *xs):
    module = trace(fn, *xs).module
    pipeline.run(module, "hl-simplify,hl-to-loop")
    module.verify()
    return module


def _count(module, name: str) -> int:
    return sum(op.name == name for op in module.walk())


# ---------------------------------------------------------------- softmax


@pytest.mark.parametrize("shape", [(37, 129), (8, 4096), (3, 1)])
def test_row_softmax_matches_float64(shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 4
    got = _run(lambda x: F.softmax(x, dim=-1), x)
    np.testing.assert_allclose(got, _softmax64(x), rtol=2e-6, atol=1e-9)
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-5)


def test_softmax_special_rows_as_torch():
    x = np.random.default_rng(1).standard_normal((6, 33)).astype(np.float32)
    x[0, ::2] = -np.inf          # masked entries -> exactly 0
    x[1, :] = -np.inf            # fully masked row -> nan (torch)
    x[2, 5] = np.inf             # +inf -> nan row (inf - inf)
    x[3, 7] = np.nan             # nan -> nan row
    x[4, :] = 1e30               # huge but equal -> uniform
    x[5, 3] = -1e30              # one vanishing entry
    got = _run(lambda x: F.softmax(x, dim=-1), x)
    want = _softmax64(x)
    assert np.all(got[0, ::2] == 0.0)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=2e-6, atol=1e-9)


def test_causal_masked_softmax_as_in_attention():
    """where(causal, scores * scale, -inf) then softmax: the attention workload's kernel."""
    s = 64
    x = np.random.default_rng(2).standard_normal((2, 3, s, s)).astype(np.float32)
    mask = np.tril(np.ones((s, s), bool))

    def fn(x):
        return F.softmax(lm.where(F.causal_mask(s, s), x * 0.125, float("-inf")), dim=-1)

    got = _run(fn, x)
    want = _softmax64(np.where(mask, x.astype(np.float64) * 0.125, -np.inf))
    assert np.all(got[..., ~mask] == 0.0)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-9)


def test_column_softmax_matches_float64():
    x = np.random.default_rng(3).standard_normal((70, 9)).astype(np.float32)
    np.testing.assert_allclose(_run(lambda x: F.softmax(x, dim=0), x), _softmax64(x, 0),
                               rtol=2e-6, atol=1e-9)


# half: every op rounds to f16 (as the interpreter), x - max carries ~2^-8 absolute error
@pytest.mark.parametrize(("dtype", "rtol", "atol"), [(np.float64, 1e-13, 1e-16),
                                                     (np.float16, 5e-3, 1e-5)])
def test_softmax_in_double_and_half(dtype, rtol, atol):
    x = (np.random.default_rng(4).standard_normal((9, 300)) * 3).astype(dtype)
    got = _run(lambda x: F.softmax(x, dim=-1), x)
    assert got.dtype == dtype
    np.testing.assert_allclose(got.astype(np.float64), _softmax64(x), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_softmax_computes_exp_once_per_element(dtype):
    """f16 values are rounded after every op (extf(truncf(v))): the f16 bits are kept."""
    x = np.zeros((4, 32), dtype)
    module = _lowered(lambda x: F.softmax(x, dim=-1), x)
    assert _count(module, "math.exp") == 1, str(module)
    (kernel,) = [op for op in module.walk() if isinstance(op, loop.KernelOp)]
    reduces = [op for op in kernel.walk() if isinstance(op, loop.ReduceOp)]
    assert any(isinstance(o, loop.StoreOp) for o in reduces[-1].body.block.ops)


def test_cheap_recomputation_is_not_stored():
    """x - max is cheaper to recompute than to store and load back: untouched."""
    x = np.zeros((4, 32), np.float32)
    module = _lowered(lambda x: x - x.amax(dim=-1, keepdim=True) * x.sum(dim=-1, keepdim=True),
                      x)
    for red in [op for op in module.walk() if isinstance(op, loop.ReduceOp)]:
        assert not any(isinstance(o, loop.StoreOp) for o in red.body.block.ops)


def test_log_softmax_and_softmax_of_a_sum_still_match():
    r = np.random.default_rng(5)
    x, y = (r.standard_normal((12, 50)).astype(np.float32) for _ in range(2))
    got_log = _run(lambda x: F.log_softmax(x, dim=-1), x)
    np.testing.assert_allclose(got_log, np.log(_softmax64(x)), rtol=1e-5, atol=1e-6)
    got = _run(lambda x, y: F.softmax(x + y, dim=-1) * y.exp(), x, y)
    np.testing.assert_allclose(got, _softmax64(x + y) * np.exp(y.astype(np.float64)),
                               rtol=5e-6, atol=1e-9)


# ---------------------------------------------------------------- division by an invariant


@pytest.mark.parametrize("d", [3.0, 1e-40, 3e-39, 1e38, 0.0, np.inf, -2.5])
def test_division_by_a_row_invariant_any_magnitude(d):
    """x / s with s a row statistic: the reciprocal path for normal 1/s, the division
    otherwise (denormal s, huge s, 0, inf), as numpy's float32 division."""
    x = np.random.default_rng(6).standard_normal((4, 40)).astype(np.float32)
    x[:, 0] = np.float32(d)  # s = max of the row = d when d is the largest
    x[:, 1:] = x[:, 1:] * np.float32(1e-45) if abs(d) < 1 else x[:, 1:]
    got = _run(lambda x: x / x.amax(dim=-1, keepdim=True), x)
    with np.errstate(all="ignore"):
        want = x / x.max(axis=-1, keepdims=True)  # float32, correctly rounded
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    # within 1.5 ulp where the reciprocal is used; denormal results: the division itself
    spacing = np.spacing(np.abs(want[ok])).astype(np.float64)
    assert np.all(np.abs(got[ok].astype(np.float64) - want[ok]) <= 1.5 * spacing)


# ---------------------------------------------------------------- layer norm


def _layer_norm64(x, w, b, eps=1e-5):
    x, w, b = (v.astype(np.float64) for v in (x, w, b))
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


@pytest.mark.parametrize(("offset", "scale", "rtol"), [(0.0, 1.0, 2e-5), (100.0, 1.0, 2e-4),
                                                       (1e4, 1.0, 2e-2), (0.0, 1e-3, 2e-5)])
def test_layer_norm_matches_float64_with_a_large_mean(offset, scale, rtol):
    """float32 layer norm of rows of 1024 with mean `offset`: the error is set by the
    float32 input's own rounding (x + 1e4 keeps ~11 bits of the unit-variance part)."""
    r = np.random.default_rng(7)
    x = (r.standard_normal((33, 1024)) * scale + offset).astype(np.float32)
    w, b = r.standard_normal(1024).astype(np.float32), r.standard_normal(1024).astype(np.float32)
    got = _run(lambda x, w, b: F.layer_norm(x, (1024,), w, b), x, w, b)
    want = _layer_norm64(x, w, b)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 10)


def test_layer_norm_outlier_first_element_and_constant_rows():
    """Rows with an extreme first element keep float32 accuracy: the variance is two
    passes (sum of x, then of (x - mean)^2). A one-pass form shifted by the first
    element was tried and dropped: ~10 % faster, but it lost ~13 bits on such rows
    (1.4e-4 of the row's largest output). Constant rows give exactly 0."""
    r = np.random.default_rng(10)
    x = r.standard_normal((4, 1024)).astype(np.float32)
    x[0, 0] = 1e4
    x[1, 0] = -3e3
    x[2, :] = 7.25
    x[3, 0] = 3.0  # an ordinary first element
    w, b = np.ones(1024, np.float32), np.zeros(1024, np.float32)
    got = _run(lambda x, w, b: F.layer_norm(x, (1024,), w, b), x, w, b)
    want = _layer_norm64(x, w, b)
    assert np.all(got[2] == 0.0)
    scale = np.abs(want).max(axis=1)
    err = np.abs(got - want).max(axis=1) / np.maximum(scale, 1e-30)
    assert np.all(err[[0, 1, 3]] <= 5e-6), err


def test_layer_norm_double():
    r = np.random.default_rng(8)
    x = r.standard_normal((5, 96)) + 50.0
    w, b = r.standard_normal(96), r.standard_normal(96)
    got = _run(lambda x, w, b: F.layer_norm(x, (96,), w, b), x, w, b)
    np.testing.assert_allclose(got, _layer_norm64(x, w, b), rtol=1e-11, atol=1e-11)


# ---------------------------------------------------------------- sums


@pytest.mark.parametrize("n", [1, 1000, 1 << 20, (1 << 20) + 17])
def test_full_sum_matches_float64(n):
    x = np.random.default_rng(9).standard_normal(n).astype(np.float32) + 0.5
    got = float(_run(lambda x: x.sum(), x))
    want = x.astype(np.float64).sum()
    assert abs(got - want) <= 1e-6 * np.abs(x.astype(np.float64)).sum() + 1e-6


def test_independent_row_reductions_share_one_loop_and_match():
    """sum, max, min and sum of squares of a row: one C loop (adjacent independent
    reductions), NaN propagation of max/min kept per accumulator."""
    x = np.random.default_rng(11).standard_normal((6, 100)).astype(np.float32)
    x[1, 7] = np.nan
    x[2, :] = -np.inf

    def fn(x):
        return x.sum(-1) + x.amax(-1) * 2.0 - x.amin(-1) + (x * x).sum(-1) * 0.5

    got = _run(fn, x)
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        want = x64.sum(-1) + x64.max(-1) * 2.0 - x64.min(-1) + (x64 * x64).sum(-1) * 0.5
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-5)
    from lamina.codegen.c import emit_c

    module = trace(fn, x).module
    run_pipeline(module, "c-pipeline")
    source = emit_c(module)
    kernel = source[source.index("LM_KERNEL void lm_k0"):source.index("void lamina_main")]
    assert kernel.count("#pragma omp simd collapse") == 1, kernel
    assert kernel.count("reduction(") == 6, kernel  # 4 accumulators + 2 NaN flags


def test_two_kept_reductions_for_one_loop_do_not_share_the_output():
    """exp(x)/sum(exp(x)) + exp(2x)/sum(exp(2x)): both sums could keep their values in
    the loop's one output; only the first does (the second recomputes)."""
    x = np.random.default_rng(12).standard_normal((5, 64)).astype(np.float32)

    def fn(x):
        a, b = x.exp(), (x * 2.0).exp()
        return a / a.sum(-1, keepdim=True) + b / b.sum(-1, keepdim=True)

    x64 = x.astype(np.float64)
    a, b = np.exp(x64), np.exp(2 * x64)
    want = a / a.sum(-1, keepdims=True) + b / b.sum(-1, keepdims=True)
    np.testing.assert_allclose(_run(fn, x), want, rtol=2e-6)
    module = _lowered(fn, x)
    stores = [op for red in module.walk() if isinstance(red, loop.ReduceOp)
              for op in red.body.block.ops if isinstance(op, loop.StoreOp)]
    assert len(stores) == 1


def test_layer_norm_of_an_expensive_expression_matches():
    """layer_norm(gelu(x @ w.T)): gelu (erf) is kept by the mean's sum for the
    normalizing loop; the variance stays two-pass rather than recompute erf twice more."""
    import math

    r = np.random.default_rng(13)
    x, w = r.standard_normal((5, 16)).astype(np.float32), r.standard_normal((8, 16)).astype(np.float32)
    got = _run(lambda x, w: F.layer_norm(F.gelu(F.linear(x, w)), (8,)), x, w)
    h = x.astype(np.float64) @ w.T.astype(np.float64)
    g = 0.5 * h * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
    want = (g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
