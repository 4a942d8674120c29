"""`cpu-parallelize`: which loops the OpenMP threads split and which are vector loops
(cpu -> cpu).

Kernels (`omp` itself is decided by `lower-loop-to-cpu`, from the kernel's work):

- without `omp`, a body of straight-line scalar code (no nested loop, reduction or
  branch) makes the innermost dim a vector loop (`simd`);
- with `omp`, the threads split all dims (`collapse(n)`), except for straight-line
  bodies: of one dim, `parallel for simd` (`collapse(1) simd`); whose outer dims give
  at least 64 iterations, the fewest outer dims reaching 64 are threaded and the
  innermost is a vector loop (`collapse(c) simd`), the dims between running as plain
  nested loops. Collapsing the innermost dim with the threaded ones would hide its
  affine offsets from the vectorizer; collapsing more than needed costs index
  arithmetic (the CNN's im2col kernel: 0.31 ms collapsing 6 dims, 0.04 ms collapsing 2).

Reductions (add/mul/max/min) become vector loops with reassociated accumulators:
the whole nest (`simd`), or only its innermost loop (`simd inner`) when the nest has
several loops and the innermost runs at least 16 times: gcc's collapsed simd loop
recomputes every index from one counter (a bias gradient, a sum over [32, 28, 28] per
channel: 1.03 ms collapsed, 0.10 ms inner, one thread). argmax/argmin run in order.

    cpu.kernel "k" parallel [64, 128] (%i, %j) omp args(...) { straight-line }
  ==>
    cpu.kernel "k" parallel [64, 128] (%i, %j) omp collapse(1) simd args(...) { ... }

Afterwards every `omp` kernel says how many dims the threads split and every
add/mul/max/min reduction over a non-empty space is `simd`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr, UnitAttr, i64
from xdsl.passes import ModulePass

from lamina.dialects import cpu
from lamina.passes.levels import expect_level

# below this many outer iterations, threads split the whole space (no inner simd loop)
MIN_OUTER_ITERATIONS = 64
# innermost extent from which a reduction vectorizes that loop alone
SIMD_INNER_MIN = 16


def outer_collapse(outer: Sequence[int]) -> int:
    """How many outer dims the threads split: the fewest whose iterations reach
    MIN_OUTER_ITERATIONS (all of `outer` when they never do)."""
    total = 1
    for depth, extent in enumerate(outer, 1):
        total *= extent
        if total >= MIN_OUTER_ITERATIONS:
            return depth
    return len(outer)


def kernel_clauses(kernel: cpu.KernelOp) -> tuple[int | None, bool]:
    """(the dims the threads split, None without omp; whether the innermost is simd)."""
    space = kernel.space
    n = len(space)
    if n == 0:
        return None, False
    straight = not any(op.regions for op in kernel.body.block.ops)
    if kernel.omp is None:
        return None, straight
    if straight and n == 1:
        return 1, True
    if straight and math.prod(space[:-1]) >= MIN_OUTER_ITERATIONS:
        return outer_collapse(space[:-1]), True
    return n, False


def reduce_simd(red: cpu.ReduceOp) -> str | None:
    """How much of the reduction's nest is one vector loop (None: none of it)."""
    space = red.space
    if not space or set(red.kind_names) & set(cpu.ARG_KINDS):
        return None
    return "inner" if len(space) > 1 and space[-1] >= SIMD_INNER_MIN else "nest"


def _set(op, name: str, value) -> None:
    if value is None:
        op.properties.pop(name, None)
    else:
        op.properties[name] = value


@dataclass(frozen=True)
class CpuParallelizePass(ModulePass):
    """cpu -> cpu: OpenMP clauses (`collapse`, `simd`) on kernels and reductions."""

    name = "cpu-parallelize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        expect_level(op, "cpu", self.name)
        for o in op.walk():
            if isinstance(o, cpu.KernelOp):
                collapse, simd = kernel_clauses(o)
                _set(o, "collapse", None if collapse is None else IntegerAttr(collapse, i64))
                _set(o, "simd", UnitAttr() if simd else None)
            elif isinstance(o, cpu.ReduceOp):
                kind = reduce_simd(o)
                _set(o, "simd", None if kind is None else StringAttr(kind))
