"""`bucket-all-reduce` (hl -> hl): neighbouring small `hl.all_reduce`s marked as one
bucket that the runtime runs as one collective, as DistributedDataParallel's gradient
buckets.

Each all-reduce costs a latency (a few to tens of microseconds between processes, more
between machines) besides its bytes; a model's gradients are many small tensors. The
pass walks each block in order and gathers all-reduces of the same `op` and element
type into a bucket of at most `bucket_bytes` bytes (an all-reduce larger than that
stays alone). A bucket is closed early when an op before the next candidate reads the
result of one of its members. A bucket of two or more gets `bucket=k` (k numbers the
buckets of the function) on each member, and its members move to just before its last
member, adjacent and in order, so that every operand is defined before them and every
use comes after. Afterwards each bucket is a run of adjacent all-reduces.

The runtime (lamina.runtime.collective_program) packs a bucket's buffers into one flat
buffer, all-reduces it once and hands out views of the result. The concatenation is
not written as `hl.concat` in the IR: fused with the gradients' producers it became a
select chain that evaluated every producer for every element (a 200x slower kernel on
an MLP's six gradients, measured), where a packing copy is one memcpy per gradient.
Element-wise reductions of the packed buffer are the reductions of the pieces, so
results are bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.dialects.hl import AllReduceOp
from lamina.dialects.hl.base import dtype_of, shape_of, to_attr


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
        done.sort(key=lambda b: order[b[0]])
        for k, bucket in enumerate(b for b in done if len(b) > 1):
            _mark(bucket, k)


def _used_before(bucket: list[AllReduceOp], where: int, order: dict[Operation, int]) -> bool:
    return any(order.get(u.operation, where) < where for m in bucket for u in m.results[0].uses)


def _mark(bucket: list[AllReduceOp], k: int) -> None:
    last = bucket[-1]
    for m in bucket:
        m.properties["bucket"] = to_attr(k)
        if m is not last:
            m.detach()
            Rewriter.insert_op(m, InsertPoint.before(last))
