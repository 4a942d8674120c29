"""`fold-batch-matmul` and `fold-transposed-matmul` (hl -> hl): GEMMs that read
their operands in place instead of extra kernels.

`reduce_sum(matmul(transpose(X), G), dims=batch)` -- the weight gradient of a
batched `x @ w` -- is one matmul with the batch folded into the contraction:
`transpose(reshape(X, [B*K, M])) @ reshape(G, [B*K, N])`, which `loop.matmul`
reads in place (`transpose_a`), instead of B matmuls and a reduction kernel.
`transpose(a @ b)` (last two dims) is `b^T @ a^T`, which reads both operands in
place: the weight gradient `(x^T g)^T` of a linear layer is one GEMM instead of a
GEMM and a transpose kernel (mlp_step: two transposes of 0.3 and 0.5 ms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from lamina.dialects.hl import contract, reduce
from lamina.dialects.hl import shape as sh
from lamina.dialects.hl.base import element_of, shape_of, tensor_type


def _swaps_last_two(op: Operation) -> bool:
    if not isinstance(op, sh.TransposeOp):
        return False
    perm, n = op.prop("perm"), len(op.prop("perm"))
    return perm == (*range(n - 2), n - 1, n - 2)


def fold_batch_reduced_matmuls(fn: func.FuncOp) -> None:
    for red in [op for op in fn.body.block.ops if isinstance(op, reduce.ReduceSumOp)]:
        mm = red.operands[0].owner
        if not isinstance(mm, contract.MatmulOp) or len(list(mm.results[0].uses)) != 1:
            continue
        rank = len(shape_of(mm.results[0].type))
        if rank < 3 or tuple(red.prop("dims")) != tuple(range(rank - 2)):
            continue
        lhs, rhs = mm.operands
        if not _swaps_last_two(lhs.owner):
            continue
        x = lhs.owner.operands[0]  # [*batch, K, M]
        *batch, k, m = shape_of(x.type)
        n = shape_of(rhs.type)[-1]
        bk = math.prod(batch) * k
        new = [sh.ReshapeOp.build(x, result_type=tensor_type(element_of(x.type), [bk, m]))]
        new.append(sh.TransposeOp.build(new[0].results[0], perm=(1, 0)))
        new.append(sh.ReshapeOp.build(rhs, result_type=tensor_type(element_of(rhs.type),
                                                                   [bk, n])))
        new.append(contract.MatmulOp.build(new[1].results[0], new[2].results[0]))
        fn.body.block.insert_ops_before(new, red)
        red.results[0].replace_all_uses_with(new[-1].results[0])
        red.detach()
        red.erase()
        mm.detach()
        mm.erase()


def fold_transposed_matmuls(fn: func.FuncOp) -> None:
    """transpose(a @ b) -> transpose(b) @ transpose(a), for a matmul read only by the
    transpose: GEMM operands are read transposed in place, its result is not."""
    for tr in [op for op in fn.body.block.ops if _swaps_last_two(op)]:
        mm = tr.operands[0].owner
        if not isinstance(mm, contract.MatmulOp) or len(list(mm.results[0].uses)) != 1:
            continue
        lhs, rhs = mm.operands
        rank = len(shape_of(mm.results[0].type))
        perm = (*range(rank - 2), rank - 1, rank - 2)
        new: list[Operation] = [sh.TransposeOp.build(rhs, perm=perm),
                                sh.TransposeOp.build(lhs, perm=perm)]
        new.append(contract.MatmulOp.build(new[0].results[0], new[1].results[0]))
        fn.body.block.insert_ops_before(new, tr)
        tr.results[0].replace_all_uses_with(new[-1].results[0])
        tr.detach()
        tr.erase()
        mm.detach()
        mm.erase()


def _functions(module: ModuleOp) -> list[func.FuncOp]:
    return [f for f in module.ops if isinstance(f, func.FuncOp)]


@dataclass(frozen=True)
class FoldBatchMatmulPass(ModulePass):
    """hl -> hl: `reduce_sum(transpose(X) @ G, batch dims)` as one matmul over the
    folded batch (`fold_batch_reduced_matmuls`)."""

    name = "fold-batch-matmul"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in _functions(op):
            fold_batch_reduced_matmuls(fn)


@dataclass(frozen=True)
class FoldTransposedMatmulPass(ModulePass):
    """hl -> hl: `transpose(a @ b)` as `transpose(b) @ transpose(a)` for a matmul read
    only by the transpose (`fold_transposed_matmuls`)."""

    name = "fold-transposed-matmul"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in _functions(op):
            fold_transposed_matmuls(fn)
