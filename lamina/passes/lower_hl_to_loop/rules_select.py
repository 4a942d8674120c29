"""Element rules of the max-pool gradient pair (`hl.select_and_scatter_add`,
`hl.select_and_gather`) and the producer that lowers `select_and_scatter_add` whole.

Both find the first maximum of a window of the operand. `select_and_scatter_add` runs
over the WINDOWS when they tile the operand (`max_pool2d(x, 2)`: each window finds
its maximum once and stores its whole window), per operand element with one window
when windows are disjoint, and otherwise as a gather over the windows that cover the
element (their first maximum must be that element; no two kernel points write the
same element; with overlapping windows the producer stores every window's first
maximum first). Geometry helpers live in `rules_window.py`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, i64
from xdsl.ir import Operation, SSAValue

from lamina.dialects.hl import window
from lamina.dialects.scalar import compute_type
from lamina.passes.lower_hl_to_loop.kernel import KernelBuilder, elem_type, shape
from lamina.passes.lower_hl_to_loop.rules import _extreme
from lamina.passes.lower_hl_to_loop.rules_index import all_of, dilated_coord, offset
from lamina.passes.lower_hl_to_loop.rules_window import (
    UNROLL_WINDOW,
    Geometry,
    _max_op,
    windowed,
)


def _first_max_unrolled(kb: KernelBuilder, x: SSAValue, geo: Geometry, o,
                        sizes) -> SSAValue:
    """Linear index of the first maximum of a small window, in x's compute type: the
    window max m (NaN if any is NaN), then from the last position to the first,
    `pos = (v == m) ? j : pos` and `pos = (v != v) ? j : pos`. Every select takes a
    comparison and every value is one lane type, so gcc vectorizes the kernel across
    windows; bool and/or (a compare chain with a NaN rule) or 64-bit positions among
    32-bit values kept it scalar and branchy (bench CNN pool-1 gradient, standalone C
    with the bench's data, 1 thread: 1.79 -> 0.71 ms)."""
    element = elem_type(x)
    t = compute_type(element)
    fill = kb.number(_extreme(element, False), t)
    values = [windowed(kb, x, geo, o, geo.offsets(kb, [kb.index(k) for k in ks]), fill)
              for ks in itertools.product(*map(range, sizes))]
    m = values[0]
    for v in values[1:]:
        m = kb.op(_max_op(t, element)(m, v))
    position = kb.number(len(values) - 1, t)
    for j in reversed(range(len(values) - 1)):
        v = values[j]
        if isinstance(t, IntegerType):
            hits = [kb.op(arith.CmpiOp(v, m, "eq"))]
        else:
            hits = [kb.op(arith.CmpfOp(v, m, "oeq")), kb.op(arith.CmpfOp(v, v, "une"))]
        for hit in hits:
            position = kb.op(arith.SelectOp(hit, kb.number(j, t), position))
    return position


def _first_max(kb: KernelBuilder, x: SSAValue, geo: Geometry, o) -> SSAValue:
    """Linear index (i64, over the moving dims) of the first maximum of window `o` of x."""
    element = elem_type(x)
    t = compute_type(element)
    fill = kb.number(_extreme(element, False), t)
    moving = geo.moving()
    if not moving:
        return kb.const(0, i64)
    sizes = [geo.window[d] for d in moving]
    if math.prod(sizes) > UNROLL_WINDOW:
        _, position = kb.reduce("argmax", sizes, fill,
                                lambda ks: windowed(kb, x, geo, o, geo.offsets(kb, ks), fill),
                                o)
        return position
    position = _first_max_unrolled(kb, x, geo, o, sizes)
    if not isinstance(t, IntegerType):
        return kb.op(arith.FPToSIOp(position, i64))
    return position if t.width.data == 64 else kb.op(arith.ExtSIOp(position, i64))


def select_and_gather_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    x, v = op.operands
    geo = Geometry.of_window_op(op)
    moving = geo.moving()
    linear = kb.op(arith.IndexCastOp(_first_max(kb, x, geo, idx), kb.index(0).type))
    w = kb.delinearize(linear, [geo.window[d] for d in moving]) if moving else ()
    offs = geo.offsets(kb, w)
    zero = kb.number(0, compute_type(elem_type(v)))
    return windowed(kb, v, geo, idx, offs, zero)


def _scatter_disjoint(kb: KernelBuilder, x: SSAValue, src: SSAValue, geo: Geometry,
                      idx) -> SSAValue:
    """select_and_scatter_add where windows do not overlap: operand point q lies in
    window o = (q + lo) // stride at offset k = (q + lo) % stride (if any), and takes
    src[o] iff k is that window's first maximum -- one argmax per point and no loop
    over candidate windows (2x2 pool gradient of a relu over [32, 8, 27, 27], 1 thread:
    24.3 -> 0.64 ms)."""
    o, ks, conds = [], [], []
    for d, q in enumerate(idx):
        p = offset(kb, q, geo.lo[d])
        if geo.lo[d] < 0:
            conds.append(kb.op(arith.CmpiOp(p, kb.index(0), "sge")))
            p = kb.op(arith.MaxSIOp(p, kb.index(0)))
        last = geo.sizes[d] - 1 + geo.lo[d]  # largest p
        oi, k = kb.div(p, geo.strides[d]), kb.rem(p, geo.strides[d])
        if last // geo.strides[d] >= geo.out[d]:  # trailing elements no window covers
            conds.append(kb.op(arith.CmpiOp(oi, kb.index(geo.out[d] - 1), "sle")))
            oi = kb.op(arith.MinSIOp(oi, kb.index(geo.out[d] - 1)))
        if geo.window[d] < geo.strides[d]:  # a gap between windows
            conds.append(kb.op(arith.CmpiOp(k, kb.index(geo.window[d] - 1), "sle")))
        o.append(oi)
        ks.append(k)
    moving = geo.moving()
    linear = kb.linearize([ks[d] for d in moving], [geo.window[d] for d in moving]) \
        if moving else kb.index(0)
    chosen = kb.op(arith.CmpiOp(_first_max(kb, x, geo, o),
                                kb.op(arith.IndexCastOp(linear, i64)), "eq"))
    take = all_of(kb, [*conds, chosen])
    zero = kb.number(0, compute_type(elem_type(src)))
    return kb.op(arith.SelectOp(take, kb.element(src, tuple(o)), zero))


def select_and_scatter_add_rule(kb: KernelBuilder, op: Operation, idx,
                                first_max: Callable | None = None) -> SSAValue:
    """`first_max(o)`: the i64 position of window o's first maximum (default: found
    here, once per candidate window of every element)."""
    x, src = op.operands
    geo = Geometry.of_window_op(op)
    if first_max is None:
        def first_max(o):
            return _first_max(kb, x, geo, o)
    if geo.disjoint():
        return _scatter_disjoint(kb, x, src, geo, idx)
    moving = geo.moving()
    t = compute_type(elem_type(src))
    zero = kb.number(0, t)

    def contribution(ks) -> SSAValue:
        """What window offset `ks` (over the moving dims) adds to operand point idx."""
        offs = geo.offsets(kb, ks)
        o, conds = [], []
        for d, (q, wi) in enumerate(zip(idx, offs, strict=True)):
            # padded coordinate of q is lo + q*idil = o*stride + w*dilation
            p = kb.sub(offset(kb, kb.mul(q, geo.idil[d]), geo.lo[d]),
                       kb.mul(wi, geo.dilation[d]))
            pmin = geo.lo[d] - (geo.window[d] - 1) * geo.dilation[d]
            pmax = geo.lo[d] + (geo.sizes[d] - 1) * geo.idil[d]
            oi, c = dilated_coord(kb, p, pmin, pmax, geo.out[d], geo.strides[d])
            o.append(oi)
            conds += c
        linear = kb.linearize(ks, [geo.window[d] for d in moving]) if moving else kb.index(0)
        chosen = kb.op(arith.CmpiOp(first_max(o), kb.op(arith.IndexCastOp(linear, i64)),
                                    "eq"))
        take = all_of(kb, [*conds, chosen])
        return kb.op(arith.SelectOp(take, kb.element(src, tuple(o)), zero))

    if not moving:
        return contribution(())
    (value,) = kb.reduce("add", [geo.window[d] for d in moving], zero, contribution, idx)
    return value


class SelectAndScatterAddProducer:
    """`hl.select_and_scatter_add` as its own kernel. When the windows tile the operand
    (`max_pool2d(x, 2)`), the kernel runs over the windows: it finds each window's first
    maximum once and stores the source value there and zero at the window's other
    positions -- no argmax per operand element, and the loads and stores of a row are
    contiguous pairs that gcc vectorizes. Otherwise it runs over the operand with the
    element rule, reading the windows' first maxima from a buffer when windows overlap
    (`_positions`). The result is in memory either way: its readers (relu mask, bias
    gradient, im2col) read it several times. Standalone C, pool-1 gradient of the bench
    CNN with its relu mask, 1 thread: 1.0 ms per element, 0.19 ms over windows."""

    def operands_in_memory(self, op, is_buffer) -> list[SSAValue]:
        return []  # read through their element rules

    def lower(self, op: Operation, lowering, out: SSAValue) -> None:
        from lamina.passes.lower_hl_to_loop.registry import REDUCING, RULES

        x, src = op.operands
        geo = Geometry.of_window_op(op)
        moving = geo.moving()
        sizes = [geo.window[d] for d in moving]
        over_windows = geo.tiles() and math.prod(sizes) <= UNROLL_WINDOW
        dims = shape(src) if over_windows else shape(op.results[0])
        kb = KernelBuilder(f"select_and_scatter_add_{lowering.kernels}", dims,
                           range(len(dims)), lowering.buffers, RULES, REDUCING)
        idx = tuple(kb.kernel.body.block.args)
        element = elem_type(op.results[0])
        if not over_windows:
            first_max = None if geo.disjoint() else self._positions(op, geo, lowering)
            kb.store(select_and_scatter_add_rule(kb, op, idx, first_max and (
                lambda o: kb.load(first_max, o, i64))), out, idx, element)
            lowering.add(kb.kernel)
            return
        t = compute_type(elem_type(x))
        position = _first_max_unrolled(kb, x, geo, idx, sizes)
        value = kb.element(src, idx)
        zero = kb.number(0, compute_type(element))
        for linear, ks in enumerate(itertools.product(*map(range, sizes))):
            full = iter(ks)
            at = tuple(offset(kb, kb.mul(o, s), next(full) if w > 1 else 0)
                       for o, s, w in zip(idx, geo.strides, geo.window, strict=True))
            chosen = kb.op(arith.CmpiOp(position, kb.number(linear, t), "eq")
                           if isinstance(t, IntegerType) else
                           arith.CmpfOp(position, kb.number(linear, t), "oeq"))
            kb.store(kb.op(arith.SelectOp(chosen, value, zero)), out, at, element)
        lowering.add(kb.kernel)


    @staticmethod
    def _positions(op: Operation, geo: Geometry, lowering) -> SSAValue:
        """A kernel storing each window's first maximum (i64) in a new buffer: with
        overlapping windows every element has several candidate windows, and finding
        their maxima there again was most of the work (max_pool2d(x, 3, 2, 1) gradient
        of a relu over [32, 8, 28, 28], 1 thread: 53 -> 5.2 ms)."""
        from xdsl.dialects import memref
        from xdsl.dialects.builtin import MemRefType

        from lamina.passes.lower_hl_to_loop.registry import REDUCING, RULES

        x, src = op.operands
        alloc = memref.AllocOp([], [], MemRefType(i64, shape(src)))
        lowering.add(alloc)
        lowering.allocs.append(alloc)
        kb = KernelBuilder(f"first_max_{lowering.kernels}", shape(src), range(len(shape(src))),
                           lowering.buffers, RULES, REDUCING)
        idx = tuple(kb.kernel.body.block.args)
        kb.store(_first_max(kb, x, geo, idx), alloc.memref, idx, i64)
        lowering.add(kb.kernel)
        lowering.kernels += 1
        return alloc.memref


RULES: dict[type, Callable] = {
    window.SelectAndGatherOp: select_and_gather_rule,
    window.SelectAndScatterAddOp: select_and_scatter_add_rule,
}
REDUCING: set[type] = set(RULES)
