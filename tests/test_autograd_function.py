"""lm.autograd.Function against torch.autograd.Function: the same subclass text under
both libraries (save_for_backward, needs_input_grad, non-tensor arguments, two outputs),
eagerly and inside lm.jit; Variable and autograd.backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm


def _functions(lib):
    class ScaledExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            y = lib.exp(x) * scale
            ctx.save_for_backward(y)
            ctx.scale = scale
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y, None

    class MulBoth(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b, a + b

        @staticmethod
        def backward(ctx, g_prod, g_sum):
            a, b = ctx.saved_tensors
            ga = g_prod * b + g_sum if ctx.needs_input_grad[0] else None
            gb = g_prod * a + g_sum if ctx.needs_input_grad[1] else None
            return ga, gb

    return ScaledExp, MulBoth


def _grads(lib, tensor, x, y):
    scaled_exp, mul_both = _functions(lib)
    a = tensor(x, requires_grad=True)
    b = tensor(y, requires_grad=True)
    prod, total = mul_both.apply(a, b)
    (scaled_exp.apply(prod, 0.5).sum() + (total * total).sum()).backward()
    return a.grad, b.grad


def test_function_matches_torch_eagerly():
    x = np.array([0.3, -1.2, 0.8], np.float32)
    y = np.array([1.5, 0.2, -0.7], np.float32)
    got = _grads(lm, lm.tensor, x, y)
    want = _grads(torch, torch.tensor, x, y)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), w.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", ["interp", "c"])
def test_function_inside_jit(backend):
    scaled_exp, _ = _functions(lm)
    x = np.array([0.3, -1.2, 0.8], np.float32)
    got = lm.jit(lm.grad(lambda a: scaled_exp.apply(a, 2.0).sum()), backend=backend)(x)
    np.testing.assert_allclose(np.asarray(got), 2.0 * np.exp(x), rtol=1e-6)


def test_wrong_number_of_gradients_is_a_clean_error():
    class Bad(lm.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g  # one gradient for two arguments

    a, b = lm.ones(2, requires_grad=True), lm.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 1 gradients, expected 2"):
        Bad.apply(a, b).sum().backward()


def test_variable_and_functional_backward():
    v = lm.autograd.Variable(lm.tensor([1.0, 2.0]), requires_grad=True)
    lm.autograd.backward([(v * v).sum()])
    np.testing.assert_allclose(np.asarray(v.grad), [2.0, 4.0])


def test_rule_survives_a_fresh_eager_graph_during_forward():
    """The eager graph is replaced by a fresh one every 64 ops when nothing refers to
    it; a Function applied right at that boundary kept its rule on the old graph, and
    backward silently used the ops' own gradient instead of the user's."""

    class Triple(lm.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, g):
            return g * 3.0

    for filler in range(70):  # every offset from a 64-op boundary
        for _ in range(filler):
            lm.ones(1).add(1).numpy()
        a = lm.ones(2, requires_grad=True)
        Triple.apply(a).sum().backward()
        assert a.grad.numpy().tolist() == [3.0, 3.0], filler
