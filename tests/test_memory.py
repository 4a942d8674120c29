"""Resources: memory stays flat over many calls, caches do not grow with repetition,
and nothing half-made is left on disk (or loaded from it).

RSS comes from /proc/self/statm (Linux); the slack allowed after a warm-up is a few
MiB, far below what a leak of one buffer per call (here >= 64 KiB) would add over
1,000 calls. Python-level growth is checked with tracemalloc where RSS would be
too coarse.
"""

from __future__ import annotations

import gc
import os
import tracemalloc

import numpy as np
import pytest

import lamina as lm
from lamina.frontend import compile as compile_mod
from lamina.runtime import backends

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
SLACK = 6 * 2**20
CALLS = 1000


def _rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                                reason="RSS is read from /proc (Linux)")


def _flat(step, calls: int = CALLS, warmup: int = 50) -> int:
    """Run `step` `warmup` times, then `calls` times; the RSS growth in bytes."""
    for _ in range(warmup):
        step()
    before = _rss()
    for _ in range(calls):
        step()
    return _rss() - before


@pytest.mark.parametrize("backend", ["c", "interp"])
def test_jitted_calls_keep_memory_flat(backend):
    if backend not in backends.available():
        pytest.skip(f"{backend} is not registered")
    x = np.random.default_rng(0).standard_normal((128, 128)).astype(np.float32)  # 64 KiB
    f = lm.jit(lambda a: lm.nn.functional.softmax(a @ a.T, dim=-1).sum(dim=0), backend=backend)
    growth = _flat(lambda: f(x))
    assert growth < SLACK, f"RSS grew by {growth / 2**20:.1f} MiB over {CALLS} calls"
    assert len(f._cache) == 1


def test_jitted_training_step_keeps_memory_flat():
    rng = np.random.default_rng(1)
    model = lm.nn.Linear(64, 32)
    opt = lm.optim.SGD(model.parameters(), lr=1e-3)
    x = rng.standard_normal((32, 64)).astype(np.float32)
    y = rng.standard_normal((32, 32)).astype(np.float32)

    @lm.jit
    def step(x, y):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    first = float(step(x, y))
    growth = _flat(lambda: step(x, y), calls=500)
    assert growth < SLACK, f"RSS grew by {growth / 2**20:.1f} MiB"
    assert float(step(x, y)) < first  # it trained, so every call really ran
    assert len(step._cache) == 1


# ---------------------------------------------------------------- buffer planning


def test_intermediates_of_one_type_share_storage():
    """lower-hl-to-loop frees each intermediate after its last reader and hands the
    buffer to the next intermediate of the same type (memory.py): a chain of eight
    products needs two intermediate buffers (ping-pong), not seven."""
    rng = np.random.default_rng(3)
    ws = [rng.standard_normal((32, 32)).astype(np.float32) / 6 for _ in range(8)]
    x = rng.standard_normal((16, 32)).astype(np.float32)

    def chain(x, *ws):
        h = x
        for w in ws:
            h = h @ w
        return h

    lowered = lm.jit(chain, backend="c").lower(x, *ws)
    loop_ir = lowered.ir("loop")
    assert loop_ir.count("memref.alloc()") == 2, loop_ir
    expect = x.astype(np.float64)
    for w in ws:
        expect = expect @ w
    np.testing.assert_allclose(lowered.compile()(x, *ws)[0], expect, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("donate", ["1", "0"])
def test_donated_step_takes_no_pooled_output_for_params(donate, monkeypatch):
    """A jitted SGD step on a 512x512 layer: with donation the weight and its momentum
    buffer are updated in their own arrays, so the only pooled (>= 1 MiB) output a call
    takes is the weight's gradient; without it, three."""
    from lamina.runtime import buffers

    monkeypatch.setenv("LAMINA_DONATE", donate)
    rng = np.random.default_rng(4)
    model = lm.nn.Linear(512, 512)
    opt = lm.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = rng.standard_normal((8, 512)).astype(np.float32)

    @lm.jit(backend="c")
    def step(x):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    step(x)
    weight = model.weight.numpy()
    pool = buffers.POOL
    if pool.limit == 0:
        pytest.skip("the output pool is off (LAMINA_POOL_MB=0)")
    before = pool.hits + pool.misses
    step(x)
    taken = pool.hits + pool.misses - before
    assert taken == (1 if donate == "1" else 3)
    assert (model.weight.numpy() is weight) == (donate == "1")


def test_eager_loop_keeps_memory_and_program_cache_flat():
    x = lm.tensor(np.random.default_rng(2).standard_normal((64, 64)).astype(np.float32))

    def step():
        y = (x * 2.0 + 1.0).relu().sum(dim=1)
        return float(y.sum())  # realizes the lazy value every iteration

    step()
    programs = len(compile_mod._CACHE)
    growth = _flat(step)
    assert growth < SLACK, f"RSS grew by {growth / 2**20:.1f} MiB"
    assert len(compile_mod._CACHE) == programs  # one program, reused


def test_eager_loop_next_to_a_live_lazy_tensor_stays_flat():
    """A lazy tensor kept alive for the whole loop pins the eager graph (it cannot be
    replaced); the ops and arrays of realized steps must still be released."""
    pinned = lm.ones((3,)) * 2.0
    w = lm.tensor(np.zeros((256, 256), np.float32))  # 256 KiB per step

    def step():
        nonlocal w
        w = w * 0.5 + 1.0
        w.numpy()

    growth = _flat(step, calls=300)
    assert growth < SLACK, f"RSS grew by {growth / 2**20:.1f} MiB"
    np.testing.assert_allclose(w.numpy(), 2.0)
    np.testing.assert_array_equal(pinned.numpy(), [2.0, 2.0, 2.0])


def test_eager_accumulation_does_not_keep_history():
    """An eager running value (a += ..., 1,000 times) must not keep the whole chain of
    earlier steps alive: Python-level allocations stay flat."""
    acc = lm.zeros((256,))
    one = lm.ones((256,))
    for _ in range(20):
        acc = acc + one * 0.5
        float(acc.sum())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(CALLS):
            acc = acc + one * 0.5
            float(acc[0])
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert float(acc[0]) == pytest.approx(0.5 * (20 + CALLS))
    assert growth < 2 * 2**20, f"Python heap grew by {growth / 2**20:.2f} MiB"


# ---------------------------------------------------------------- nothing half-made on disk


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    from lamina.runtime import cache

    path = tmp_path / "cache"
    monkeypatch.setenv("LAMINA_CACHE_DIR", str(path))
    monkeypatch.setattr(cache, "_LOADED", {})
    return path


def test_failed_compile_through_jit_leaves_no_partial_files(private_cache, monkeypatch):
    lm.jit(lambda a: a + 2.0, backend="c")(np.ones(3, np.float32))  # one good entry
    before = sorted(os.listdir(private_cache))
    monkeypatch.setenv("LAMINA_EXTRA_CFLAGS", "-fno-such-lamina-flag")
    with pytest.raises(lm.CompileError):
        lm.jit(lambda a: a * 7.0, backend="c")(np.ones(3, np.float32))
    assert sorted(os.listdir(private_cache)) == before
    assert not any(n.startswith(".") for n in before)


def test_a_tampered_library_is_never_loaded(private_cache):
    """A .so replaced behind the cache's back (its checksum no longer matches) is
    rebuilt from the source, not loaded: the cache runs only what it compiled."""
    from lamina.runtime import cache

    good = "int lamina_answer(void) { return 42; }\n"
    evil = "int lamina_answer(void) { return 666; }\n"
    _, good_so = cache.build(good)
    _, evil_so = cache.build(evil)
    with open(evil_so, "rb") as f:
        evil_bytes = f.read()
    with open(good_so, "wb") as f:
        f.write(evil_bytes)
    assert cache.load(good).lamina_answer() == 42
    assert not any(n.endswith((".pkl", ".pickle")) for n in os.listdir(private_cache))


def test_damaged_triton_source_in_the_cache_is_rewritten(private_cache):
    if "triton" not in backends.available():
        pytest.skip("the triton backend is not registered")
    import sys

    from lamina.runtime import triton_backend

    source = "import math\nVALUE = math.pi\n"
    module = triton_backend._load_source(source)
    assert module.VALUE == pytest.approx(np.pi)
    (path,) = [p for p in (private_cache / "triton").iterdir() if p.suffix == ".py"]
    path.write_text("VALUE = 'tampered'\n")
    del sys.modules[module.__name__]
    assert triton_backend._load_source(source).VALUE == pytest.approx(np.pi)
    assert oct(os.stat(private_cache).st_mode & 0o777) == oct(0o700)
    assert oct(os.stat(private_cache / "triton").st_mode & 0o077) == oct(0)


def test_damaged_warm_start_plan_falls_back_to_compiling(private_cache):
    x = np.arange(6, dtype=np.float32)

    def affine(a):
        return a * 3.0 + 1.0

    np.testing.assert_allclose(np.asarray(lm.jit(affine, backend="c")(x)), x * 3 + 1)
    plans = list(private_cache.glob("*.plan"))
    assert plans, "the C backend keeps a warm-start plan per program"
    for plan in plans:
        plan.write_text(plan.read_text()[: len(plan.read_text()) // 2])  # truncated JSON
    np.testing.assert_allclose(np.asarray(lm.jit(affine, backend="c")(x)), x * 3 + 1)


def test_a_custom_gradient_op_without_gradients_does_not_pin_the_eager_graph():
    """A custom_vjp call no gradient can flow through (svdvals of a plain tensor) keeps
    no rule: its residuals would keep the eager graph and every later op alive."""
    float(lm.linalg.matrix_norm(lm.tensor(np.random.rand(3, 4).astype(np.float32)), "nuc"))
    w = lm.tensor(np.zeros((256, 256), np.float32))

    def step():
        nonlocal w
        w = w * 0.5 + 1.0
        w.numpy()

    growth = _flat(step, calls=300)
    assert growth < SLACK, f"RSS grew by {growth / 2**20:.1f} MiB"
