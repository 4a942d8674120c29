"""`cpu-stack-gemm-rows`: a batch of GEMMs sharing B whose A and C batches lie one
after another is one GEMM of batch*m rows (cpu -> cpu).

`x @ W.T` over a batch of sequences is a batched product whose B (the weight) is the
same matrix for every batch; the A and C matrices of batch b start m rows after those
of batch b - 1. Then the batches are the rows of one taller product, one BLAS call:

    cpu.gemm %x, %w, %y batch=8 m=256 n=768 k=256 transpose_b : memref<8x256x256xf32>, memref<768x256xf32>, memref<8x256x768xf32>
  ==>
    cpu.gemm %x, %w, %y batch=1 m=2048 n=768 k=256 transpose_b : memref<8x256x256xf32>, memref<768x256xf32>, memref<8x256x768xf32>

Batch dims are merged first (`GemmLayout.merged`), so a batch over several dims that
step as one counts too; the operands' offsets and row strides are kept (`views`).
Not for a transposed A, whose rows are columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from lamina.dialects import cpu
from lamina.dialects.gemm_layout import GemmLayout, OperandView
from lamina.passes.levels import expect_level


def stacked(gemm: cpu.GemmOp) -> cpu.GemmOp | None:
    """The one-batch GEMM doing `gemm`'s work, or None when its batches do not stack."""
    layout = gemm.views().merged()
    m = gemm.dim("m")
    a, b, c = layout.a, layout.b, layout.c
    if len(layout.batch) != 1 or gemm.flag("transpose_a") or b.strides != (0,) \
            or a.strides != (m * a.ld,) or c.strides != (m * c.ld,):
        return None
    views = GemmLayout((), *(OperandView(v.offset, v.ld, ()) for v in (a, b, c)))
    return cpu.GemmOp(gemm.a, gemm.b, gemm.c, 1, m * layout.batch[0], gemm.dim("n"),
                      gemm.dim("k"), transpose_b=gemm.flag("transpose_b"),
                      accumulate=gemm.flag("accumulate"), views=views)


@dataclass(frozen=True)
class CpuStackGemmRowsPass(ModulePass):
    """cpu -> cpu: batched GEMMs with a shared B and stacked A/C batches as one GEMM."""

    name = "cpu-stack-gemm-rows"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        expect_level(op, "cpu", self.name)
        for gemm in [g for g in op.walk() if isinstance(g, cpu.GemmOp)]:
            new = stacked(gemm)
            if new is None:
                continue
            block = gemm.parent_block()
            assert block is not None
            block.insert_op_before(new, gemm)
            gemm.detach()
            gemm.erase()
