"""Compiled window ops (rules_window.py) against torch: the max-pool gradient
(`hl.select_and_scatter_add`) on every window geometry -- the disjoint-window fast
path (stride >= window, any padding) and the general gather over covering windows --
with ties (a tie's gradient goes to the first maximum, as in torch) and a fused
relu + bias producer (relu's zeros tie)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lamina as lm

POOLS = [  # shape, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 8, 8), 2, None, 0, 1, False),  # disjoint, exact cover
    ((2, 3, 7, 9), 2, None, 0, 1, False),  # disjoint, trailing row/col in no window
    ((2, 2, 9, 10), 2, 3, 0, 1, False),  # disjoint with gaps between windows
    ((2, 2, 7, 7), 3, 3, 1, 1, False),  # disjoint with padding
    ((1, 2, 7, 6), 2, 2, 0, 1, True),  # disjoint, ceil_mode: a partial last window
    ((2, 2, 7, 7), (1, 3), (1, 3), 0, 1, False),  # window 1 in one spatial dim
    ((2, 2, 7, 7), 3, 2, 1, 1, False),  # overlapping windows
    ((1, 2, 8, 7), 2, 2, 1, 2, True),  # dilation: the general path
    ((2, 2, 9, 9), 2, 1, 0, 1, False),  # stride 1
]


def _ids(p):
    return "x".join(map(str, p[0])) + f"-k{p[1]}-s{p[2]}-p{p[3]}-d{p[4]}-c{int(p[5])}"


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("shape,k,s,p,d,ceil", POOLS, ids=[_ids(p) for p in POOLS])
def test_max_pool_gradient_matches_torch(shape, k, s, p, d, ceil, ties):
    rng = np.random.default_rng(0)
    if ties:  # few distinct values: most windows hold a tie
        x = rng.integers(-1, 2, shape).astype(np.float32)
    else:
        x = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape[1]).astype(np.float32) * (0 if ties else 1)

    def loss(x, b):
        h = lm.relu(x + b.reshape(1, -1, 1, 1))
        y = lm.max_pool2d(h, k, s, p, d, ceil)
        return (y * lm.arange(y.numel(), dtype=lm.float32).reshape(y.shape)).sum()

    gx, gb = lm.jit(lm.grad(loss, argnums=(0, 1)))(lm.tensor(x), lm.tensor(b))
    tx, tb = torch.tensor(x, requires_grad=True), torch.tensor(b, requires_grad=True)
    ty = TF.max_pool2d(TF.relu(tx + tb.reshape(1, -1, 1, 1)), k, s, p, d, ceil)
    (ty * torch.arange(ty.numel(), dtype=torch.float32).reshape(ty.shape)).sum().backward()
    np.testing.assert_allclose(np.asarray(gx), tx.grad.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(gb), tb.grad.numpy(), rtol=1e-5, atol=1e-3)


def test_max_pool_gradient_nan_goes_to_first_nan():
    """NaN counts as the maximum; the first NaN of a window takes the gradient."""
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    x[0, 0, 2, 2] = 5.0
    ct = np.arange(1, 5, dtype=np.float32).reshape(1, 1, 2, 2)
    got = np.asarray(lm.jit(lambda x, c: lm.vjp(lambda x: lm.max_pool2d(x, 2), x)[1](c)[0])(
        lm.tensor(x), lm.tensor(ct)))
    want = np.zeros_like(x)
    want[0, 0, 0, 1], want[0, 0, 0, 2], want[0, 0, 2, 2] = 1, 2, 4
    want[0, 0, 2, 0] = 3  # all-zero window: its first element
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape,k,s,p,d,ceil", POOLS, ids=[_ids(p) for p in POOLS])
def test_pool_forward_matches_torch(shape, k, s, p, d, ceil):
    """Forward max (with a NaN) and average pools, float and int32 (the unrolled window
    chains of small windows)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    x.flat[5] = np.nan
    got = lm.jit(lambda x: lm.max_pool2d(x, k, s, p, d, ceil))(lm.tensor(x))
    want = TF.max_pool2d(torch.tensor(x), k, s, p, d, ceil).numpy()
    np.testing.assert_array_equal(np.asarray(got), want)
    xi = rng.integers(-50, 50, shape).astype(np.int32)
    got = lm.jit(lambda x: lm.max_pool2d(x, k, s, p, d, ceil))(lm.tensor(xi))
    want = TF.max_pool2d(torch.tensor(xi, dtype=torch.float64), k, s, p, d, ceil).numpy()
    np.testing.assert_array_equal(np.asarray(got), want.astype(np.int32))
    if d == 1:
        got = lm.jit(lambda x: lm.avg_pool2d(x, k, s, p, ceil))(lm.tensor(x))
        want = TF.avg_pool2d(torch.tensor(x), k, s, p, ceil).numpy()
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,k,s,p,d,ceil", POOLS, ids=[_ids(p) for p in POOLS])
def test_pool_gradient_loop_level_matches_hl_interpreter(shape, k, s, p, d, ceil):
    """The same kernels run by the loop-level interpreter (masked loads, the producer
    over windows, unrolled chains), with a tie-heavy relu input; int32 forward."""
    from test_lower_hl_to_loop import trace

    from lamina.passes import pipeline
    from lamina.runtime import interp, loop_interp

    rng = np.random.default_rng(3)
    for dtype in (np.float32, np.int32):
        x = rng.integers(-2, 3, shape).astype(dtype)
        n_out = TF.max_pool2d(torch.zeros(shape), k, s, p, d, ceil).shape
        ct = rng.integers(1, 9, n_out).astype(dtype)

        def f(x, ct, dtype=dtype):
            if dtype == np.int32:  # no gradients of integers: the forward pool only
                return lm.max_pool2d(lm.relu(x), k, s, p, d, ceil)
            y, pullback = lm.vjp(lambda x: lm.max_pool2d(lm.relu(x), k, s, p, d, ceil), x)
            return y, pullback(ct)[0]

        module, inputs = trace(f, lm.tensor(x), lm.tensor(ct))
        inputs = [np.asarray(i) for i in inputs]
        pipeline.run(module, "hl-simplify")
        want = interp.run_module(module, inputs)
        pipeline.run(module, "hl-simplify,hl-to-loop")
        for got, w in zip(loop_interp.run(module, inputs), want, strict=True):
            np.testing.assert_array_equal(got, w)
