"""`strip-stop-gradient` (hl -> hl): replace every `hl.stop_gradient` by its operand.

`stop_gradient` is the identity on values; it only matters to autodiff. The compile
pipelines run this after autodiff is done, so the backends never see it;
`canonicalize` keeps it, because a program may still be differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from lamina.dialects.hl import StopGradientOp


class _StripStopGradient(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: StopGradientOp, rewriter: PatternRewriter) -> None:
        rewriter.replace(op, [], [op.operands[0]])


@dataclass(frozen=True)
class StripStopGradientPass(ModulePass):
    """hl -> hl: every `hl.stop_gradient` replaced by its operand."""

    name = "strip-stop-gradient"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(_StripStopGradient()).rewrite_module(op)
