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

- **column**: a row strategy turned sideways, for reductions whose loads walk
  memory along a parallel index (`x.sum(0)`): programs own 64 parallel lanes and
  each top-level inner loop is blocked as 2-d (inner x lanes) tiles, reduced
  along axis 0, so loads stay contiguous.

Row is chosen when the kernel has a top-level inner loop long enough to fill a
block (or too few parallel points to fill a grid); loops nested inside a vector
scope and every `loop.seq_for` run sequentially.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from xdsl.dialects import arith
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.dialects import check, loop, tile
from lamina.dialects.tile import element_of, shape_of
from lamina.errors import CompileError
from lamina.passes.lower_loop_to_tile.emit import Emitter, next_pow2, scalar_type
from lamina.passes.lower_loop_to_tile.inner import MIN_BLOCK, InnerLoops, Scope

ELEMENTWISE_BLOCK = 1024
COLUMN_LANES = 64  # parallel lanes of a column kernel (its blocks are inner x lanes)

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


class KernelLowering(InnerLoops):
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
        self.column = False

    # -------------------------------------------------------------- driver
    def build(self) -> tile.KernelOp:
        bounds = self.src.bound_values
        total = math.prod(bounds)
        e = self.e
        strategy = self._strategy(total)
        pid = e.add(tile.ProgramIdOp(0))
        if strategy == "row":
            self.grid = total  # 0 points: nothing is launched
            self._bind(self.src.indices, e.delinear(pid, bounds))
        else:
            size = COLUMN_LANES if strategy == "column" else ELEMENTWISE_BLOCK
            block = max(MIN_BLOCK, min(size, next_pow2(total)))
            self.grid = -(-total // block)
            self.column = strategy == "column"
            lanes = e.binary(arith.AddiOp, e.arange(block), e.binary(arith.MuliOp, pid, block))
            mask = e.cmp("slt", lanes, total) if total % block else None
            self.scope = Scope((block,), mask)
            self._bind(self.src.indices, e.delinear(lanes, bounds))
        self.lower_ops(self.src.body.block.ops)
        e.add(tile.ReturnOp())
        return tile.KernelOp(self.name, Region(self.block))

    def _strategy(self, total: int) -> str:
        """"row", "column" or "elementwise" (see the module docstring)."""
        inner = [op for op in self.src.body.block.ops
                 if isinstance(op, loop.ReduceOp | loop.ForOp)]
        if not inner:
            return "elementwise"
        longest = max(math.prod(op.bound_values) for op in inner)
        if longest < 64 and total >= 256:
            return "elementwise"
        if total >= 64 and longest >= 64 and self._contiguous_along_parallel(inner):
            return "column"
        return "row"

    def _contiguous_along_parallel(self, inner: list) -> bool:
        """Every load in the inner loops walks memory along a parallel index (a column
        reduction): lanes over the parallel space then read contiguous memory."""
        parallel = set(self.src.indices)
        loads = [o for op in inner for o in op.walk() if isinstance(o, loop.LoadOp)]
        return bool(loads) and all(ld.indices and ld.indices[-1] in parallel
                                   for ld in loads)

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

    def _check_index(self, op: check.IndexOp) -> None:
        """check.index of a block of lanes: lanes outside the kernel's space (the
        scope's mask) hold no index of the program and are checked as 0."""
        e = self.e
        i = self.get(op.index)
        mask = self.scope.mask if shape_of(i.type) else None
        if mask is not None:
            i, mask = e.common(i, mask)
            i = e.where(mask, i, e.const(0, element_of(i.type)))
        self.vmap[op.result] = e.add(check.IndexOp(i, op.size_value, op.what.data))

    _HANDLERS: dict[type, Callable] = {
        check.IndexOp: _check_index, loop.LoadOp: _load, loop.StoreOp: _store, loop.ReduceOp: InnerLoops._inner,
        loop.ForOp: InnerLoops._inner, loop.SeqForOp: InnerLoops._inner,
    }
