"""Algebraic identities, constant folding and shape-chain folding for hl."""

from __future__ import annotations

from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from lamina.dialects import hl
from lamina.passes.canonicalize import pattern


@pattern(hl.ReshapeOp, hl.BroadcastInDimOp, hl.TransposeOp, hl.CastOp)
class RemoveIdentityShapeOp(RewritePattern):
    """reshape/broadcast/transpose/cast whose result type equals its operand's: the operand."""

    def match_and_rewrite(self, op, rewriter: PatternRewriter) -> None:
        if isinstance(op, hl.TransposeOp) and op.prop("perm") != tuple(range(len(op.prop("perm")))):
            return
        if op.operands[0].type == op.results[0].type:
            rewriter.replace(op, [], [op.operands[0]])
