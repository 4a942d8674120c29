"""Producers for `hl.scan`, `hl.argsort` (lamina/dialects/hl/scan.py) and
`hl.scatter_reduce` (lamina/dialects/hl/scatter_reduce.py).

`hl.scan` is ONE kernel, parallel over the dims around the scanned one: each point
writes the first element of its line, then walks the line in order (`loop.seq_for`),
combining the element it reads with the value it stored one step before (the carried
accumulator lives in the output row it owns, as scatter_add's read-modify-write).

`hl.argsort` is ONE kernel over every element: its rank is the number of elements of
its line that sort before it (`loop.reduce "add"` of a comparison: strictly before by
value, or tied and at a smaller index, so the ranks are a permutation and ties keep
their order), and the point stores its own index at that rank.

The input is read through its element rules (fused), on both backends.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, i64
from xdsl.ir import SSAValue

from lamina.passes.lower_hl_to_loop.kernel import KernelBuilder, elem_type, shape


def _builder(name: str, bounds, lowering) -> KernelBuilder:
    from lamina.passes.lower_hl_to_loop.registry import REDUCING, RULES

    return KernelBuilder(f"{name}_{lowering.kernels}", bounds, range(len(bounds)),
                         lowering.buffers, RULES, REDUCING)


class ScanProducer:
    def operands_in_memory(self, op, is_buffer) -> list[SSAValue]:
        return []

    def lower(self, op, lowering, out: SSAValue) -> None:
        from lamina.dialects import loop

        (x,) = op.operands
        res, axis, reverse = shape(op.results[0]), op.prop("dim"), op.prop("reverse")
        n = res[axis]
        around = [*res[:axis], *res[axis + 1:]]
        kb = _builder("scan", around, lowering)
        args = kb.kernel.body.block.args
        pre, post = tuple(args[:axis]), tuple(args[axis:])
        element = elem_type(op.results[0])
        if n:
            first = kb.index(n - 1 if reverse else 0)
            kb.store(kb.element(x, (*pre, first, *post)), out, (*pre, first, *post), element)
        if n > 1:
            seq = loop.SeqForOp([n - 1])
            kb.nest(seq, 0)
            (k,) = seq.body.block.args
            if reverse:  # walk n-1 -> 0: the step reads n-1-k and writes n-2-k
                prev = kb.sub(kb.index(n - 1), k)
                cur = kb.sub(kb.index(n - 2), k)
            else:
                prev, cur = k, kb.add(k, kb.index(1))
            acc = kb.load(out, (*pre, prev, *post), element)
            value = op.combine(kb, acc, kb.element(x, (*pre, cur, *post)))
            kb.store(value, out, (*pre, cur, *post), element)
            kb.stack = kb.stack[:1]
        lowering.add(kb.kernel)


class ArgsortProducer:
    def operands_in_memory(self, op, is_buffer) -> list[SSAValue]:
        return []

    def lower(self, op, lowering, out: SSAValue) -> None:
        (x,) = op.operands
        res, axis = shape(op.results[0]), op.prop("dim")
        kb = _builder("argsort", list(res), lowering)
        point = tuple(kb.kernel.body.block.args)
        pre, i, post = point[:axis], point[axis], point[axis + 1:]
        mine = kb.element(x, point)
        i64_i = kb.op(arith.IndexCastOp(i, i64))

        def sorts_before(ks: tuple[SSAValue, ...]) -> SSAValue:
            (j,) = ks
            other = kb.element(x, (*pre, j, *post))
            j64 = kb.op(arith.IndexCastOp(j, i64))
            earlier = kb.op(arith.CmpiOp(j64, i64_i, "slt"))
            tie_first = kb.op(arith.AndIOp(op.same(kb, other, mine), earlier))
            hit = kb.op(arith.OrIOp(op.before(kb, other, mine), tie_first))
            return kb.op(arith.ExtUIOp(hit, i64))

        (rank,) = kb.reduce("add", [res[axis]], kb.number(0, i64), sorts_before, point)
        target = kb.op(arith.IndexCastOp(rank, IndexType()))
        kb.store(i64_i, out, (*pre, target, *post), i64)
        lowering.add(kb.kernel)


class ScatterReduceProducer:
    """`hl.scatter_reduce` as scatter_add is lowered: one kernel parallel over the dims
    around `axis`; each point fills its column with the identity, then combines the
    updates in index order (`loop.seq_for`, read-modify-write). Indices are checked."""

    def operands_in_memory(self, op, is_buffer) -> list[SSAValue]:
        return []

    def lower(self, op, lowering, out: SSAValue) -> None:
        from lamina.dialects import loop
        from lamina.dialects.scalar import compute_type
        from lamina.passes.lower_hl_to_loop.rules_index import checked

        indices, updates = op.operands
        res, axis = shape(op.results[0]), op.prop("axis")
        around = [*res[:axis], *res[axis + 1:]]
        kb = _builder("scatter_reduce", around, lowering)
        args = kb.kernel.body.block.args
        pre, post = tuple(args[:axis]), tuple(args[axis:])
        element = elem_type(op.results[0])
        fill = loop.ForOp([res[axis]])
        kb.nest(fill, 0)
        kb.store(kb.number(op.identity_value(), compute_type(element)), out,
                 (*pre, *fill.body.block.args, *post), element)
        kb.stack = kb.stack[:1]
        seq = loop.SeqForOp(list(shape(indices)))
        kb.nest(seq, 0)
        ps = tuple(seq.body.block.args)
        target = kb.op(arith.IndexCastOp(kb.element(indices, ps), IndexType()))
        dest = (*pre, checked(kb, target, op, axis, res[axis]), *post)
        old = kb.load(out, dest, element)
        new = op.combine(kb, old, kb.element(updates, (*pre, *ps, *post)))
        kb.store(new, out, dest, element)
        kb.stack = kb.stack[:1]
        lowering.add(kb.kernel)
