"""The element rule of every elementwise hl op: load one element of each operand (in
its compute type, see `lamina.dialects.scalar.compute_type`) and apply the op's own
`scalar` rule, declared with the op (`lamina/dialects/hl/elementwise/`)."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import Operation, SSAValue

from lamina.dialects import hl
from lamina.dialects.hl.base import HlOp
from lamina.passes.lower_hl_to_loop.kernel import KernelBuilder


def elementwise_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    assert isinstance(op, HlOp)
    return op.scalar(kb, *(kb.element(v, idx) for v in op.operands))


RULES: dict[type, Callable] = {cls: elementwise_rule for cls in hl.OPS
                               if cls.has_scalar_rule()}
