"""C compiler miscompiles lamina works around, each pinned by its reproducer.

GCC 12.2 + AVX-512VL: the eager gradient of lm.unbind / lm.chunk came out with zeros
(issue 13). lamina-bisect named `lower-loop-to-cpu` with the IR right (-O0 right) and
-fno-unswitch-loops as the smallest fix; tests/data/gcc12_unswitch_ifcvt_miscompile.c
is the reduced kernel and says what GCC does wrong. The default C flags
(`lamina.knobs.DEFAULT_CFLAGS`) carry the workaround.

The same if-conversion fault, reached through jump threading and sinking instead of
unswitching, lost terms of the eager Rosenbrock gradient (tests/test_slice_gradients.py):
tests/data/gcc12_sink_ifcvt_miscompile.c is its kernel. No flag tried was both
complete and cheap: -fno-tree-sink left 3 of the 7 wrong programs a fuzz found wrong;
-fno-trapping-math made the CNN step 3-5x slower and -fno-tree-loop-if-convert the row
softmax 5x (this shared VM). The `cpu-hoist-invariants` pass computes the invariant
product before the kernel, where nothing copies it."""

import os
import shutil
import subprocess

import numpy as np
import pytest

import lamina as lm
from lamina import knobs

DATA = os.path.join(os.path.dirname(__file__), "data")
REPRODUCER = os.path.join(DATA, "gcc12_unswitch_ifcvt_miscompile.c")
SINK_REPRODUCER = os.path.join(DATA, "gcc12_sink_ifcvt_miscompile.c")
WORKAROUND = "-fno-unswitch-loops"
# the default flags before the workaround
UNPATCHED = "-O3 -march=native -fopenmp -shared -fPIC"


def _grad(split, shape, backend, monkeypatch) -> np.ndarray:
    monkeypatch.setenv("LAMINA_BACKEND", backend)
    x0 = np.random.RandomState(0).randn(*shape).astype(np.float32)
    x = lm.tensor(x0, requires_grad=True)
    sum(split(x)).sum().backward()
    return x.grad.numpy()


SPLITS = {"unbind": lambda x: lm.unbind(x, 0),
          "chunk": lambda x: lm.chunk(x, x.shape[0], 0)}


@pytest.mark.parametrize("shape", [(5, 5), (7, 13), (9, 33)])
@pytest.mark.parametrize("split", sorted(SPLITS))
def test_eager_unbind_and_chunk_gradients_on_c_equal_interp(split, shape, monkeypatch):
    want = np.ones(shape, np.float32)  # every element appears once in sum(parts)
    np.testing.assert_array_equal(_grad(SPLITS[split], shape, "interp", monkeypatch), want)
    np.testing.assert_array_equal(_grad(SPLITS[split], shape, "c", monkeypatch), want)
    jitted = lm.jit(lm.grad(lambda x: sum(SPLITS[split](x)).sum()), backend="c")
    np.testing.assert_array_equal(np.asarray(jitted(np.ones(shape, np.float32))), want)


def test_eager_unbind_gradient_matches_torch(monkeypatch):
    torch = pytest.importorskip("torch")
    x0 = np.random.RandomState(1).randn(5, 5).astype(np.float32)
    t = torch.tensor(x0, requires_grad=True)
    sum(torch.unbind(t, 0)).sum().backward()
    got = _grad(SPLITS["unbind"], (5, 5), "c", monkeypatch)
    np.testing.assert_array_equal(got, t.grad.numpy())


def test_the_default_c_flags_carry_the_workaround(monkeypatch):
    monkeypatch.delenv("LAMINA_CFLAGS", raising=False)
    assert WORKAROUND in knobs.cflags()


def _compile_and_run(flags: list[str], tmp_path, source: str = REPRODUCER
                     ) -> subprocess.CompletedProcess:
    cc = shutil.which(knobs.cc())
    if cc is None:
        pytest.skip(f"no C compiler {knobs.cc()!r}")
    exe = str(tmp_path / "repro")
    flags = [f for f in flags if f not in ("-shared", "-fPIC")]
    subprocess.run([cc, *flags, source, "-o", exe], check=True, capture_output=True)
    return subprocess.run([exe], capture_output=True, text=True, timeout=60)


def test_the_reproducer_is_right_with_the_default_flags(tmp_path, monkeypatch):
    monkeypatch.delenv("LAMINA_CFLAGS", raising=False)
    monkeypatch.delenv("LAMINA_EXTRA_CFLAGS", raising=False)
    done = _compile_and_run(knobs.cflags(), tmp_path)
    assert done.returncode == 0, done.stdout


def test_the_reproducer_needs_the_workaround_on_this_compiler(tmp_path):
    """Documents why the flag is there: where this compiler and CPU miscompile the
    reduced kernel without it, the rows of the report come out zero."""
    done = _compile_and_run(UNPATCHED.split(), tmp_path)
    if done.returncode == 0:
        pytest.skip("this C compiler / CPU compiles the reproducer right without "
                    f"{WORKAROUND}")
    assert "o[2][0] = 0, want 1" in done.stdout
    assert _compile_and_run([*UNPATCHED.split(), WORKAROUND], tmp_path).returncode == 0


def test_lamina_bisect_blames_the_compiler_flags_not_the_pass(tmp_path, monkeypatch):
    """The bisector on the unbind gradient (the program LAMINA_DUMP wrote): right with
    the default flags; without the workaround (where this compiler miscompiles) it names
    cpu-parallelize (the pass that makes the inner loop `omp simd`, which gcc then
    miscompiles), right at -O0, and the workaround as a fix."""
    from xdsl.parser import Parser

    from lamina.passes.pipeline import context
    from lamina.tools import bisect, bisect_cflags

    with open(os.path.join(DATA, "unbind_backward.mlir")) as f:
        module = Parser(context(), f.read()).parse_module()
    inputs = [np.random.RandomState(0).randn(5, 5).astype(np.float32),
              np.ones((), np.float32)]
    monkeypatch.delenv("LAMINA_CFLAGS", raising=False)
    monkeypatch.delenv("LAMINA_EXTRA_CFLAGS", raising=False)
    report = bisect.bisect(module, inputs, out_dir=str(tmp_path))
    assert not report.diverged, report.describe()

    monkeypatch.setenv("LAMINA_CFLAGS", UNPATCHED)
    monkeypatch.setattr(bisect_cflags, "SUSPECT_OPTIMISATIONS",
                        (WORKAROUND, "-fno-tree-slp-vectorize"))
    report = bisect.bisect(module, inputs, out_dir=str(tmp_path))
    if not report.diverged:
        pytest.skip(f"this C compiler / CPU is right without {WORKAROUND}")
    assert report.culprit is not None and report.culprit.name == "cpu-parallelize"
    assert [m.first_index for m in report.culprit.mismatches] == [(2, 0)]
    flags = report.flags
    assert flags is not None and flags.at_o0 == "right"
    assert flags.right[0].label == f"add {WORKAROUND}"


def test_the_sink_reproducer_documents_why_invariants_are_hoisted(tmp_path, monkeypatch):
    """Where this compiler and CPU miscompile the Rosenbrock kernel with lamina's own
    flags, it is the w[1:] term of elements 1 and 2 that is lost; the flags alone do
    not help, which is why the kernel no longer computes the invariant in its loop."""
    monkeypatch.delenv("LAMINA_CFLAGS", raising=False)
    monkeypatch.delenv("LAMINA_EXTRA_CFLAGS", raising=False)
    done = _compile_and_run(knobs.cflags(), tmp_path, SINK_REPRODUCER)
    if done.returncode == 0:
        pytest.skip("this C compiler / CPU compiles the sink reproducer right")
    assert "g[1] = 2802, want 2752" in done.stdout


def test_the_rosenbrock_kernel_takes_the_invariant_product_as_an_arg():
    """The gradient's kernel reads `s * 100` as a scalar param computed before it (the
    shape GCC compiles right), not as a product inside its simd loop."""
    def f(w, s):
        return (s * (100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2)).sum()

    x = np.array([-1.5, 2.0, 0.5, -0.5], np.float32)
    lowered = lm.jit(lm.grad(f)).lower(x, np.float32(1.0), backend="c")
    hw = lowered.ir("hw")
    kernel = next(line for line in hw.splitlines() if "cpu.kernel" in line)
    assert kernel.rstrip(" {").endswith(", f32)"), kernel
    before = hw[:hw.index("cpu.kernel")]
    assert "arith.mulf" in before and "cpu.load" in before
