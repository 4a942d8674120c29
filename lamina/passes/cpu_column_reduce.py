"""`cpu-column-reduce`: vectorize reductions that stride across memory (cpu -> cpu).

A kernel parallel over columns `j` whose reduction walks rows (`sum(x, dim=0)`,
a bias gradient) reads with a stride of a whole row at every step: one cache
line per element. This pass tiles `j` by a width `w` that divides it and keeps `w`
accumulators in a small stack buffer, so the reduction loop runs over rows and the
inner `simd` loop over `w` neighbouring columns (unit stride):

    cpu.kernel "k" parallel [512] (%j) ... {          cpu.kernel "k" parallel [16] (%jb) ... {
      %s = cpu.reduce "add" [1024] (%i) ...    ==>      %acc = memref.alloca() : memref<32xf32>
      cpu.store %s, %o[%j] ...                          cpu.for [32] (%l) simd { init -> %acc[%l] }
    }                                                   cpu.for [1024] (%i) { cpu.for [32] (%l) simd {
                                                          %j = jb * 32 + l; ...; %acc[%l] += v } }
                                                        cpu.for [32] (%l) simd { %s = %acc[%l]; store }

Applies to kernels whose body is straight-line code around one add/mul/max/min
`cpu.reduce` with a load that is unit-stride in `j` but not along the reduction's
innermost index, or whose innermost reduction is too short to vectorize (a 3x3
convolution window). Afterwards such reductions read neighbouring columns at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import AnyFloat, IndexType, IntegerAttr, ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects import cpu

WIDTHS = (32, 16, 8)
_COMBINE_FLOAT = {"add": arith.AddfOp, "mul": arith.MulfOp, "max": arith.MaximumfOp,
                  "min": arith.MinimumfOp}
_COMBINE_INT = {"add": arith.AddiOp, "mul": arith.MuliOp, "max": arith.MaxSIOp,
                "min": arith.MinSIOp}


_PROBE_OPS = {arith.AddiOp: lambda a, b: a + b, arith.SubiOp: lambda a, b: a - b,
              arith.MuliOp: lambda a, b: a * b, arith.MaxSIOp: max, arith.MinSIOp: min,
              arith.FloorDivSIOp: lambda a, b: a // b if b else 0,
              arith.DivUIOp: lambda a, b: a // b if b else 0,
              arith.RemUIOp: lambda a, b: a % b if b else 0}


def _probe(value: SSAValue, env: dict[SSAValue, int]) -> int | None:
    """Evaluate an index expression (add/sub/mul/min/max/div/rem of constants and
    known values); None when it depends on anything else."""
    if value in env:
        return env[value]
    op = value.owner
    if isinstance(op, arith.ConstantOp) and isinstance(op.value, IntegerAttr):
        return int(op.value.value.data)
    rule = _PROBE_OPS.get(type(op))  # type: ignore[arg-type]
    if rule is None:
        return None
    a, b = _probe(op.operands[0], env), _probe(op.operands[1], env)  # type: ignore[union-attr]
    return None if a is None or b is None else rule(a, b)


def _stride(offset: SSAValue, iv: SSAValue, ivs: dict[SSAValue, int]) -> int | None:
    """d offset / d iv at the middle of the iteration space (where clamps of padded
    windows are inactive); None when the offset is not computable from the ivs."""
    base = {v: extent // 2 for v, extent in ivs.items()}
    f0 = _probe(offset, base)
    f1 = _probe(offset, base | {iv: base[iv] + 1})
    return None if f0 is None or f1 is None else f1 - f0


def _candidate(kernel: cpu.KernelOp) -> tuple[cpu.ReduceOp, int] | None:
    space = kernel.space
    if not space:
        return None
    ops = list(kernel.body.block.ops)
    reduces = [o for o in ops if isinstance(o, cpu.ReduceOp)]
    if len(reduces) != 1 or any(isinstance(o, cpu.ForOp) for o in ops):
        return None
    red = reduces[0]
    if red.kind_names[0] not in _COMBINE_FLOAT or len(red.kind_names) > 1 or any(
            isinstance(o, cpu.ReduceOp | cpu.ForOp) for o in red.body.block.ops):
        return None
    if not isinstance(red.inits[0].owner, arith.ConstantOp) and red.inits[0] not in kernel.params:
        return None
    before = ops[: ops.index(red)]
    if any(isinstance(o, cpu.StoreOp) for o in before):
        return None
    j, k = kernel.ivs[-1], red.ivs[-1]
    ivs = dict(zip([*kernel.ivs, *red.ivs], [*space, *red.space], strict=True))
    strided = False  # some load is unit-stride across j but not along a long k
    for load in (o for o in red.body.block.ops if isinstance(o, cpu.LoadOp)):
        along_k = _stride(load.offset, k, ivs)
        if _stride(load.offset, j, ivs) == 1 and (along_k != 1 or red.space[-1] < 16):
            strided = True
    width = next((w for w in WIDTHS if space[-1] % w == 0 and space[-1] > w), None)
    return (red, width) if strided and width else None


class _Cloner:
    """Clones ops into a block through a value map."""

    def __init__(self, vmap: dict[SSAValue, SSAValue]):
        self.vmap = vmap

    def clone_all(self, block: Block, ops: Sequence[Operation]) -> None:
        for op in ops:
            new = op.clone(value_mapper=self.vmap)
            block.add_op(new)
            self.vmap.update(zip(op.results, new.results, strict=True))


def _column(block: Block, jb: SSAValue, lane: SSAValue, width: int) -> SSAValue:
    c = arith.ConstantOp(IntegerAttr(width, IndexType()))
    mul = arith.MuliOp(jb, c.result)
    add = arith.AddiOp(mul.result, lane)
    for op in (c, mul, add):
        block.add_op(op)
    return add.result


def vectorize(kernel: cpu.KernelOp, red: cpu.ReduceOp, width: int) -> cpu.KernelOp:
    """The kernel with its last parallel dim tiled by `width` lanes of accumulators."""
    space = list(kernel.space)
    new = cpu.KernelOp(kernel.sym_name.data, [*space[:-1], space[-1] // width],
                       list(kernel.args), omp=kernel.omp is not None)
    block = new.body.block
    outer: dict[SSAValue, SSAValue] = dict(zip(kernel.params, new.params, strict=True))
    outer.update(zip(kernel.ivs[:-1], new.ivs[:-1], strict=True))
    jb = new.ivs[-1]
    ops = list(kernel.body.block.ops)
    before, after = ops[: ops.index(red)], ops[ops.index(red) + 1:]
    t = red.inits[0].type
    init = outer.get(red.inits[0])
    if init is None:
        const = red.inits[0].owner.clone()  # type: ignore[union-attr]
        block.add_op(const)
        init = const.results[0]
    acc = memref.AllocaOp.get(t, shape=[width])
    block.add_op(acc)

    def lanes() -> tuple[cpu.ForOp, Block, _Cloner]:
        """A simd loop over the lanes, with `j` = jb * width + lane mapped."""
        loop = cpu.ForOp([width], simd=True)
        body = loop.body.block
        cloner = _Cloner(dict(outer))
        cloner.vmap[kernel.ivs[-1]] = _column(body, jb, body.args[0], width)
        return loop, body, cloner

    init_loop, init_body, _ = lanes()
    init_body.add_op(cpu.StoreOp(init, acc.memref, init_body.args[0]))
    block.add_op(init_loop)

    rows = cpu.ForOp(red.space, simd=False)
    block.add_op(rows)
    step_loop, step_body, cl = lanes()
    rows.body.block.add_op(step_loop)
    cl.vmap.update(zip(red.ivs, rows.body.block.args, strict=True))
    cl.clone_all(step_body, before)
    yielded = red.body.block.last_op
    assert isinstance(yielded, cpu.YieldOp)
    cl.clone_all(step_body, list(red.body.block.ops)[:-1])
    lane = step_body.args[0]
    old = cpu.LoadOp(acc.memref, lane)
    combine = (_COMBINE_FLOAT if _is_float(t) else _COMBINE_INT)[red.kind_names[0]]
    upd = combine(old.result, cl.vmap.get(yielded.operands[0], yielded.operands[0]))
    for op in (old, upd, cpu.StoreOp(upd.result, acc.memref, lane)):
        step_body.add_op(op)

    fin_loop, fin_body, cf = lanes()
    cf.clone_all(fin_body, before)
    result = cpu.LoadOp(acc.memref, fin_body.args[0])
    fin_body.add_op(result)
    cf.vmap[red.res[0]] = result.result
    cf.clone_all(fin_body, after)
    block.add_op(fin_loop)
    return new


def _is_float(t) -> bool:
    return isinstance(t, AnyFloat)


@dataclass(frozen=True)
class CpuColumnReducePass(ModulePass):
    """cpu -> cpu: reductions across rows run row by row over `w` columns at once."""

    name = "cpu-column-reduce"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for kernel in [k for k in op.walk() if isinstance(k, cpu.KernelOp)]:
            found = _candidate(kernel)
            if found is None:
                continue
            new = vectorize(kernel, *found)
            block = kernel.parent_block()
            assert block is not None
            block.insert_op_before(new, kernel)
            kernel.detach()
            kernel.erase(safe_erase=False)
