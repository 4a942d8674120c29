"""Workarounds for xDSL 0.74 bugs that lamina's users would otherwise hit.

- The lexer's string-literal regex nests quantifiers (`(?:[^"]+)*`), which
  backtracks exponentially on an unterminated string followed by a long line:
  `lamina-opt` hung on such input (found by tests/test_opt_fuzz.py). The
  replacement matches the same language one character at a time, in linear time.
- Start-up: xDSL parses every op's declarative assembly format when the op class is
  defined (~0.6 ms each, ~60 ms for the ops a first `lm.` use defines). A program that
  never prints or parses IR (an eager result, a warm `lm.jit` call) never needs them:
  `_LazyFormat` parses an op's format the first time it prints or parses one. A
  malformed format then fails on that first use instead of at import (lamina's own
  formats are all exercised by the lit suite and the round-trip tests).
"""

from __future__ import annotations

import re

from xdsl.utils.mlir_lexer import MLIRLexer

_LINEAR_STRING_LITERAL = re.compile(r'"(?:[^"\\\n\v\f]|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"')


class _LazyFormat:
    """An op's `FormatProgram`, parsed from its text on first use."""

    __slots__ = ("_text", "_op_def", "_program")

    def __init__(self, text: str, op_def: object):
        self._text, self._op_def, self._program = text, op_def, None

    def _get(self):
        if self._program is None:
            from xdsl.irdl.declarative_assembly_format_parser import FormatParser

            self._program = FormatParser(self._text, self._op_def).parse_format()
        return self._program

    def parse(self, parser, op_type):
        return self._get().parse(parser, op_type)

    def print(self, printer, op):
        return self._get().print(printer, op)


def apply() -> None:
    MLIRLexer._unescaped_characters_regex = _LINEAR_STRING_LITERAL
    from xdsl.irdl.declarative_assembly_format import FormatProgram

    FormatProgram.from_str = staticmethod(_LazyFormat)


apply()
