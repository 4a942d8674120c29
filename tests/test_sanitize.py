"""The generated C under AddressSanitizer and UndefinedBehaviorSanitizer.

A subprocess runs op-table rows on the C backend compiled with
`LAMINA_EXTRA_CFLAGS=-fsanitize=address,undefined ...` (the knob the C backend
adds to its flags; the cache key includes the flags, so sanitized libraries
never mix with plain ones). The Python interpreter is not instrumented, so the
ASan runtime is `LD_PRELOAD`ed (a ctypes-loaded ASan library needs it first in
the link order). Leak detection is off (CPython "leaks" by design); UBSan halts
on the first report. A positive control (an out-of-bounds read compiled the same
way) proves the sanitizers are live, so "no report" means something.

The default subset (every 8th row plus the indexing/window rows that compute
addresses) keeps this under a minute; `LAMINA_SANITIZE_ALL=1` runs every row.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FLAGS = "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
ADDRESS_ROWS = {"gather-embedding", "getitem-advanced", "getitem-mask", "take_along",
                "scatter_add-along", "setitem-advanced", "pad-interior", "slice-negative-step",
                "roll", "conv2d-all", "conv_transpose2d", "max_pool2d-overlap-padding",
                "avg_pool2d-padding", "select_and_scatter_add"}  # rows that compute addresses

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, {here!r})
    import lamina as lm
    from opcases import all_cases

    wanted = set(sys.argv[1:])
    done = 0
    for case in all_cases():
        if case.name not in wanted:
            continue
        inputs = case.make_inputs()
        got = np.asarray(lm.jit(case.fn, backend="c")(*inputs))
        want = case.oracle(*inputs)
        if got.dtype == np.bool_ or np.issubdtype(got.dtype, np.integer):
            np.testing.assert_array_equal(got, want, err_msg=case.name)
        else:
            np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol,
                                       err_msg=case.name)
        done += 1
    print("ROWS", done)

    # integer corners where C has undefined behaviour: overflow, INT_MIN / -1, x / 0
    big = np.array([2**31 - 1, -2**31, 7, -7], np.int32)
    one = np.array([1, -1, 0, 2], np.int32)
    np.testing.assert_array_equal(lm.jit(lambda a, b: a + b)(big, one).numpy(),
                                  (big.astype(np.int64) + one).astype(np.int32))
    np.testing.assert_array_equal(lm.jit(lambda a, b: a * b)(big, big).numpy(),
                                  (big.astype(np.int64) * big).astype(np.int32))
    np.testing.assert_array_equal(lm.jit(lambda a: -a)(big).numpy(),
                                  (-big.astype(np.int64)).astype(np.int32))
    lm.jit(lambda a, b: (a // b, a % b))(big, one)  # values: test_numerics_semantics
    print("INTEGER CORNERS")
""")

CONTROL = textwrap.dedent("""
    import ctypes
    from lamina.runtime import cache
    lib = cache.load('''
    #include <stdlib.h>
    int lamina_oob(int i) {{ int *p = malloc(4 * sizeof(int)); int v = p[i]; free(p); return v; }}
    ''')
    lib.lamina_oob.argtypes = [ctypes.c_int]
    print("in bounds", lib.lamina_oob(1))
    lib.lamina_oob({index})
    print("NOT DETECTED")
""")

FREED = textwrap.dedent("""
    from lamina.runtime import cache
    lib = cache.load(
        "#include <stdlib.h>\\n"
        "int lamina_ok(int i) { return i; }\\n"
        "int lamina_uaf(int i) { int *p = malloc(16); p[0] = i; free(p); return p[0]; }\\n")
    print("in bounds", lib.lamina_ok(1))
    lib.lamina_uaf(3)
    print("NOT DETECTED")
""")

OVERFLOW = textwrap.dedent("""
    from lamina.runtime import cache
    lib = cache.load("int lamina_inc(int a) { return a + 1; }")
    print("in bounds", lib.lamina_inc(1))
    lib.lamina_inc(2**31 - 1)
    print("NOT DETECTED")
""")


def _runtime() -> str:
    cc = os.environ.get("LAMINA_CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip(f"no C compiler {cc!r}")
    found = subprocess.run([cc, "-print-file-name=libasan.so"], capture_output=True,
                           text=True).stdout.strip()
    if not os.path.isabs(found) or not os.path.exists(found):
        pytest.skip(f"{cc} has no ASan runtime (libasan.so)")
    return found


def _run(code: str, args: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update({
        "LAMINA_EXTRA_CFLAGS": FLAGS,
        "LAMINA_CACHE_DIR": str(tmp_path / "cache"),
        "LAMINA_BACKEND": "c",
        "LD_PRELOAD": _runtime(),
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:halt_on_error=1",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
        "OMP_NUM_THREADS": "2",
    })
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=300)


def _rows() -> list[str]:
    from opcases import all_cases

    names = [c.name for c in all_cases()]
    if os.environ.get("LAMINA_SANITIZE_ALL") == "1":
        return names
    return [n for i, n in enumerate(names) if i % 8 == 0 or n in ADDRESS_ROWS]


def test_sanitizers_are_live(tmp_path):
    """Positive controls: an out-of-bounds read and a signed overflow both stop the run."""
    for code, report in [(CONTROL.format(index=9), "runtime error: load of address"),
                         (FREED, "AddressSanitizer: heap-use-after-free"),
                         (OVERFLOW, "runtime error: signed integer overflow")]:
        done = _run(code, [], tmp_path)
        assert "in bounds" in done.stdout, done.stderr[-3000:]
        assert "NOT DETECTED" not in done.stdout
        assert done.returncode != 0 and report in done.stderr, done.stderr[-3000:]


def test_op_table_rows_under_asan_and_ubsan(tmp_path):
    rows = _rows()
    done = _run(CHILD.format(here=HERE), rows, tmp_path)
    report = done.stderr[-6000:]
    assert "Sanitizer" not in done.stderr and "runtime error" not in done.stderr, report
    assert done.returncode == 0, report
    assert f"ROWS {len(rows)}" in done.stdout, (done.stdout[-2000:], report)
