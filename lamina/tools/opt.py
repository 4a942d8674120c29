"""`lamina-opt FILE -p pass1,pass2`: parse IR of any lamina level, run passes, print.

Built on xDSL's `xDSLOptMain`: every upstream dialect and pass is available,
plus lamina's dialects (hl, loop, cpu, tile) and passes. Invalid input is
answered as mlir-opt answers it, `file:line:col: error: message` with the source
line, and exit status 1, never a Python traceback:

- parse errors carry xDSL's own location;
- xDSL's `VerifyException` has no location, so the parser here records where each
  op starts, and verification runs op by op, reporting the first failing op at its
  position (ops a pass created report the nearest enclosing op that was parsed, and
  name the pass);
- `--verify-diagnostics` (for `*-invalid.mlir` lit tests): when the input holds
  mlir-opt's `// expected-error {{...}}` annotations, every one must be produced on
  its line (exit 1 otherwise, naming what was missing or unexpected); without
  annotations it prints each `// -----` chunk's diagnostic to stdout and exits 0, as
  xdsl-opt does, for FileCheck to match.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from io import BytesIO
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.exceptions import DiagnosticException, ParseError
from xdsl.utils.lexer import Span
from xdsl.xdsl_opt_main import xDSLOptMain

from lamina.dialects import xdsl_patches  # noqa: F401  (linear-time string lexing)
from lamina.passes import registry


class LocatedError(Exception):
    """A diagnostic with its source position: printed as `file:line:col: error: ...`."""

    def __init__(self, message: str, span: Span | None = None, line_offset: int = 0):
        super().__init__(message)
        self.message, self.span, self.line_offset = message, span, line_offset

    def __str__(self) -> str:
        if self.span is None:
            return f"error: {self.message}"
        loc = self.span.get_location()
        line = self.span.input.content[self.span.input.get_start_of_line(self.span.start):
                                       self.span.input.get_end_of_line(self.span.start)]
        line = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        return (f"{loc.file}:{loc.line + self.line_offset}:{loc.col}: error: {self.message}\n"
                f"{line}\n{' ' * (loc.col - 1)}^")


class LocatingParser(Parser):
    """A Parser that remembers where each operation starts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.op_spans: dict[Operation, Span] = {}

    def parse_module(self, allow_implicit_module: bool = True) -> ModuleOp:
        try:
            return super().parse_module(allow_implicit_module)
        except ParseError as err:
            # xDSL reports an undefined value at the end of the input: point at its first use
            names = list(self.forward_ssa_references)
            if not names or "used but not defined" not in err.msg:
                raise
            text = self.lexer.input.content
            text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
            found = re.search(rf"%{re.escape(names[0])}(?![\w$.-])", text)
            if found is None:
                raise
            at = Span(found.start(), found.end(), self.lexer.input)
            raise ParseError(at, f"use of undefined value '%{names[0]}'") from None

    def parse_operation(self) -> Operation:
        span = self._current_token.span
        op = super().parse_operation()
        self.op_spans[op] = span
        return op


def verify_located(module: ModuleOp, spans: dict[Operation, Span], line_offset: int = 0,
                   after_pass: str | None = None) -> None:
    """Verify op by op in textual order; raise LocatedError at the first failure."""
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except DiagnosticException as err:
            at = op
            while at is not None and at not in spans:
                at = at.parent_op()
            message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if after_pass is not None:
                message = f"after pass '{after_pass}': {op.name}: {message}"
            raise LocatedError(message, spans.get(at) if at is not None else None,
                               line_offset) from None


class LaminaOptMain(xDSLOptMain):
    version_format = "lamina-opt (lamina 0.1.0) built on xdsl {xdsl_version}"

    def __init__(self, description: str = "lamina's modular optimizer driver",
                 args: Sequence[str] | None = None):
        self._spans: dict[Operation, Span] = {}
        self._line_offset = 0
        self._chunks: list[tuple[IO[bytes], int]] | None = None
        super().__init__(description=description, args=args)

    # ---- what lamina-opt knows

    def register_all_dialects(self) -> None:
        super().register_all_dialects()
        from lamina.dialects import all_dialects

        for dialect in all_dialects():
            if dialect.name not in self.ctx.registered_dialect_names:
                self.ctx.load_dialect(dialect)

    def register_all_passes(self) -> None:
        super().register_all_passes()
        for info in registry.PASSES:
            if info.name not in self.available_passes:
                self.register_pass(info.name, info.load)

    def register_all_frontends(self) -> None:
        super().register_all_frontends()

        def parse_mlir(io: IO[bytes]) -> ModuleOp:
            text = io.read()
            if not _has_code(text):
                self._spans = {}
                return ModuleOp([])  # an empty input is an empty module, as in mlir-opt
            parser = LocatingParser(self.ctx, text, self.get_input_name())
            module = parser.parse_module(not self.args.no_implicit_module)
            self._spans = parser.op_spans
            return module

        self.available_frontends["mlir"] = parse_mlir

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        ours = sorted(registry.PASSES_BY_NAME)
        theirs = sorted(set(self.available_passes) - set(ours))
        arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        arg_parser.epilog = (
            "lamina passes:\n" + _columns(ours) + "\n\nxDSL passes:\n" + _columns(theirs))

    # ---- running

    def parse_chunk(self, chunk: IO[bytes], file_extension: str,
                    start_offset: int = 0) -> ModuleOp | None:
        self._line_offset = start_offset
        return super().parse_chunk(chunk, file_extension, start_offset)

    def setup_pipeline(self) -> None:
        self.args.passes = registry.expand(self.args.passes)
        unknown = [p for p in _pass_names(self.args.passes) if p not in self.available_passes]
        if unknown:
            hints = [h for p in unknown
                     for h in difflib.get_close_matches(p, self.available_passes, 1)]
            hint = f" (did you mean {', '.join(repr(h) for h in hints)}?)" if hints else ""
            raise LocatedError(f"unknown pass {', '.join(repr(p) for p in unknown)}{hint}; "
                               "`lamina-opt --help` lists every pass")
        super().setup_pipeline()
        verify = not self.args.disable_verify

        def callback(previous: ModulePass | None, module: ModuleOp,
                     following: ModulePass | None) -> None:
            if verify:
                verify_located(module, self._spans, self._line_offset,
                               previous.name if previous is not None else None)

        self.pipeline = PassPipeline(self.pipeline.passes, callback)

    def apply_passes(self, prog: ModuleOp) -> None:
        try:
            super().apply_passes(prog)
        except LocatedError as err:
            if self.args.verify_diagnostics:
                raise _Diagnostic(str(err)) from None
            raise

    def run(self) -> None:
        if self.args.verify_diagnostics and not self.args.shrink:
            chunks, extension = self.prepare_input()
            texts = [(chunk.read(), offset) for chunk, offset in chunks]
            for chunk, _ in chunks:
                chunk.close()
            if any(_EXPECTED.search(t.decode("utf-8", "replace")) for t, _ in texts):
                problems = self._check_expected(texts, extension)
                for problem in problems:
                    print(problem, file=sys.stderr)
                if problems:
                    raise SystemExit(1)
                return
            self._chunks = [(BytesIO(t), offset) for t, offset in texts]
        super().run()

    def prepare_input(self):
        if getattr(self, "_chunks", None) is not None:
            chunks, self._chunks = self._chunks, None
            return chunks, self.args.frontend or "mlir"
        return super().prepare_input()

    def _check_expected(self, texts: list[tuple[bytes, int]], extension: str) -> list[str]:
        """mlir-opt's `--verify-diagnostics`: every `// expected-error {{text}}` (on its own
        line, or `@+N`, `@-N`, `@above`, `@below`) must be met by a diagnostic on that line
        containing the text, and every diagnostic must have been expected."""
        name, problems = self.get_input_name(), []
        for text, offset in texts:
            expected = []
            for i, line in enumerate(text.decode("utf-8", "replace").splitlines()):
                for m in _EXPECTED.finditer(line):
                    where = m.group(1) or ""
                    shift = {"": 0, "@above": -1, "@below": 1}.get(where)
                    expected.append((offset + i + 1 + (int(where[1:]) if shift is None
                                                       else shift), m.group(2)))
            got = self._first_diagnostic(text, offset, extension)
            for line, message in expected:
                if got is None or got[0] != line or message not in got[1]:
                    problems.append(f"{name}:{line}: error: expected error \"{message}\" was "
                                    "not produced" + (f" (got line {got[0]}: {got[1]})"
                                                      if got else ""))
            if got is not None and not any(got[0] == ln and m in got[1] for ln, m in expected):
                problems.append(f"{name}:{got[0]}: error: unexpected error: {got[1]}")
        return problems

    def _first_diagnostic(self, text: bytes, offset: int,
                          extension: str) -> tuple[int, str] | None:
        """(line, message) of the first error this chunk produces, or None."""
        try:
            module = self.parse_chunk(BytesIO(text), extension, offset)
            if module is not None:
                super().apply_passes(module)
        except LocatedError as err:
            line = err.span.get_location().line + err.line_offset if err.span else 0
            return line, err.message
        except ParseError as err:
            return err.span.get_location().line + offset, err.msg.strip()
        except DiagnosticException as err:
            return 0, str(err).strip()
        return None


_EXPECTED = re.compile(r"//\s*expected-error(@[+-]\d+|@above|@below)?\s*\{\{(.*?)\}\}")


class _Diagnostic(DiagnosticException):
    """A located verifier error, printed by xDSLOptMain under --verify-diagnostics."""


def _pass_names(spec: str) -> list[str]:
    """Pass names of a pipeline spec `a,b{opt=1},c` (options skipped)."""
    names, depth, current = [], 0, ""
    for ch in spec or "":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            names.append(current.strip())
            current = ""
        elif depth == 0:
            current += ch
    if current.strip():
        names.append(current.strip())
    return names


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
    try:
        LaminaOptMain(args=argv).run()
    except LocatedError as err:
        print(str(err), file=sys.stderr)
        return 1
    except ParseError as err:
        loc = err.span.get_location()
        context = str(err).splitlines()[1:]  # xDSL's rendering minus its location line
        print(f"{loc.file}:{loc.line}:{loc.col}: error: {err.msg.strip()}", file=sys.stderr)
        print("\n".join(line for line in context if line.strip() != err.msg.strip()),
              file=sys.stderr)
        return 1
    except DiagnosticException as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (ValueError, KeyError, TypeError, AssertionError, NotImplementedError,
            IndexError, AttributeError) as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except RecursionError:
        print("error: input nested too deeply", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
