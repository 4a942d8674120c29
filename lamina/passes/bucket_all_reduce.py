"""`bucket-all-reduce` (hl -> hl): neighbouring small `hl.all_reduce`s as one all-reduce
of a flat bucket, as DistributedDataParallel's gradient buckets.

Each all-reduce costs a latency (a few to tens of microseconds between processes, more
between machines) besides its bytes; a model's gradients are many small tensors. The
pass walks each block in order and gathers all-reduces of the same `op` and element
type into a bucket of at most `bucket_bytes` bytes (an all-reduce larger than that
stays alone). A bucket is closed early when an op before the next candidate reads the
result of one of its members (the fused all-reduce replaces the bucket's last member,
so every use must come after it). A bucket of two or more becomes

    %f_i = hl.reshape %x_i                  (to 1-d)
    %cat = hl.concat %f_0, %f_1, ... dim=0
    %sum = hl.all_reduce %cat op=...
    %r_i = hl.reshape (hl.slice %sum [off_i, off_i + n_i))

and afterwards no two all-reduces of one bucket remain. Element-wise reductions of
the concatenation are the reductions of the pieces, so results are bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation
from xdsl.passes import ModulePass

from lamina.dialects.hl import AllReduceOp, ConcatOp, SliceOp
from lamina.dialects.hl.base import dtype_of, shape_of
from lamina.dialects.hl.builder import Builder


def _nbytes(op: AllReduceOp) -> int:
    t = op.results[0].type
    return int(np.prod(shape_of(t), dtype=np.int64)) * dtype_of(t).itemsize


@dataclass(frozen=True)
class BucketAllReducePass(ModulePass):
    """hl -> hl: same-kind all-reduces of at most `bucket_bytes` together as one."""

    name = "bucket-all-reduce"
    bucket_bytes: int = 25 * 2**20

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in op.ops:
            if isinstance(fn, func.FuncOp):
                for block in fn.body.blocks:
                    self._bucket_block(block)

    def _bucket_block(self, block: Block) -> None:
        order = {o: i for i, o in enumerate(block.ops)}
        open_: dict[tuple, list[AllReduceOp]] = {}
        done: list[list[AllReduceOp]] = []
        for o in list(block.ops):
            if not isinstance(o, AllReduceOp):
                continue
            key = (o.prop("op"), o.results[0].type.get_element_type())
            bucket = open_.get(key, [])
            size = sum(_nbytes(m) for m in bucket) + _nbytes(o)
            if bucket and (size > self.bucket_bytes or _used_before(bucket, order[o], order)):
                done.append(bucket)
                bucket = []
            bucket.append(o)
            open_[key] = bucket
        done.extend(open_.values())
        for bucket in done:
            if len(bucket) > 1:
                _fuse(bucket)


def _used_before(bucket: list[AllReduceOp], where: int, order: dict[Operation, int]) -> bool:
    return any(order.get(u.operation, where) < where for m in bucket for u in m.results[0].uses)


def _fuse(bucket: list[AllReduceOp]) -> None:
    last = bucket[-1]
    b = Builder.before(last)
    sizes = [int(np.prod(shape_of(m.results[0].type), dtype=np.int64)) for m in bucket]
    flats = [b.wrap(m.operands[0]).reshape((n,)) for m, n in zip(bucket, sizes, strict=True)]
    cat = b.emit(ConcatOp, *flats, dim=0)
    total = b.emit(AllReduceOp, cat, op=last.prop("op"))
    offset = 0
    for m, n in zip(bucket, sizes, strict=True):
        piece = b.emit(SliceOp, total, start=(offset,), stop=(offset + n,), step=(1,))
        shaped = piece.reshape(shape_of(m.results[0].type))
        m.results[0].replace_all_uses_with(shaped.ssa)
        offset += n
    for m in bucket:
        m.detach()
        m.erase()
