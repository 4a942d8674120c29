"""Minimal programs for what differential fuzzing (tests/fuzz_programs.py) found, each
fixed at its root in the compiler: the program runs eagerly and under `lm.jit` on every
backend, and its value (and, for float programs, gradients) must match torch's."""

import numpy as np
import pytest
import torch
from conftest import compiled_backends

import lamina as lm

BACKENDS = ["eager", *compiled_backends()]


def _torch(fn, inputs, grad):
    xs = [torch.from_numpy(x.copy()).requires_grad_(grad) for x in inputs]
    out = fn(torch, *xs)
    if not grad:
        return out.detach().numpy(), None
    w = np.random.default_rng(0).uniform(0.5, 1.5, tuple(out.shape)).astype(
        str(out.dtype).removeprefix("torch."))
    gs = torch.autograd.grad((out * torch.from_numpy(w)).sum(), xs, allow_unused=True)
    return out.detach().numpy(), w, [np.zeros_like(x) if g is None else g.numpy()
                                     for g, x in zip(gs, inputs, strict=True)]


def _lamina(fn, inputs, backend, w):
    if backend == "eager":
        xs = [lm.tensor(x.copy(), requires_grad=w is not None) for x in inputs]
        out = fn(lm, *xs)
        if w is None:
            return out.numpy(), None
        (out * lm.tensor(w)).sum().backward()
        return out.detach().numpy(), [np.zeros_like(x) if x.grad is None else x.grad.numpy()
                                      for x in xs]
    if w is None:
        return lm.jit(lambda *xs: fn(lm, *xs), backend=backend)(*inputs).numpy(), None

    def loss(*xs):
        out = fn(lm, *xs)
        return (out * lm.tensor(w)).sum(), out

    f = lm.value_and_grad(loss, argnums=tuple(range(len(inputs))), has_aux=True)
    (_, out), grads = lm.jit(f, backend=backend)(*inputs)
    return out.numpy(), [np.asarray(g) for g in grads]


def check(fn, inputs, backend, grad=True, rtol=1e-6):
    if grad:
        want, w, want_grads = _torch(fn, inputs, True)
    else:
        (want, _), w, want_grads = _torch(fn, inputs, False), None, None
    got, grads = _lamina(fn, inputs, backend, w)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)
    for g, t in zip(grads or [], want_grads or [], strict=True):
        np.testing.assert_allclose(g, t, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_through_an_empty_intermediate(backend):
    """seed 1622: the backward pads an empty gradient; the fused pad read element [0, r, c]
    of a 0x2x1 buffer under a select, and the Triton interpreter segfaulted on the load."""
    def prog(m, x, g):
        x5 = m.narrow(x, 0, 0, 0)
        x6 = m.where(x5 > 0, x5, 0.5) * g
        return m.narrow(x6, 2, 2, 1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 3)).astype(np.float32)
    g = rng.standard_normal((1, 2, 3)).astype(np.float32)
    check(prog, [x, g], backend)


def _close(got, want):
    """Equal, NaN where torch's is NaN, zeros of the same sign."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    same = (got == want) & (np.signbit(got) == np.signbit(want))
    near = np.abs(got - want) <= 1e-6 * np.abs(want)
    return same | near | (np.isnan(got) & np.isnan(want))


INF, NAN = float("inf"), float("nan")
SPECIAL = np.array([-INF, -3.0, -2.0, -1.0, -0.5, -0.0, 0.0, 0.1, 0.5, 1.0, 2.0, 3.0, 1.5, 7.5,
                    1e30, INF, NAN])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ["pow", "atan2", "floor_divide"])
def test_special_values_follow_c99(op, dtype, backend):
    """Triton's interpreter formulas gave NaN for (+-1) ** +-inf, 1 ** NaN, -inf ** 1.5
    and -inf ** -0.5, and atan2 lost the sign of zeros (atan2(0, -0) = pi, atan2(-0, -1)
    = -pi); torch, C and numpy follow C99. Float floor_divide was floor(a / b) on every
    backend: -inf // 2 gave -inf (torch NaN), -5 // inf -0.0 (torch -1), 1 // 0.1 10
    (torch 9)."""
    a = np.repeat(SPECIAL, len(SPECIAL)).astype(dtype)
    b = np.tile(SPECIAL, len(SPECIAL)).astype(dtype)
    want = getattr(torch, op)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    if backend == "eager":
        got = getattr(lm, op)(lm.tensor(a), lm.tensor(b)).numpy()
    else:
        got = lm.jit(getattr(lm, op), backend=backend)(a, b).numpy()
    bad = ~_close(got, want)
    assert not bad.any(), list(zip(a[bad], b[bad], got[bad], want[bad], strict=True))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_vector_dot_returned_twice(backend):
    """C: `(x @ y, x @ y)` of 1-d x, y raised "no element rule for hl.matmul": the GEMM
    wrote the 0-d result in place, and the copy for the second output recomputed it as
    a single-element value instead of reading its buffer."""
    x, y = np.arange(3, dtype=np.float32), np.ones(3, np.float32)
    def prog(m, a, b):
        d = a @ b
        return d, d * 2, d
    if backend == "eager":
        d, d2, d3 = prog(lm, lm.tensor(x), lm.tensor(y))
    else:
        d, d2, d3 = lm.jit(lambda a, b: prog(lm, a, b), backend=backend)(x, y)
    assert [float(d), float(d2), float(d3)] == [3.0, 6.0, 3.0]


REFUSALS = {  # torch refuses these: lamina must, with torch's exception class
    "chunk of 0-d": lambda m: m.tensor(1.0).chunk(2),
    "split of 0-d": lambda m: m.tensor(1.0).split(1),
    "unbind of 0-d": lambda m: m.tensor(1.0).unbind(0),
    "float into long": lambda m: m.tensor([1, 2]).mul_(2.0),
    "long into bool": lambda m: m.tensor([True]).mul_(3),
    "exp_ of long": lambda m: m.tensor([1, 2]).exp_(),
    "iadd float into long": lambda m: m.tensor([1]).__iadd__(0.5),
    "clamp_ long by a float": lambda m: m.tensor([1, 2]).clamp_(min=0.5),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_as_torch_refuses(case):
    """Seeds 40036, 40160, 40258, 40278: a raw IndexError, or an in-place op that cast
    a float result into an integer tensor where torch refuses."""
    with pytest.raises(Exception) as want:
        REFUSALS[case](torch)
    with pytest.raises(lm.LaminaError) as got:
        REFUSALS[case](lm)
    assert isinstance(got.value, type(want.value))


def test_setitem_drops_leading_size_1_dims_of_the_value():
    """Seed 40017: `t[0] = v` with v of shape [1, 5] into a row of 5 (torch allows)."""
    t = lm.zeros(2, 5)
    t[0] = lm.ones(1, 5)
    t[1:] = lm.ones(1, 1, 1, 5) * 2
    assert t.tolist() == [[1.0] * 5, [2.0] * 5]
    with pytest.raises(RuntimeError):
        t[0] = lm.ones(2, 5)
