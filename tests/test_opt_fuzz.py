"""lamina-opt under fuzzing: mutated IR text of every dialect never produces a Python
traceback, only a diagnostic located at `file:line:col` and a non-zero exit (or valid
output).

The default budget is 15 mutations per seed file (CI); `make test-slow` runs 110 per
seed (over 4,000 inputs); `LAMINA_OPT_FUZZ_EXAMPLES=500 pytest tests/test_opt_fuzz.py`
is the long mode (docs/reliability.md)."""

import contextlib
import glob
import io
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamina.tools import opt

HERE = os.path.dirname(__file__)
SEEDS = sorted(
    p for p in glob.glob(os.path.join(HERE, "filecheck", "**", "*.mlir"), recursive=True)
    if "invalid" not in os.path.basename(p)
)
TOKENS = ["%0", "%x", ":", "->", "(", ")", "[", "]", "{", "}", ",", "=", "tensor<4xf32>",
          "tensor<?xf32>", "memref<4xf32>", "hl.add", "hl.transpose", "perm=[1, 0]",
          "dims=[7]", "value=nan", "func.return", "i1", "-inf", "\"", "//", "0x", "1e99999",
          "%x, %x, %x", "%0 = hl.neg %0 : tensor<4xf32>", "\udcff", "loop.kernel", "^bb0:",
          "{autodiff}", "arith.addf", "@f", "dense<1.0>"]
LOCATED = re.compile(r":\d+:\d+: error: ")


def run_opt(text: str, tmp_path) -> tuple[int, str]:
    path = tmp_path / "input.mlir"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))  # "\udcff": an invalid byte
    err = io.StringIO()
    out = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = opt.main([str(path)])
        except SystemExit as exc:  # argparse-style exits are fine; tracebacks are not
            code = exc.code if isinstance(exc.code, int) else 1
    return code, err.getvalue() + out.getvalue()


def _mutate(text: str, data) -> str:
    kind = data.draw(st.sampled_from(["delete", "insert", "swap", "truncate", "duplicate"]))
    if not text:
        return text
    i = data.draw(st.integers(0, len(text) - 1))
    if kind == "delete":
        j = data.draw(st.integers(i, min(len(text), i + 12)))
        return text[:i] + text[j:]
    if kind == "insert":
        return text[:i] + " " + data.draw(st.sampled_from(TOKENS)) + " " + text[i:]
    if kind == "swap":
        j = data.draw(st.integers(0, len(text) - 1))
        chars = list(text)
        chars[i], chars[j] = chars[j], chars[i]
        return "".join(chars)
    if kind == "truncate":
        return text[:i]
    line_start = text.rfind("\n", 0, i) + 1
    line_end = text.find("\n", i)
    line = text[line_start: line_end if line_end != -1 else len(text)]
    return text[:line_start] + line + "\n" + text[line_start:]


def _strip_run_lines(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("//"))


def _check_mutation(seed_file, data, tmp_path_factory):
    chunks = [c for c in _strip_run_lines(open(seed_file).read()).split("// -----") if c.strip()]
    text = chunks[0] if chunks else ""
    for _ in range(data.draw(st.integers(1, 3))):
        text = _mutate(text, data)
    code, output = run_opt(text, tmp_path_factory.mktemp("fuzz"))
    assert "Traceback (most recent call last)" not in output, output
    if code != 0:  # every rejection says where, in words
        assert LOCATED.search(output), output


@pytest.mark.parametrize("seed_file", SEEDS, ids=[os.path.relpath(p, HERE) for p in SEEDS])
@settings(max_examples=int(os.environ.get("LAMINA_OPT_FUZZ_EXAMPLES", "15")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_ir_gets_a_located_diagnostic_not_a_traceback(seed_file, data,
                                                              tmp_path_factory):
    _check_mutation(seed_file, data, tmp_path_factory)


@pytest.mark.slow
@pytest.mark.parametrize("seed_file", SEEDS, ids=[os.path.relpath(p, HERE) for p in SEEDS])
@settings(max_examples=110, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_ir_long_campaign(seed_file, data, tmp_path_factory):
    """The same over 110 mutations per seed file (over 4,000 inputs)."""
    _check_mutation(seed_file, data, tmp_path_factory)


def test_unterminated_string_on_a_long_line_is_diagnosed_quickly(tmp_path):
    """xDSL's string regex backtracked exponentially here (lamina patches it)."""
    import time

    line = '" func.func @f(%x: tensor<2x3xf32>) -> (tensor<3xf32>) attributes {autodiff} {' * 3
    start = time.perf_counter()
    code, output = run_opt(line + "\n", tmp_path)
    assert time.perf_counter() - start < 10
    assert code == 1 and "error" in output
