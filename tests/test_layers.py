"""The layer contract (pyproject.toml, `[tool.importlinter]`): the core imports nothing
above it, the compiler needs no GPU stack, lamina-opt loads only the compiler."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_linter_contracts_are_kept():
    lint = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([lint, "--no-cache"], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


LOADED_ABOVE = ("[m for m in sys.modules if m.startswith(('lamina.frontend', "
                "'lamina.runtime', 'lamina.api', 'triton', 'torch'))]")


def test_importing_the_core_loads_nothing_above_it():
    assert _python(f"import lamina.dialects, sys; print({LOADED_ABOVE})") == "[]"
    # building, verifying and lowering IR uses the passes, still without the frontend
    code = ("import sys; from lamina.dialects import context; from lamina.passes import "
            "pipeline; from xdsl.parser import Parser\n"
            "m = Parser(context(), 'func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\\n"
            "  %y = hl.exp %x : tensor<4xf32>\\n  func.return %y : tensor<4xf32>\\n}')"
            ".parse_module()\n"
            "pipeline.run(m, 'hl-simplify,hl-to-loop,lower-loop-to-cpu')\n"
            f"print({LOADED_ABOVE})")
    assert _python(code) == "[]"


def test_the_public_api_still_loads_on_first_use():
    out = _python("import lamina as lm, numpy as np; "
                  "print(float(lm.jit(lambda x: (x * 2).sum())(np.ones(3, np.float32))))")
    assert out == "6.0"
