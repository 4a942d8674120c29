"""Gradients of sums of overlapping slices (w[1:], w[:-1], w[2:], ...), whose
cotangents are padded back and accumulated into one gradient, against the interpreter
and torch on every compiled backend.

The Rosenbrock gradient below came out wrong on C (issue: indices 1-2 lost the w[1:]
term) when the cotangent was a runtime value (eager `backward()`, or a jitted function
of a scalar argument): GCC 12.2 miscompiled the fused kernel (tests/test_c_miscompiles.py
says how). Sizes run from a 4-element `omp simd` kernel to threaded ones and 2-D rows;
eager backward feeds the cotangent at run time, `lm.jit(lm.grad(f))` a scalar argument."""

import os
import random

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


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("shape", [(3, 4), (70, 4), (70, 5), (70, 33), (5, 300)])
def test_rows_with_a_scale_per_row(backend, shape):
    """`s[i] * 100` is invariant in the vector loop over row i only (the C kernel
    computes it before that loop: GCC 12.2 lost terms of rows (3, 4), (70, 4), (70, 5)
    when it was computed inside)."""
    fn = PROGRAMS["rows"]
    x = _input(shape)
    s = np.random.RandomState(1).uniform(0.5, 2, (shape[0], 1)).astype(np.float32)
    want = np.asarray(lm.jit(lm.grad(fn), backend="interp")(x, s))
    _close(want, _torch_grad(fn, x, s), "interp vs torch")
    _close(np.asarray(lm.jit(lm.grad(fn), backend=backend)(x, s)), want, f"{backend} vs interp")


# ---------------------------------------------------------------- generated programs


def _random_program(seed: int, rosenbrock_like: bool) -> tuple[int, str, np.float32]:
    """(size, body, s): a sum of 1-4 random terms over slices w[o:n-k+o] of one shift
    k, some scaled by the runtime scalar `s`."""
    rng = random.Random(seed)
    n = rng.choice([3, 4, 5, 7, 9, 16, 17, 33, 64, 257, 1031, 4099, 70001])
    k = rng.randint(1, min(3, n - 1))

    def sl():
        o = rng.choice(range(k + 1))
        return f"w[{o}:{n - k + o}]"

    def atom():
        c, s = rng.random(), sl()
        if c < 0.3:
            return s
        if c < 0.5:
            return f"{s} ** 2"
        if c < 0.65:
            return f"({rng.choice([1, 0.5, 2]):g} - {s})"
        if c < 0.8:
            return f"{rng.choice([100, 3, -2, 0.5]):g} * {s}"
        return f"({s} * {sl()})"

    def expr(depth):
        if depth == 0 or rng.random() < 0.3:
            return atom()
        op = rng.choice(["+", "-", "*"])
        e = f"({expr(depth - 1)} {op} {expr(depth - 1)})"
        r = rng.random()
        if r < 0.3:
            return f"{e} ** 2"
        return f"{rng.choice([100, 10, -3]):g} * {e}" if r < 0.5 else e

    def rosenbrock_term():
        r = rng.random()
        if r < 0.4:
            return f"{rng.choice([100, 10, 3, -1]):g} * ({sl()} - {sl()} ** 2) ** 2"
        if r < 0.7:
            return f"({rng.choice([1, 2, -0.5]):g} - {sl()}) ** 2"
        return atom()

    if rosenbrock_like and rng.random() < 0.7:
        terms = [rosenbrock_term() for _ in range(rng.randint(2, 4))]
    else:
        terms = [expr(rng.randint(0, 2)) for _ in range(rng.randint(1, 4))]
    terms = [("s * " + t) if rng.random() < 0.5 else t for t in terms]
    body = " + ".join(terms)
    if rng.random() < 0.5:
        body = f"s * ({body})"
    return n, body, np.float32(rng.choice([1.0, 0.5, -2.0]))


def _check_random_program(seed: int, rosenbrock_like: bool, monkeypatch) -> None:
    """Odd seeds: eager backward (the cotangent at run time); even: jit(grad) of (w, s)."""
    n, body, s = _random_program(seed, rosenbrock_like)
    fn = eval(f"lambda w, s: ({body}).sum()")  # noqa: S307 (the program generated above)
    x = np.random.RandomState(seed).uniform(-1, 1, n).astype(np.float32)
    if seed % 2:
        want = _eager_grad(fn, x, s, "interp", monkeypatch)
        got = _eager_grad(fn, x, s, "c", monkeypatch)
    else:
        want = np.asarray(lm.jit(lm.grad(fn), backend="interp")(x, s))
        got = np.asarray(lm.jit(lm.grad(fn), backend="c")(x, s))
    scale = float(np.abs(want).max()) + 1e-6
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * scale, err_msg=body)


# seeds whose programs GCC 12.2 + AVX-512 got wrong before cpu-hoist-invariants
WRONG_BEFORE = [(154, False), (1069, True), (1086, True), (1121, True), (1183, True),
                (1204, True), (1248, True)]


@pytest.mark.skipif("c" not in COMPILED, reason="no C backend")
@pytest.mark.parametrize("seed,rosenbrock_like", WRONG_BEFORE)
def test_generated_programs_once_miscompiled(seed, rosenbrock_like, monkeypatch):
    _check_random_program(seed, rosenbrock_like, monkeypatch)


@pytest.mark.slow
@pytest.mark.skipif("c" not in COMPILED, reason="no C backend")
@pytest.mark.parametrize("rosenbrock_like", [False, True])
def test_generated_programs(rosenbrock_like, monkeypatch):
    """The fuzz run: 300 programs per kind (LAMINA_FUZZ_EXAMPLES), c against interp."""
    count = int(os.environ.get("LAMINA_FUZZ_EXAMPLES", "300"))
    start = 1000 if rosenbrock_like else 0
    for seed in range(start, start + count):
        _check_random_program(seed, rosenbrock_like, monkeypatch)
