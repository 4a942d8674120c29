"""Buffer lifetimes: free each intermediate after its last reader, and reuse it.

Walking the function in order, a `memref.dealloc` returns its buffer to a pool and
a later `memref.alloc` of the same type takes it from there instead (every reader
of the old value precedes the dealloc, every writer of the new one follows the
alloc). Each buffer is then freed once, after its last use.
"""

from __future__ import annotations

from collections import defaultdict

from xdsl.dialects import memref
from xdsl.ir import Attribute, Block, SSAValue


def insert_deallocs(block: Block, allocs: list[memref.AllocOp]) -> None:
    position = {op: i for i, op in enumerate(block.ops)}
    for alloc in allocs:
        last = alloc
        for use in alloc.memref.uses:
            user = block.find_ancestor_op_in_block(use.operation)
            if user is not None and position[user] > position[last]:
                last = user
        block.insert_op_after(memref.DeallocOp.get(alloc.memref), last)


def reuse_buffers(block: Block) -> None:
    pool: dict[Attribute, list[SSAValue]] = defaultdict(list)
    kept: list[memref.AllocOp] = []
    for op in list(block.ops):
        if isinstance(op, memref.DeallocOp):
            pool[op.memref.type].append(op.memref)
            op.detach()
            op.erase()
        elif isinstance(op, memref.AllocOp):
            free = pool[op.memref.type]
            if free:
                op.memref.replace_all_uses_with(free.pop())
                op.detach()
                op.erase()
            else:
                kept.append(op)
    insert_deallocs(block, kept)
