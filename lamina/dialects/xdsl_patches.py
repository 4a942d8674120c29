"""Workarounds for xDSL 0.74 bugs that lamina's users would otherwise hit.

- The lexer's string-literal regex nests quantifiers (`(?:[^"]+)*`), which
  backtracks exponentially on an unterminated string followed by a long line:
  `lamina-opt` hung on such input (found by tests/test_opt_fuzz.py). The
  replacement matches the same language one character at a time, in linear time.
"""

from __future__ import annotations

import re

from xdsl.utils.mlir_lexer import MLIRLexer

_LINEAR_STRING_LITERAL = re.compile(r'"(?:[^"\\\n\v\f]|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"')


def apply() -> None:
    MLIRLexer._unescaped_characters_regex = _LINEAR_STRING_LITERAL


apply()
