"""A missing or broken toolchain is a clear `CompileError` saying what to install (or
which backend to pick instead), never a traceback from deep inside a backend.

In-process checks use a fresh program per test (the compile caches key on the
program, and the C compiler is looked up before any cache is consulted).
Missing Python packages are simulated in a subprocess whose `sitecustomize`
makes `import triton` / `import torch` fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina as lm
from lamina.runtime import backends

HERE = os.path.basename(__file__)
X = np.arange(4, dtype=np.float32)


def _line_of(fn) -> str:
    return f"{HERE}:{fn.__code__.co_firstlineno}"


# ---------------------------------------------------------------- the C compiler


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("LAMINA_CACHE_DIR", str(path))
    return path


def test_missing_c_compiler_says_what_to_install(private_cache, monkeypatch):
    monkeypatch.setenv("LAMINA_CC", "/nonexistent/cc")
    call = lambda: lm.jit(lambda a: a * 3.25 + 0.5, backend="c")(X)  # noqa: E731
    with pytest.raises(lm.CompileError) as info:
        call()
    message = str(info.value)
    for fragment in ("/nonexistent/cc", "not found", "install gcc", "LAMINA_CC",
                     "LAMINA_BACKEND=interp", _line_of(call)):
        assert fragment in message, (fragment, message)


def test_compiler_that_fails_leaves_no_files(private_cache, monkeypatch):
    monkeypatch.setenv("LAMINA_CC", "false")  # found, runs, exits 1
    call = lambda: lm.jit(lambda a: a * 4.75 - 1.0, backend="c")(X)  # noqa: E731
    with pytest.raises(lm.CompileError, match="the C compiler failed") as info:
        call()
    assert _line_of(call) in str(info.value)
    assert [n for n in os.listdir(private_cache) if n != "triton"] == []


def test_bad_compiler_flag_shows_the_compiler_output(private_cache, monkeypatch):
    monkeypatch.setenv("LAMINA_EXTRA_CFLAGS", "-fno-such-lamina-flag")
    with pytest.raises(lm.CompileError) as info:
        lm.jit(lambda a: a * 5.5, backend="c")(X)
    assert "-fno-such-lamina-flag" in str(info.value)
    assert "source kept at" in str(info.value)


# ---------------------------------------------------------------- subprocesses

BLOCKER = textwrap.dedent("""
    import os, sys

    BLOCKED = set(os.environ.get("LAMINA_TEST_BLOCK", "").split(","))

    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _Block())
""")


def _run(script: str, tmp_path, block: str = "", **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "site").mkdir(exist_ok=True)
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCKER)
    path = tmp_path / "user_program.py"
    path.write_text(textwrap.dedent(script))
    full = dict(os.environ)
    full.pop("LAMINA_BACKEND", None)
    full.update({"PYTHONPATH": str(tmp_path / "site"), "LAMINA_TEST_BLOCK": block,
                 "LAMINA_CACHE_DIR": str(tmp_path / "cache"), **env})
    return subprocess.run([sys.executable, str(path)], env=full, capture_output=True,
                          text=True, timeout=300)


def test_no_compiler_falls_back_to_the_interpreter(tmp_path):
    done = _run("""
        import numpy as np
        import lamina as lm
        from lamina.runtime import backends
        print("default", backends.default_name())
        print("eager", (lm.tensor(np.arange(3.0)) * 2).numpy().tolist())
        print("jit", lm.jit(lambda a: a.sum())(np.ones(5, np.float32)).numpy().tolist())
    """, tmp_path, LAMINA_CC="/nonexistent/cc")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "default interp" in done.stdout
    assert "eager [0.0, 2.0, 4.0]" in done.stdout and "jit 5.0" in done.stdout


@pytest.mark.parametrize("package", ["triton", "torch"])
def test_missing_python_package_for_the_triton_backend(package, tmp_path):
    if "triton" not in backends.available():
        pytest.skip("the triton backend is not registered")
    done = _run("""
        import numpy as np
        import lamina as lm
        from lamina.runtime import backends
        print("default", backends.default_name())
        print("c still works", lm.jit(lambda a: a + 1)(np.ones(2, np.float32)).numpy().tolist())
        try:
            lm.jit(lambda a: a + 1, backend="triton")(np.ones(2, np.float32))  # line 8
        except lm.CompileError as err:
            print("MESSAGE", err)
    """, tmp_path, block=package)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "default triton" not in done.stdout
    assert "c still works [2.0, 2.0]" in done.stdout
    message = done.stdout.split("MESSAGE", 1)[-1]
    for fragment in (f"'{package}' package cannot be imported", f"pip install {package}",
                     "backend='c'", "user_program.py:8"):
        assert fragment in message, (fragment, done.stdout[-2000:])


def test_forced_triton_without_a_gpu_runs_in_the_interpreter():
    """Without a GPU the triton backend runs its kernels in Triton's interpreter (the
    only mode it offers there): forcing it works, it is only slow."""
    if "triton" not in backends.available():
        pytest.skip("the triton backend is not registered")
    from lamina.runtime import triton_backend

    if triton_backend._has_gpu_device():
        pytest.skip("this machine has a GPU")
    assert triton_backend.interpreting()
    got = lm.jit(lambda a, b: (a * b).sum(dim=0), backend="triton")(X.reshape(2, 2), X[:2])
    np.testing.assert_allclose(np.asarray(got), (X.reshape(2, 2) * X[:2]).sum(0))
