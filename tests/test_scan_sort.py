"""Scans, sorting, scatter and data-dependent ops against torch: what the op table's
one-tensor rows cannot say -- (values, indices) results, dtypes, ties and NaN order,
in-place methods, eager-only ops and their error under lm.jit, and multinomial's law."""

import numpy as np
import pytest
import torch

import lamina as lm

T, L = torch.tensor, lm.tensor


def same(got, want):
    """Equal values (NaN-aware), dtypes and shapes; tuples element by element."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), (got, want)
        for g, w in zip(got, want, strict=True):
            same(g, w)
        return
    g, w = np.asarray(got), want.numpy()
    assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, w.dtype, g.shape, w.shape)
    np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True)


NAN = float("nan")
X = np.array([[3.0, NAN, 1.0, 1.0, -2.0, NAN, 0.5], [1.0, 1.0, 0.0, 2.0, 2.0, 1.0, -1.0]],
             np.float32)


@pytest.mark.parametrize("backend", ["eager", "c", "triton"])
def test_values_indices_results_on_every_backend(backend):
    cases = {
        "cummax": (lambda m, x: m.cummax(x, 1)), "cummin": (lambda m, x: m.cummin(x, 1)),
        "sort": (lambda m, x: m.sort(x, dim=1, descending=True, stable=True)),
        "argsort": (lambda m, x: m.argsort(x, dim=1, stable=True)),
        "topk": (lambda m, x: m.topk(x, 3, largest=False)),
        "median": (lambda m, x: m.median(x, 1)), "nanmedian": (lambda m, x: m.nanmedian(x, 1)),
        # (torch's mode is no law with NaN in a row: it returns -2 for row 0)
        "mode": (lambda m, x: m.mode(m.nan_to_num(x, 4.0) if hasattr(m, "nan_to_num")
                                     else m.where(x != x, 4.0, x), 1)),
    }
    for name, fn in cases.items():
        run = (lambda f: f(L(X))) if backend == "eager" else \
            (lambda f: lm.jit(f, backend=backend)(X))  # noqa: B023
        got = run(lambda x: fn(lm, x))  # noqa: B023
        want = fn(torch, T(X))
        if isinstance(want, tuple):
            assert type(got).__name__ == type(want).__name__, name
            assert got.values is got[0] and got.indices is got[1]
            values, indices = got
            same(values, want.values)
            if name != "topk":  # torch's topk orders tied indices as its kernel finds them
                same(indices, want.indices)
        else:
            same(got, want)


def test_result_dtypes_follow_torch():
    i = L(np.array([1, 2, 3], np.int32))
    assert lm.cumsum(i, 0).dtype == lm.int64 and lm.cumprod(L([True, False]), 0).dtype == lm.int64
    assert lm.cumsum(i, 0, dtype=lm.float32).dtype == lm.float32
    assert lm.argsort(L([2.0, 1.0])).dtype == lm.int64
    assert lm.searchsorted(L([1.0, 2.0]), L([1.5]), out_int32=True).dtype == lm.int32
    with pytest.raises(lm.DTypeError):
        lm.logcumsumexp(i, 0)


def test_inplace_methods():
    x = L(np.array([1.0, 2.0, 3.0], np.float32))
    assert x.cumsum_(0) is x
    np.testing.assert_array_equal(np.asarray(x), [1.0, 3.0, 6.0])
    y = L(np.zeros((2, 3), np.float32))
    y.scatter_(1, L(np.array([[2], [0]])), 5.0)
    same(y, torch.zeros(2, 3).scatter_(1, T([[2], [0]]), 5.0))
    z = L(np.zeros(4, np.float32))
    z.index_put_((L(np.array([1, 1, 3])),), L(np.array([1.0, 2.0, 3.0], np.float32)),
                 accumulate=True)
    same(z, torch.zeros(4).index_put_((T([1, 1, 3]),), T([1.0, 2.0, 3.0]), accumulate=True))


def test_cumprod_gradient_with_zeros_matches_torch():
    x = np.array([2.0, 0.0, 3.0, 0.0, 4.0])
    tx = T(x, requires_grad=True)
    torch.cumprod(tx, 0).sum().backward()
    for backend in ("interp", "c", "triton"):
        g = lm.jit(lm.grad(lambda a: lm.cumprod(a, 0).sum()), backend=backend)(x)
        np.testing.assert_allclose(np.asarray(g), tx.grad.numpy())


def test_sort_ties_and_nan_order_and_big_rows():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, (3, 300)).astype(np.float32)
    x[0, ::7] = np.nan
    got = lm.jit(lambda a: lm.sort(a, dim=1, stable=True), backend="c")(x)
    want = torch.sort(T(x), dim=1, stable=True)
    same(got.values, want.values)
    same(got.indices, want.indices)


@pytest.mark.parametrize("name, fn", [
    ("nonzero", lambda m, x: m.nonzero(x)),
    ("nonzero-tuple", lambda m, x: m.nonzero(x, as_tuple=True)),
    ("where", lambda m, x: m.where(x > 0)),
    ("masked_select", lambda m, x: m.masked_select(x, x > 0)),
    ("argwhere", lambda m, x: m.argwhere(x)),
    ("unique", lambda m, x: m.unique(x, return_inverse=True, return_counts=True)),
    ("unique-dim", lambda m, x: m.unique(x, dim=1, return_counts=True)),
    ("unique_consecutive", lambda m, x: m.unique_consecutive(x, return_inverse=True,
                                                             return_counts=True)),
    ("repeat_interleave", lambda m, x: m.repeat_interleave(x, x[:, 2] - 1, dim=0)),
])
def test_data_dependent_ops_eager_and_their_jit_error(name, fn):
    x = np.array([[1, 0, 2, 2], [0, 0, 3, 1], [1, 0, 2, 2]], np.int64)
    same(fn(lm, L(x)), fn(torch, T(x)))
    op = {"where": "nonzero"}.get(name, name.split("-")[0])
    with pytest.raises(lm.TraceError, match=f"^{op}: ") as err:
        lm.jit(lambda a: fn(lm, a), backend="c")(x)
    assert isinstance(err.value, RuntimeError) and "lm.jit" in str(err.value)


def test_bincount_histc_searchsorted():
    b = np.array([0, 3, 3, 1])
    same(lm.bincount(L(b), minlength=6), torch.bincount(T(b), minlength=6))
    w = np.array([0.5, 1.0, 2.0, 3.0], np.float32)
    same(lm.bincount(L(b), weights=L(w)), torch.bincount(T(b), weights=T(w)))
    h = np.array([1.0, 2.0, 1.0, NAN, 5.0, 4.0, 0.0, -1.0], np.float32)
    for backend in ("c", "triton"):
        same(lm.jit(lambda a: lm.histc(a, bins=4, min=0, max=4), backend=backend)(h),
             torch.histc(T(h), bins=4, min=0, max=4))
    seq, v = np.array([1.0, 2.0, 2.0, 5.0]), np.array([[2.0, 0.0], [NAN, 9.0]])
    for right in (False, True):
        same(lm.bucketize(L(v), L(seq), right=right), torch.bucketize(T(v), T(seq), right=right))
        same(lm.searchsorted(L(seq), L(v), side="right" if right else "left"),
             torch.searchsorted(T(seq), T(v), side="right" if right else "left"))


def test_errors_are_torch_types():
    x = L(np.ones((2, 3), np.float32))
    with pytest.raises(RuntimeError):  # torch: RuntimeError "selected index k out of range"
        lm.topk(x, 4)
    with pytest.raises(IndexError):
        lm.cumsum(x, 2)
    with pytest.raises(RuntimeError):
        lm.scatter(x, 1, L(np.array([[5]])), 1.0)


def test_multinomial_law():
    lm.manual_seed(0)
    p = np.array([0.1, 0.2, 0.0, 0.7])
    draws = np.asarray(lm.multinomial(L(p), 20000, replacement=True))
    freq = np.bincount(draws, minlength=4) / draws.size
    # 5 standard errors of a binomial proportion
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / draws.size) + 1e-12), freq
    rows = np.asarray(lm.jit(lambda q: lm.multinomial(q, 2), backend="c")(np.tile(p, (4000, 1))))
    assert rows.shape == (4000, 2) and rows.dtype == np.int64
    assert (rows[:, 0] != rows[:, 1]).all() and not (rows == 2).any()
    first = np.bincount(rows[:, 0], minlength=4) / 4000
    assert np.all(np.abs(first - p) <= 5 * np.sqrt(p * (1 - p) / 4000) + 1e-12), first
    # without replacement the second draw is from the rest, renormalized: P(second = 0)
    second_zero = sum(p[j] * p[0] / (1 - p[j]) for j in (1, 3))
    got = (rows[:, 1] == 0).mean()
    assert abs(got - second_zero) <= 5 * np.sqrt(second_zero * (1 - second_zero) / 4000)
