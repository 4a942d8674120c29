"""`x[index] = value` with advanced indices assigns, never accumulates: a position
named more than once takes its last occurrence's value (as torch's CPU kernel and
numpy do), eagerly and under lm.jit, with the index static or a traced tensor.
Issue 15, item 3."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm

# (shape, index, value): index is a list / ndarray (static) or ("t", array) for a tensor
CASES = [
    ((4,), [1, 1], 3.0),
    ((6,), [1, 4, 1, 1], np.array([1.0, 2.0, 3.0, 4.0])),
    ((6,), np.array([5, 0, 5, 2, 0, 5]), np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
    ((6,), [-1, 5, 3], np.array([7.0, 8.0, 9.0])),  # -1 and 5 are one position
    ((3, 4), ([0, 2, 0], slice(1, 3)), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])),
    ((3, 4), ([0, 2, 0], slice(1, 3)), np.array([1.0, 2.0])),  # broadcast row
    ((3, 4), ([0, 0, 2], [1, 1, 3]), np.array([1.0, 2.0, 3.0])),
    ((3, 4), (slice(None), [3, 3]), np.array([[1.0], [2.0], [3.0]])),  # broadcast column
    ((3, 4), np.array([True, False, True]), np.array([1.0, 2.0, 3.0, 4.0])),
    ((3, 4), np.array([[True, False, True, False]] * 3), 5.0),
    ((2, 3), (np.array([[1, 1], [0, 1]]),), np.array([[[1.0]], [[2.0]]])),
    ((5,), [], 1.0),
]


def _ids(case) -> str:
    shape, index, value = case
    return f"{shape}-{index!r}-{np.shape(value)}".replace(" ", "")


def _torch_set(shape, index, value, dtype=torch.float32):
    t = torch.arange(float(np.prod(shape)), dtype=torch.float64).reshape(shape).to(dtype)
    tidx = tuple(torch.tensor(np.asarray(i) if np.asarray(i).dtype == bool
                              else np.asarray(i, np.int64)) if isinstance(i, list | np.ndarray)
                 else i for i in (index if isinstance(index, tuple) else (index,)))
    t[tidx] = torch.tensor(value, dtype=dtype) if np.ndim(value) else value
    return t.numpy()


def _start(shape, dtype=np.float32):
    return np.arange(np.prod(shape)).reshape(shape).astype(dtype)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_eager_setitem_matches_torch(case):
    shape, index, value = case
    x = lm.tensor(_start(shape))
    x[index] = value if np.ndim(value) == 0 else lm.tensor(value.astype(np.float32))
    np.testing.assert_array_equal(x.numpy(), _torch_set(shape, index, value))


def _int_arrays(index) -> list:
    items = index if isinstance(index, tuple) else (index,)
    return [i for i in items if isinstance(i, list | np.ndarray) and np.size(i)
            and np.asarray(i).dtype != bool]


# the cases whose index arrays can be passed to the jitted function as tensors
TRACEABLE = [c for c in CASES if _int_arrays(c[1])]


@pytest.mark.parametrize("case", TRACEABLE, ids=_ids)
def test_jit_setitem_with_traced_index_tensors_matches_torch(case):
    shape, index, value = case
    items = index if isinstance(index, tuple) else (index,)
    arrays = [np.asarray(i, np.int64) for i in items if isinstance(i, list | np.ndarray)]

    def f(x, v, *idx):
        it = iter(idx)
        full = tuple(next(it) if isinstance(i, list | np.ndarray) else i for i in items)
        x[full if isinstance(index, tuple) else full[0]] = v
        return x

    v = np.asarray(value, np.float32)
    out = lm.jit(f)(_start(shape), v, *arrays)
    np.testing.assert_array_equal(out.numpy(), _torch_set(shape, index, value))


def test_jit_with_a_static_repeated_index():
    def f(x):
        x[[1, 1]] = 3.0
        return x

    np.testing.assert_array_equal(lm.jit(f)(np.ones(4, np.float32)).numpy(), [1, 3, 1, 1])


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.float64, np.uint8])
def test_repeated_positions_in_other_dtypes(dtype):
    x = lm.tensor(np.zeros(5, dtype))
    x[[2, 2, 4]] = lm.tensor(np.array([1, 0, 1], dtype))
    t = torch.tensor(np.zeros(5, dtype))
    t[torch.tensor([2, 2, 4])] = torch.tensor(np.array([1, 0, 1], dtype))
    np.testing.assert_array_equal(x.numpy(), t.numpy())


def test_negative_zero_and_nan_are_assigned_exactly():
    x = lm.ones(4)
    x[[0, 2, 2]] = lm.tensor(np.array([-0.0, 5.0, np.nan], np.float32))
    out = x.numpy()
    assert np.signbit(out[0]) and out[0] == 0.0 and np.isnan(out[2])


def test_gradient_reaches_the_occurrence_that_was_assigned():
    # d out / d v: only the last occurrence of a position is in the result
    v = lm.tensor(np.array([1.0, 2.0, 3.0, 4.0], np.float32), requires_grad=True)
    x = lm.tensor(np.zeros(5, np.float32), requires_grad=True)
    y = x * 1.0
    y[[1, 3, 1, 0]] = v
    (y * lm.tensor(np.arange(1.0, 6.0, dtype=np.float32))).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [0.0, 4.0, 2.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 3.0, 0.0, 5.0])


def test_gradient_without_repeats_matches_torch():
    v0 = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    v = lm.tensor(v0, requires_grad=True)
    tv = torch.tensor(v0, requires_grad=True)
    y, ty = lm.zeros(3, 4), torch.zeros(3, 4)
    y[[2, 0], 1:3] = v
    ty[[2, 0], 1:3] = tv
    w = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    (y * lm.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), tv.grad.numpy())


@pytest.mark.slow
def test_many_random_repeated_assignments_match_numpy():
    rng = np.random.default_rng(0)
    for n, m in [(7, 40), (50, 1000), (3, 300)]:
        idx = rng.integers(0, n, m)
        vals = rng.standard_normal(m).astype(np.float32)
        expected = np.zeros(n, np.float32)
        expected[idx] = vals  # numpy: the last occurrence
        x = lm.zeros(n)
        x[lm.tensor(idx) * 1] = lm.tensor(vals)  # a lazy index: the dynamic path
        np.testing.assert_array_equal(x.numpy(), expected)


@pytest.mark.parametrize("jit", [False, True])
def test_mask_assignment_of_one_value_matches_torch_and_compiles(jit):
    """`x[mask] = v` with one value (any shape of one element, leading size-1 dims as
    torch strips them) is a select: it compiles, and eagerly matches torch (fuzz seeds
    60008 and 60265 were refused)."""
    torch = pytest.importorskip("torch")
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    mask = base % 3 == 1
    for value in (np.float32(7), np.full((1, 1), -2.0, np.float32), np.full((1,), 5.0, np.float32)):
        ref = torch.tensor(base)
        ref[torch.tensor(mask)] = torch.tensor(value)

        def assign(x, m, v):
            x = x.clone()
            x[m] = v
            return x

        fn = lm.jit(assign) if jit else assign
        got = fn(lm.tensor(base), lm.tensor(mask), lm.tensor(value))
        np.testing.assert_array_equal(got.numpy(), ref.numpy())
    row_mask = np.array([True, False, True])
    ref = torch.tensor(base)
    ref[torch.tensor(row_mask)] = 1.5
    x = lm.tensor(base)
    x[lm.tensor(row_mask)] = 1.5
    np.testing.assert_array_equal(x.numpy(), ref.numpy())


def test_advanced_assignment_strips_leading_unit_dims_as_torch():
    torch = pytest.importorskip("torch")
    ref = torch.zeros(4)
    ref[torch.tensor([1, 3])] = torch.tensor([[2.0, 3.0]])
    x = lm.zeros(4)
    x[lm.tensor([1, 3])] = lm.tensor([[2.0, 3.0]])
    np.testing.assert_array_equal(x.numpy(), ref.numpy())
