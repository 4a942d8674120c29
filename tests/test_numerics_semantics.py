"""Numerical edge cases behave as in PyTorch, on every registered backend.

NaN/Inf propagation (max/min/amax/softmax/log), integer division and remainder
(floor semantics, the sign of the divisor), integer overflow (two's-complement
wraparound), zero-size dimensions and unusual numpy inputs (non-contiguous,
read-only, negative strides). Every check runs the same function in lm.jit on
each backend and in torch, and compares the two bit-for-bit for integers and
NaN-aware for floats.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm

NAN, INF = float("nan"), float("inf")


def _torch_result(fn, arrays):
    out = fn(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays))
    return out.numpy()


def _check(fn, *arrays, backend, torch_fn=None, rtol=1e-6, atol=1e-6):
    """Run `fn` under lm.jit on `backend` and in torch (same code unless torch_fn)."""
    got = np.asarray(lm.jit(fn, backend=backend)(*arrays))
    want = _torch_result(torch_fn or fn, arrays)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if np.issubdtype(want.dtype, np.floating):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
        np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    else:
        np.testing.assert_array_equal(got, want)


F = np.array([1.0, NAN, -INF, INF, 0.0, -2.5], np.float32)
G = np.array([NAN, 2.0, 3.0, -INF, -0.0, NAN], np.float32)


# ---------------------------------------------------------------- NaN / Inf


@pytest.mark.parametrize("name,fn", [
    ("maximum", lambda a, b: a.maximum(b) if hasattr(a, "maximum") else None),
    ("minimum", lambda a, b: a.minimum(b) if hasattr(a, "minimum") else None),
])
def test_elementwise_max_min_propagate_nan(name, fn, backend):
    if name == "maximum":
        _check(lambda a, b: lm.maximum(a, b), F, G, backend=backend,
               torch_fn=torch.maximum)
    else:
        _check(lambda a, b: lm.minimum(a, b), F, G, backend=backend,
               torch_fn=torch.minimum)


def test_reductions_propagate_nan(backend):
    x = np.array([[1.0, NAN, 3.0], [-INF, 2.0, 0.5], [INF, -1.0, 4.0]], np.float32)
    _check(lambda a: a.amax(dim=1), x, backend=backend, torch_fn=lambda a: a.amax(dim=1))
    _check(lambda a: a.amin(dim=0), x, backend=backend, torch_fn=lambda a: a.amin(dim=0))
    _check(lambda a: a.max(), x, backend=backend, torch_fn=lambda a: a.max())
    _check(lambda a: a.sum(dim=1), x, backend=backend, torch_fn=lambda a: a.sum(dim=1))


def test_argmax_points_at_nan_like_torch(backend):
    x = np.array([[1.0, NAN, 3.0], [0.0, 2.0, NAN], [5.0, 1.0, 4.0]], np.float32)
    _check(lambda a: a.argmax(dim=1), x, backend=backend,
           torch_fn=lambda a: a.argmax(dim=1))


def test_softmax_of_all_neg_inf_row_is_nan(backend):
    x = np.array([[-INF, -INF, -INF], [0.0, -INF, 1.0], [INF, 0.0, 1.0]], np.float32)
    _check(lambda a: lm.nn.functional.softmax(a, dim=1), x, backend=backend,
           torch_fn=lambda a: torch.softmax(a, dim=1))


def test_log_exp_sqrt_edges(backend):
    x = np.array([0.0, -0.0, -1.0, INF, NAN, 1e-45], np.float32)
    _check(lambda a: lm.log(a), x, backend=backend, torch_fn=torch.log)
    _check(lambda a: lm.sqrt(a), x, backend=backend, torch_fn=torch.sqrt)
    y = np.array([-INF, INF, 100.0, -100.0, NAN], np.float32)
    _check(lambda a: lm.exp(a), y, backend=backend, torch_fn=torch.exp, rtol=1e-5)


def test_float_division_by_zero(backend):
    a = np.array([1.0, -1.0, 0.0, INF], np.float32)
    b = np.array([0.0, 0.0, 0.0, 0.0], np.float32)
    _check(lambda x, y: x / y, a, b, backend=backend)


def test_float_to_int_cast_of_finite_values_truncates(backend):
    x = np.array([2.7, -2.7, 0.5, -0.5, 100.0], np.float32)
    _check(lambda a: a.to(lm.int32), x, backend=backend, torch_fn=lambda a: a.to(torch.int32))


# ---------------------------------------------------------------- integers

INTS = np.array([7, -7, 7, -7, 0, 5, -1, 9], np.int32)
DIVS = np.array([2, 2, -2, -2, 3, 5, 4, -4], np.int32)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8])
def test_floor_division_and_remainder_follow_the_divisor_sign(dtype, backend):
    a, b = INTS.astype(dtype), DIVS.astype(dtype)
    _check(lambda x, y: x // y, a, b, backend=backend)
    _check(lambda x, y: x % y, a, b, backend=backend)
    _check(lambda x, y: lm.remainder(x, y), a, b, backend=backend, torch_fn=torch.remainder)


def test_float_remainder_and_floor_division(backend):
    a = np.array([7.5, -7.5, 7.5, -7.5, 0.0], np.float32)
    b = np.array([2.0, 2.0, -2.0, -2.0, 3.0], np.float32)
    _check(lambda x, y: x % y, a, b, backend=backend)
    _check(lambda x, y: x // y, a, b, backend=backend)


def test_trunc_division(backend):
    a, b = INTS.astype(np.int64), DIVS.astype(np.int64)
    _check(lambda x, y: lm.div(x, y, rounding_mode="trunc"), a, b, backend=backend,
           torch_fn=lambda x, y: torch.div(x, y, rounding_mode="trunc"))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64])
def test_integer_overflow_wraps_around(dtype, backend):
    info = np.iinfo(dtype)
    a = np.array([info.max, info.min, info.max, 3], dtype)
    b = np.array([1, -1 if info.min < 0 else 1, info.max, 2], dtype)
    _check(lambda x, y: x + y, a, b, backend=backend)
    _check(lambda x, y: x * y, a, b, backend=backend)
    _check(lambda x, y: x - y, a, b, backend=backend)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_division_by_zero_does_not_crash(dtype, backend):
    """torch raises for integer division by zero; lamina returns 0 (as numpy) and never
    traps (x86 `idiv` by zero or INT_MIN / -1 would kill the process)."""
    info = np.iinfo(dtype)
    a = np.array([7, -7, 0, info.min, info.min], dtype)
    b = np.array([0, 0, 0, -1, 0], dtype)
    quotient, remainder = lm.jit(lambda x, y: (x // y, x % y), backend=backend)(a, b)
    np.testing.assert_array_equal(np.asarray(quotient), [0, 0, 0, info.min, 0])
    np.testing.assert_array_equal(np.asarray(remainder), [0, 0, 0, 0, 0])


def test_integer_true_division_is_float(backend):
    a, b = INTS.astype(np.int64), DIVS.astype(np.int64)
    _check(lambda x, y: x / y, a, b, backend=backend)


def test_int_sum_of_uint8_widens_to_int64(backend):
    x = np.full((300,), 255, np.uint8)
    _check(lambda a: a.sum(), x, backend=backend)


# ---------------------------------------------------------------- zero-size dims


def test_zero_size_dimensions_work_like_torch(backend):
    e = np.zeros((0, 3), np.float32)
    w = np.ones((3, 4), np.float32)
    _check(lambda a: a + 1.0, e, backend=backend)
    _check(lambda a, b: a @ b, e, w, backend=backend)
    _check(lambda a: a.sum(dim=0), e, backend=backend, torch_fn=lambda a: a.sum(dim=0))
    _check(lambda a: a.sum(), e, backend=backend, torch_fn=lambda a: a.sum())
    _check(lambda a: a.reshape(3, 0), e, backend=backend, torch_fn=lambda a: a.reshape(3, 0))
    _check(lambda a, b: lm.cat([a, b[:1]], dim=0), e, w[:, :3].copy(), backend=backend,
           torch_fn=lambda a, b: torch.cat([a, b[:1]], dim=0))
    k = np.zeros((2, 0), np.float32)
    _check(lambda a, b: a @ b, k, np.zeros((0, 5), np.float32), backend=backend)


# ---------------------------------------------------------------- numpy inputs


def test_non_contiguous_and_read_only_inputs_are_accepted(backend):
    base = np.arange(48, dtype=np.float32).reshape(6, 8)
    strided = base[::2, 1::3]  # non-contiguous
    transposed = base.T  # Fortran order
    reversed_ = base[::-1]  # negative strides
    frozen = base.copy()
    frozen.flags.writeable = False
    fn = lm.jit(lambda a, b: a * 2.0 + b.sum(), backend=backend)
    for arr in (strided, transposed, reversed_, frozen):
        got = np.asarray(fn(arr, arr))
        np.testing.assert_allclose(got, arr * 2.0 + arr.sum(), rtol=1e-6)
    # eager tensors built from the same views
    t = lm.tensor(strided) + lm.tensor(reversed_[:3, :3])
    np.testing.assert_allclose(np.asarray(t), strided + reversed_[:3, :3])
    assert frozen.flags.writeable is False  # never written to
