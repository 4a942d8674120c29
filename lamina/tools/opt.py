"""`lamina-opt FILE -p PASSES [-t mlir|c|triton]`: parse IR of any lamina level, run
passes and named pipelines, print the IR or the generated source.

Built on xDSL's `xDSLOptMain`: every upstream dialect and pass is available, plus
lamina's dialects (`lamina.dialects.OWN_DIALECTS`, each loaded when the input names it) and the passes and pipelines of
`lamina.passes.registry`, the names `lm.jit` runs (`-p c-pipeline` prints the IR the
C backend compiles; `-p 'c-pipeline{until=loop}'` stops after the loop-level stage).

- `-t c` / `-t triton` print a cpu- / tile-level module as C / Triton source;
  `-t mlir` (the default) prints IR.
- `--print-between-passes` prints the IR after each pass and `--time-passes` a
  timing table, both to stderr as mlir-opt does: stdout holds only the output.
- Invalid input, and an error raised inside a pass, is one `file:line:col: error: ...`
  message and exit status 1, never a Python traceback (`lamina/tools/diagnostics.py`);
  `--traceback` shows the traceback, for developers of a pass.
- `--verify-diagnostics` (for `*-invalid.mlir` lit tests): when the input holds
  mlir-opt's `// expected-error {{...}}` annotations, every one must be produced on
  its line (exit 1 otherwise, naming what was missing or unexpected); without
  annotations it prints each `// -----` chunk's diagnostic to stdout and exits 0, as
  xdsl-opt does, for FileCheck to match.

Importing this module loads the dialects and the registry only: a pass's module is
imported when the pass runs, the code generators when `-t c`/`-t triton` prints, and
never the runtime, the frontend, Triton or torch.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from collections.abc import Callable, Sequence
from io import BytesIO
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import PassPipeline
from xdsl.utils.arg_spec import parse_spec
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError
from xdsl.utils.lexer import Span
from xdsl.utils.target import Target
from xdsl.xdsl_opt_main import xDSLOptMain

from lamina.dialects import xdsl_patches  # noqa: F401  (linear-time string lexing)
from lamina.passes import registry
from lamina.tools.diagnostics import (
    EXPECTED,
    LocatedError,
    LocatingParser,
    decode_source,
    expected_errors,
    pass_error,
    unmet_expectations,
    verify_located,
)
from lamina.tools.instrument import OUTPUT, PARSE, Instrument, Timing
from lamina.tools.targets import TARGETS


class LaminaOptMain(xDSLOptMain):
    version_format = "lamina-opt (lamina 0.1.0) built on xdsl {xdsl_version}"

    def __init__(self, description: str = "lamina's modular optimizer driver",
                 args: Sequence[str] | None = None):
        self._spans: dict[Operation, Span] = {}
        self._line_offset = 0
        self._chunks: list[tuple[IO[bytes], int]] | None = None
        self.timing: Timing | None = None
        super().__init__(description=description, args=args)

    # ---- what lamina-opt knows

    def register_all_dialects(self) -> None:
        super().register_all_dialects()
        from lamina.dialects import register_own_dialects

        register_own_dialects(self.ctx)  # loaded when the input names them

    def register_all_passes(self) -> None:
        super().register_all_passes()
        for info in registry.PASSES:
            if info.name not in self.available_passes:
                self.register_pass(info.name, info.load)

    def register_all_targets(self) -> None:
        # lamina's own only: xDSL's (llvm, riscv, ...) need packages and dialects lamina
        # IR does not use, and were listed without working
        for name, target in TARGETS.items():
            self.available_targets[name] = _factory(target)

    def register_all_frontends(self) -> None:
        super().register_all_frontends()

        def parse_mlir(io: IO[bytes]) -> ModuleOp:
            text = io.read()
            if not _has_code(text):
                self._spans = {}
                return ModuleOp([])  # an empty input is an empty module, as in mlir-opt
            source = decode_source(text, self.get_input_name())
            parser = LocatingParser(self.ctx, source, self.get_input_name())
            module = parser.parse_module(not self.args.no_implicit_module)
            self._spans = parser.op_spans
            return module

        self.available_frontends["mlir"] = parse_mlir

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--traceback", action="store_true",
            help="on an error, show the Python traceback instead of the one-line message")
        for action in arg_parser._actions:
            if "--passes" in action.option_strings:
                action.help = ("comma-separated passes and pipelines, with options in "
                               "braces: 'c-pipeline', 'canonicalize,lower-hl-to-loop"
                               "{gemm_views=false}' (all listed below)")
        arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        arg_parser.epilog = _help_epilog(set(self.available_passes))

    # ---- running

    def setup_pipeline(self) -> None:
        try:
            self.args.passes = registry.expand(self.args.passes)
        except ValueError as err:
            raise LocatedError(str(err)) from None
        unknown = [p for p in registry.split_spec(self.args.passes)
                   if p.partition("{")[0].strip() not in self.available_passes]
        if unknown:
            names = [*self.available_passes, *registry.PIPELINES_BY_NAME]
            hints = [h for p in unknown
                     for h in difflib.get_close_matches(p.partition("{")[0], names, 1)]
            hint = f" (did you mean {', '.join(repr(h) for h in hints)}?)" if hints else ""
            listed = ", ".join(repr(p) for p in unknown)
            raise LocatedError(f"unknown pass or pipeline {listed}{hint}; `lamina-opt --help` "
                               "lists every pass and pipeline")
        try:
            super().setup_pipeline()
        except ValueError as err:  # a bad pass option
            raise LocatedError(str(err).strip().splitlines()[0]) from None
        except ArgSpecParseError as err:  # a malformed spec (a BaseException in xDSL)
            raise LocatedError(_spec_error(err, self.args.passes)) from None
        self.timing = Timing() if self.args.time_passes else None
        verify = None if self.args.disable_verify else (
            lambda module, after: verify_located(module, self._spans, self._line_offset,
                                                 after))
        self.instrument = Instrument(verify, self.args.print_between_passes, self.timing,
                                     sys.stderr)
        self.pipeline = PassPipeline(self.pipeline.passes, self.instrument)

    def parse_chunk(self, chunk: IO[bytes], file_extension: str,
                    start_offset: int = 0) -> ModuleOp | None:
        self._line_offset = start_offset
        start = time.perf_counter()
        module = super().parse_chunk(chunk, file_extension, start_offset)
        if self.timing is not None:
            self.timing.add(PARSE, time.perf_counter() - start)
        return module

    def apply_passes(self, prog: ModuleOp) -> None:
        try:
            self._apply_located(prog)
        except LocatedError as err:
            if self.args.verify_diagnostics:
                raise _Diagnostic(str(err)) from None
            raise

    def _apply_located(self, prog: ModuleOp) -> None:
        """Run the pipeline; an exception raised inside a pass becomes a LocatedError
        naming the pass (unless --traceback)."""
        try:
            super().apply_passes(prog)
        except LocatedError:
            raise
        except Exception as err:
            running = self.instrument.current
            if self.args.traceback or running is None:
                raise
            raise pass_error(err, running.name, self._spans, self._line_offset) from None

    def output_resulting_program(self, prog: ModuleOp) -> str:
        start = time.perf_counter()
        try:
            text = super().output_resulting_program(prog)
        except Exception as err:
            if self.args.traceback:
                raise
            target = parse_spec(self.args.target).name
            raise pass_error(err, f"-t {target}", self._spans, self._line_offset) from None
        if self.timing is not None:
            self.timing.add(OUTPUT, time.perf_counter() - start)
        return text

    def run(self) -> None:
        if self.args.verify_diagnostics and not self.args.shrink:
            chunks, extension = self.prepare_input()
            texts = [(chunk.read(), offset) for chunk, offset in chunks]
            for chunk, _ in chunks:
                chunk.close()
            if any(EXPECTED.search(t.decode("utf-8", "replace")) for t, _ in texts):
                problems = self._check_expected(texts, extension)
                for problem in problems:
                    print(problem, file=sys.stderr)
                if problems:
                    raise SystemExit(1)
                return
            self._chunks = [(BytesIO(t), offset) for t, offset in texts]
        super().run()
        if self.timing is not None:
            sys.stderr.write(self.timing.report())

    def prepare_input(self):
        if getattr(self, "_chunks", None) is not None:
            chunks, self._chunks = self._chunks, None
            return chunks, self.args.frontend or "mlir"
        return super().prepare_input()

    def _check_expected(self, texts: list[tuple[bytes, int]], extension: str) -> list[str]:
        name, problems = self.get_input_name(), []
        for text, offset in texts:
            expected = expected_errors(text.decode("utf-8", "replace"), offset)
            got = self._first_diagnostic(text, offset, extension)
            problems += unmet_expectations(name, expected, got)
        return problems

    def _first_diagnostic(self, text: bytes, offset: int,
                          extension: str) -> tuple[int, str] | None:
        """(line, message) of the first error this chunk produces, or None."""
        try:
            module = self.parse_chunk(BytesIO(text), extension, offset)
            if module is not None:
                self._apply_located(module)
        except LocatedError as err:
            return err.line, err.message
        except ParseError as err:
            return err.span.get_location().line + offset, err.msg.strip()
        except DiagnosticException as err:
            return 0, str(err).strip()
        return None


def _spec_error(err: ArgSpecParseError, spec: str) -> str:
    """`-p 'canonicalize{'`: say where in the spec, in words."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    column = next((ln.rsplit(":", 1)[-1] for ln in lines if ln.startswith("pass-pipeline:")),
                  "?")
    return (f"malformed pass pipeline {spec!r} at column {column}: {lines[-1]} (passes are "
            "separated by commas, options written as 'name{key=value,...}')")


def _factory(target: type[Target]) -> Callable[[], type[Target]]:
    return lambda: target  # xDSL calls a factory without parameters


class _Diagnostic(DiagnosticException):
    """A located error, printed by xDSLOptMain under --verify-diagnostics."""


def _help_epilog(available: set[str]) -> str:
    """Every pipeline and registered pass with its description, then xDSL's other
    passes by name."""
    width = 2 + max(len(n) for n in [*registry.PIPELINES_BY_NAME, *registry.PASSES_BY_NAME])

    def table(rows: list[tuple[str, str]]) -> str:
        return "\n".join(f"  {name:<{width}}{summary}" for name, summary in rows)

    others = sorted(available - set(registry.PASSES_BY_NAME))
    return "\n\n".join([
        "pipelines (-p NAME; -p 'NAME{until=hl|loop|hw}' stops after that level's stage):\n"
        + table([(p.name, p.summary) for p in registry.PIPELINES]),
        "passes:\n" + table([(p.name, p.summary) for p in registry.PASSES]),
        "xDSL's other passes (see xdsl-opt's documentation):\n" + _columns(others),
        "targets (-t): mlir (the default), c (a cpu-level module as C), "
        "triton (a tile-level module as Triton)"])


def _has_code(text: bytes) -> bool:
    return any(line.strip() and not line.strip().startswith(b"//")
               for line in text.splitlines())


def _columns(names: list[str], width: int = 96) -> str:
    lines, line = [], " "
    for n in names:
        if len(line) + len(n) + 2 > width:
            lines.append(line)
            line = " "
        line += " " + n
    lines.append(line)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        LaminaOptMain(args=args).run()
    except (Exception, ArgSpecParseError) as err:
        if "--traceback" in args:
            raise
        print(_one_message(err), file=sys.stderr)
        return 1
    return 0


def _one_message(err: Exception) -> str:
    """The message of an error that reached main: located where possible."""
    if isinstance(err, LocatedError):
        return str(err)
    if isinstance(err, ParseError):
        loc = err.span.get_location()
        context = str(err).splitlines()[1:]  # xDSL's rendering minus its location line
        return "\n".join([f"{loc.file}:{loc.line}:{loc.col}: error: {err.msg.strip()}",
                          *(line for line in context if line.strip() != err.msg.strip())])
    if isinstance(err, DiagnosticException | OSError):
        return f"error: {err}"
    if isinstance(err, RecursionError):
        return "error: input nested too deeply"
    return f"error: {type(err).__name__}: {err}"


if __name__ == "__main__":
    sys.exit(main())
