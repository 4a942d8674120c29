"""One `loop.kernel` -> one `tile.kernel`, by vectorizing its scalar body.

At any point of the body there is one *vector axis* (or none): every loop value
becomes either a scalar (uniform over the program) or a block of the current
lane shape. Two strategies, chosen per kernel:

- **elementwise**: the whole parallel space is linearized and blocked: program
  `p` owns lanes `p*B + arange(B)`, masked at the end; parallel indices are
  recovered by div/mod (constant divisors). Inner loops run sequentially, each
  lane carrying its own accumulator.
- **row**: one program per parallel point (scalar indices); each top-level
  `loop.reduce`/`loop.for` is blocked over its own (linearized) space with a
  loop over chunks of B when it is longer than one block, and reductions end in
  a block reduction (`tl.sum`, NaN-propagating max, first-index argmax...).

Row is chosen when the kernel has a top-level inner loop long enough to fill a
block (or too few parallel points to fill a grid); loops nested inside a vector
scope and every `loop.seq_for` run sequentially.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import AnyFloat, IntegerType, Signedness, i1, i64
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.dialects import loop, tile
from lamina.dialects.tile import element_of, shape_of
from lamina.errors import CompileError
from lamina.passes.lower_loop_to_tile.emit import Emitter, is_float, next_pow2, scalar_type

ELEMENTWISE_BLOCK = 1024
MAX_ROW_BLOCK = 4096
MIN_BLOCK = 16

_CMP_NAMES = {"arith.cmpi": arith.CMPI_COMPARISON_OPERATIONS,
              "arith.cmpf": arith.CMPF_COMPARISON_OPERATIONS}
_CASTS = {  # loop-level cast -> tile.cast kind
    "arith.sitofp": "signed", "arith.fptosi": "signed", "arith.extsi": "signed",
    "arith.trunci": "signed", "arith.index_cast": "signed", "arith.uitofp": "unsigned",
    "arith.fptoui": "unsigned", "arith.extui": "unsigned", "arith.index_castui": "unsigned",
    "arith.bitcast": "bitcast",
}


def root_buffer(v: SSAValue) -> SSAValue:
    """The allocation or argument a (possibly viewed) buffer lives in."""
    while isinstance(v.owner, loop.ViewOp):
        v = v.owner.source
    return v


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


class KernelLowering:
    """Builds the body of one tile.kernel from one loop.kernel."""

    def __init__(self, kernel: loop.KernelOp, name: str):
        self.src = kernel
        self.name = name
        self.buffers: list[SSAValue] = []  # root buffers, in kernel-argument order
        for op in kernel.walk():
            if isinstance(op, loop.LoadOp | loop.StoreOp):
                r = root_buffer(op.buf)
                if r not in self.buffers:
                    self.buffers.append(r)
        ptr_types = [tile.PtrType(b.type.element_type) for b in self.buffers]  # type: ignore
        self.block = Block(arg_types=ptr_types)
        for arg, buf in zip(self.block.args, self.buffers, strict=True):
            arg.name_hint = buf.name_hint
        self.ptr = dict(zip(self.buffers, self.block.args, strict=True))
        self.e = Emitter(self.block)
        self.vmap: dict[SSAValue, SSAValue] = {}
        self.scope = Scope((), None)
        self.grid = 1
        self.num_warps = 4

    # -------------------------------------------------------------- driver
    def build(self) -> tile.KernelOp:
        bounds = self.src.bound_values
        total = math.prod(bounds)
        e = self.e
        if self._row_strategy(total):
            self.grid = max(total, 1)
            pid = e.add(tile.ProgramIdOp(0))
            self._bind(self.src.indices, e.delinear(pid, bounds))
            self.num_warps = 4
        else:
            block = max(MIN_BLOCK, min(ELEMENTWISE_BLOCK, next_pow2(total)))
            self.grid = -(-total // block)
            pid = e.add(tile.ProgramIdOp(0))
            lanes = e.binary(arith.AddiOp, e.arange(block), e.binary(arith.MuliOp, pid, block))
            mask = e.cmp("slt", lanes, total) if total % block else None
            self.scope = Scope((block,), mask)
            self._bind(self.src.indices, e.delinear(lanes, bounds))
        self.lower_ops(self.src.body.block.ops)
        e.add(tile.ReturnOp())
        return tile.KernelOp(self.name, Region(self.block))

    def _row_strategy(self, total: int) -> bool:
        inner = [math.prod(op.bound_values) for op in self.src.body.block.ops
                 if isinstance(op, loop.ReduceOp | loop.ForOp)]
        if not inner:
            return False
        return max(inner) >= 64 or total < 256

    def _bind(self, args: Sequence[SSAValue], values: Sequence[SSAValue]) -> None:
        for a, v in zip(args, values, strict=True):
            self.vmap[a] = v

    def get(self, v: SSAValue) -> SSAValue:
        if v in self.vmap:
            return self.vmap[v]
        owner = v.owner
        if isinstance(owner, arith.ConstantOp):  # a constant hoisted out of the kernel
            return self.e.const(owner.value.value.data, owner.result.type)  # type: ignore
        raise CompileError(f"lower-loop-to-tile: kernel {self.name} uses {v} defined outside it")

    # -------------------------------------------------------------- ops
    def lower_ops(self, ops) -> None:
        for op in ops:
            self.lower(op)

    def lower(self, op: Operation) -> None:
        e = self.e
        handler = self._HANDLERS.get(type(op))
        if handler is not None:
            handler(self, op)
            return
        if isinstance(op, arith.ConstantOp):
            self.vmap[op.result] = e.const(op.value.value.data, op.result.type)  # type: ignore
        elif op.name in _CMP_NAMES:
            pred = _CMP_NAMES[op.name][op.predicate.value.data]  # type: ignore
            self.vmap[op.results[0]] = e.cmp(pred, *(self.get(o) for o in op.operands))
        elif isinstance(op, arith.SelectOp):
            self.vmap[op.result] = e.where(*(self.get(o) for o in op.operands))
        elif op.name in _CASTS:
            x = self.get(op.operands[0])
            self.vmap[op.results[0]] = e.cast(x, scalar_type(op.results[0].type), _CASTS[op.name])
        elif op.dialect_name() in ("arith", "math") and len(op.results) == 1:
            operands = [self.get(o) for o in op.operands]
            self.vmap[op.results[0]] = e.op(type(op), *operands,
                                            result_elem=scalar_type(op.results[0].type),
                                            properties=op.properties)
        else:
            raise CompileError(f"lower-loop-to-tile: kernel {self.name}: no tile lowering for "
                               f"{op.name}")

    def _mask(self, op_mask: SSAValue | None) -> SSAValue | None:
        return self.e.logical_and(self.scope.mask, op_mask)

    def _load(self, op: loop.LoadOp) -> None:
        e = self.e
        offs = e.linear([self.get(i) for i in op.indices], op.buf.type.get_shape())  # type: ignore
        op_mask = self.get(op.mask) if op.mask is not None else None
        if op_mask is not None:
            offs, op_mask = e.common(offs, op_mask)
        mask = self._mask(op_mask) if shape_of(offs.type) else op_mask
        if mask is not None:
            offs, mask = e.common(offs, mask)
        value = e.add(tile.LoadOp(self.ptr[root_buffer(op.buf)], offs, mask))
        if op_mask is not None and op.other is not None:
            value = e.where(op_mask, value, self.get(op.other))
        self.vmap[op.res] = value

    def _store(self, op: loop.StoreOp) -> None:
        e = self.e
        offs = e.linear([self.get(i) for i in op.indices], op.buf.type.get_shape())  # type: ignore
        value, offs = e.common(self.get(op.value), offs)
        mask = self.scope.mask if shape_of(offs.type) else None
        e.add(tile.StoreOp(value, self.ptr[root_buffer(op.buf)], offs, mask))

    # -------------------------------------------------------------- inner loops
    def _inner(self, op: loop.ReduceOp | loop.ForOp | loop.SeqForOp) -> None:
        n = math.prod(op.bound_values)
        if n == 0:
            if isinstance(op, loop.ReduceOp):
                init = self.get(op.init)
                self.vmap[op.res[0]] = init
                if len(op.res) == 2:
                    self.vmap[op.res[1]] = self.e.const(0, i64)
            return
        if not self.scope.lanes and not isinstance(op, loop.SeqForOp):
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
        e = self.e
        block = max(MIN_BLOCK, min(MAX_ROW_BLOCK, next_pow2(n)))
        self.num_warps = max(self.num_warps, min(16, max(4, block // 256)))
        is_reduce = isinstance(op, loop.ReduceOp)
        kind = op.kind_name if is_reduce else ""
        carried: list[SSAValue] = []
        if is_reduce:
            carried.append(e.splat(self.get(op.init), (block,)))
            if kind in loop.ARG_KINDS:
                carried.append(e.splat(e.const(0, i64), (block,)))
        single = n <= block
        if single:
            start = None
            state = carried
        else:
            for_op, start = e.for_loop(0, n, block, carried)
            outer, e.block = e.block, for_op.body.block
            state = list(for_op.body.block.args[1:])
        lanes = e.arange(block)
        if start is not None:
            lanes = e.binary(arith.AddiOp, lanes, start)
        mask = e.cmp("slt", lanes, n) if n % block else None
        saved, self.scope = self.scope, Scope((block,), mask)
        y = self._run_body(op, e.delinear(lanes, op.bound_values))
        self.scope = saved
        if is_reduce:
            assert y is not None
            if mask is not None:
                y = e.where(mask, y, e.splat(self.get(op.init), (block,)))
            if kind in loop.ARG_KINDS:
                y = e.splat(y, (block,))
                wins = _better(e, kind, y, state[0])
                state = [e.where(wins, y, state[0]), e.where(wins, e.cast(lanes, i64), state[1])]
            else:
                state = [_combine(e, kind, state[0], y)]
        if not single:
            e.add(scf.YieldOp(*state))
            e.block = outer
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

    _HANDLERS: dict[type, Callable] = {
        loop.LoadOp: _load, loop.StoreOp: _store, loop.ReduceOp: _inner,
        loop.ForOp: _inner, loop.SeqForOp: _inner,
    }


def kernel_args(lowering: KernelLowering) -> list[SSAValue]:
    return list(lowering.buffers)


