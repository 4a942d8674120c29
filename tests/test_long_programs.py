"""Long programs compile: nothing in the compiler recurses once per op of a program
(issue 15, item 9). Before, a chain of ~250 fused elementwise ops overflowed Python's
recursion limit in lower-hl-to-loop's element emission."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import lamina as lm


def _chain(n: int):
    def f(z, y):
        for _ in range(n):
            z = z * 1.0001 + y
        return z

    return f


def _numpy_chain(n: int, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    z = z.copy()
    for _ in range(n):
        z = z * np.float32(1.0001) + y
    return z


Z, Y = np.linspace(-1, 1, 8, dtype=np.float32), np.full(8, 0.5, np.float32)


# the element emission took ~4 Python frames per fused op: 400 steps (800 ops) went past
# the default recursion limit of 1,000 frames (250 steps already did)
STEPS = 400


def test_a_chain_past_the_recursion_limit_runs_eagerly_and_jitted():
    assert sys.getrecursionlimit() <= 4 * 2 * STEPS
    n = STEPS  # one kernel of 2n fused elementwise ops
    want = _numpy_chain(n, Z, Y)
    z = lm.tensor(Z)
    for _ in range(n):
        z = z * 1.0001 + lm.tensor(Y)
    np.testing.assert_allclose(z.numpy(), want, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(lm.jit(_chain(n))(Z, Y)), want, rtol=1e-4)


def test_the_gradient_of_a_long_chain():
    n = STEPS
    g = lm.jit(lm.grad(lambda z, y: _chain(n)(z, y).sum()))(Z, Y)
    np.testing.assert_allclose(np.asarray(g), np.full(8, 1.0001 ** n, np.float32), rtol=1e-4)


@pytest.mark.slow
def test_a_100000_op_chain_goes_through_the_whole_c_pipeline():
    """Trace, simplify, lower to loop and cpu, and emit C for 100,000 hl ops (the C
    compiler is not run on it: gcc on a 100,000-statement function is its own matter)."""
    from lamina.codegen.c import emit_c
    from lamina.frontend.trace import trace
    from lamina.passes.pipeline import run_pipeline

    n = 50_000  # mul and add per step; the constant is shared after cse
    module = trace(_chain(n), Z, Y).module
    assert sum(1 for _ in module.walk()) > 100_000
    run_pipeline(module, "c-pipeline")
    assert emit_c(module).count(" * ") >= n


@pytest.mark.slow
def test_a_20000_op_chain_compiles_and_runs():
    n = 10_000
    np.testing.assert_allclose(np.asarray(lm.jit(_chain(n))(Z, Y)), _numpy_chain(n, Z, Y),
                               rtol=1e-3)
