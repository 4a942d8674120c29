"""Random numbers: the hash against a plain-Python implementation of its spec, seeding
and state advance (eager and inside lm.jit), and the statistics of large samples."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lamina as lm
from lamina.dialects.hl.random import sample
from lamina.frontend import compile as compile_mod

M32 = 0xFFFFFFFF


@pytest.fixture(autouse=True)
def _interpreter(monkeypatch):
    """Semantics on the reference interpreter (compiled backends: the op-table rows)."""
    monkeypatch.setenv("LAMINA_BACKEND", "interp")


# ---------------------------------------------------------------- the hash, independently


def _fmix(x: int) -> int:
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & M32
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & M32
    return x ^ (x >> 16)


def _bits(seed: int, c: int) -> int:
    lo, hi = seed & M32, (seed >> 32) & M32
    key = _fmix(lo ^ _fmix(hi ^ 0x9E3779B9))
    return _fmix((_fmix((c & M32) ^ key) + key) & M32)


@pytest.mark.parametrize("seed", [0, 1, 12345, -7, 2**40 + 3, -(2**62)])
def test_bits_and_uniform_match_the_spec_exactly(seed):
    n = 37
    bits = sample(seed, (n,), "bits", lm.int64)
    assert bits.tolist() == [_bits(seed, i) for i in range(n)]
    uniform = sample(seed, (n,), "uniform", lm.float32)
    assert uniform.tolist() == [(_bits(seed, i) >> 8) / 2**24 for i in range(n)]
    half = sample(seed, (n,), "uniform", lm.float16)
    assert half.tolist() == [(_bits(seed, i) >> 21) / 2**11 for i in range(n)]


def test_normal_matches_box_muller():
    seed, n = 99, 50
    want = []
    for i in range(n):
        u1 = ((_bits(seed, 2 * i) >> 8) + 1) / 2**24
        u2 = (_bits(seed, 2 * i + 1) >> 8) / 2**24
        want.append(math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2))
    np.testing.assert_allclose(sample(seed, (n,), "normal", lm.float32), want, rtol=1e-5,
                               atol=1e-5)


def test_interpreter_runs_the_spec_for_every_dtype():
    for dtype in (lm.float32, lm.float16, lm.bfloat16, lm.float64):
        lm.manual_seed(5)
        got = lm.rand(4, 6, dtype=dtype).numpy()
        assert got.dtype == dtype.np_dtype and got.shape == (4, 6)
        np.testing.assert_array_equal(got, sample(5, (4, 6), "uniform", dtype)
                                      .astype(dtype.np_dtype))
        assert 0.0 <= got.astype(np.float64).min() and got.astype(np.float64).max() < 1.0


# ---------------------------------------------------------------- seeding and state


def test_manual_seed_reproduces_eager_samples():
    lm.manual_seed(42)
    a, b = lm.rand(5).numpy(), lm.randn(3, 2).numpy()
    lm.manual_seed(42)
    np.testing.assert_array_equal(lm.rand(5).numpy(), a)
    np.testing.assert_array_equal(lm.randn(3, 2).numpy(), b)
    assert not np.array_equal(lm.rand(5).numpy(), a)  # the state moved on


def test_eager_sampling_compiles_once():
    lm.rand(8, 3).numpy()
    before = len(compile_mod._CACHE)
    samples = [lm.rand(8, 3).numpy() for _ in range(5)]
    assert len(compile_mod._CACHE) == before
    assert len({s.tobytes() for s in samples}) == 5


def test_jitted_function_draws_fresh_samples_each_call():
    @lm.jit(backend="interp")
    def noisy(x):
        return x + lm.rand(3, 4), lm.randn(2)

    z = np.zeros((3, 4), np.float32)
    lm.manual_seed(7)
    first, second = noisy(z), noisy(z)
    assert not np.array_equal(first[0].numpy(), second[0].numpy())
    assert not np.array_equal(first[1].numpy(), second[1].numpy())
    assert len(noisy._cache) == 1  # one program; the generator state is an input and output
    lm.manual_seed(7)
    again = noisy(z)
    np.testing.assert_array_equal(again[0].numpy(), first[0].numpy())
    # the jitted program consumes seeds exactly as the same calls outside jit would
    lm.manual_seed(7)
    np.testing.assert_array_equal(lm.rand(3, 4).numpy(), first[0].numpy())
    np.testing.assert_array_equal(lm.randn(2).numpy(), first[1].numpy())
    np.testing.assert_array_equal(lm.rand(3, 4).numpy(), second[0].numpy())


def test_manual_seed_inside_jit():
    @lm.jit(backend="interp")
    def seeded():
        lm.manual_seed(11)
        return lm.rand(4)

    a, b = seeded(), seeded()
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(lm.get_rng_state().item()) == 12


def test_consecutive_seeds_are_uncorrelated():
    n = 20000
    streams = [sample(s, (n,), "uniform", lm.float32) for s in range(4)]
    for a, b in zip(streams, streams[1:], strict=False):
        assert abs(np.corrcoef(a, b)[0, 1]) < 0.03
    # neighbouring elements of one stream too
    assert abs(np.corrcoef(streams[0][:-1], streams[0][1:])[0, 1]) < 0.03


# ---------------------------------------------------------------- statistics


def test_uniform_and_normal_moments():
    lm.manual_seed(2024)
    u = lm.rand(200_000).numpy().astype(np.float64)
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.all(np.abs(counts / len(u) - 0.1) < 0.005)
    z = lm.randn(200_000).numpy().astype(np.float64)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs(np.mean(z ** 3)) < 0.03 and abs(np.mean(z ** 4) - 3) < 0.08
    assert abs(np.mean(np.abs(z) < 1) - 0.6827) < 0.005


def test_randint_bernoulli_dropout_randperm():
    lm.manual_seed(3)
    r = lm.randint(-3, 5, (4000,)).numpy()
    assert r.dtype == np.int64 and r.min() == -3 and r.max() == 4
    assert np.all(np.abs(np.bincount(r + 3) / 4000 - 1 / 8) < 0.02)
    assert lm.randint(10, (2, 3), dtype=lm.int32).dtype == lm.int32
    p = lm.tensor(np.full((100, 100), 0.3, np.float32))
    assert abs(lm.bernoulli(p).numpy().mean() - 0.3) < 0.02
    keep = lm.dropout_mask((100, 100), 0.25).numpy()
    assert keep.dtype == np.bool_ and abs(keep.mean() - 0.75) < 0.02
    perm = lm.randperm(50).numpy()
    assert sorted(perm.tolist()) == list(range(50)) and perm.tolist() != list(range(50))


def test_like_functions_and_requires_grad():
    x = lm.zeros(3, 2, dtype=lm.float64)
    assert lm.rand_like(x).dtype == lm.float64 and lm.randn_like(x).shape == (3, 2)
    w = lm.randn(4, 3, requires_grad=True)
    assert w.requires_grad and w.is_leaf


def test_gradient_through_a_random_factor_is_the_sample():
    def f(x):
        return (x * lm.rand(3)).sum()

    lm.manual_seed(21)
    g = np.asarray(lm.grad(f)(np.ones(3, np.float32)))
    lm.manual_seed(21)
    np.testing.assert_array_equal(g, lm.rand(3).numpy())


def test_errors():
    with pytest.raises(lm.ArgumentError, match="rand: needs a floating-point dtype"):
        lm.rand(3, dtype=lm.int64)
    with pytest.raises(lm.ArgumentError, match=r"randint: need low < high, got \[5, 5\)"):
        lm.randint(5, 5, (2,))
    with pytest.raises(lm.ArgumentError, match="dropout_mask: p must be in"):
        lm.dropout_mask((2,), 1.5)
