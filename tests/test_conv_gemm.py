"""hl.conv -> im2col gather + hl.matmul (lower_hl_to_loop/conv_gemm.py): the rewritten
hl function must give the hl interpreter's results of the original conv, for every
geometry, forward and both gradients; lowered, the conv is a matmul."""

import numpy as np
import pytest

import lamina as lm
from lamina.dialects import loop
from lamina.dialects.hl import contract, indexing
from lamina.passes import conv_to_gemm as conv_gemm
from lamina.passes import pipeline
from lamina.passes.pipeline import run_pipeline
from lamina.runtime import interp, loop_interp


def _trace(fn, *inputs):
    from lamina.frontend.trace import trace

    module = trace(fn, *inputs).module
    run_pipeline(module, "c-pipeline", until="hl")
    return module


def _funcs(module):
    from xdsl.dialects import func

    return [op for op in module.walk() if isinstance(op, func.FuncOp)]


def _convs(module) -> int:
    return sum(isinstance(op, contract.ConvOp) for op in module.walk())


GEOMETRIES = [  # x shape, w shape, conv kwargs
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(padding=1)),
    ((2, 4, 9, 8), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                                      groups=2)),
    ((2, 4, 6, 6), (4, 1, 3, 3), dict(stride=2, padding=1, groups=4)),
    ((1, 2, 8, 8), (3, 2, 7, 7), {}),
    ((3, 2, 11), (4, 2, 3), dict(stride=2, padding=2)),
    ((1, 2, 4, 5, 4), (2, 2, 2, 3, 2), dict(padding=1, dilation=(1, 1, 2))),
    ((2, 8, 5, 7), (16, 4, 1, 1), dict(groups=2)),
]
DEPTHWISE = ((2, 6, 7, 9), (6, 1, 3, 5), dict(padding=(1, 2), dilation=(2, 1), groups=6))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", GEOMETRIES, ids=[str(g[0]) for g in GEOMETRIES])
def test_rewrite_matches_the_interpreter_forward_and_grads(monkeypatch, xs, ws, kw, dtype):
    monkeypatch.setattr(conv_gemm, "MIN_MACS", 0)
    monkeypatch.setattr(conv_gemm, "MIN_OUT_CHANNELS", 1)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    conv = {3: lm.conv1d, 4: lm.conv2d, 5: lm.conv3d}[len(xs)]

    def f(a, b):
        y = conv(a, b, **kw)
        return y, lm.grad(lambda a, b: (conv(a, b, **kw) ** 2).sum(), argnums=(0, 1))(a, b)

    module = _trace(f, lm.tensor(x), lm.tensor(w))
    want = interp.run_module(module, [x, w])
    rewritten = module.clone()
    assert _convs(rewritten) == 3  # forward, input gradient, weight gradient
    for fn in _funcs(rewritten):
        conv_gemm.convs_to_matmuls(fn)
    rewritten.verify()
    assert _convs(rewritten) == 0
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for g, r in zip(interp.run_module(rewritten, [x, w]), want, strict=True):
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol * np.abs(r).max())
    lowered = module.clone()
    pipeline.run(lowered, "hl-simplify,hl-to-loop")
    for g, r in zip(loop_interp.run(lowered, [x, w]), want, strict=True):
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol * np.abs(r).max())


def test_transposed_conv_with_input_dilation_and_crop(monkeypatch):
    """conv_transpose: input_dilation (interior holes) and negative padding (a crop)."""
    monkeypatch.setattr(conv_gemm, "MIN_MACS", 0)
    monkeypatch.setattr(conv_gemm, "MIN_OUT_CHANNELS", 1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    module = _trace(lambda a, b: lm.conv_transpose2d(a, b, stride=2, padding=2,
                                                     output_padding=1), lm.tensor(x),
                    lm.tensor(w))
    want = interp.run_module(module, [x, w])
    for fn in _funcs(module):
        conv_gemm.convs_to_matmuls(fn)
    assert _convs(module) == 0
    (got,) = interp.run_module(module, [x, w])
    np.testing.assert_allclose(got, want[0], rtol=1e-4, atol=1e-4)


def test_large_conv_lowers_to_a_matmul_small_one_keeps_the_loop():
    big = _trace(lambda a, b: lm.conv2d(a, b, padding=1), lm.tensor(np.ones((8, 8, 14, 14),
                 np.float32)), lm.tensor(np.ones((16, 8, 3, 3), np.float32)))
    small = _trace(lambda a, b: lm.conv2d(a, b), lm.tensor(np.ones((1, 1, 5, 5), np.float32)),
                   lm.tensor(np.ones((2, 1, 3, 3), np.float32)))
    for module, matmuls in ((big, 1), (small, 0)):
        pipeline.run(module, "hl-simplify,hl-to-loop")
        assert sum(isinstance(op, loop.MatmulOp) for op in module.walk()) == matmuls


@pytest.mark.parametrize("xs,ws,kw", [*GEOMETRIES[:4], DEPTHWISE],
                         ids=[str(g[0]) for g in [*GEOMETRIES[:4], DEPTHWISE]])
def test_compiled_im2col_matches_torch(monkeypatch, xs, ws, kw):
    """Through the C backend (the columns' index math, the matmul reading them in their
    own 7-d shape, the transposed columns of the weight gradient; a depthwise conv's
    shifted multiply-adds, strided and dilated) against torch."""
    import torch
    import torch.nn.functional as TF

    from lamina.runtime import plan_cache

    monkeypatch.setattr(conv_gemm, "MIN_MACS", 0)
    monkeypatch.setattr(conv_gemm, "MIN_OUT_CHANNELS", 1)
    monkeypatch.setattr(plan_cache, "lookup", lambda *a, **k: None)  # lower afresh
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ws).astype(np.float32)

    def f(a, b, c):
        y, pullback = lm.vjp(lambda a, b: lm.relu(lm.conv2d(a, b, **kw)), a, b)
        return (y, *pullback(c))

    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = TF.relu(TF.conv2d(tx, tw, **kw))
    ct = rng.standard_normal(ty.shape).astype(np.float32)
    ty.backward(torch.tensor(ct))
    got = lm.jit(f)(lm.tensor(x), lm.tensor(w), lm.tensor(ct))
    for g, want in zip(got, (ty.detach(), tx.grad, tw.grad), strict=True):
        np.testing.assert_allclose(np.asarray(g), want.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("xs,ws,kw", [GEOMETRIES[0], GEOMETRIES[3], GEOMETRIES[4]],
                         ids=["3x3", "7x7", "1d"])
def test_columns_cut_into_bands_of_output_rows(monkeypatch, xs, ws, kw):
    """Columns over `COLUMN_BUDGET` are built and multiplied a band of output rows at a
    time: same results (forward and gradients), several matmuls, one concat."""
    monkeypatch.setattr(conv_gemm, "MIN_MACS", 0)
    monkeypatch.setattr(conv_gemm, "MIN_OUT_CHANNELS", 1)
    monkeypatch.setattr(conv_gemm, "COLUMN_BUDGET", 100)
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ws).astype(np.float32)
    conv = {3: lm.conv1d, 4: lm.conv2d}[len(xs)]

    def f(a, b):
        y = conv(a, b, **kw)
        return y, lm.grad(lambda a, b: (conv(a, b, **kw) ** 2).sum(), argnums=(0, 1))(a, b)

    module = _trace(f, lm.tensor(x), lm.tensor(w))
    want = interp.run_module(module, [x, w])
    for fn in _funcs(module):
        conv_gemm.convs_to_matmuls(fn)
    assert sum(isinstance(op, contract.MatmulOp) for op in module.walk()) > 3
    lowered = module.clone()
    pipeline.run(lowered, "hl-simplify,hl-to-loop")
    for g, r in zip(loop_interp.run(lowered, [x, w]), want, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4 * np.abs(r).max())


def test_depthwise_conv_is_shifted_multiply_adds():
    """A depthwise conv (forward and its input gradient) becomes slices of the padded
    input times per-channel taps, no conv and no matmul left for them."""
    xs, ws, kw = DEPTHWISE
    module = _trace(lambda a, b: lm.conv2d(a, b, **kw), lm.tensor(np.ones(xs, np.float32)),
                    lm.tensor(np.ones(ws, np.float32)))
    for fn in _funcs(module):
        conv_gemm.convs_to_matmuls(fn)
    assert _convs(module) == 0
    assert not any(isinstance(op, contract.MatmulOp) for op in module.walk())


def test_pointwise_conv_multiplies_the_input_as_it_lies():
    """A 1x1 stride-1 conv is one matmul of the weights by the input itself: no
    columns (no gather, no pad) are built."""
    module = _trace(lambda a, b: lm.conv2d(a, b), lm.tensor(np.ones((2, 32, 9, 9), np.float32)),
                    lm.tensor(np.ones((64, 32, 1, 1), np.float32)))
    for fn in _funcs(module):
        conv_gemm.convs_to_matmuls(fn)
    ops = [type(op) for op in module.walk()]
    assert contract.MatmulOp in ops and contract.ConvOp not in ops
    assert indexing.GatherOp not in ops and indexing.PadOp not in ops
