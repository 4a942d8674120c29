"""`cpu-group-reductions`: reductions over the same space share one loop (cpu -> cpu).

sum, max and min of one row, or a sum and a sum of squares, each read the row; one
`cpu.reduce` with several kinds reads it once and keeps one accumulator per kind:

    %s = cpu.reduce "add" [128] (%k) init(%z : f32) -> f32 { A(%k); cpu.yield %a : f32 }
    %t = arith.mulf %s, %c2 : f32
    %m = cpu.reduce "max" [128] (%l) init(%n : f32) -> f32 { B(%l); cpu.yield %b : f32 }
  ==>
    %s, %m = cpu.reduce "add", "max" [128] (%k) init(%z, %n : f32, f32) -> f32, f32 {
      A(%k); B(%k); cpu.yield %a, %b : f32, f32
    }
    %t = arith.mulf %s, %c2 : f32

A group is a run of add/mul/max/min reductions of one block over the same space (and
`simd`) where none reads another's result, with only `arith`/`math` ops between them
that none of them reads (the element rules interleave `sum(x) + 2 * max(x)` as reduce,
mulf, reduce); those ops move after the group. argmax/argmin reduce alone. Blocks
nested in a reduction are grouped first, each on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation
from xdsl.passes import ModulePass

from lamina.dialects import cpu
from lamina.passes.levels import expect_level


def _groupable(op: Operation) -> bool:
    return isinstance(op, cpu.ReduceOp) and not set(op.kind_names) & set(cpu.ARG_KINDS)


def fusable(ops: list[Operation], start: int) -> tuple[list[cpu.ReduceOp], list[Operation]]:
    """The reductions from `ops[start]` on that can share one loop, and the scalar ops
    between them (to run after that loop)."""
    group: list[cpu.ReduceOp] = []
    between: list[Operation] = []
    pending: list[Operation] = []
    # results of the group and of every op after its first reduction: `between` too,
    # since those ops move after the merged loop (a third reduction that read a scalar
    # computed between the first two was used before definition). Kept incrementally:
    # a block of n reductions and scalar ops is scanned in O(n), not O(n^2) per call
    earlier: set = set()
    for op in ops[start:]:
        if _groupable(op):
            assert isinstance(op, cpu.ReduceOp)
            if group and (op.space != group[0].space or op.simd != group[0].simd):
                break
            if group and any(v in earlier for inner in op.walk() for v in inner.operands):
                break
            group.append(op)
            earlier.update(op.results)
            between += pending
            pending = []
        elif group and op.name.startswith(("arith.", "math.")) and not op.regions:
            pending.append(op)
            earlier.update(op.results)
        else:
            break
    return group, between


def merge(group: list[cpu.ReduceOp], between: list[Operation]) -> cpu.ReduceOp:
    """One reduction doing the work of `group`, in the first one's place; the `between`
    ops follow it."""
    first = group[0]
    merged = cpu.ReduceOp([k for r in group for k in r.kind_names], first.space,
                          [v for r in group for v in r.inits],
                          simd=first.simd.data if first.simd is not None else None)
    body = merged.body.block
    for new, old in zip(body.args, first.ivs, strict=True):
        new.name_hint = old.name_hint
    yielded = []
    for r in group:
        for old, new in zip(r.ivs, body.args, strict=True):
            old.replace_all_uses_with(new)
        last = r.body.block.last_op
        assert isinstance(last, cpu.YieldOp)
        yielded += list(last.operands)
        for op in list(r.body.block.ops)[:-1]:
            op.detach()
            body.add_op(op)
    body.add_op(cpu.YieldOp(*yielded))
    block = first.parent_block()
    assert block is not None
    block.insert_op_before(merged, first)
    results = iter(merged.res)
    for r in group:
        for old in r.res:
            new = next(results)
            new.name_hint = old.name_hint
            old.replace_all_uses_with(new)
    place: Operation = merged
    for op in between:
        op.detach()
        block.insert_op_after(op, place)
        place = op
    for r in group:
        r.detach()
        r.erase(safe_erase=False)
    return merged


def _group_all(block: Block) -> None:
    """Group the reductions of every block nested in `block` (innermost first), then
    those of `block`."""
    for op in block.ops:
        for region in op.regions:
            for b in region.blocks:
                _group_all(b)
    ops = list(block.ops)
    i = 0
    while i < len(ops):
        group, between = fusable(ops, i)
        if len(group) > 1:
            merge(group, between)
            ops = list(block.ops)
            i += len(between)  # the merged reduction is at i, the moved ops after it
        i += 1


@dataclass(frozen=True)
class CpuGroupReductionsPass(ModulePass):
    """cpu -> cpu: neighbouring reductions over one space become one multi-kind
    `cpu.reduce` (one loop, one accumulator per kind)."""

    name = "cpu-group-reductions"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        expect_level(op, "cpu", self.name)
        _group_all(op.body.block)
