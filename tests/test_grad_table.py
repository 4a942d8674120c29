"""Every op-table row with `grad_args`: the gradient of `sum(fn(*inputs) * W)` (W a fixed
random weight, so every output element gets a different cotangent) against

  (a) central finite differences of the same program, in float64;
  (b) `torch.autograd` on the row's `torch_fn`, in float64.

Rows without `grad_args` whose inputs are floats check the no-gradient rule: the
gradient through comparisons, argmax, integer casts and rounding is zero, as torch
gives (torch has no gradient at all there, or a zero one). A coverage test fails when
a differentiable hl op has no row with `grad_args`.

All of this runs on the interpreter (fast); a few rows also run on every compiled
backend, in float32 against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import compiled_backends
from opcases import OpCase, all_cases

import lamina as lm
from lamina.dialects import hl

CASES = all_cases()
GRAD_CASES = [c for c in CASES if c.grad_args]
NO_GRAD_CASES = [c for c in CASES if not c.grad_args]
# rows that also run on the compiled backends (one per rule family that exists)
COMPILED_SUBSET = ("tanh", "mul", "div", "broadcast", "reduce_sum", "reduce_max",
                   "transpose", "select", "matmul", "conv2d", "max_pool2d", "gather")


def _f64(inputs: list[np.ndarray]) -> list[np.ndarray]:
    return [x.astype(np.float64) if np.issubdtype(x.dtype, np.floating) else x for x in inputs]


def _weights(case: OpCase, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """One fixed random weight per output leaf, shaped like it."""
    out = lm.jit(case.fn, backend="interp")(*inputs)
    leaves = out if isinstance(out, tuple | list) else [out]
    rng = np.random.default_rng(1234)
    return [rng.uniform(0.5, 1.5, np.shape(o)) for o in leaves]


def _loss(case: OpCase):
    """sum(fn(*xs) * W) as a lamina function of (W, *xs)."""

    def loss(ws, *xs):
        out = case.fn(*xs)
        leaves = out if isinstance(out, tuple | list) else [out]
        total = 0.0
        for o, w in zip(leaves, ws, strict=True):
            o = o if o.dtype.is_floating_point else o.to(lm.float64)
            total = total + (o.to(lm.float64) * w).sum()
        return total

    return loss


def lamina_grads(case: OpCase, inputs, ws, backend="interp") -> list[np.ndarray]:
    loss = _loss(case)
    argnums = tuple(i + 1 for i in case.grad_args)
    grads = lm.jit(lm.grad(loss, argnums=argnums), backend=backend)(ws, *inputs)
    return [np.asarray(g) for g in grads]


def finite_differences(case: OpCase, inputs, ws, eps: float = 1e-6) -> list[np.ndarray]:
    forward = lm.jit(_loss(case), backend="interp")
    grads = []
    for i in case.grad_args:
        x = inputs[i]
        g = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            vals = []
            for step in (eps, -eps):
                shifted = list(inputs)
                shifted[i] = x.copy()
                shifted[i][j] += step
                vals.append(float(np.asarray(forward(ws, *shifted))))
            g[j] = (vals[0] - vals[1]) / (2 * eps)
        grads.append(g)
    return grads


def torch_grads(case: OpCase, inputs, ws, dtype=torch.float64) -> list[np.ndarray]:
    ts = [torch.tensor(x, dtype=dtype if np.issubdtype(x.dtype, np.floating) else None,
                       requires_grad=i in case.grad_args) for i, x in enumerate(inputs)]
    out = case.torch_fn(*ts)
    leaves = out if isinstance(out, tuple | list) else [out]
    loss = sum((o.to(torch.float64) * torch.tensor(w)).sum() for o, w in zip(leaves, ws, strict=True))
    grads = torch.autograd.grad(loss, [ts[i] for i in case.grad_args], allow_unused=True)
    return [np.zeros(inputs[i].shape) if g is None else g.detach().numpy()
            for i, g in zip(case.grad_args, grads, strict=True)]


# stop_gradient changes the gradient but not the values: finite differences cannot see it.
# A row may opt out of finite differences with extra={"fd": False} (a discontinuity).
FD_CASES = [c for c in GRAD_CASES
            if "hl.stop_gradient" not in c.ops and c.extra.get("fd", True)]


@pytest.mark.parametrize("case", FD_CASES, ids=[c.name for c in FD_CASES])
def test_grad_matches_finite_differences(case):
    inputs = _f64(case.make_inputs())
    ws = _weights(case, inputs)
    got = lamina_grads(case, inputs, ws)
    want = finite_differences(case, inputs, ws)
    for i, g, w in zip(case.grad_args, got, want, strict=True):
        assert g.shape == w.shape, (case.name, i, g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{case.name}: d/d input {i}")


TORCH_CASES = [c for c in GRAD_CASES if c.torch_fn is not None]


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c.name for c in TORCH_CASES])
def test_grad_matches_torch(case):
    inputs = _f64(case.make_inputs())
    ws = _weights(case, inputs)
    got = lamina_grads(case, inputs, ws)
    want = torch_grads(case, inputs, ws)
    for i, g, w in zip(case.grad_args, got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-9,
                                   err_msg=f"{case.name}: d/d input {i}")


SUBSET = [c for c in TORCH_CASES if c.name in COMPILED_SUBSET]
COMPILED = [b for b in compiled_backends() if b != "interp"]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("case", SUBSET, ids=[c.name for c in SUBSET])
def test_grad_on_compiled_backend(case, backend):
    """float32 gradients compiled by a real backend agree with torch in float32."""
    inputs = case.make_inputs()
    ws = _weights(case, inputs)
    got = lamina_grads(case, inputs, ws, backend=backend)
    want = torch_grads(case, inputs, ws, dtype=torch.float32)
    for i, g, w in zip(case.grad_args, got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{case.name} on {backend}: d/d input {i}")


REST = [c for c in TORCH_CASES if c.name not in COMPILED_SUBSET]


@pytest.mark.slow
@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("case", REST, ids=[c.name for c in REST])
def test_grad_on_compiled_backend_every_row(case, backend):
    """The same for every other row with a torch gradient (make test-slow)."""
    test_grad_on_compiled_backend(case, backend)


def _float_inputs(case: OpCase) -> bool:
    return all(np.issubdtype(x.dtype, np.floating) for x in case.make_inputs())


ZERO_CASES = [c for c in NO_GRAD_CASES if _float_inputs(c)]


@pytest.mark.parametrize("case", ZERO_CASES, ids=[c.name for c in ZERO_CASES])
def test_no_gradient_through_non_differentiable_ops(case):
    """Comparisons, argmax, integer casts, logical ops: the gradient is exactly zero,
    and torch agrees (its result needs no grad, or its gradient is zero)."""
    inputs = case.make_inputs()
    case = OpCase(case.name, case.ops, case.fn, case.inputs, case.oracle, case.torch_fn,
                  grad_args=tuple(range(len(inputs))))
    ws = _weights(case, inputs)
    for g, x in zip(lamina_grads(case, inputs, ws), inputs, strict=True):
        assert g.shape == x.shape
        assert not np.any(g), f"{case.name}: expected a zero gradient, got {g}"
    if case.torch_fn is not None:
        ts = [torch.tensor(x, requires_grad=True) for x in inputs]
        out = case.torch_fn(*ts)
        if out.requires_grad:
            (g,) = torch.autograd.grad(out.sum(), ts[:1], allow_unused=True)
            assert g is None or not g.any()


@pytest.mark.parametrize("name,fn", [
    ("sign", lambda x: x.sign()), ("floor", lambda x: x.floor()), ("ceil", lambda x: x.ceil()),
    ("round", lambda x: x.round()), ("gt", lambda x: (x > 0).float()),
    ("argmax", lambda x: x.argmax(dim=1, keepdim=True).float()), ("int-cast", lambda x: x.int().float()),
])
def test_zero_gradient_rules_match_torch(name, fn):
    x = np.random.default_rng(0).uniform(-2, 2, (3, 4)).astype(np.float32)
    got = np.asarray(lm.jit(lm.grad(lambda x: (fn(x) * x).sum()), backend="interp")(x))
    tx = torch.tensor(x, requires_grad=True)
    (want,) = torch.autograd.grad((fn(tx) * tx).sum(), [tx])
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-6)


def test_grad_of_integer_output_is_rejected_or_zero():
    """An integer-valued loss has no gradient: lamina gives zeros (never a nonzero)."""
    x = np.linspace(-1, 1, 6).astype(np.float32)
    g = lm.jit(lm.grad(lambda x: (x * 10).to(lm.int32).sum().float()), backend="interp")(x)
    assert not np.any(np.asarray(g))


def test_every_differentiable_op_has_a_gradient_row():
    covered = {op for c in GRAD_CASES for op in c.ops}
    from opcases import NEEDS_RANKS

    missing = sorted(op.name for op in hl.OPS if op.DIFFERENTIABLE and op.name not in covered
                     and op.name not in NEEDS_RANKS)
    assert not missing, f"differentiable hl ops without a row with grad_args: {missing}"


def test_non_differentiable_ops_are_marked():
    """Ops whose results are bool/int by construction say so (their gradient is None)."""
    for name in ("hl.eq", "hl.ne", "hl.lt", "hl.le", "hl.gt", "hl.ge", "hl.argmax",
                 "hl.argmin", "hl.and", "hl.or", "hl.xor", "hl.not"):
        assert not hl.OPS_BY_NAME[name].DIFFERENTIABLE, name
