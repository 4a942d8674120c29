"""Pass `lower-loop-to-tile`: loop level -> tile level (Triton kernels + host launches).

Takes a module whose `func.func @main` holds `loop.kernel`/`loop.matmul` ops on
memrefs; gives the same function with each of them replaced by a `tile.launch`
of a new `tile.kernel` (inserted before the function). Kernels take the root
buffers (views resolved: a kernel addresses a flat, contiguous buffer, so a view
only changes index arithmetic); views left without users are erased. Allocs,
deallocs and copies stay as `memref` ops on the host side. Big f32 GEMMs first get
their operands transposed into the layout Triton's FMA dot prefers (layout.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.dialects import loop, tile
from lamina.errors import CompileError
from lamina.passes.levels import expect_level
from lamina.passes.lower_loop_to_tile.gemm import GemmLowering
from lamina.passes.lower_loop_to_tile.kernel import KernelLowering
from lamina.passes.lower_loop_to_tile.layout import relayout


def _symbol(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", name) or "kernel"
    if base[0].isdigit():
        base = "k_" + base
    sym, i = base, 0
    while sym in taken:
        i += 1
        sym = f"{base}_{i}"
    taken.add(sym)
    return sym


@dataclass(frozen=True)
class LowerLoopToTile(ModulePass):
    """loop.kernel / loop.matmul -> tile.kernel + tile.launch (see module docstring)."""

    name = "lower-loop-to-tile"
    allow_tf32: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        expect_level(op, "loop", self.name)
        taken = {k.sym_name.data for k in op.walk() if isinstance(k, tile.KernelOp)}
        for fn in [f for f in op.body.block.ops if isinstance(f, func.FuncOp)]:
            for src in [o for o in fn.walk() if isinstance(o, loop.KernelOp | loop.MatmulOp)]:
                if isinstance(src, loop.KernelOp):
                    lowering = KernelLowering(src, _symbol(src.kernel_name.data, taken))
                    warps, stages = None, 1
                else:
                    if src.layout is not None:  # the tile GEMM reads contiguous operands
                        raise CompileError("lower-loop-to-tile: loop.matmul with a views "
                                           "clause; lower with lower-hl-to-loop{gemm_views=false}")
                    if not self.allow_tf32:
                        src = relayout(src, InsertPoint.before(fn),
                                       lambda base: _symbol(base, taken))
                    lowering = GemmLowering(src, _symbol("matmul", taken), self.allow_tf32)
                    warps, stages = lowering.cfg.num_warps, lowering.cfg.num_stages
                kernel = lowering.build()
                Rewriter.insert_op(kernel, InsertPoint.before(fn))
                grid = lowering.grid if isinstance(lowering.grid, tuple) else (lowering.grid,)
                if min(grid) == 0:  # an empty iteration space: nothing to launch
                    Rewriter.erase_op(src)
                    continue
                launch = tile.LaunchOp(kernel.sym_name.data, grid, lowering.buffers,
                                       warps or lowering.num_warps, stages)
                Rewriter.replace_op(src, launch, [])
            for view in reversed([o for o in fn.walk() if isinstance(o, loop.ViewOp)]):
                if not view.res.uses:
                    Rewriter.erase_op(view)
