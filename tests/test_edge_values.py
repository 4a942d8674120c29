"""Issue 15 item 5: edge values of relu, sign and remainder agree with torch on every
path: eager and lm.jit on each backend, signed zeros and infinities included."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import compiled_backends

import lamina as lm

NAN, INF = float("nan"), float("inf")
MODES = ["eager", *compiled_backends()]


def _run(fn, arrays, mode):
    if mode == "eager":
        return np.asarray(fn(*(lm.tensor(a) for a in arrays)))
    return np.asarray(lm.jit(fn, backend=mode)(*arrays))


def _same(got, want):
    """Bit-level agreement up to NaN payloads: values, NaNs and the signs of zeros."""
    assert got.dtype == want.dtype and got.shape == want.shape, (got, want)
    if np.issubdtype(want.dtype, np.floating):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_array_equal(got[ok], want[ok])
        np.testing.assert_array_equal(np.signbit(got[ok]), np.signbit(want[ok]))
    else:
        np.testing.assert_array_equal(got, want)


def _torch(fn, arrays):
    return fn(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays)).numpy()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_keeps_nan(mode, dtype):
    x = np.array([NAN, -1.0, -0.0, 0.0, 2.0, -INF, INF], dtype)
    _same(_run(lambda a: lm.relu(a), [x], mode), _torch(torch.relu, [x]))


def test_relu_gradient_as_torch_at_zero_and_nan():
    x = np.array([NAN, -1.0, 0.0, 2.0], np.float32)
    t = torch.tensor(x, requires_grad=True)
    torch.relu(t).sum().backward()
    a = lm.tensor(x, requires_grad=True)
    lm.relu(a).sum().backward()
    np.testing.assert_array_equal(np.asarray(a.grad), t.grad.numpy())  # 1, 0, 0, 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("values,dtype", [
    ([200, 0, 3, 255, 128], np.uint8),
    ([-128, 0, 5, 127, -1], np.int8),
    ([True, False], np.bool_),
    ([NAN, -0.0, 0.0, -3.0, INF], np.float32),
])
def test_sign(mode, values, dtype):
    x = np.array(values, dtype)
    _same(_run(lambda a: lm.sign(a), [x], mode), _torch(torch.sign, [x]))


# every pairing of signs, zeros, infinities and NaN as dividend and divisor
_A = [5.0, -5.0, 0.0, -0.0, INF, -INF, NAN, 7.5, -7.5, 1e-30, -1e-30, 3.0]
_B = [INF, -INF, 2.0, -2.0, 0.0, -0.0, NAN, 0.25, -3.0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_remainder_edges(mode, dtype):
    a = np.repeat(np.array(_A, dtype), len(_B))
    b = np.tile(np.array(_B, dtype), len(_A))
    _same(_run(lambda x, y: x % y, [a, b], mode), _torch(torch.remainder, [a, b]))


@pytest.mark.parametrize("mode", MODES)
def test_remainder_large_quotient_is_exact(mode):
    # a - floor(a / b) * b loses every digit here; fmod is exact
    a = np.array([1e30, -1e30, 123456789.0, 1e308], np.float64)
    b = np.array([3.0, 7.0, 0.1, -1e-300], np.float64)
    _same(_run(lambda x, y: lm.remainder(x, y), [a, b], mode), _torch(torch.remainder, [a, b]))
