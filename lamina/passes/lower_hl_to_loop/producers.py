"""Producers: hl ops lowered as a whole onto buffers instead of element by element.

`hl.matmul` becomes `loop.matmul`. Its operands must be in memory, but any strided
view of a buffer (`views.py`: reshapes, transposes, slices, broadcasts) is read in
place through the GEMM's layout (offset, row stride, batch strides, transpose
flag) -- so `x.T @ g` in a backward pass reads `x` where it lies, and attention's
q/k/v heads are read inside the QKV product's buffer (two copy kernels of 0.25
and 0.34 ms fewer per attention block). With `views=False` (the Triton path,
whose GEMM takes contiguous operands only) a view must have the plain layout:
transposed or not, batches contiguous or one shared matrix.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from xdsl.ir import SSAValue

from lamina.dialects import gemm_layout, loop
from lamina.dialects.gemm_layout import GemmLayout, OperandView
from lamina.dialects.hl import contract
from lamina.passes.lower_hl_to_loop.kernel import shape
from lamina.passes.lower_hl_to_loop.views import (
    MatrixView,
    Strided,
    as_matrices,
    chain,
    view_of,
)

IsBuffer = Callable[[SSAValue], bool]


def _plain(mv: MatrixView, dims: tuple[int, ...], numel: int) -> bool:
    """The layout `loop.matmul` has without a views clause: offset 0, rows packed,
    batches one after another (or all one shared matrix)."""
    *batch, r, c = dims
    rows, cols = (c, r) if mv.transposed else (r, c)
    if mv.offset != 0 or (rows > 1 and mv.ld != cols):
        return False
    if all(s == 0 or n == 1 for s, n in zip(mv.strides, batch, strict=True)):
        return numel == r * c
    packed = _packed_strides(tuple(batch), r * c)
    return numel == math.prod(dims) and all(
        s == p or n == 1 for s, p, n in zip(mv.strides, packed, batch, strict=True))


def _packed_strides(batch: tuple[int, ...], per: int) -> tuple[int, ...]:
    strides, step = [], per
    for d in reversed(batch):
        strides.append(step)
        step *= d
    return tuple(reversed(strides))


def _view(values: list[SSAValue], views: bool) -> MatrixView | None:
    s = view_of(values)
    if s is None or (len(values) > 1 and math.prod(s.shape) == 0):
        return None
    mv = as_matrices(s)
    if mv is None or (not views and not _plain(mv, s.shape, math.prod(shape(values[-1])))):
        return None
    return mv


def matrix_operand(v: SSAValue, is_buffer: IsBuffer,
                   views: bool = True) -> tuple[SSAValue, MatrixView] | None:
    """(value in memory, how it holds the matrix stack `v` [..., rows, cols]), or None
    if `v` must be materialized."""
    values = chain(v, is_buffer)
    if not is_buffer(values[-1]):
        return None
    mv = _view(values, views)
    return None if mv is None else (values[-1], mv)


def to_materialize(v: SSAValue, is_buffer: IsBuffer, views: bool = True) -> SSAValue:
    """What to put in memory so that `matrix_operand(v)` succeeds: the deepest value
    under `v`'s views that `v` is a GEMM-readable view of and that is not larger
    than `v` (the source of a transpose, the matrix under a batch broadcast; not the
    whole of a tensor that `v` slices). Under a reshape that is the data in its own
    shape: a kernel over im2col's [N, C, KH, KW, OH, OW] indexes affinely, over the
    merged [N, C*KH*KW, OH*OW] it divides by OW."""
    values = chain(v, is_buffer)
    size = math.prod(shape(v))
    for i in range(len(values) - 1, 0, -1):
        u = values[i]
        if not is_buffer(u) and math.prod(shape(u)) <= size and \
                _view(values[:i + 1], views) is not None:
            return u
    return v


def _layout(batch: tuple[int, ...], m: int, n: int, a: MatrixView, b: MatrixView,
            c_at: Strided | None = None) -> GemmLayout:
    c = OperandView(0, n, _packed_strides(batch, m * n))
    if c_at is not None:
        view = as_matrices(c_at)
        assert view is not None and not view.transposed
        c = OperandView(view.offset, view.ld, view.strides)
    return GemmLayout(batch, OperandView(a.offset, a.ld, a.strides),
                      OperandView(b.offset, b.ld, b.strides), c).merged()


class MatmulProducer:
    def __init__(self, views: bool = True):
        self.views = views

    def operands_in_memory(self, op, is_buffer: IsBuffer) -> list[SSAValue]:
        wanted = []
        found = [matrix_operand(v, is_buffer, self.views) for v in op.operands]
        for v, f in zip(op.operands, found, strict=True):
            if f is None:
                source = to_materialize(v, is_buffer, self.views)
                wanted.append(v if is_buffer(source) else source)  # no progress: copy v
        if not wanted and not self._fits(op, found):
            wanted = [v for v in op.operands if not is_buffer(v)]
        return wanted

    @staticmethod
    def _fits(op, found) -> bool:
        *batch, m, _ = shape(op.operands[0])
        layout = _layout(tuple(batch), m, shape(op.operands[1])[-1], found[0][1], found[1][1])
        return len(layout.batch) <= gemm_layout.MAX_BATCH_DIMS

    def lower(self, op, lowering, out: SSAValue, out_at: Strided | None = None) -> None:
        """`loop.matmul` of `op` into `out` (at `out_at` in it, else all of it)."""
        lhs, rhs = op.operands
        a, av = matrix_operand(lhs, lowering.is_buffer, self.views)
        b, bv = matrix_operand(rhs, lowering.is_buffer, self.views)
        *batch, m, k = shape(lhs)
        n = shape(rhs)[-1]
        lowering.add(loop.MatmulOp(lowering.buffer(a), lowering.buffer(b), out,
                                   batch=math.prod(batch), m=m, n=n, k=k,
                                   transpose_a=av.transposed, transpose_b=bv.transposed,
                                   views=_layout(tuple(batch), m, n, av, bv, out_at)))


PRODUCERS: dict[str, object] = {contract.MatmulOp.name: MatmulProducer()}


class ScatterAddProducer:
    """`hl.scatter_add` as ONE kernel, parallel over the dims around `axis`: each point
    owns a column of the result, zeroes it (`loop.for`), then adds the updates in index
    order (`loop.seq_for`, read-modify-write). Indices are checked (`check.index`).
    Updates and indices are fused (read through their element rules). With
    `accumulate=False` it lowers `hl.scatter`: the same loop stores each update, so the
    last one in index order stays."""

    def __init__(self, accumulate: bool = True):
        self.accumulate = accumulate

    def operands_in_memory(self, op, is_buffer: IsBuffer) -> list[SSAValue]:
        return []

    def lower(self, op, lowering, out: SSAValue) -> None:
        from xdsl.dialects import arith
        from xdsl.dialects.builtin import IndexType, IntegerType

        from lamina.dialects.scalar import compute_type
        from lamina.passes.lower_hl_to_loop.kernel import KernelBuilder, elem_type
        from lamina.passes.lower_hl_to_loop.registry import REDUCING, RULES
        from lamina.passes.lower_hl_to_loop.rules_index import checked

        indices, updates = op.operands
        res = shape(op.results[0])
        axis = op.prop("axis")
        around = [*res[:axis], *res[axis + 1:]]
        name = "scatter_add" if self.accumulate else "scatter"
        kb = KernelBuilder(f"{name}_{lowering.kernels}", around, range(len(around)),
                           lowering.buffers, RULES, REDUCING)
        args = kb.kernel.body.block.args
        pre, post = tuple(args[:axis]), tuple(args[axis:])
        element = elem_type(op.results[0])
        t = compute_type(element)
        zero = kb.number(0, t)

        fill = loop.ForOp([res[axis]])
        kb.nest(fill, 0)
        kb.store(zero, out, (*pre, *fill.body.block.args, *post), element)
        kb.stack = kb.stack[:1]

        seq = loop.SeqForOp(list(shape(indices)))
        kb.nest(seq, 0)
        here = len(kb.stack) - 1
        ps = tuple(seq.body.block.args)
        target = kb.op(arith.IndexCastOp(kb.element(indices, ps), IndexType()))
        target = checked(kb, target, op, axis, res[axis])
        dest = (*pre, target, *post)
        update = kb.element(updates, (*pre, *ps, *post))
        if not self.accumulate:
            kb.store(update, out, dest, element)
            lowering.add(kb.kernel)
            return
        old = kb.op(loop.LoadOp(out, dest), level=here)
        if t != elem_type_storage(element):
            old = kb.op(arith.ExtFOp(old, t), level=here)
        add = arith.AddfOp(old, update) if not isinstance(t, IntegerType) else \
            arith.AddiOp(old, update)
        kb.store(kb.op(add, level=here), out, dest, element)
        lowering.add(kb.kernel)


def elem_type_storage(element):
    from lamina.passes.lower_hl_to_loop.kernel import storage_type

    return storage_type(element)


PRODUCERS["hl.scatter_add"] = ScatterAddProducer()
PRODUCERS["hl.scatter"] = ScatterAddProducer(accumulate=False)


def _register_window_producers() -> None:
    from lamina.passes.lower_hl_to_loop.rules_select import SelectAndScatterAddProducer

    PRODUCERS["hl.select_and_scatter_add"] = SelectAndScatterAddProducer()


_register_window_producers()


def _register_scan_producers() -> None:
    from lamina.passes.lower_hl_to_loop.scan import (
        ArgsortProducer,
        ScanProducer,
        ScatterReduceProducer,
    )

    PRODUCERS["hl.scan"] = ScanProducer()
    PRODUCERS["hl.argsort"] = ArgsortProducer()
    PRODUCERS["hl.scatter_reduce"] = ScatterReduceProducer()


_register_scan_producers()
