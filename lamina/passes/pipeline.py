"""Running passes: the one place a compile applies a pass spec to a module.

`run(module, "c-pipeline")` parses the spec against the registry
(`lamina.passes.registry`: pipeline names expand to their passes), applies each pass,
verifies its output when `LAMINA_VERIFY=1` (always in tests: a pass that produces
invalid IR fails naming the pass), and with `LAMINA_DUMP=dir` writes one directory per
program: its input, then the IR after every pass, numbered in pipeline order.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.exceptions import DiagnosticException

from lamina import knobs
from lamina.errors import CompileError
from lamina.passes import registry


def context() -> Context:
    """A context with every dialect lamina's IR may contain."""
    from lamina.dialects import context as dialect_context

    return dialect_context()


def print_ir(module: ModuleOp) -> str:
    """A module's text as every tool shows it: `Lowered.ir()`, the `LAMINA_DUMP` files and
    `lamina-opt`'s output are this, byte for byte (the printed module, then a newline)."""
    return str(module) + "\n"


def available_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """name -> class loader, for every registered pass (the form xDSL's tools take)."""
    return {p.name: p.load for p in registry.PASSES}


def parse(spec: str) -> tuple[ModulePass, ...]:
    """The passes of a spec (`"canonicalize,lower-hl-to-loop{gemm_views=false}"`,
    pipeline names allowed), with their options."""
    try:
        return PassPipeline.parse_spec(available_passes(), registry.expand(spec)).passes
    except ValueError as err:
        raise CompileError(f"pass pipeline {spec!r}: {err}") from None


class Dump:
    """`LAMINA_DUMP=dir`: one fresh directory per program, `dir/NNN-name/`, holding
    `00-input.mlir`, then `01-<pass>.mlir`, ... in the order the passes ran, then the
    generated source. NNN orders programs by compile; no program overwrites another."""

    _serial = itertools.count()

    def __init__(self, root: str, name: str):
        self.root = root
        with self._faults():
            os.makedirs(root, exist_ok=True)
            while True:
                path = os.path.join(root, f"{next(Dump._serial):03d}-{name}")
                try:
                    os.makedirs(path)
                    break
                except FileExistsError:  # another process (or an earlier run) took it
                    continue
        self.path = path
        self.count = 0

    @contextlib.contextmanager
    def _faults(self) -> Iterator[None]:
        try:
            yield
        except OSError as err:
            raise CompileError(
                f"LAMINA_DUMP={self.root}: cannot write the IR dump: {err}; point "
                "LAMINA_DUMP at a writable directory, or unset it") from None

    @classmethod
    def for_program(cls, name: str) -> Dump | None:
        root = knobs.dump_dir()
        return cls(root, name) if root else None

    def write(self, label: str, text: str, suffix: str = ".mlir") -> None:
        if not text.endswith("\n"):  # a text file ends with a newline (`print_ir`)
            text += "\n"
        with self._faults(), open(os.path.join(self.path, f"{self.count:02d}-{label}{suffix}"),
                                  "w") as f:
            f.write(text)
        self.count += 1


def run(module: ModuleOp, spec: str, dump: Dump | None = None,
        ctx: Context | None = None) -> None:
    """Apply the passes of `spec` to `module` in place."""
    passes = parse(spec)
    ctx = ctx or context()
    verify = knobs.verify_each_pass()
    for p in passes:
        p.apply(ctx, module)
        if verify:
            try:
                module.verify()
            except DiagnosticException as err:
                raise CompileError(f"pass '{p.name}' produced invalid IR:\n{err}") from err
        if dump is not None:
            dump.write(p.name, print_ir(module))


def run_pipeline(module: ModuleOp, name: str, dump: Dump | None = None,
                 until: str | None = None) -> dict[str, str]:
    """Run a named pipeline stage by stage (up to the stage reaching level `until`);
    returns the IR text at the end of each stage, by the level it reached ("hl",
    "loop", "hw")."""
    pipeline = registry.PIPELINES_BY_NAME[name]
    ctx = context()
    levels: dict[str, str] = {}
    for level, spec in pipeline.stages:
        run(module, spec, dump, ctx)
        levels[level] = print_ir(module)
        if level == until:
            break
    return levels
