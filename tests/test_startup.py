"""Start-up (issue 18, part 3): what a new process loads and skips. No timings here
(bench/warm_start.py measures them); these check the mechanisms the timings rest on."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code: str, cache: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": ROOT, "LAMINA_CACHE_DIR": cache}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()


_EAGER = """
import sys, lamina as lm
print((lm.arange(6, dtype=lm.float32).reshape(2, 3) * 2 + 1).sum(dim=1).tolist())
print("pipeline" if "lamina.codegen.c" in sys.modules else "warm")
"""


def test_an_eager_result_in_a_new_process_skips_the_pipeline(tmp_path):
    """The eager slice's plan is on disk after the first process: the second one runs
    the compiled library without the pass pipeline or the C generator."""
    runs = [_python(_EAGER, str(tmp_path)) for _ in range(2)]
    assert runs == [["[9.0, 27.0]", "pipeline"], ["[9.0, 27.0]", "warm"]]


def test_eager_plans_are_per_program(tmp_path):
    """Two eager programs that differ only in a constant find their own plans."""
    code = ("import lamina as lm; x = lm.arange(4, dtype=lm.float32); "
            "print((x * {c}).sum().item())")
    for c in (2, 3, 2, 3):
        assert _python(code.format(c=c), str(tmp_path)) == [str(6.0 * c)]


def test_lamina_opt_help_loads_no_lamina_dialect(tmp_path):
    code = ("import sys\nfrom lamina.tools import opt\n"
            "try:\n    opt.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('lamina.dialects.')"
            " and m != 'lamina.dialects.xdsl_patches'))")
    out = _python(code, str(tmp_path))
    assert "c-pipeline" in "\n".join(out)  # the help lists lamina's pipelines
    assert out[-1] == "[]"


def test_assembly_formats_parse_on_first_use(tmp_path):
    """Op formats are parsed when an op is first printed or parsed: both still work."""
    code = ("from xdsl.parser import Parser\nfrom lamina.dialects import context\n"
            "text = 'func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\\n"
            "  %y = hl.exp %x : tensor<4xf32>\\n  func.return %y : tensor<4xf32>\\n}'\n"
            "m = Parser(context(), text).parse_module()\n"
            "print(str(m) == str(Parser(context(), str(m)).parse_module()), 'hl.exp %x' in str(m))")
    assert _python(code, str(tmp_path)) == ["True True"]


def test_the_api_import_freezes_its_objects_unless_told_not_to(tmp_path):
    code = "import gc, lamina as lm; lm.jit; print(gc.get_freeze_count() > 10000)"
    assert _python(code, str(tmp_path)) == ["True"]
    env = {**os.environ, "PYTHONPATH": ROOT, "LAMINA_GC_FREEZE": "0"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert proc.stdout.strip() == "False", proc.stderr


def test_a_compile_pauses_the_collector_and_restores_its_state(tmp_path, monkeypatch):
    import gc

    monkeypatch.setenv("LAMINA_CACHE_DIR", str(tmp_path))  # no plan on disk: compiles

    from lamina.frontend import compile as compile_mod

    seen = []
    real = compile_mod.backends.get

    class Spy:
        def __init__(self, backend):
            self.backend = backend

        def compile(self, module, dump):
            seen.append(gc.isenabled())
            return self.backend.compile(module, dump)

    import numpy as np

    import lamina as lm

    compile_mod.backends.get = lambda name: Spy(real(name))
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            lm.jit(lambda x, k=enabled: x * (2.0 if k else 3.0) + 1)(np.ones(2, np.float32))
            assert gc.isenabled() is enabled
    finally:
        compile_mod.backends.get = real
        gc.enable()
    assert seen == [False, False]
