"""Gradients of sums of overlapping slices (w[1:], w[:-1], w[2:], ...), whose
cotangents are padded back and accumulated into one gradient, against the interpreter
and torch on every compiled backend.

The Rosenbrock gradient below came out wrong on C (issue: indices 1-2 lost the w[1:]
term) when the cotangent was a runtime value (eager `backward()`, or a jitted function
of a scalar argument): GCC 12.2 miscompiled the fused kernel (tests/test_c_miscompiles.py
says how). Sizes run from a 4-element `omp simd` kernel to threaded ones and 2-D rows;
eager backward feeds the cotangent at run time, `lm.jit(lm.grad(f))` a scalar argument."""

import numpy as np
import pytest
from conftest import compiled_backends

import lamina as lm

COMPILED = [b for b in compiled_backends() if b != "interp"]


def rosenbrock(w, s):
    return (s * (100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2)).sum()


PROGRAMS = {
    "rosenbrock": rosenbrock,
    "rosenbrock_unit_cotangent": lambda w, s: (100 * (w[1:] - w[:-1] ** 2) ** 2
                                               + (1 - w[:-1]) ** 2).sum() * s,
    "rosenbrock_no_factor": lambda w, s: (s * ((w[1:] - w[:-1] ** 2) ** 2
                                               + (1 - w[:-1]) ** 2)).sum(),
    "rosenbrock_one_term": lambda w, s: (s * 100 * (w[1:] - w[:-1] ** 2) ** 2).sum(),
    "second_difference": lambda w, s: (s * (10 * (w[2:] - 2 * w[1:-1] + w[:-2]) ** 2
                                            + (w[1:-1] - 1) ** 2)).sum(),
    "three_slices_each_scaled": lambda w, s: (s * 3 * (w[2:] * w[:-2]) + s * (w[1:-1] - w[2:]) ** 2
                                              + 100 * (s * w[:-2] - w[1:-1] ** 2) ** 2).sum(),
    "neighbour_products": lambda w, s: (s * (w[1:] * w[:-1] + 3 * (w[:-1] - w[1:]) ** 2
                                             - 0.5 * (2 - w[1:]) ** 2)).sum(),
    "rows": lambda w, s: (s * (100 * (w[:, 1:] - w[:, :-1] ** 2) ** 2
                               + (1 - w[:, :-1]) ** 2)).sum(),
}
SHAPES = {"rows": [(3, 4), (70, 33), (5, 300)]}
SIZES = [(4,), (7,), (33,), (1000,), (70001,)]
ISSUE_INPUT = np.array([-1.5, 2.0, 0.5, -0.5], np.float32)


def _shapes(name: str, backend: str) -> list[tuple[int, ...]]:
    shapes = SHAPES.get(name, SIZES)
    return shapes if backend == "c" else shapes[:3]  # the Triton interpreter is slow


def _cases(backends):
    return [(b, name, shape) for b in backends for name in sorted(PROGRAMS)
            for shape in _shapes(name, b)]


def _input(shape) -> np.ndarray:
    if shape == (4,):
        return ISSUE_INPUT
    return np.random.RandomState(sum(shape)).uniform(-1.5, 1.5, shape).astype(np.float32)


def _eager_grad(fn, x, s, backend, monkeypatch) -> np.ndarray:
    monkeypatch.setenv("LAMINA_BACKEND", backend)
    w = lm.tensor(x, requires_grad=True)
    fn(w, lm.tensor(np.float32(s))).backward()
    return w.grad.numpy()


def _torch_grad(fn, x, s) -> np.ndarray:
    torch = pytest.importorskip("torch")
    w = torch.tensor(x, requires_grad=True)
    fn(w, torch.tensor(np.float32(s))).backward()
    return w.grad.numpy()


def _close(got, want, what):
    scale = float(np.abs(want).max()) + 1e-6
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale, err_msg=what)


def test_the_issue_program_on_c_equals_torch(monkeypatch):
    want = np.array([-155, 2752, -551, -150], np.float32)
    np.testing.assert_array_equal(_torch_grad(rosenbrock, ISSUE_INPUT, 1.0), want)
    for backend in ["interp", "c"]:
        got = _eager_grad(rosenbrock, ISSUE_INPUT, 1.0, backend, monkeypatch)
        np.testing.assert_array_equal(got, want, err_msg=backend)


@pytest.mark.parametrize("backend,name,shape", _cases(["c"]))
def test_eager_backward_equals_interp_and_torch(backend, name, shape, monkeypatch):
    fn, x = PROGRAMS[name], _input(shape)
    want = _eager_grad(fn, x, 1.0, "interp", monkeypatch)
    _close(want, _torch_grad(fn, x, 1.0), "interp vs torch")
    _close(_eager_grad(fn, x, 1.0, backend, monkeypatch), want, f"{backend} vs interp")


@pytest.mark.parametrize("backend,name,shape", _cases(COMPILED))
def test_jitted_grad_with_a_runtime_scale_equals_interp_and_torch(backend, name, shape):
    fn, x = PROGRAMS[name], _input(shape)
    s = np.float32(-0.5)
    want = np.asarray(lm.jit(lm.grad(fn), backend="interp")(x, s))
    _close(want, _torch_grad(fn, x, s), "interp vs torch")
    _close(np.asarray(lm.jit(lm.grad(fn), backend=backend)(x, s)), want, f"{backend} vs interp")
