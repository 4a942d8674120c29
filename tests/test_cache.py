"""The compile cache: content addressing, corruption detection, concurrency, permissions.

Faults (damaged or foreign entries, hostile files, hanging or broken compilers, a full
or read-only disk) and bounds (in-memory LRU, disk cap, recompile warning) are in
tests/test_cache_faults.py."""

import ctypes
import multiprocessing
import os
import stat

import pytest

from lamina.errors import CompileError
from lamina.runtime import cache


def _source(tag: int) -> str:
    return f"int lamina_answer(void) {{ return {tag}; }}\n"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("LAMINA_CACHE_DIR", str(path))
    monkeypatch.setattr(cache, "_LOADED", {})
    return path


def _key(source):
    return cache.cache_key(source, cache._compiler(), cache.all_flags(cache._compiler()))


def _entry(cache_dir, source):
    return cache_dir / f"{_key(source)}.so"


def test_compiles_once_and_reuses_the_entry(cache_dir):
    lib = cache.load(_source(41))
    assert lib.lamina_answer() == 41
    so = _entry(cache_dir, _source(41))
    inode = so.stat().st_ino
    cache._LOADED.clear()
    assert cache.load(_source(41)).lamina_answer() == 41
    assert so.stat().st_ino == inode  # loaded again, not rebuilt


def test_cache_dir_is_user_only(cache_dir):
    cache.load(_source(1))
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    os.chmod(cache_dir, 0o777)  # loosened by someone: tightened again before use
    cache._LOADED.clear()
    assert cache.load(_source(1)).lamina_answer() == 1
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700


@pytest.mark.parametrize("damage", ["corrupt", "truncate", "drop_stamp"])
def test_damaged_entry_is_rebuilt(cache_dir, damage):
    source = _source(7 + len(damage))
    cache.build(source)  # built but not loaded: a loaded library must not be damaged
    so = _entry(cache_dir, source)
    good = so.read_bytes()
    if damage == "corrupt":
        data = bytearray(good)
        data[len(data) // 2] ^= 0xFF
        so.write_bytes(bytes(data))
    elif damage == "truncate":
        so.write_bytes(good[: len(good) // 3])
    else:
        so.write_bytes(good[: -cache.cache_store.binary_stamp_size("so")])
    cache._LOADED.clear()
    assert cache.load(source).lamina_answer() == 7 + len(damage)
    cache.verified_digest(_key(source), str(cache_dir))  # raises if still damaged


def test_failed_compile_leaves_no_files(cache_dir):
    cache.load(_source(3))  # the directory exists with one good entry
    before = sorted(os.listdir(cache_dir))
    with pytest.raises(CompileError, match="the C compiler failed"):
        cache.load("int broken( {\n")
    assert sorted(os.listdir(cache_dir)) == before


def _compile_in_child(args) -> int:
    directory, source = args
    os.environ["LAMINA_CACHE_DIR"] = directory
    lib = cache.load(source)
    return ctypes.CDLL(lib._name).lamina_answer()


def test_concurrent_processes_compiling_the_same_program_all_succeed(cache_dir):
    source = _source(1234)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(8) as pool:
        results = pool.map(_compile_in_child, [(str(cache_dir), source)] * 8)
    assert results == [1234] * 8
    cache.verified_digest(_key(source), str(cache_dir))
    leftovers = [n for n in os.listdir(cache_dir) if n.startswith(".")]
    assert leftovers == []


def test_compiler_probe_is_remembered_on_disk(cache_dir, monkeypatch):
    """A new process asks the compiler for its version and flags once per compiler binary;
    later processes read the answer from the cache (warm start skips two subprocesses)."""
    from lamina.runtime import toolchain

    cc = cache._compiler()
    toolchain._probe.cache_clear()
    first = toolchain.probe(cc)
    assert list(cache_dir.glob("compiler-*.json"))

    def no_subprocess(*args, **kwargs):
        raise AssertionError("the compiler was probed again")

    monkeypatch.setattr(toolchain, "run", no_subprocess)
    toolchain._probe.cache_clear()
    assert toolchain.probe(cc) == first
    toolchain._probe.cache_clear()


def test_big_programs_compile_as_parallel_units(cache_dir, monkeypatch):
    """A program over the size threshold is cut into one unit per core at the codegen's
    markers (kernels spread over units, the entry in its own), compiled in parallel and
    linked; it computes the same as the single-unit build."""
    import numpy as np

    import lamina as lm

    x = np.random.default_rng(0).standard_normal((64, 48)).astype(np.float32)

    def program(x):  # several kernels: two reductions over different dims, a GEMM
        a = (x.exp() * 2).sum(dim=0)
        b = x.tanh().amax(dim=1)
        return (x @ x.T).relu() + b[:, None], a

    want = lm.jit(program)(x)
    source = lm.jit(program).lower(x).source()
    monkeypatch.setattr(cache, "SPLIT_MIN_CHARS", 0)
    monkeypatch.setattr(cache, "_compile_jobs", lambda: 3)
    monkeypatch.setattr(cache, "_LOADED", {})
    units = cache.split_units(source, 3)
    assert units is not None and len(units) == 3, units and len(units)
    assert all("LM_KERNEL void" in u for u in units)
    assert "lamina_main" in units[0] and all("lamina_main" not in u for u in units[1:])
    calls = []
    real = cache._compile_units
    monkeypatch.setattr(cache, "_compile_units", lambda *a: calls.append(a) or real(*a))
    monkeypatch.setenv("LAMINA_EXTRA_CFLAGS", "-DLM_TEST_SPLIT")  # a new cache key
    got = lm.jit(program)(x)
    assert len(calls) == 1 and len(calls[0][0]) == 3
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-5)
