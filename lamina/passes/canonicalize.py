"""Canonicalization of hl: the pattern registry that xDSL's generic `canonicalize` pass
finds through `HlOp.get_canonicalization_patterns`, and `strip-stop-gradient`.

Patterns are registered per op class with `@pattern(OpClass, ...)` (in
`hl_patterns.py`); a pattern registered on a base class applies to its subclasses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

_PATTERNS: dict[type, list[RewritePattern]] = defaultdict(list)


def pattern(*op_classes: type):
    """Register a RewritePattern class for the given hl op classes (and their subclasses)."""

    def register(cls: type[RewritePattern]) -> type[RewritePattern]:
        for op_cls in op_classes:
            _PATTERNS[op_cls].append(cls())
        return cls

    return register


def patterns_for(op_cls: type) -> tuple[RewritePattern, ...]:
    from lamina.passes import hl_patterns  # noqa: F401  (registers the patterns)

    found: list[RewritePattern] = []
    for base in op_cls.__mro__:
        for p in _PATTERNS.get(base, ()):
            if p not in found:
                found.append(p)
    return tuple(found)


class _StripStopGradient(RewritePattern):
    def match_and_rewrite(self, op, rewriter: PatternRewriter) -> None:
        from lamina.dialects import hl

        if isinstance(op, hl.StopGradientOp):
            rewriter.replace(op, [], [op.operands[0]])


@dataclass(frozen=True)
class StripStopGradientPass(ModulePass):
    """hl -> hl: replace every `hl.stop_gradient` by its operand.

    `stop_gradient` is the identity on values; it only matters to autodiff. Run this
    after `autodiff` (the compile pipeline does) so the backends never see it;
    canonicalize keeps it, because a program may still be differentiated."""

    name = "strip-stop-gradient"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(_StripStopGradient()).rewrite_module(op)
