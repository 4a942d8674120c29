"""Op-table rows: hl.scan (cumsum, cumprod, cummax/cummin, logcumsumexp), hl.argsort
(sort, argsort, topk, kthvalue, median, mode), hl.scatter_reduce (scatter_reduce
prod/amax/amin) and the scatter family and static-shape selections built on
hl.scatter/scatter_add (scatter, index_copy, masked_scatter, searchsorted, histc).
Oracles are numpy where it has the op, torch (run on the inputs) where it has not."""

import numpy as np
import torch
from opcases import OpCase, f32

import lamina as lm


def with_zeros(*shape):
    def make(rng):
        x = rng.uniform(-2.0, 2.0, shape).astype(np.float32)
        x.flat[::4] = 0.0  # zeros in every row: cumprod's gradient must be exact there
        return x
    return make


def with_nan(*shape):
    def make(rng):
        x = rng.uniform(-2.0, 2.0, shape).astype(np.float32)
        x.flat[::5] = np.nan
        x[-1] = np.round(x[-1])  # ties
        return x
    return make


def idx(*shape, high):
    return lambda rng: rng.integers(0, high, shape).astype(np.int64)


def distinct_rows(k, cols, high):
    """Indices along dim 0 without repeats in a column (with repeats torch's gradient,
    which every duplicate gets, is not the derivative finite differences measure)."""
    return lambda rng: np.stack([rng.permutation(high)[:k] for _ in range(cols)], 1)


def by_torch(fn):
    """An oracle from torch (the op has no numpy spelling)."""
    def oracle(*xs):
        out = fn(*(torch.from_numpy(np.ascontiguousarray(x)) for x in xs))
        return out.numpy()
    return oracle


def _np_cumextreme(x, axis, ufunc):
    return ufunc.accumulate(x, axis=axis)


CASES = [
    OpCase("cumsum", ("hl.scan",), lambda x: lm.cumsum(x * 2.0, 1), lambda rng: [f32(3, 6)(rng)],
           lambda x: np.cumsum(x * 2.0, 1), lambda x: torch.cumsum(x * 2.0, 1), rtol=1e-5),
    OpCase("cumsum-int", ("hl.scan",), lambda x: lm.cumsum(x, 0), lambda rng: [idx(4, 3, high=9)(rng)],
           lambda x: np.cumsum(x, 0), grad_args=()),
    OpCase("cumprod-zeros", ("hl.scan",), lambda x: lm.cumprod(x, 1),
           lambda rng: [with_zeros(3, 6)(rng)], lambda x: np.cumprod(x, 1),
           lambda x: torch.cumprod(x, 1)),
    OpCase("logcumsumexp", ("hl.scan",), lambda x: lm.logcumsumexp(x, 0),
           lambda rng: [f32(5, 3, low=-30, high=30)(rng)],
           lambda x: np.logaddexp.accumulate(x, 0), lambda x: torch.logcumsumexp(x, 0),
           rtol=1e-5, atol=1e-5),
    OpCase("cummax", ("hl.scan", "hl.gather"), lambda x: lm.cummax(x, 1).values,
           lambda rng: [f32(3, 7)(rng)], lambda x: _np_cumextreme(x, 1, np.maximum),
           lambda x: torch.cummax(x, 1).values),
    OpCase("cummin-indices", ("hl.scan", "hl.iota"), lambda x: lm.cummin(x, 1).indices,
           lambda rng: [with_nan(3, 7)(rng)], by_torch(lambda x: torch.cummin(x, 1).indices),
           grad_args=()),
    OpCase("sort", ("hl.argsort", "hl.gather"), lambda x: lm.sort(x, 1).values,
           lambda rng: [f32(4, 6)(rng)], lambda x: np.sort(x, 1),
           lambda x: torch.sort(x, 1).values),
    OpCase("argsort-nan-descending", ("hl.argsort",),
           lambda x: lm.argsort(x, 0, descending=True), lambda rng: [with_nan(6, 3)(rng)],
           by_torch(lambda x: torch.sort(x, dim=0, descending=True, stable=True).indices),
           grad_args=()),
    OpCase("topk", ("hl.argsort", "hl.gather"), lambda x: lm.topk(x, 3).values,
           lambda rng: [f32(4, 6)(rng)], lambda x: -np.sort(-x, 1)[:, :3],
           lambda x: torch.topk(x, 3).values),
    OpCase("median-dim", ("hl.argsort", "hl.gather"), lambda x: lm.median(x, 0).values,
           lambda rng: [f32(6, 3)(rng)], lambda x: np.sort(x, 0)[2],
           lambda x: torch.median(x, 0).values),
    OpCase("mode", ("hl.argsort", "hl.scan"), lambda x: lm.mode(x, 1).indices,
           lambda rng: [rng.integers(0, 3, (4, 7)).astype(np.float32)],
           by_torch(lambda x: torch.mode(x, 1).indices), grad_args=()),
    OpCase("scatter_reduce-amax", ("hl.scatter_reduce", "hl.scatter_add"),
           lambda x, i, s: lm.scatter_reduce(x, 0, i, s, "amax"),
           lambda rng: [f32(4, 3)(rng), idx(5, 3, high=4)(rng), f32(5, 3)(rng)],
           by_torch(lambda x, i, s: torch.scatter_reduce(x, 0, i, s, "amax")),
           lambda x, i, s: torch.scatter_reduce(x, 0, i, s, "amax"), grad_args=(0, 2)),
    OpCase("scatter_reduce-prod", ("hl.scatter_reduce",),
           lambda x, i, s: lm.scatter_reduce(x, 1, i, s, "prod", include_self=False),
           lambda rng: [f32(3, 4)(rng), idx(3, 5, high=4)(rng), with_zeros(3, 5)(rng)],
           by_torch(lambda x, i, s: torch.scatter_reduce(x, 1, i, s, "prod",
                                                         include_self=False)),
           lambda x, i, s: torch.scatter_reduce(x, 1, i, s, "prod", include_self=False),
           grad_args=(0, 2)),
    OpCase("scatter", ("hl.scatter", "hl.scatter_add"),
           lambda x, i, s: lm.scatter(x, 0, i, s),
           lambda rng: [f32(4, 3)(rng), distinct_rows(2, 3, high=4)(rng), f32(2, 3)(rng)],
           by_torch(lambda x, i, s: torch.scatter(x, 0, i, s)),
           lambda x, i, s: torch.scatter(x, 0, i, s), grad_args=(0, 2)),
    OpCase("index_copy", ("hl.scatter", "hl.gather"),
           lambda x, i, s: lm.index_copy(x, 1, i, s),
           lambda rng: [f32(3, 5)(rng), np.array([4, 0, 2]), f32(3, 3)(rng)],
           by_torch(lambda x, i, s: torch.index_copy(x, 1, i, s)),
           lambda x, i, s: torch.index_copy(x, 1, i, s), grad_args=(0, 2)),
    OpCase("masked_scatter", ("hl.scan", "hl.gather", "hl.select"),
           lambda x, m, s: lm.masked_scatter(x, m, s),
           lambda rng: [f32(3, 4)(rng), rng.random((3, 4)) > 0.5, f32(12)(rng)],
           by_torch(lambda x, m, s: torch.masked_scatter(x, m, s)),
           lambda x, m, s: torch.masked_scatter(x, m, s), grad_args=(0, 2)),
    OpCase("searchsorted", ("hl.reduce_sum", "hl.lt"),
           lambda s, v: lm.searchsorted(s, v),
           lambda rng: [np.sort(f32(3, 6)(rng), 1), f32(3, 4)(rng)],
           by_torch(lambda s, v: torch.searchsorted(s, v)), grad_args=()),
    OpCase("histc", ("hl.scatter_add",), lambda x: lm.histc(x, bins=5),
           lambda rng: [f32(40)(rng)], by_torch(lambda x: torch.histc(x, bins=5)),
           grad_args=()),
]
