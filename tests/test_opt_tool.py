"""`lamina-opt` as a user runs it (a subprocess): bad inputs are answered with
`file:line:col: error: ...` and exit status 1, never a Python traceback; the
developer flags (--print-between-passes, --time-passes, --traceback) and the
targets (-t c, -t triton) work. `tests/test_pipelines.py` checks that the named
pipelines reproduce lm.jit."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPT = os.path.join(ROOT, ".venv", "bin", "lamina-opt")


def run(tmp_path, text: str | None, *args: str) -> subprocess.CompletedProcess:
    cmd = [OPT] if os.path.exists(OPT) else [sys.executable, "-m", "lamina.tools.opt"]
    if text is not None:
        path = tmp_path / "input.mlir"
        path.write_text(text)
        cmd.append(str(path))
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    if "--traceback" not in args:
        assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


GOOD = """\
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = hl.exp %x : tensor<4xf32>
  %b = hl.neg %a : tensor<4xf32>
  %c = hl.neg %b : tensor<4xf32>
  func.return %c : tensor<4xf32>
}
"""


def test_good_input_runs_passes(tmp_path):
    proc = run(tmp_path, GOOD, "-p", "canonicalize")
    assert proc.returncode == 0, proc.stderr
    assert "hl.exp" in proc.stdout and "hl.neg" not in proc.stdout


def test_verifier_error_has_line_and_column(tmp_path):
    text = GOOD.replace("%b = hl.neg %a : tensor<4xf32>",
                        "%b = hl.transpose %a perm=[1, 0] : tensor<4xf32> -> tensor<4xf32>")
    proc = run(tmp_path, text)
    assert proc.returncode == 1
    first = proc.stderr.splitlines()[0]
    assert first.endswith("input.mlir:3:3: error: hl.transpose: perm [1, 0] is not a "
                          "permutation of 1 dims (operand types: tensor<4xf32>)"), first
    assert "%b = hl.transpose" in proc.stderr  # the source line is shown


def test_verifier_error_in_nested_region_and_func_signature(tmp_path):
    text = GOOD.replace("func.return %c : tensor<4xf32>", "func.return %x : tensor<4xf64>")
    proc = run(tmp_path, text)
    assert proc.returncode == 1
    assert "input.mlir:5:" in proc.stderr.splitlines()[0]


def test_parse_error(tmp_path):
    proc = run(tmp_path, GOOD.replace("%a = hl.exp %x", "%a = hl.exp %x,"))
    assert proc.returncode == 1
    assert "input.mlir:2:" in proc.stderr and "error:" in proc.stderr


def test_unknown_op(tmp_path):
    proc = run(tmp_path, GOOD.replace("hl.exp", "hl.frobnicate"))
    assert proc.returncode == 1
    assert "input.mlir:2:" in proc.stderr
    assert "hl.frobnicate is not registered" in proc.stderr


def test_undefined_value(tmp_path):
    proc = run(tmp_path, GOOD.replace("hl.exp %x", "hl.exp %nope"))
    assert proc.returncode == 1
    assert "input.mlir:2:" in proc.stderr and "nope" in proc.stderr


def test_truncated_input(tmp_path):
    proc = run(tmp_path, GOOD[: GOOD.index("%c")])
    assert proc.returncode == 1
    assert "input.mlir:" in proc.stderr and "error:" in proc.stderr


@pytest.mark.parametrize("text", ["", "\n\n", "// only a comment\n"])
def test_empty_input_is_an_empty_module(tmp_path, text):
    proc = run(tmp_path, text)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["builtin.module", "{", "}"]


def test_wrong_pass_name_suggests(tmp_path):
    proc = run(tmp_path, GOOD, "-p", "cse,canonicalise")
    assert proc.returncode == 1
    assert "unknown pass or pipeline 'canonicalise'" in proc.stderr
    assert "did you mean 'canonicalize'" in proc.stderr


def test_missing_file(tmp_path):
    proc = run(tmp_path, None, str(tmp_path / "nope.mlir"))
    assert proc.returncode == 1
    assert "nope.mlir" in proc.stderr


def test_help_lists_every_pass_and_pipeline_with_its_description(tmp_path):
    from lamina.passes import registry

    proc = run(tmp_path, None, "--help")
    assert proc.returncode == 0
    out = " ".join(proc.stdout.split())  # argparse may rewrap
    rows = [*registry.PIPELINES, *registry.PASSES]
    for row in rows:
        assert f"{row.name} {row.summary}" in out, row.name
    # the registry's rows in its order, then xDSL's other passes by name
    where = [out.index(f"{row.name} {row.summary}") for row in rows]
    assert where == sorted(where)
    assert where[-1] < out.index("xDSL's other passes") < out.index(" licm ")


def test_unknown_pipeline_suggests(tmp_path):
    proc = run(tmp_path, GOOD, "-p", "c-pipline")
    assert proc.returncode == 1
    assert "unknown pass or pipeline 'c-pipline' (did you mean 'c-pipeline'?)" in proc.stderr
    proc = run(tmp_path, GOOD, "-p", "c-pipeline{until=cpu}")
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("error: pipeline c-pipeline takes one option, until=LEVEL "
                                   "with LEVEL one of hl, loop, hw; got {until=cpu}")


def test_pipeline_until_a_level(tmp_path):
    whole = run(tmp_path, GOOD, "-p", "hl-simplify")
    assert run(tmp_path, GOOD, "-p", "c-pipeline{until=hl}").stdout == whole.stdout
    loop = run(tmp_path, GOOD, "-p", "c-pipeline{until=loop}")
    assert "loop.kernel" in loop.stdout and "cpu." not in loop.stdout


# ---- IR between passes and timing go to stderr; stdout keeps the output alone

def test_print_between_passes(tmp_path):
    plain = run(tmp_path, GOOD, "-p", "canonicalize,cse")
    proc = run(tmp_path, GOOD, "-p", "canonicalize,cse", "--print-between-passes")
    assert proc.returncode == 0 and proc.stdout == plain.stdout
    dumps = proc.stderr.split("// -----// IR Dump After ")
    assert dumps[0] == "" and [d.split()[0] for d in dumps[1:]] == ["canonicalize", "cse"]
    assert dumps[1].partition("//----- //\n")[2] == plain.stdout  # hl.neg pair gone
    assert dumps[2].partition("//----- //\n")[2] == plain.stdout


def test_time_passes(tmp_path):
    plain = run(tmp_path, GOOD, "-p", "c-pipeline")
    proc = run(tmp_path, GOOD, "-p", "c-pipeline", "--time-passes")
    assert proc.returncode == 0 and proc.stdout == plain.stdout
    from lamina.passes import registry

    rows = [line.split()[-1] for line in proc.stderr.splitlines() if "%)" in line]
    passes = [p.partition("{")[0] for p in registry.split_spec(registry.expand("c-pipeline"))]
    assert rows == ["parse", *passes, "verify", "output", "Total"]  # cse twice: two rows
    assert "Execution time report" in proc.stderr
    total = float(proc.stderr.split("Total Execution Time: ")[1].split()[0])
    assert total > 0


# ---- errors raised inside a pass: one line, at the op, naming the pass

LOOP_LEVEL = """func.func @f(%0: memref<4xf32>, %1: memref<4xf32>) {
  loop.kernel "exp_0" parallel [4] (%2) {
    %3 = loop.load %0[%2] : memref<4xf32>
    %4 = math.exp %3 : f32
    loop.store %4, %1[%2] : memref<4xf32>
  }
  func.return
}
"""

CPU_LEVEL = """func.func @f(%0: memref<4xf32>, %1: memref<4xf32>) {
  cpu.kernel "exp_0" parallel [4] (%2) args(%3 = %0, %4 = %1 : memref<4xf32>, memref<4xf32>) {
    %5 = cpu.load %3[%2] : memref<4xf32>
    %6 = math.exp %5 : f32
    cpu.store %6, %4[%2] : memref<4xf32>
  }
  func.return
}
"""


@pytest.mark.parametrize("lowering, text, message", [
    ("lower-hl-to-loop", LOOP_LEVEL, "input.mlir:2:3: error: lower-hl-to-loop: expects "
     "hl-level IR, but the input holds loop-level IR ('loop.kernel')"),
    ("lower-loop-to-cpu", GOOD, "input.mlir:1:1: error: lower-loop-to-cpu: expects "
     "loop-level IR, but the input holds hl-level IR (@f on tensors)"),
    ("lower-loop-to-tile", CPU_LEVEL, "input.mlir:2:3: error: lower-loop-to-tile: expects "
     "loop-level IR, but the input holds cpu-level IR ('cpu.kernel')"),
])
def test_lowering_given_another_level_says_so(tmp_path, lowering, text, message):
    proc = run(tmp_path, text, "-p", lowering)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == [proc.stderr.splitlines()[0]]  # one line
    assert proc.stderr.strip().endswith(message), proc.stderr


def test_error_in_a_pass_working_on_a_clone_names_the_function(tmp_path):
    """autodiff differentiates a clone of the function: the error is located at the
    function the pass was given."""
    text = """\
func.func @g(%x: tensor<4xf32>) -> tensor<4xf32> {
  func.return %x : tensor<4xf32>
}
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> attributes {autodiff} {
  %b = func.call @g(%x) : (tensor<4xf32>) -> tensor<4xf32>
  func.return %b : tensor<4xf32>
}
"""
    proc = run(tmp_path, text, "-p", "autodiff")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"{tmp_path / 'input.mlir'}:4:1: error: autodiff: "
                                        "cannot differentiate through 'func.call' (in @f)"]


def test_traceback_flag_shows_the_python_traceback(tmp_path):
    proc = run(tmp_path, LOOP_LEVEL, "-p", "lower-hl-to-loop", "--traceback")
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert "lamina.errors.CompileError: lower-hl-to-loop: expects hl-level IR" in proc.stderr


RAISING = """
from dataclasses import dataclass

from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (PatternRewriter, PatternRewriteWalker, RewritePattern,
                                   op_type_rewrite_pattern)

from lamina.dialects import hl
from lamina.errors import CompileError


class NoRuleForNeg(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: hl.NegOp, rewriter: PatternRewriter):
        raise CompileError(f"no rule for {op.name} on {op.operands[0].type}")


class Crash(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: hl.NegOp, rewriter: PatternRewriter):
        raise KeyError("oops")


@dataclass(frozen=True)
class Raise(ModulePass):
    name = "raise-it"
    crash: bool = False

    def apply(self, ctx, op):
        PatternRewriteWalker(Crash() if self.crash else NoRuleForNeg()).rewrite_module(op)
"""


def _in_process(tmp_path, monkeypatch, text: str, *args: str) -> tuple[int, str]:
    """Run lamina-opt's main here, with a pass `raise-it` whose pattern raises."""
    import contextlib
    import io

    from lamina.passes import registry
    from lamina.tools import opt

    (tmp_path / "raising.py").write_text(RAISING)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "PASSES", (*registry.PASSES, registry.PassInfo(
        "raise-it", "raising:Raise", "a pattern that raises on hl.neg")))
    path = tmp_path / "input.mlir"
    path.write_text(text)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = opt.main([str(path), *args])
    return code, err.getvalue()


def test_compile_error_in_a_pattern_is_one_line_at_the_op(tmp_path, monkeypatch):
    """xDSL's pattern walker re-raises a pattern's exception with the whole module
    printed as a note; lamina-opt prints one line at the op the pattern was given."""
    code, err = _in_process(tmp_path, monkeypatch, GOOD, "-p", "cse,raise-it")
    assert code == 1
    assert err.splitlines() == [f"{tmp_path / 'input.mlir'}:3:3: error: raise-it: no rule "
                                "for hl.neg on tensor<4xf32>"]


def test_internal_error_in_a_pass_points_at_traceback(tmp_path, monkeypatch):
    code, err = _in_process(tmp_path, monkeypatch, GOOD, "-p", "raise-it{crash=true}")
    assert code == 1
    assert err.splitlines() == [
        f"{tmp_path / 'input.mlir'}:3:3: error: raise-it: internal error (KeyError: "
        "'oops'); rerun with --traceback (at 'hl.neg')"]


def test_a_raising_pass_can_be_an_expected_error(tmp_path, monkeypatch):
    text = GOOD.replace("%b = hl.neg %a : tensor<4xf32>",
                        "%b = hl.neg %a : tensor<4xf32>  // expected-error {{no rule for "
                        "hl.neg}}")
    code, err = _in_process(tmp_path, monkeypatch, text, "-p", "raise-it",
                            "--verify-diagnostics")
    assert (code, err) == (0, "")


# ---- targets

def test_target_of_the_wrong_level_is_one_line(tmp_path):
    proc = run(tmp_path, GOOD, "-t", "c")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"{tmp_path / 'input.mlir'}:1:1: error: -t c: expects cpu-level IR, but the input "
        "holds hl-level IR (@f on tensors); lower it with -p c-pipeline first"]
    proc = run(tmp_path, LOOP_LEVEL, "-t", "triton")
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith(
        "input.mlir:2:3: error: -t triton: expects tile-level IR, but the input holds "
        "loop-level IR ('loop.kernel'); lower it with -p triton-pipeline first")


def test_target_c_prints_the_c_source(tmp_path):
    proc = run(tmp_path, CPU_LEVEL, "-t", "c")
    assert proc.returncode == 0, proc.stderr
    assert "void lamina_main(void **bufs)" in proc.stdout and "expf(" in proc.stdout


def test_target_triton_prints_the_triton_source(tmp_path):
    proc = run(tmp_path, LOOP_LEVEL, "-p", "lower-loop-to-tile", "-t", "triton")
    assert proc.returncode == 0, proc.stderr
    assert "@triton.jit" in proc.stdout and "def launch(" in proc.stdout


# ---- what lamina-opt imports

def test_lamina_opt_loads_no_frontend_runtime_triton_or_torch(tmp_path):
    """Importing the tool, and running it on a file through c-pipeline to C source,
    loads the compiler core only (the runtime pulls in numpy's BLAS, Triton and torch)."""
    (tmp_path / "input.mlir").write_text(GOOD)
    probe = (
        "import sys\n"
        "import lamina.tools.opt as opt\n"
        "heavy = ('lamina.frontend', 'lamina.runtime', 'lamina.api', 'triton', 'torch')\n"
        "def loaded(): return sorted(m for m in sys.modules if m.startswith(heavy))\n"
        "print(loaded())\n"
        "sys.stdout = open('/dev/null', 'w')\n"
        f"code = opt.main([{str(tmp_path / 'input.mlir')!r}, '-p', 'c-pipeline', '-t', 'c'])\n"
        "sys.stdout = sys.__stdout__\n"
        "print(code, loaded())\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.stdout.splitlines() == ["[]", "0 []"], proc.stderr


def test_verify_diagnostics_reports_each_chunk(tmp_path):
    bad = GOOD.replace("%b = hl.neg %a : tensor<4xf32>",
                       "%b = hl.transpose %a perm=[0, 0] : tensor<4xf32> -> tensor<4xf32>")
    proc = run(tmp_path, bad + "\n// -----\n" + bad, "--split-input-file",
               "--verify-diagnostics")
    assert proc.returncode == 0
    lines = [ln for ln in proc.stdout.splitlines() if ": error: " in ln]
    assert len(lines) == 2
    assert "input.mlir:3:3: error: hl.transpose: perm [0, 0]" in lines[0]
    assert "input.mlir:11:3: error: hl.transpose" in lines[1]  # lines count across chunks


BREAK_IT = """
from dataclasses import dataclass

from xdsl.dialects.builtin import TensorType
from xdsl.passes import ModulePass

from lamina.dialects import hl


@dataclass(frozen=True)
class BreakIt(ModulePass):
    name = "break-it"

    def apply(self, ctx, op):
        for o in list(op.walk()):
            if isinstance(o, hl.ExpOp):  # give exp a result type its rule rejects
                o.results[0]._type = TensorType(o.operands[0].type.element_type, [5])
"""


def test_invalid_ir_made_by_a_pass_names_the_pass(tmp_path, monkeypatch):
    """A pass whose output does not verify is reported with its name (in-process)."""
    import contextlib
    import io

    from lamina.passes import registry
    from lamina.tools import opt

    (tmp_path / "break_it.py").write_text(BREAK_IT)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "PASSES", (*registry.PASSES, registry.PassInfo(
        "break-it", "break_it:BreakIt", "gives hl.exp a result type its rule rejects")))
    path = tmp_path / "input.mlir"
    path.write_text(GOOD)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = opt.main([str(path), "-p", "break-it"])
    assert code == 1
    assert "after pass 'break-it'" in err.getvalue()
    assert "input.mlir:2:3" in err.getvalue()


EXPECTING = """\
func.func @a(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{perm [1, 0] is not a permutation of 1 dims}}
  %b = hl.transpose %x perm=[1, 0] : tensor<4xf32> -> tensor<4xf32>
  func.return %b : tensor<4xf32>
}
// -----
func.func @b(%x: tensor<4xi32>) -> tensor<4xi32> {
  %r = hl.exp %x : tensor<4xi32>  // expected-error {{needs a floating-point tensor}}
  func.return %r : tensor<4xi32>
}
"""


def test_expected_errors_met(tmp_path):
    proc = run(tmp_path, EXPECTING, "--split-input-file", "--verify-diagnostics")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_expected_error_not_produced_or_unexpected(tmp_path):
    wrong = EXPECTING.replace("{{needs a floating-point tensor}}", "{{something else}}")
    proc = run(tmp_path, wrong, "--split-input-file", "--verify-diagnostics")
    assert proc.returncode == 1
    assert 'input.mlir:8: error: expected error "something else" was not produced' in proc.stderr
    assert "input.mlir:8: error: unexpected error: hl.exp: needs a floating-point" in proc.stderr
    moved = EXPECTING.replace("expected-error@+1", "expected-error@+2")
    proc = run(tmp_path, moved, "--split-input-file", "--verify-diagnostics")
    assert proc.returncode == 1 and "input.mlir:4: error: expected error" in proc.stderr
    valid = EXPECTING.replace("perm=[1, 0]", "perm=[0]")
    proc = run(tmp_path, valid, "--split-input-file", "--verify-diagnostics")
    assert proc.returncode == 1 and "was not produced" in proc.stderr


# ---- issue 15, items 17-18: every rejection located, never a traceback

def test_malformed_pipeline_spec_is_one_line(tmp_path):
    proc = run(tmp_path, GOOD, "-p", "canonicalize{")
    assert proc.returncode == 1
    assert "malformed pass pipeline 'canonicalize{' at column 14" in proc.stderr


def test_only_working_targets_are_offered(tmp_path):
    proc = run(tmp_path, None, "--help")
    assert "llvm" not in proc.stdout.split("targets (-t)")[1]
    proc = run(tmp_path, GOOD, "-t", "llvm")
    assert proc.returncode == 2 and "invalid choice: 'llvm'" in proc.stderr


def test_wrong_operand_count_is_located_at_the_operands(tmp_path):
    proc = run(tmp_path, GOOD.replace("hl.neg %a", "hl.add %a, %a, %a"))
    assert proc.returncode == 1
    assert "input.mlir:3:15: error: hl.add: expected 2 operands, got 3" in proc.stderr


def test_use_before_definition_is_rejected(tmp_path):
    text = """\
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = hl.add %a, %x : tensor<4xf32>
  func.return %a : tensor<4xf32>
}
"""
    proc = run(tmp_path, text)
    assert proc.returncode == 1
    assert "input.mlir:2:3: error: hl.add: %a is used before it is defined" in proc.stderr
    later = text.replace("%a = hl.add %a, %x", "%a = hl.add %b, %x").replace(
        "  func.return", "  %b = hl.neg %x : tensor<4xf32>\n  func.return")
    proc = run(tmp_path, later)
    assert proc.returncode == 1 and "%b is used before it is defined" in proc.stderr


def test_a_kernel_isolated_from_above_cannot_read_outer_values(tmp_path):
    text = """\
func.func @main(%x: memref<4xf32>, %out: memref<4xf32>) {
  %c = arith.constant 2.0 : f32
  loop.kernel "k" parallel [4] (%i) {
    %v = loop.load %x[%i] : memref<4xf32>
    %r = arith.mulf %v, %c : f32
    loop.store %r, %out[%i] : memref<4xf32>
  }
  func.return
}
"""
    assert run(tmp_path, text).returncode == 0  # loop.kernel reads its function's values
    cpu = text.replace('loop.kernel "k" parallel [4] (%i) {', 'cpu.kernel "k" parallel [4] '
                       '(%i) args(%y = %x, %o = %out : memref<4xf32>, memref<4xf32>) {')
    cpu = cpu.replace("loop.load %x[%i]", "cpu.load %y[%i]").replace(
        "loop.store %r, %out[%i]", "cpu.store %r, %o[%i]")
    proc = run(tmp_path, cpu)  # cpu.kernel is isolated from above: %c is not visible
    assert proc.returncode == 1 and "used before it is defined" in proc.stderr


def test_invalid_utf8_is_located_by_line_and_column(tmp_path):
    path = tmp_path / "bad.mlir"
    path.write_bytes(b"func.func @f() {\n  func.return \xff\n}\n")
    proc = subprocess.run([sys.executable, "-m", "lamina.tools.opt", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "bad.mlir:2:15: error: invalid UTF-8 (byte 0xff)" in proc.stderr


def test_symbol_redefinition_points_at_the_second_definition(tmp_path):
    proc = run(tmp_path, GOOD + GOOD)
    assert proc.returncode == 1
    assert re.search(r"input\.mlir:\d+:1: error: .*Redefinition of symbol", proc.stderr)


def test_error_about_ir_a_lowering_rebuilt_is_located_at_its_function(tmp_path):
    """lower-hl-to-loop replaces each function by a new one: an error a later pass
    raises about it is located at the parsed function of the same name."""
    seed = os.path.join(ROOT, "tests", "filecheck", "loop", "lower-hl-to-loop-gemm-views.mlir")
    text = open(seed).read().split("// -----")[0]
    proc = run(tmp_path, text, "-p", "hl-simplify,hl-to-loop,lower-loop-to-tile")
    assert proc.returncode == 1  # the GEMM has a views clause the tile level refuses
    line = 2 + text[:text.index("\nfunc.func @heads")].count("\n")
    assert re.search(rf"input\.mlir:{line}:1: error: lower-loop-to-tile: loop.matmul with a "
                     r"views clause.*\(in @heads\)", proc.stderr), proc.stderr
