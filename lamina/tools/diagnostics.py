"""Diagnostics of `lamina-opt`: every error is `file:line:col: error: message`.

- Parse errors carry xDSL's own location.
- xDSL's `VerifyException` has no location, so `LocatingParser` records where each op
  starts, and `verify_located` verifies op by op, reporting the first failing op at its
  position (an op a pass created reports the nearest enclosing op that was parsed).
- An exception raised inside a pass (a `lamina.errors.LaminaError` such as a
  `CompileError`, or any other) becomes one line naming the pass, at the position of
  the op it was about (`pass_error`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import FrameType, TracebackType

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import DiagnosticException, ParseError
from xdsl.utils.lexer import Span

from lamina.errors import LaminaError


class LocatedError(Exception):
    """A diagnostic with its source position: printed as `file:line:col: error: ...`,
    followed by the source line and a caret when `show_source`."""

    def __init__(self, message: str, span: Span | None = None, line_offset: int = 0,
                 show_source: bool = True):
        super().__init__(message)
        self.message, self.span, self.line_offset = message, span, line_offset
        self.show_source = show_source

    @property
    def line(self) -> int:
        return self.span.get_location().line + self.line_offset if self.span else 0

    def __str__(self) -> str:
        if self.span is None:
            return f"error: {self.message}"
        loc = self.span.get_location()
        head = f"{loc.file}:{self.line}:{loc.col}: error: {self.message}"
        if not self.show_source:
            return head
        source = self.span.input
        line = source.content[source.get_start_of_line(self.span.start):
                              source.get_end_of_line(self.span.start)]
        line = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        return f"{head}\n{line}\n{' ' * (loc.col - 1)}^"


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


def span_of(op: Operation | None, spans: dict[Operation, Span]) -> Span | None:
    """Where `op` was parsed, or the nearest enclosing op that was (None if detached)."""
    while op is not None and op not in spans:
        op = op.parent_op()
    return spans.get(op) if op is not None else None


def verify_located(module: ModuleOp, spans: dict[Operation, Span], line_offset: int = 0,
                   after_pass: str | None = None) -> None:
    """Verify op by op in textual order; raise LocatedError at the first failure."""
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except DiagnosticException as err:
            message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if after_pass is not None:
                message = f"after pass '{after_pass}': {op.name}: {message}"
            raise LocatedError(message, span_of(op, spans), line_offset) from None


def pass_error(err: Exception, pass_name: str, spans: dict[Operation, Span],
               line_offset: int = 0) -> LocatedError:
    """One line for an exception raised inside pass `pass_name`: its message's first line,
    at the op the failing code was working on.

    That op is found in the traceback: the innermost frame holding an op in a local
    named `op` (or `self` in xDSL's `Operation.emit_error`, through which the pattern
    walker re-raises a pattern's error) that was parsed or sits inside a parsed op; failing
    that (a pass working on a clone), the innermost parsed op in any local: the function
    being transformed, say."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if not isinstance(err, LaminaError):  # a bug in the pass rather than in its input
        first = f"internal error ({type(err).__name__}: {first}); rerun with --traceback"
    message = first if first.startswith(f"{pass_name}: ") else f"{pass_name}: {first}"
    frames = _frames(err.__traceback__)
    for names in (("op", "self"), None):
        for op in _ops_in(frames, names):
            span = span_of(op, spans)
            if span is not None:
                return LocatedError(message + _naming(op, message), span, line_offset,
                                    show_source=False)
    return LocatedError(message, None, line_offset, show_source=False)


def _frames(tb: TracebackType | None) -> list[FrameType]:
    """The frames of a traceback, innermost first."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames[::-1]


def _ops_in(frames: list[FrameType], names: tuple[str, ...] | None) -> Iterator[Operation]:
    for frame in frames:
        values = [frame.f_locals.get(n) for n in names] if names else frame.f_locals.values()
        for value in values:
            if isinstance(value, Operation) and not isinstance(value, ModuleOp):
                yield value


def _naming(op: Operation, message: str) -> str:
    """What to add to `message` so that it names the op it is located at."""
    symbol = op.properties.get("sym_name") or op.attributes.get("sym_name")
    symbol = getattr(symbol, "data", None)
    if op.name in message or (symbol is not None and f"@{symbol}" in message):
        return ""
    return f" (in @{symbol})" if isinstance(op, func.FuncOp) else f" (at '{op.name}')"


# mlir-opt's `--verify-diagnostics` annotations: `// expected-error {{text}}` on the line
# of the error, or `@+N`, `@-N`, `@above`, `@below` relative to it
EXPECTED = re.compile(r"//\s*expected-error(@[+-]\d+|@above|@below)?\s*\{\{(.*?)\}\}")


def expected_errors(text: str, offset: int) -> list[tuple[int, str]]:
    """(line, text) of every expected-error annotation of a chunk starting at `offset`."""
    expected = []
    for i, line in enumerate(text.splitlines()):
        for m in EXPECTED.finditer(line):
            where = m.group(1) or ""
            shift = {"": 0, "@above": -1, "@below": 1}.get(where)
            expected.append((offset + i + 1 + (int(where[1:]) if shift is None else shift),
                             m.group(2)))
    return expected


def unmet_expectations(name: str, expected: list[tuple[int, str]],
                       got: tuple[int, str] | None) -> list[str]:
    """Every expected error must be met by the chunk's diagnostic `got` (line, message)
    on its line, containing its text; and the diagnostic must have been expected."""
    problems = []
    for line, message in expected:
        if got is None or got[0] != line or message not in got[1]:
            problems.append(f"{name}:{line}: error: expected error \"{message}\" was not "
                            "produced" + (f" (got line {got[0]}: {got[1]})" if got else ""))
    if got is not None and not any(got[0] == ln and m in got[1] for ln, m in expected):
        problems.append(f"{name}:{got[0]}: error: unexpected error: {got[1]}")
    return problems
