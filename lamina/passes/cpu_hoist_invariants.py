"""`cpu-hoist-invariants`: the scalar values a kernel computes the same in every
iteration are computed once before it and passed in as scalar args (cpu -> cpu).

Why, besides saving the work: GCC 12.2 with AVX-512 miscompiles `omp simd` loops in
which such a value (a float product of a loaded scalar, like `ct * 100` in a
gradient) feeds selects. Its jump threading and sinking copy the product into the
arms of the selects' branches; if-conversion then replaces the PHI of the copies by
one copy, which it has predicated on its own arm's mask, so lanes of the other arm
read 0 (tests/data/gcc12_sink_ifcvt_miscompile.c; the Rosenbrock gradient lost
terms). Defined outside the loop, the value is one SSA name that nothing copies.

    cpu.kernel "k" parallel [4] (%i) args(%c = %ct, ...) {    %z = arith.constant 0
      %z = arith.constant 0 : index                         %s = cpu.load %ct[%z]
      %s = cpu.load %c[%z] : memref<f32>            ==>     %m = arith.mulf %s, %k
      %m = arith.mulf %s, %k : f32                          cpu.kernel "k" parallel [4] (%i)
      ...uses of %m...                                          args(..., %m2 = %m) {
    }                                                         ...uses of %m2...

Hoisted: `arith`/`math` ops and loads of buffers the kernel does not write (nor any
buffer sharing its memory), whose operands are kernel params or hoisted values, at the
top level of the kernel's body; the constants they use are copied out. Kernels
with an empty iteration space keep theirs (a hoisted load would run). Afterwards, no
non-constant op at a kernel's top level has only loop-invariant operands, and the
kernel's new params are scalars after its old ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import MemRefType, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects import cpu
from lamina.passes.levels import expect_level


def _root(v: SSAValue) -> SSAValue:
    while isinstance(v.owner, cpu.ViewOp):
        v = v.owner.source
    return v


def _read_only(kernel: cpu.KernelOp) -> set[SSAValue]:
    """Buffer params whose memory the kernel does not write through any param."""
    stored = {op.buffer for op in kernel.walk() if isinstance(op, cpu.StoreOp)}
    pairs = list(zip(kernel.params, kernel.args, strict=True))
    written = {_root(a) for p, a in pairs if p in stored}
    return {p for p, a in pairs if isinstance(p.type, MemRefType) and _root(a) not in written}


def _hoistable(op: Operation, invariant: set[SSAValue], read_only: set[SSAValue]) -> bool:
    if op.regions or len(op.results) != 1 or isinstance(op, arith.ConstantOp):
        return False
    if isinstance(op, cpu.LoadOp):
        if op.buffer not in read_only:
            return False
    elif op.dialect_name() not in ("arith", "math"):
        return False
    return all(v in invariant for v in op.operands)


def hoist_invariants(kernel: cpu.KernelOp) -> int:
    """Moves the kernel's invariant scalar ops before it; returns how many moved."""
    block = kernel.body.block
    if not kernel.space or 0 in kernel.space:
        return 0
    read_only = _read_only(kernel)
    invariant: set[SSAValue] = set(kernel.params)
    hoisted: list[Operation] = []
    for op in block.ops:
        if isinstance(op, arith.ConstantOp):
            invariant.add(op.result)
        elif _hoistable(op, invariant, read_only):
            invariant.add(op.results[0])
            hoisted.append(op)
    if not hoisted:
        return 0
    outside: dict[SSAValue, SSAValue] = dict(zip(kernel.params, kernel.args, strict=True))
    parent = kernel.parent_block()
    assert parent is not None
    copied: list[Operation] = []
    for op in hoisted:
        for v in op.operands:
            if v not in outside:  # a constant: copied out
                copied.append(v.owner)  # type: ignore[arg-type]
                const = v.owner.clone()  # type: ignore[union-attr]
                parent.insert_op_before(const, kernel)
                outside[v] = const.results[0]
        moved = op.clone(value_mapper=outside)
        parent.insert_op_before(moved, kernel)
        outside[op.results[0]] = moved.results[0]
    moved_set = set(hoisted)
    args = list(kernel.args)
    for op in hoisted:
        value = op.results[0]
        if any(use.operation not in moved_set for use in value.uses):
            param = block.insert_arg(value.type, len(block.args))
            value.replace_all_uses_with(param)
            args.append(outside[value])
    for op in reversed(hoisted):
        block.erase_op(op)
    for const in copied:  # the kernel keeps the constants it still uses
        if not const.results[0].uses:
            block.erase_op(const)
    kernel.operands = args
    return len(hoisted)


@dataclass(frozen=True)
class CpuHoistInvariantsPass(ModulePass):
    """cpu -> cpu: a kernel's loop-invariant scalar values become scalar args."""

    name = "cpu-hoist-invariants"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        expect_level(op, "cpu", self.name)
        for kernel in [o for o in op.walk() if isinstance(o, cpu.KernelOp)]:
            hoist_invariants(kernel)
