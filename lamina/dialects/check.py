"""`check`: run-time checks that a compiled kernel reports instead of faulting.

One op, the same at every level below hl (loop, cpu, tile: it belongs to none of
them, so `lamina.passes.levels` counts it at any):

    %j = "check.index"(%i) <{size = 10 : i64, what = "hl.gather (axis 0 of ...)"}>
         : (index) -> index

`%j` is `%i` clamped into [0, size), so the load it feeds never leaves its buffer;
when `%i` lies outside, the kernel also records the fault -- the site (each distinct
`what`, numbered in the module's walk order: `sites`) and the bad index -- and the
runtime raises `IndexOutOfRangeError` after the call with `message`. Each target
keeps the record its own way, all with the same meaning: C and Triton write the
pair into a fault buffer of two int64 per site that the runtime passes along with
the program's buffers; the loop interpreter raises at once.

Why a run-time check at all: an index tensor's values are known only when the
program runs (an `lm.jit`ted embedding lookup, a cross-entropy target); torch raises
IndexError there, and a clamped read would return a wrong row silently.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerAttr, StringAttr, i64
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import AnyAttr, IRDLOperation, irdl_op_definition, operand_def, prop_def, result_def
from xdsl.utils.exceptions import VerifyException

# A size this large may be the probe value of a symbolic dim (lm.jit's dynamic shapes,
# `lamina.runtime.dynamic.PROBES`): a check or clamp against it is never elided by
# range analysis, since the range it was compared with need not fit smaller sizes.
MAY_BE_SYMBOLIC = 1 << 16


@irdl_op_definition
class IndexOp(IRDLOperation):
    """`index` clamped into [0, size), the fault recorded where it was not (see the
    module docstring). `what` names the op, its operand and the user's line."""

    name = "check.index"
    index = operand_def(AnyAttr())
    result = result_def(AnyAttr())
    size = prop_def(IntegerAttr)
    what = prop_def(StringAttr)

    def __init__(self, index: SSAValue, size: int, what: str,
                 result_type: Attribute | None = None):
        super().__init__(operands=[index], result_types=[result_type or index.type],
                         properties={"size": IntegerAttr(size, i64), "what": StringAttr(what)})

    @property
    def size_value(self) -> int:
        return self.size.value.data

    def verify_(self) -> None:
        if self.size_value <= 0:
            raise VerifyException(f"check.index: size must be positive, got {self.size_value}")


CHECK = Dialect("check", [IndexOp], [])


def sites(module: Operation) -> list[str]:
    """The fault sites of a module: each distinct `what` of its check ops, in walk
    order (site k owns slots 2k, 2k + 1 of the fault buffer)."""
    found: dict[str, None] = {}
    for op in module.walk():
        if isinstance(op, IndexOp):
            found.setdefault(op.what.data, None)
    return list(found)


def site_of(op: IndexOp, table: list[str]) -> int:
    return table.index(op.what.data)


def message(what: str, index: int) -> str:
    """What the runtime says when site `what` recorded `index`."""
    return f"index {index} is out of range for {what}"
