"""Operand layouts for f32 GEMMs: transpose an operand into a scratch buffer first.

Triton's exact-f32 dot (`input_precision="ieee"`) runs on FMA units, and there it
is fastest when A is stored K-major ([k, m], `transpose_a`) and B as [k, n];
B stored [n, k] (`transpose_b`, every `nn.Linear` forward) ran at half speed on
an H200. Big f32 GEMMs therefore get their operands transposed by a small
memory-bound kernel (a few microseconds) into that layout. Tensor-core dtypes
(f16/bf16) and small GEMMs are left alone.
"""

from __future__ import annotations

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import Float32Type
from xdsl.ir import Block, Region, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.dialects import loop, tile
from lamina.passes.lower_loop_to_tile.emit import Emitter
from lamina.passes.lower_loop_to_tile.kernel import root_buffer

MIN_ELEMENTS = 1 << 20  # operands smaller than this are used as they are
TILE = 32


def transpose_kernel(name: str, elem, batch: int, rows: int,
                     cols: int) -> tuple[tile.KernelOp, tuple[int, int]]:
    """dst[b, c, r] = src[b, r, c] in TILE x TILE blocks; returns the kernel and its grid."""
    block = Block(arg_types=[tile.PtrType(elem), tile.PtrType(elem)])
    e = Emitter(block)
    tiles_c = -(-cols // TILE)
    pid = e.add(tile.ProgramIdOp(0))
    b = e.add(tile.ProgramIdOp(1))
    r = e.binary(arith.AddiOp, e.arange(TILE), e.binary(arith.MuliOp,
                                                         e.binary(arith.DivSIOp, pid, tiles_c),
                                                         TILE))
    c = e.binary(arith.AddiOp, e.arange(TILE), e.binary(arith.MuliOp,
                                                         e.binary(arith.RemSIOp, pid, tiles_c),
                                                         TILE))
    shape = (TILE, TILE)
    r2 = e.add(tile.BroadcastOp(e.add(tile.ExpandDimsOp(r, 1)), shape))
    c2 = e.add(tile.BroadcastOp(e.add(tile.ExpandDimsOp(c, 0)), shape))
    base = e.binary(arith.MuliOp, b, rows * cols)
    mask = e.op(arith.AndIOp, e.cmp("slt", r2, rows), e.cmp("slt", c2, cols))
    src_at = e.op(arith.AddiOp, e.op(arith.AddiOp, e.binary(arith.MuliOp, r2, cols), c2), base)
    dst_at = e.op(arith.AddiOp, e.op(arith.AddiOp, e.binary(arith.MuliOp, c2, rows), r2), base)
    value = e.add(tile.LoadOp(block.args[0], src_at, mask))
    e.add(tile.StoreOp(value, block.args[1], dst_at, mask))
    e.add(tile.ReturnOp())
    grid = (-(-rows // TILE) * tiles_c, batch)
    return tile.KernelOp(name, Region(block)), grid


def relayout(op: loop.MatmulOp, module_insert: InsertPoint, symbol) -> loop.MatmulOp:
    """Rewrite a big f32 matmul to take A as [k, m] and B as [k, n]; returns the new op."""
    elem = op.a.type.element_type  # type: ignore[attr-defined]
    if not isinstance(elem, Float32Type):
        return op
    bt, m, n, k = (op.size(s) for s in loop.MatmulOp.SIZES)
    ta, tb = op.flag("transpose_a"), op.flag("transpose_b")
    a, b = op.a, op.b
    scratch: list[SSAValue] = []

    def transposed(value: SSAValue, batched: bool, rows: int, cols: int) -> SSAValue:
        nb = bt if batched else 1
        alloc = memref.AllocOp.get(elem, shape=[nb, cols, rows])
        Rewriter.insert_op(alloc, InsertPoint.before(op))
        kernel, grid = transpose_kernel(symbol("transpose"), elem, nb, rows, cols)
        Rewriter.insert_op(kernel, module_insert)
        launch = tile.LaunchOp(kernel.sym_name.data, grid, [root_buffer(value), alloc.memref])
        Rewriter.insert_op(launch, InsertPoint.before(op))
        scratch.append(alloc.memref)
        return alloc.memref

    if not ta and m * k >= MIN_ELEMENTS:
        a, ta = transposed(a, op.a_batched(), m, k), True
    if tb and n * k >= MIN_ELEMENTS:
        b, tb = transposed(b, op.b_batched(), n, k), False
    if not scratch:
        return op
    new = loop.MatmulOp(a, b, op.c, batch=bt, m=m, n=n, k=k, transpose_a=ta, transpose_b=tb,
                        accumulate=op.flag("accumulate"))
    Rewriter.replace_op(op, new, [])
    for buf in scratch:
        Rewriter.insert_op(memref.DeallocOp.get(buf), InsertPoint.after(new))
    return new
