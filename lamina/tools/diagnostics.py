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
from xdsl.ir import Block, Operation, SSAValue
from xdsl.parser import Parser
from xdsl.traits import IsolatedFromAbove
from xdsl.utils.exceptions import DiagnosticException, ParseError
from xdsl.utils.lexer import Span

from lamina.errors import LaminaError


class LocatedError(Exception):
    """A diagnostic with its source position: printed as `file:line:col: error: ...`,
    followed by the source line and a caret when `show_source`. A position outside any
    parsed text (invalid UTF-8, say) is given as `at=(file, line, col)`."""

    def __init__(self, message: str, span: Span | None = None, line_offset: int = 0,
                 show_source: bool = True, at: tuple[str, int, int] | None = None):
        super().__init__(message)
        self.message, self.span, self.line_offset = message, span, line_offset
        self.show_source, self.at = show_source, at

    @property
    def line(self) -> int:
        if self.at is not None:
            return self.at[1]
        return self.span.get_location().line + self.line_offset if self.span else 0

    def __str__(self) -> str:
        if self.at is not None:
            return f"{self.at[0]}:{self.at[1]}:{self.at[2]}: error: {self.message}"
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
        try:
            op = super().parse_operation()
        except ParseError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AssertionError, AttributeError,
                DiagnosticException) as err:  # an op's constructor rejected what was parsed
            message = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise ParseError(span, f"invalid operation: {message or type(err).__name__}") \
                from None
        self.op_spans[op] = span
        return op


def decode_source(text: bytes, name: str) -> str:
    """The input as text; invalid UTF-8 is a located error (line and column of the first
    bad byte), not a byte offset."""
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as err:
        before = text[:err.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise LocatedError(f"invalid UTF-8 (byte 0x{text[err.start]:02x}): the input must be "
                           "UTF-8 text", at=(name, line, col)) from None


def check_dominance(module: ModuleOp, spans: dict[Operation, Span],
                    line_offset: int = 0) -> None:
    """Every operand is defined before its use: by an earlier op of the same block or of
    an enclosing one, or as an argument of an enclosing block, never across a region
    isolated from above. xDSL's verifier does not check it (the parser accepts
    `%a = hl.add %a, %x`). Linear in the number of ops (times the nesting depth)."""
    position = {op: i for block in _blocks(module) for i, op in enumerate(block.ops)}
    for op in module.walk():
        for operand in op.operands:
            if not _dominates(operand, op, position):
                name = f"%{operand.name_hint}" if operand.name_hint else "an operand"
                raise LocatedError(f"{op.name}: {name} is used before it is defined",
                                   span_of(op, spans), line_offset)


def _blocks(module: ModuleOp) -> Iterator[Block]:
    yield from module.body.blocks
    for op in module.walk():
        for region in op.regions:
            yield from region.blocks


def _dominates(value: SSAValue, user: Operation, position: dict[Operation, int]) -> bool:
    owner = value.owner
    home = owner if isinstance(owner, Block) else owner.parent_block()
    at: Operation | None = user  # climb to the op of `home` that holds the use
    while at is not None and at.parent_block() is not home:
        at = at.parent_op()
        if at is not None and at.has_trait(IsolatedFromAbove):
            return False  # the use is inside a region that sees nothing from outside
    if at is None:
        return False
    return isinstance(owner, Block) or position[owner] < position[at]


def span_of(op: Operation | None, spans: dict[Operation, Span]) -> Span | None:
    """Where `op` was parsed, or the nearest enclosing op that was; an op a lowering
    rebuilt (a function on buffers replacing the parsed one) is found by its symbol."""
    symbols = None
    while op is not None and op not in spans:
        symbol = _symbol(op)
        if symbol is not None:
            if symbols is None:
                symbols = {_symbol(o): sp for o, sp in spans.items() if _symbol(o)}
            if symbol in symbols:
                return symbols[symbol]
        op = op.parent_op()
    return spans.get(op) if op is not None else None


def _symbol(op: Operation) -> str | None:
    return getattr(op.properties.get("sym_name") or op.attributes.get("sym_name"), "data",
                   None)


def verify_located(module: ModuleOp, spans: dict[Operation, Span], line_offset: int = 0,
                   after_pass: str | None = None) -> None:
    """Verify op by op in textual order; raise LocatedError at the first failure."""
    check_dominance(module, spans, line_offset)
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except DiagnosticException as err:
            message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if after_pass is not None:
                message = f"after pass '{after_pass}': {op.name}: {message}"
            span = span_of(op, spans) or _span_named_in(op, message, spans)
            raise LocatedError(message, span, line_offset) from None


def _span_named_in(op: Operation, message: str, spans: dict[Operation, Span]) -> Span | None:
    """For an error of an op that was not parsed itself (the implicit module): the last
    nested op whose symbol the message names (`Redefinition of symbol "main"` points at
    the second `@main`), else its first parsed op."""
    named, first = None, None
    for region in op.regions:
        for block in region.blocks:
            for child in block.ops:
                span = spans.get(child)
                first = first or span
                symbol = getattr(child.properties.get("sym_name"), "data", None)
                if span is not None and symbol is not None and f'"{symbol}"' in message:
                    named = span
    return named or first


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
                named = op if op in spans else _enclosing_function(op) or op
                return LocatedError(message + _naming(named, message), span, line_offset,
                                    show_source=False)
    return LocatedError(message, None, line_offset, show_source=False)


def _enclosing_function(op: Operation) -> func.FuncOp | None:
    """The function an op that was not parsed (a clone, a rebuilt op) sits in."""
    while op is not None and not isinstance(op, func.FuncOp):
        op = op.parent_op()
    return op


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
