"""`lower-loop-to-cpu`: the loop level -> the cpu level (one op per C construct).

Takes a `loop` program (`func.func @main` over memrefs) and gives a `cpu` one:

- `loop.kernel` -> `cpu.kernel`, isolated from above: the buffers and scalars its
  body uses become its `args` (constants are cloned in instead); it runs under
  OpenMP (`omp`) when it has enough work to pay for the threads;
- `loop.load`/`loop.store %b[%i, %j]` -> `cpu.load`/`cpu.store %b[%off]` with the
  row-major int64 offset computed with `arith` (`i * 128 + j`);
- `loop.for` -> `cpu.for ... simd`; `loop.seq_for` -> `cpu.for` (in order);
- `loop.reduce`/`loop.yield` -> `cpu.reduce`/`cpu.yield`;
- `loop.matmul` -> `cpu.gemm`; `loop.view` -> `cpu.view`;
- `memref.alloc/dealloc/copy`, `arith`, `math` are kept.

Afterwards no `loop` op remains and every index is a linear offset.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerAttr, MemRefType, ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects import cpu, loop
from lamina.errors import CompileError
from lamina.passes.levels import expect_level

# a kernel with fewer scalar steps than this runs on one thread (OpenMP costs ~µs)
OMP_MIN_WORK = 1 << 15


def _work(block: Block) -> int:
    """Rough count of scalar steps one execution of `block` takes."""
    total = 0
    for op in block.ops:
        if isinstance(op, loop.ForOp | loop.SeqForOp | loop.ReduceOp):
            total += math.prod(op.bound_values) * _work(op.body.block)
        else:
            total += 1
    return total


def _captured(kernel: loop.KernelOp) -> list[SSAValue]:
    """Values used inside the kernel but defined outside, in order of first use."""
    inside: set[SSAValue] = set()
    used: list[SSAValue] = []
    for op in kernel.walk():
        for region in op.regions:
            for block in region.blocks:
                inside.update(block.args)
        inside.update(op.results)
    for op in kernel.walk():
        for v in op.operands:
            if v not in inside and v not in used:
                used.append(v)
    return used


class _KernelBuilder:
    """Translates one loop.kernel body into a cpu.kernel body."""

    def __init__(self, kernel_block: Block):
        self.kernel_block = kernel_block
        self.constants: dict[int, SSAValue] = {}
        self.const_ops: list[Operation] = []

    def index(self, value: int) -> SSAValue:
        if value not in self.constants:
            op = arith.ConstantOp(IntegerAttr(value, IndexType()))
            self.const_ops.append(op)
            self.constants[value] = op.result
        return self.constants[value]

    def offset(self, block: Block, buf_type: MemRefType, indices: Sequence[SSAValue]) -> SSAValue:
        """Row-major linear offset of `indices` in a buffer of `buf_type`."""
        shape = list(buf_type.get_shape())
        terms: list[SSAValue] = []
        stride = 1
        for dim, idx in reversed(list(zip(shape, indices, strict=True))):
            if dim != 1:
                if stride == 1:
                    terms.append(idx)
                else:
                    mul = arith.MuliOp(idx, self.index(stride))
                    block.add_op(mul)
                    terms.append(mul.result)
            stride *= dim
        if not terms:
            return self.index(0)
        total = terms[0]
        for t in terms[1:]:
            add = arith.AddiOp(t, total)
            block.add_op(add)
            total = add.result
        return total

    def translate(self, src: Block, dst: Block, vmap: dict[SSAValue, SSAValue]) -> None:
        for op in src.ops:
            rule = _RULES.get(type(op))
            if rule is not None:
                rule(self, op, dst, vmap)
            else:
                new = op.clone(value_mapper=vmap)
                dst.add_op(new)
                vmap.update(zip(op.results, new.results, strict=True))

    def nest(self, op: loop.ForOp | loop.SeqForOp | loop.ReduceOp, new_block: Block,
             vmap: dict[SSAValue, SSAValue]) -> None:
        _map_args(op.body.block.args, new_block.args, vmap)
        self.translate(op.body.block, new_block, vmap)


def _map_args(old: Sequence[SSAValue], new: Sequence[SSAValue], vmap) -> None:
    for o, n in zip(old, new, strict=True):
        vmap[o] = n
        n.name_hint = o.name_hint


def _load(b: _KernelBuilder, op: loop.LoadOp, dst: Block, vmap) -> None:
    off = b.offset(dst, op.buf.type, [vmap[i] for i in op.indices])  # type: ignore[arg-type]
    mask = vmap[op.mask] if op.mask is not None else None
    other = vmap[op.other] if op.other is not None else None
    new = cpu.LoadOp(vmap[op.buf], off, mask, other)
    dst.add_op(new)
    vmap[op.res] = new.result


def _store(b: _KernelBuilder, op: loop.StoreOp, dst: Block, vmap) -> None:
    off = b.offset(dst, op.buf.type, [vmap[i] for i in op.indices])  # type: ignore[arg-type]
    dst.add_op(cpu.StoreOp(vmap[op.value], vmap[op.buf], off))


def _for(b: _KernelBuilder, op: loop.ForOp | loop.SeqForOp, dst: Block, vmap) -> None:
    new = cpu.ForOp(op.bound_values, simd=isinstance(op, loop.ForOp))
    dst.add_op(new)
    b.nest(op, new.body.block, vmap)


def _reduce(b: _KernelBuilder, op: loop.ReduceOp, dst: Block, vmap) -> None:
    new = cpu.ReduceOp(op.kind_name, op.bound_values, vmap[op.init])
    dst.add_op(new)
    b.nest(op, new.body.block, vmap)
    vmap.update(zip(op.res, new.res, strict=True))


def _yield(b: _KernelBuilder, op: loop.YieldOp, dst: Block, vmap) -> None:
    dst.add_op(cpu.YieldOp(*(vmap[v] for v in op.values)))


_RULES: dict[type[Operation], Callable] = {
    loop.LoadOp: _load, loop.StoreOp: _store, loop.ForOp: _for, loop.SeqForOp: _for,
    loop.ReduceOp: _reduce, loop.YieldOp: _yield,
}


def lower_kernel(kernel: loop.KernelOp) -> list[Operation]:
    """The cpu.kernel of a loop.kernel (plus nothing else: constants are cloned in)."""
    captured = _captured(kernel)
    constants = [v for v in captured if isinstance(v.owner, arith.ConstantOp)]
    args = [v for v in captured if v not in constants]
    bounds = kernel.bound_values
    omp = math.prod(bounds) > 1 and math.prod(bounds) * _work(kernel.body.block) >= OMP_MIN_WORK
    new = cpu.KernelOp(kernel.kernel_name.data, bounds, args, omp=omp)
    block = new.body.block
    vmap: dict[SSAValue, SSAValue] = {}
    _map_args(kernel.body.block.args, new.ivs, vmap)
    _map_args(args, new.params, vmap)
    builder = _KernelBuilder(block)
    for c in constants:
        clone = c.owner.clone()  # type: ignore[union-attr]
        builder.const_ops.append(clone)
        vmap[c] = clone.results[0]
    builder.translate(kernel.body.block, block, vmap)
    first = block.first_op
    for op in builder.const_ops:
        if first is None:
            block.add_op(op)
        else:
            block.insert_op_before(op, first)
    return [new]


def _lower_top(op: Operation, vmap: dict[SSAValue, SSAValue]) -> Operation:
    if isinstance(op, loop.KernelOp):
        (new,) = lower_kernel(op)
        new.operands = [vmap.get(v, v) for v in new.operands]
        return new
    if isinstance(op, loop.MatmulOp):
        return cpu.GemmOp(vmap[op.a], vmap[op.b], vmap[op.c],
                          **{s: op.size(s) for s in loop.MatmulOp.SIZES},
                          **{f: op.flag(f) for f in loop.MatmulOp.FLAGS}, views=op.views())
    if isinstance(op, loop.ViewOp):
        return cpu.ViewOp(vmap[op.source], op.res.type)  # type: ignore[arg-type]
    if op.dialect_name() == "loop":
        raise CompileError(f"lower-loop-to-cpu: {op.name} is not allowed at the top level")
    return op.clone(value_mapper=vmap)


def lower_function(fn: func.FuncOp) -> None:
    old = fn.body.block
    new_block = Block(arg_types=old.arg_types)
    vmap: dict[SSAValue, SSAValue] = dict(zip(old.args, new_block.args, strict=True))
    for op in old.ops:
        new = _lower_top(op, vmap)
        new_block.add_op(new)
        vmap.update(zip(op.results, new.results, strict=True))
    for old_arg, new_arg in zip(old.args, new_block.args, strict=True):
        new_arg.name_hint = old_arg.name_hint
    fn.body.detach_block(old)
    old.erase(safe_erase=False)
    fn.body.add_block(new_block)


@dataclass(frozen=True)
class LowerLoopToCpuPass(ModulePass):
    """loop -> cpu: kernels become isolated C-function-shaped ops over linear offsets."""

    name = "lower-loop-to-cpu"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        expect_level(op, "loop", self.name)
        for fn in op.walk():
            if isinstance(fn, func.FuncOp) and any(
                    isinstance(o, loop.KernelOp | loop.MatmulOp | loop.ViewOp)
                    for o in fn.body.block.ops):
                lower_function(fn)

