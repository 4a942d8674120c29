"""Inner loops of a kernel body (`loop.reduce`, `loop.for`, `loop.seq_for`) in tile IR.

In a scalar scope (row strategy) a reduce/for is *blocked*: its linearized space
is covered by blocks of B lanes (a loop over chunks when longer than one block);
reductions accumulate per lane and end in one block reduction. Inside a vector
scope, and for every `seq_for`, the loop runs *sequentially*, each lane carrying
its own accumulator. Max/min propagate NaN; argmax/argmin keep the first index
of the extremum (a NaN counts as the extremum).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import AnyFloat, IntegerType, Signedness, i1, i64
from xdsl.ir import SSAValue

from lamina.dialects import loop, tile
from lamina.dialects.tile import element_of
from lamina.passes.lower_loop_to_tile.emit import Emitter, is_float, next_pow2

MAX_ROW_BLOCK = 4096  # the longest block of a blocked inner loop (tests lower it)
COLUMN_TILE = 4096  # elements of a 2-d (inner x lanes) block under a vector scope
MIN_BLOCK = 16


@dataclass
class Scope:
    lanes: tuple[int, ...]  # () in a scalar scope, (B,) in a vector scope
    mask: SSAValue | None  # the lanes that are valid, in a vector scope


def _combine(e: Emitter, kind: str, acc: SSAValue, y: SSAValue) -> SSAValue:
    """acc (+) y, elementwise, for reduce kinds add/mul/max/min."""
    elem = element_of(acc.type)
    if elem == i1:
        cls = {"add": arith.OrIOp, "max": arith.OrIOp, "mul": arith.AndIOp,
               "min": arith.AndIOp}[kind]
    elif isinstance(elem, AnyFloat):
        cls = {"add": arith.AddfOp, "mul": arith.MulfOp, "max": arith.MaximumfOp,
               "min": arith.MinimumfOp}[kind]
    else:
        unsigned = isinstance(elem, IntegerType) and elem.signedness.data == Signedness.UNSIGNED
        cls = {"add": arith.AddiOp, "mul": arith.MuliOp,
               "max": arith.MaxUIOp if unsigned else arith.MaxSIOp,
               "min": arith.MinUIOp if unsigned else arith.MinSIOp}[kind]
    return e.op(cls, acc, y)


def _better(e: Emitter, kind: str, new: SSAValue, old: SSAValue) -> SSAValue:
    """new strictly beats old for argmax/argmin (a NaN beats any number)."""
    pred = ("ogt" if kind == "argmax" else "olt") if is_float(new.type) else \
        ("sgt" if kind == "argmax" else "slt")
    wins = e.cmp(pred, new, old)
    if is_float(new.type):
        new_nan = e.cmp("uno", new, new)
        old_nan = e.cmp("uno", old, old)
        not_old = e.cmp("eq", old_nan, e.const(0, i1))
        wins = e.op(arith.OrIOp, wins, e.op(arith.AndIOp, new_nan, not_old))
    return wins


class InnerLoops:
    """Mixin of KernelLowering: lowering of inner loops (see the module docstring).

    Uses the lowering's emitter `e`, value map `vmap`, `scope`, `get`, `_bind`,
    `lower_ops` and `num_warps`."""

    def _inner(self, op: loop.ReduceOp | loop.ForOp | loop.SeqForOp) -> None:
        n = math.prod(op.bound_values)
        if n == 0:
            if isinstance(op, loop.ReduceOp):
                init = self.get(op.init)
                self.vmap[op.res[0]] = init
                if len(op.res) == 2:
                    self.vmap[op.res[1]] = self.e.const(0, i64)
            return
        blockable = not self.scope.lanes or (self.column and len(self.scope.lanes) == 1)
        if blockable and not isinstance(op, loop.SeqForOp):
            self._blocked(op, n)
        else:
            self._sequential(op, n)

    def _run_body(self, op, indices: Sequence[SSAValue]) -> SSAValue | None:
        """Lower the body of an inner loop; returns the yielded value of a reduce."""
        self._bind(op.body.block.args, indices)
        ops = list(op.body.block.ops)
        if isinstance(op, loop.ReduceOp):
            self.lower_ops(ops[:-1])
            return self.get(ops[-1].values[0])  # type: ignore[attr-defined]
        self.lower_ops(ops)
        return None

    def _sequential(self, op, n: int) -> None:
        e = self.e
        lanes = self.scope.lanes
        carried: list[SSAValue] = []
        if isinstance(op, loop.ReduceOp):
            carried.append(e.splat(self.get(op.init), lanes))
            if op.kind_name in loop.ARG_KINDS:
                carried.append(e.splat(e.const(0, i64), lanes))
        for_op, t = e.for_loop(0, n, 1, carried)
        outer, e.block = e.block, for_op.body.block
        y = self._run_body(op, e.delinear(t, op.bound_values))
        new = list(for_op.body.block.args[1:])
        if y is not None:
            kind = op.kind_name
            if kind in loop.ARG_KINDS:
                wins = _better(e, kind, y, new[0])
                new = [e.where(wins, y, new[0]), e.where(wins, e.cast(t, i64), new[1])]
            else:
                new = [_combine(e, kind, new[0], y)]
        e.add(scf.YieldOp(*new))
        e.block = outer
        for r, v in zip(getattr(op, "res", ()), for_op.res, strict=False):
            self.vmap[r] = v

    def _blocked(self, op, n: int) -> None:
        """Blocks of the inner space: (B,) in a scalar scope, (B, *lanes) under lanes."""
        e = self.e
        outer = self.scope.lanes
        limit = MAX_ROW_BLOCK if not outer else max(MIN_BLOCK, COLUMN_TILE // outer[0])
        rows = max(MIN_BLOCK, min(limit, next_pow2(n)))
        shape = (rows, *outer)
        self.num_warps = max(self.num_warps, min(16, max(4, math.prod(shape) // 256)))
        is_reduce = isinstance(op, loop.ReduceOp)
        kind = op.kind_name if is_reduce else ""
        carried: list[SSAValue] = []
        if is_reduce:
            carried.append(e.splat(self.get(op.init), shape))
            if kind in loop.ARG_KINDS:
                carried.append(e.splat(e.const(0, i64), shape))
        single = n <= rows
        if single:
            start = None
            state = carried
        else:
            for_op, start = e.for_loop(0, n, rows, carried)
            saved_block, e.block = e.block, for_op.body.block
            state = list(for_op.body.block.args[1:])
        lanes = e.arange(rows)
        if start is not None:
            lanes = e.binary(arith.AddiOp, lanes, start)
        if outer:  # inner positions down axis 0, the outer lanes along axis 1
            lanes = e.add(tile.BroadcastOp(e.add(tile.ExpandDimsOp(lanes, 1)), shape))
        mask = e.logical_and(e.cmp("slt", lanes, n) if n % rows else None, self.scope.mask)
        saved, self.scope = self.scope, Scope(shape, mask)
        y = self._run_body(op, e.delinear(lanes, op.bound_values))
        self.scope = saved
        if is_reduce:
            assert y is not None
            y = e.common(y, state[0])[0]
            if mask is not None:
                y = e.where(mask, y, e.splat(self.get(op.init), shape))
            if kind in loop.ARG_KINDS:
                wins = _better(e, kind, y, state[0])
                state = [e.where(wins, y, state[0]), e.where(wins, e.cast(lanes, i64), state[1])]
            else:
                state = [_combine(e, kind, state[0], y)]
        if not single:
            e.add(scf.YieldOp(*state))
            e.block = saved_block
            state = list(for_op.res)
        if is_reduce:
            self._finish_reduce(op, state)

    def _finish_reduce(self, op: loop.ReduceOp, state: list[SSAValue]) -> None:
        e = self.e
        kind = op.kind_name
        if kind in loop.ARG_KINDS:
            red = e.add(tile.ArgReduceOp(kind, state[0], state[1]))
            self.vmap[op.res[0]], self.vmap[op.res[1]] = red.owner.results  # type: ignore
            return
        elem = element_of(state[0].type)
        tkind = {"add": "sum", "mul": "prod", "max": "max", "min": "min"}[kind]
        if elem == i1:
            tkind = "or" if kind in ("add", "max") else "and"
        self.vmap[op.res[0]] = e.add(tile.ReduceOp(tkind, state[0]))
