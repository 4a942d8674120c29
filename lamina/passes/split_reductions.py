"""`split-reductions` (hl -> hl): a large full reduction in two stages.

`reduce(x, all dims)` of a large x becomes
`reduce(reduce(reshape(x, [S, N/S]), [1]), [0])`: the first stage is a kernel
parallel over S partial results, instead of one single-point kernel looping over all
N elements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from lamina.dialects.hl import reduce
from lamina.dialects.hl import shape as sh
from lamina.dialects.hl.base import element_of, shape_of, tensor_type

SPLIT_MIN = 1 << 16  # a full reduction of at least this many elements is split in two


def _split_factor(n: int) -> int | None:
    """A divisor of n near sqrt(n), at most 4096, so that both stages have work."""
    best = None
    for s in range(2, min(4096, n) + 1):
        if n % s == 0 and s * s <= n:
            best = s
    return best if best and best >= 64 else None


def split_full_reductions(fn: func.FuncOp) -> None:
    kinds = (reduce.ReduceSumOp, reduce.ReduceProdOp, reduce.ReduceMaxOp, reduce.ReduceMinOp)
    for red in [op for op in fn.body.block.ops if isinstance(op, kinds)]:
        x = red.operands[0]
        dims = shape_of(x.type)
        n = math.prod(dims)
        if tuple(red.prop("dims")) != tuple(range(len(dims))) or n < SPLIT_MIN:
            continue
        s = _split_factor(n)
        if s is None:
            continue
        element = element_of(x.type)
        flat = sh.ReshapeOp.build(x, result_type=tensor_type(element, [s, n // s]))
        partial = type(red).build(flat.results[0], dims=(1,))
        total = type(red).build(partial.results[0], dims=(0,))
        fn.body.block.insert_ops_before([flat, partial, total], red)
        red.results[0].replace_all_uses_with(total.results[0])
        red.detach()
        red.erase()


@dataclass(frozen=True)
class SplitReductionsPass(ModulePass):
    """hl -> hl: full reductions of at least `SPLIT_MIN` elements in two stages."""

    name = "split-reductions"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            split_full_reductions(fn)
