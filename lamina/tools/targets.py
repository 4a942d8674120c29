"""`lamina-opt -t c` and `-t triton`: a hardware-level module as the source its backend
compiles (the text `lm.jit(f).lower(..., backend=...).source()` returns, byte for byte).

Only the code generators are imported, never the runtime, Triton or torch."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.targets.mlir import MLIRTarget as XdslMLIRTarget
from xdsl.utils.target import Target

from lamina.passes.levels import expect_level


@dataclass(frozen=True)
class CTarget(Target):
    """The C source of a cpu-level module (the output of `-p c-pipeline`)."""

    name = "c"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from lamina.codegen.c import emit_c

        expect_level(module, "cpu", "-t c", "lower it with -p c-pipeline first")
        output.write(emit_c(module))


@dataclass(frozen=True)
class TritonTarget(Target):
    """The Python/Triton source of a tile-level module (the output of `-p triton-pipeline`)."""

    name = "triton"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from lamina.codegen.triton import generate

        expect_level(module, "tile", "-t triton", "lower it with -p triton-pipeline first")
        output.write(generate(module))


@dataclass(frozen=True)
class MLIRTarget(XdslMLIRTarget):
    """xDSL's IR printer, with the text ending in one newline, as mlir-opt's does (and
    `lamina.passes.pipeline.print_ir`, so that `lamina-opt -p c-pipeline` prints what
    `Lowered.ir("hw")` returns); xDSL's ends with two."""

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        text = StringIO()
        super().emit(ctx, module, text)
        output.write(text.getvalue().rstrip("\n") + "\n")


TARGETS: dict[str, type[Target]] = {"mlir": MLIRTarget, "c": CTarget, "triton": TritonTarget}
