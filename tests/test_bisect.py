"""lamina-bisect (lamina/tools/bisect.py): a deliberately wrong pass injected into a
pipeline is named, with the IR before and after it; correct pipelines report no
divergence; the command line's exit statuses and one-line errors."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lamina.passes import registry
from lamina.tools import bisect, bisect_cflags, bisect_values

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# an hl program with an arith.addf at loop level (x * y + x) and a subtraction
PROGRAM = """\
builtin.module {
  func.func @f(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
    %0 = hl.mul %x, %y : tensor<4x8xf32>
    %1 = hl.add %0, %x : tensor<4x8xf32>
    %2 = hl.sub %1, %y : tensor<4x8xf32>
    func.return %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>
  }
}
"""

# test-only passes, loaded by the registry from a module on sys.path as real ones are
BAD_PASSES = '''
from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.passes import ModulePass


@dataclass(frozen=True)
class FlipOneAddf(ModulePass):
    """loop or cpu -> same level (test only): the first arith.addf becomes arith.subf."""

    name = "flip-one-addf"

    def apply(self, ctx, module):
        for op in module.walk():
            if isinstance(op, arith.AddfOp):
                new = arith.SubfOp(op.lhs, op.rhs)
                op.parent_block().insert_op_before(new, op)
                op.result.replace_all_uses_with(new.result)
                op.detach()
                op.erase()
                return


@dataclass(frozen=True)
class SwapFirstSub(ModulePass):
    """hl -> hl (test only): the operands of the first hl.sub change places."""

    name = "swap-first-sub"

    def apply(self, ctx, module):
        for op in module.walk():
            if op.name == "hl.sub":
                op.operands = [op.operands[1], op.operands[0]]
                return


@dataclass(frozen=True)
class Crash(ModulePass):
    """any level (test only): raises."""

    name = "crash"

    def apply(self, ctx, module):
        raise RuntimeError("the test pass crashed")
'''


@pytest.fixture
def bad_passes(tmp_path, monkeypatch):
    """Registers flip-one-addf, swap-first-sub and crash (PassInfo rows in
    registry.PASSES, their module written to tmp_path and put on sys.path)."""
    module = f"lamina_bisect_bad_passes_{os.getpid()}"
    (tmp_path / f"{module}.py").write_text(BAD_PASSES)
    monkeypatch.syspath_prepend(str(tmp_path))
    rows = tuple(registry.PassInfo(name, f"{module}:{cls}", "test only")
                 for name, cls in (("flip-one-addf", "FlipOneAddf"),
                                   ("swap-first-sub", "SwapFirstSub"), ("crash", "Crash")))
    monkeypatch.setattr(registry, "PASSES", registry.PASSES + rows)
    yield


def _with(after: str, extra: str, pipeline: str = "c-pipeline") -> str:
    """`pipeline`'s passes with `extra` inserted after the pass `after`."""
    names = registry.split_spec(registry.expand(pipeline))
    at = names.index(after) + 1
    return ",".join(names[:at] + [extra] + names[at:])


def _module(text: str = PROGRAM):
    from xdsl.parser import Parser

    from lamina.passes.pipeline import context

    return Parser(context(), text).parse_module()


# ---------------------------------------------------------------- (a) a wrong pass is named


def test_a_wrong_loop_rewrite_is_named_with_the_ir_before_and_after(bad_passes, tmp_path):
    spec = _with("lower-hl-to-loop", "flip-one-addf")
    report = bisect.bisect(_module(), pipeline=spec, out_dir=str(tmp_path / "out"))
    culprit = report.culprit
    assert culprit is not None and culprit.name == "flip-one-addf"
    assert (culprit.status, culprit.level) == ("diverged", "loop")
    assert [s.status for s in report.steps[:culprit.index]] == ["ok"] * culprit.index
    assert len(report.steps) == culprit.index + 1  # stops at the first divergence
    # result 0 (x*y + x) and result 1 (its difference with y) both differ
    assert [m.output for m in culprit.mismatches] == [0, 1]
    m = culprit.mismatches[0]
    assert m.count == m.size == 32 and m.first_index == (0, 0)
    before = open(report.files["before"]).read()
    after = open(report.files["after"]).read()
    assert before.count("arith.addf") == 1 and after.count("arith.addf") == 0
    assert after.count("arith.subf") == before.count("arith.subf") + 1
    diff = open(report.files["diff"]).read()
    assert "-" in diff and any(line.startswith("+") and "arith.subf" in line
                               for line in diff.splitlines())
    text = report.describe()
    assert "FIRST DIVERGENCE: pass 'flip-one-addf'" in text
    assert "the IR before it gives the reference's values (loop interpreter)" in text


def test_a_wrong_hl_rewrite_is_named_at_hl_level(bad_passes, tmp_path):
    report = bisect.bisect(_module(), pipeline=_with("canonicalize", "swap-first-sub"),
                           out_dir=str(tmp_path))
    assert report.culprit is not None and report.culprit.name == "swap-first-sub"
    assert report.culprit.level == "hl"
    assert [m.output for m in report.culprit.mismatches] == [1]  # only x*y+x-y changed


def test_a_wrong_cpu_rewrite_is_blamed_on_the_ir_not_the_c_compiler(bad_passes, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(bisect_cflags, "SUSPECT_OPTIMISATIONS", ("-fno-unswitch-loops",))
    report = bisect.bisect(_module(), pipeline=_with("lower-loop-to-cpu", "flip-one-addf"),
                           out_dir=str(tmp_path))
    assert report.culprit is not None and report.culprit.name == "flip-one-addf"
    assert report.culprit.level == "cpu"
    assert os.path.exists(report.files["after C"]) and os.path.exists(report.files["before C"])
    flags = report.flags
    assert flags is not None and flags.at_o0 == "wrong" and not flags.right
    assert "wrong at -O0 too: the fault is in the pass's IR" in report.describe()


def test_a_pass_that_raises_is_named(bad_passes, tmp_path):
    report = bisect.bisect(_module(), pipeline="canonicalize,crash,lower-hl-to-loop",
                           out_dir=str(tmp_path))
    assert report.culprit is not None and report.culprit.name == "crash"
    assert report.culprit.status == "pass failed"
    assert "RuntimeError: the test pass crashed" in report.describe()
    assert "Traceback" in open(report.files["after"]).read()  # kept for the developer


def test_the_c_flag_check_names_the_smallest_change_that_makes_it_right(monkeypatch):
    """The decision, on a stand-in compiler that is wrong at -O3 unless unswitching is
    off or AVX-512 is not used (the real GCC 12 case is in test_c_miscompiles.py)."""
    monkeypatch.setenv("LAMINA_CFLAGS", "-O3 -march=native -fopenmp -shared -fPIC")
    monkeypatch.delenv("LAMINA_EXTRA_CFLAGS", raising=False)
    seen = []

    def run(flags, threads):
        seen.append((tuple(flags), threads))
        wrong = "-O3" in flags and "-march=native" in flags and \
            "-fno-unswitch-loops" not in flags
        return [np.zeros(1) if wrong else np.ones(1)]

    d = bisect_cflags.diagnose("int x;", run, lambda got: bool(got[0][0] == 1))
    assert d.at_o0 == "right" and "the C compiler's optimiser" in d.verdict
    assert [c.label for c in d.right] == [
        "add -fno-unswitch-loops", "without -march=native", "-O2 instead of -O3",
        "-O1 instead of -O3"]
    assert d.right[0].knob == "LAMINA_EXTRA_CFLAGS=-fno-unswitch-loops"
    assert "one OpenMP thread" in [c.label for c in d.wrong]
    assert seen[0][0][0] == "-O0" and (seen[-1][1]) == 1
    text = "\n".join(d.describe())
    assert "smallest change that makes it right: add -fno-unswitch-loops" in text


# ---------------------------------------------------------------- (b) correct pipelines


def test_b_a_correct_c_pipeline_reports_no_divergence(tmp_path):
    import lamina as lm

    def f(x, w, n, mask):
        h = lm.exp(x @ w) / (1.0 + (x @ w).abs())
        return lm.where(mask, h, -h).sum(0), (n * 3 - 1) // 2, h.amax(1) > 1.0

    rng = np.random.default_rng(1)
    args = (rng.standard_normal((6, 5), dtype=np.float32),
            rng.standard_normal((5, 7), dtype=np.float32),
            rng.integers(-9, 9, (6, 7)).astype(np.int32), rng.random((6, 7)) < 0.5)
    report = bisect.bisect_function(f, *args, out_dir=str(tmp_path))
    assert not report.diverged, report.describe()
    levels = [s.level for s in report.steps]
    assert {"hl", "loop", "cpu"} <= set(levels)
    assert all(s.status == "ok" for s in report.steps)
    assert len(report.steps) == 1 + len(registry.split_spec(registry.expand("c-pipeline")))
    assert "no divergence" in report.describe()
    assert not os.listdir(tmp_path)  # nothing to write


def test_b_donated_outputs_are_read_from_the_input_buffer(tmp_path):
    """After donate-buffers the output is written into the donated input: the loop and
    C runners read it there (else the loop step would compare zeros)."""
    text = """\
builtin.module {
  func.func @step(%p: tensor<16xf32>, %g: tensor<16xf32>) -> tensor<16xf32> attributes {lamina.donate = array<i64: 0>} {
    %0 = hl.sub %p, %g : tensor<16xf32>
    func.return %0 : tensor<16xf32>
  }
}
"""
    p, g = np.arange(16, dtype=np.float32), np.ones(16, np.float32)
    report = bisect.bisect(_module(text), [p, g], out_dir=str(tmp_path))
    assert not report.diverged, report.describe()
    after = next(s for s in report.steps if s.name == "donate-buffers")
    assert "lamina.donated = array<i64: 0>" in after.ir
    np.testing.assert_array_equal(p, np.arange(16, dtype=np.float32))  # inputs untouched


def test_b_a_correct_triton_pipeline_reports_no_divergence(tmp_path):
    pytest.importorskip("triton")
    pytest.importorskip("torch")
    report = bisect.bisect(_module(), pipeline="triton-pipeline", out_dir=str(tmp_path))
    assert not report.diverged, report.describe()
    assert report.steps[-1].level == "tile" and report.steps[-1].status == "ok"


# ---------------------------------------------------------------- inputs and comparison


def test_random_inputs_follow_the_signature_and_the_ranges():
    ins = [bisect_values.Param("%a", (50,), d) for d in
           (bisect_values.dtypes.float64, bisect_values.dtypes.int32,
            bisect_values.dtypes.bool_, bisect_values.dtypes.uint8)]
    xs = bisect_values.random_inputs(ins, seed=3, ranges={"*": (2, 4), "1": (-3, -1)})
    assert [x.dtype for x in xs] == [np.float64, np.int32, np.bool_, np.uint8]
    assert 2 <= xs[0].min() and xs[0].max() <= 4
    assert set(np.unique(xs[1])) <= {-3, -2, -1}
    assert set(np.unique(xs[3])) <= {2, 3, 4}
    again = bisect_values.random_inputs(ins, seed=3, ranges={"*": (2, 4), "1": (-3, -1)})
    assert all(np.array_equal(a, b) for a, b in zip(xs, again, strict=True))


def test_compare_uses_a_tolerance_per_dtype():
    f32 = np.array([1.0, np.nan, 3.0], np.float32)
    assert not bisect_values.compare([f32 * (1 + 1e-6)], [f32], ["r"])
    bad = bisect_values.compare([np.array([1.0, np.nan, 2.0], np.float32)], [f32], ["r"])
    assert bad[0].first_index == (2,) and bad[0].count == 1 and bad[0].max_abs == 1.0
    assert bisect_values.compare([np.array([1.0, 0.0, 3.0], np.float32)], [f32], ["r"])
    assert bisect_values.compare([np.array([1, 2])], [np.array([1, 3])], ["i"])[0].count == 1
    shape = bisect_values.compare([np.zeros(3)], [np.zeros(4)], ["s"])[0]
    assert "shape (3,), the reference has (4,)" in shape.detail


# ---------------------------------------------------------------- (c) the command line


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "prog.mlir"
    path.write_text(PROGRAM)
    return str(path)


def test_c_cli_exit_0_without_divergence(program, tmp_path, capsys):
    assert bisect.main([program, "-o", str(tmp_path / "out"), "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "inputs random (seed 7)" in out and "no divergence" in out
    assert "  11  lower-loop-to-cpu" in out  # one row per pass, with timings


def test_c_cli_exit_1_names_the_pass_and_prints_the_diff(bad_passes, program, tmp_path, capsys):
    spec = _with("lower-hl-to-loop", "flip-one-addf")
    assert bisect.main([program, "-p", spec, "-o", str(tmp_path / "out"), "--diff",
                        "--no-cflags"]) == 1
    out = capsys.readouterr().out
    assert "FIRST DIVERGENCE: pass 'flip-one-addf' (step 10, loop -> loop): diverged" in out
    assert "result 0: 32 of 32 elements differ; first at [0, 0]" in out
    assert any(line.startswith("+") and "arith.subf" in line for line in out.splitlines())
    assert sorted(os.listdir(tmp_path / "out")) == [
        "10-flip-one-addf.after.mlir", "10-flip-one-addf.before.mlir", "10-flip-one-addf.diff"]


def test_c_cli_inputs_from_npz_and_saved_inputs(program, tmp_path, capsys):
    saved = str(tmp_path / "used.npz")
    assert bisect.main([program, "--range", "-1:1", "--save-inputs", saved]) == 0
    with np.load(saved) as data:
        assert data["arr_0"].shape == (4, 8) and np.abs(data["arr_0"]).max() <= 1
    assert bisect.main([program, "--inputs", saved]) == 0
    named = str(tmp_path / "named.npz")
    np.savez(named, x=np.ones((4, 8), np.float32), y=np.zeros((4, 8), np.float32))
    assert bisect.main([program, "--inputs", named]) == 0
    assert f"inputs from {named}" in capsys.readouterr().out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("lamina-bisect: error: ")
    return err


@pytest.mark.parametrize("case", ["missing", "parse", "shape", "count", "dtype", "pass",
                                  "range", "range-name", "not-hl"])
def test_c_cli_usage_errors_exit_2_in_one_line(case, program, tmp_path, capsys):
    args = [program]
    bad = tmp_path / "bad.npz"
    if case == "missing":
        args = [str(tmp_path / "nope.mlir")]
    elif case == "parse":
        broken = tmp_path / "broken.mlir"
        broken.write_text(PROGRAM.replace("hl.sub", "hl.subtract"))
        args = [str(broken)]
    elif case == "shape":
        np.savez(bad, np.ones((4, 8), np.float32), np.ones((8, 4), np.float32))
        args += ["--inputs", str(bad)]
    elif case == "count":
        np.savez(bad, np.ones((4, 8), np.float32))
        args += ["--inputs", str(bad)]
    elif case == "dtype":
        np.savez(bad, np.ones((4, 8), np.complex64), np.ones((4, 8), np.float32))
        args += ["--inputs", str(bad)]
    elif case == "pass":
        args += ["-p", "canonicalize,no-such-pass"]
    elif case == "range":
        args += ["--range", "3:1"]
    elif case == "range-name":
        args += ["--range", "z=0:1"]
    elif case == "not-hl":
        empty = tmp_path / "empty.mlir"
        empty.write_text("builtin.module {\n}\n")
        args = [str(empty)]
    assert bisect.main(args) == 2
    err = _one_line_error(capsys)
    expected = {"missing": "nope.mlir: cannot read it", "parse": "broken.mlir:5:",
                "shape": "shape (8, 4), but input %y: 4x8 float32",
                "count": "the program takes 2 inputs", "dtype": "dtype complex64",
                "pass": "no-such-pass", "range": "expected LO:HI with LO < HI",
                "range-name": "names no input 'z'", "not-hl": "no func.func"}[case]
    assert expected in err


def test_c_the_module_entry_point_runs(program, tmp_path):
    """`python -m lamina.tools.bisect` (what the `lamina-bisect` script calls)."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-m", "lamina.tools.bisect", program, "-p",
                           "hl-simplify,hl-to-loop", "-o", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no divergence" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "lamina.tools.bisect", "nope.mlir"],
                             capture_output=True, text=True, env=env, timeout=300)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_c_the_console_script_is_declared():
    text = open(os.path.join(ROOT, "pyproject.toml")).read()
    assert 'lamina-bisect = "lamina.tools.bisect:main"' in text
    assert textwrap.dedent(bisect.__doc__ or "").startswith("`lamina-bisect FILE`")
