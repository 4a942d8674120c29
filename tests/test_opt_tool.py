"""`lamina-opt` as a user runs it (a subprocess): bad inputs are answered with
`file:line:col: error: ...` and exit status 1, never a Python traceback."""

from __future__ import annotations

import os
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
                          cwd=ROOT)
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


def test_help_lists_every_pass(tmp_path):
    from lamina.passes import registry

    proc = run(tmp_path, None, "--help")
    assert proc.returncode == 0
    for name in registry.PASSES_BY_NAME:
        assert name in proc.stdout, name
    for name in ("autodiff", "strip-stop-gradient", "canonicalize", "cse", "dce"):
        assert name in proc.stdout


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
