"""Canonicalization patterns of hl ops, found by xDSL's generic `canonicalize` pass
through `HlOp.get_canonicalization_patterns`.

Patterns are registered per op class with `@pattern(OpClass, ...)`."""

from __future__ import annotations

from collections import defaultdict

from xdsl.pattern_rewriter import RewritePattern

_PATTERNS: dict[type, list[RewritePattern]] = defaultdict(list)


def pattern(*op_classes: type):
    """Register a RewritePattern class for the given hl op classes."""

    def register(cls: type[RewritePattern]) -> type[RewritePattern]:
        for op_cls in op_classes:
            _PATTERNS[op_cls].append(cls())
        return cls

    return register


def patterns_for(op_cls: type) -> tuple[RewritePattern, ...]:
    from lamina.passes import hl_patterns  # noqa: F401  (registers the patterns)

    return tuple(_PATTERNS.get(op_cls, ()))
