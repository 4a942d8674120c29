"""Eager mode, autograd and lm.jit from many threads at once (issue 15, item 2): every
thread gets its own results, with no KeyError / AssertionError / "dictionary changed
size" / "Cannot detach operation". The switch interval is lowered so that threads
interleave inside lamina's bookkeeping, not only between calls."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

import numpy as np
import pytest

import lamina as lm


@pytest.fixture
def fast_switching():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def _in_threads(work: Callable[[int], object], n: int) -> list:
    """Run work(0..n-1) in n threads started together; re-raise the first error."""
    results: list = [None] * n
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as err:  # noqa: BLE001 (reported below, with its thread)
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("round_", range(3))
def test_eager_threads_get_their_own_results(fast_switching, round_):
    def work(i: int) -> list[float]:
        return [float((lm.tensor(np.full(3, i + k, np.float32)) * 2 + 1).sum())
                for k in range(15)]

    results = _in_threads(work, 12)
    for i, got in enumerate(results):
        assert got == [3.0 * (2 * (i + k) + 1) for k in range(15)]


def test_eager_training_in_threads_matches_one_thread(fast_switching):
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(8)]
    w0 = rng.standard_normal((3, 2)).astype(np.float32)

    def train(i: int) -> np.ndarray:
        w = lm.tensor(w0, requires_grad=True)
        opt = lm.optim.SGD([w], lr=0.1)
        for _ in range(4):
            opt.zero_grad()
            loss = (lm.tanh(lm.tensor(xs[i]) @ w) ** 2).mean()
            loss.backward()
            opt.step()
        return w.numpy().copy()

    expected = [train(i) for i in range(8)]
    got = _in_threads(train, 8)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6)


def test_tensors_made_in_one_thread_are_used_in_others(fast_switching):
    x = lm.tensor(np.arange(4, dtype=np.float32), requires_grad=True)
    shared = x * 2.0  # lazy, in the main thread's eager graph, with gradient history

    def work(i: int) -> float:
        loss = (shared * float(i)).sum()
        loss.backward()  # continues into the main thread's graph
        return float(loss)

    results = _in_threads(work, 8)
    assert results == [12.0 * i for i in range(8)]
    # d/dx sum_i (2x * i) = 2 * (0 + 1 + ... + 7), every thread's share accumulated
    np.testing.assert_allclose(x.grad.numpy(), np.full(4, 56.0))
    np.testing.assert_allclose((shared + 1.0).numpy(), np.arange(4) * 2.0 + 1.0)


def test_no_grad_in_one_thread_leaves_other_threads_recording(fast_switching):
    inside, go_on = threading.Event(), threading.Event()

    def work(i: int) -> bool:
        if i == 0:
            with lm.no_grad():
                inside.set()
                go_on.wait(10)
            return True
        inside.wait(10)
        w = lm.tensor(np.ones(2, np.float32), requires_grad=True)
        recorded = (w * 3.0).requires_grad
        go_on.set()
        return recorded

    assert _in_threads(work, 2) == [True, True]


@pytest.mark.parametrize("round_", range(2))
def test_jit_compiles_and_runs_from_many_threads(fast_switching, round_):
    scale = float(round_ + 2)  # a new program each round (the scale is a constant)

    @lm.jit
    def f(x, y):
        return (x * y + scale).sum(dim=0)

    def work(i: int) -> list[np.ndarray]:
        out = []
        for k in range(6):
            n = 1 + (i + k) % 3  # three signatures, compiled while others run
            x = np.full((n, 2), i, np.float32)
            out.append((n, np.asarray(f(x, x + k))))
        return out

    for i, got in enumerate(_in_threads(work, 10)):
        for k, (n, value) in enumerate(got):
            np.testing.assert_allclose(value, np.full(2, n * (i * (i + k) + scale)))


def test_one_program_compiled_by_two_functions_at_once(fast_switching):
    def body(a):
        return lm.exp(a * 0.5).sum()

    fns = [lm.jit(body) for _ in range(6)]
    a = np.linspace(0, 1, 7, dtype=np.float32)
    got = _in_threads(lambda i: float(fns[i](a)), len(fns))
    assert got == pytest.approx([float(np.exp(a * 0.5).sum())] * len(fns), rel=1e-6)
