"""hl -> hl rewrites that let the lowering use fewer, larger or more parallel kernels.

`reduce_sum(matmul(transpose(X), G), dims=batch)` -- the weight gradient of a
batched `x @ w` -- is one matmul with the batch folded into the contraction:
`transpose(reshape(X, [B*K, M])) @ reshape(G, [B*K, N])`, which `loop.matmul`
reads in place (`transpose_a`), instead of B matmuls and a reduction kernel.
Large floating-point `hl.conv`s become im2col + `hl.matmul` (`conv_gemm.py`).
`transpose(a @ b)` (last two dims) is `b^T @ a^T`, which reads both operands in
place: the weight gradient `(x^T g)^T` of a linear layer is one GEMM instead of a
GEMM and a transpose kernel (mlp_step: two transposes of 0.3 and 0.5 ms).
"""

from __future__ import annotations

import math

from xdsl.dialects import func
from xdsl.ir import Operation

from lamina.dialects.hl import contract, reduce
from lamina.dialects.hl import shape as sh
from lamina.dialects.hl.base import element_of, shape_of, tensor_type
from lamina.passes.lower_hl_to_loop.conv_gemm import convs_to_matmuls

__all__ = ["convs_to_matmuls", "fold_batch_reduced_matmuls", "fold_transposed_matmuls",
           "split_full_reductions"]


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


SPLIT_MIN = 1 << 16  # a full reduction of at least this many elements is split in two


def _split_factor(n: int) -> int | None:
    """A divisor of n near sqrt(n), at most 4096, so that both stages have work."""
    best = None
    for s in range(2, min(4096, n) + 1):
        if n % s == 0 and s * s <= n:
            best = s
    return best if best and best >= 64 else None


def split_full_reductions(fn: func.FuncOp) -> None:
    """reduce(x, all dims) of a large x -> reduce(reduce(reshape(x, [S, N/S]), [1]), [0]):
    the first stage is a kernel parallel over S partial results, instead of one
    single-point kernel looping over all N elements."""
    kinds = (reduce.ReduceSumOp, reduce.ReduceProdOp, reduce.ReduceMaxOp, reduce.ReduceMinOp)
    for red in [op for op in fn.body.block.ops if isinstance(op, kinds)]:
        x = red.operands[0]
        dims = shape_of(x.type)
        n = math.prod(dims)
        if tuple(red.prop("dims")) != tuple(range(len(dims))) or n < SPLIT_MIN:
            continue
        s = _split_factor(n)
        if s is None:
            continue
        element = element_of(x.type)
        flat = sh.ReshapeOp.build(x, result_type=tensor_type(element, [s, n // s]))
        partial = type(red).build(flat.results[0], dims=(1,))
        total = type(red).build(partial.results[0], dims=(0,))
        fn.body.block.insert_ops_before([flat, partial, total], red)
        red.results[0].replace_all_uses_with(total.results[0])
        red.detach()
        red.erase()
