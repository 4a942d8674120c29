"""One pass for a mean and the sum of squared deviations from it (layer norm, var, std).

The element rules give variance its textbook two-pass form: the sum of `v` for the
mean `m`, then a second reduction of `(v - m)^2`, which cannot start before the
first ends. `one_pass_variance` rewrites it with the shifted-data identity

    sum((v - m)^2) = sum((v - K)^2) - sum(v - K)^2 / n        (any constant K)

into reductions that do not depend on `m`, placed next to the mean's reduction so
that the C backend runs all three in one loop (see `codegen/c.py`,
`_fusable_reductions`). K is `v` at the first point of the row: |v_0 - m| is at most
sqrt(n - 1) standard deviations (Samuelson's inequality), so the cancellation loses
at most log2(n) bits, like the summation itself, whatever the row's mean (x + 1e4
included); the mean K + sum(v - K) / n is as accurate as sum(v) / n (more: the
shifted sum is small). Layer norm 8192x1024 on one core, interleaved A/B:

    %s  = loop.reduce "add" [n] (%k) { yield v(k) }
    %m  = arith.divf %s, n
    %q  = loop.reduce "add" [n] (%k) { %d = v(k) - %m ; yield %d * %d }
  ==>
    %K  = v(0)
    %q' = loop.reduce "add" [n] (%k) { %d = v(k) - %K ; yield %d * %d }
    %s' = loop.reduce "add" [n] (%k) { yield v(k) - %K }
    %q  = max(%q' - %s' * %s' / n, 0)
    %m  = %K + %s' / n          (the plain sum %s is dropped when nothing else reads it)
"""

from __future__ import annotations

import math

from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, IndexType, IntegerAttr
from xdsl.ir import Block, Operation, SSAValue

from lamina.dialects import loop
from lamina.passes.lower_hl_to_loop.reuse import (
    _defined_before,
    _expression,
    _find_equal,
    _is_expensive,
)


def one_pass_variance(kernel: loop.KernelOp) -> loop.KernelOp:
    """Apply the rewrite to every matching (sum, mean, squared deviations) triple of the
    kernel's body. Returns `kernel`."""
    stored = {op.buf for op in kernel.walk() if isinstance(op, loop.StoreOp)}
    block = kernel.body.block
    for red in [op for op in block.ops if isinstance(op, loop.ReduceOp)]:
        match = _match(red, stored)
        if match is not None:
            _rewrite(red, *match)
    return kernel


def _is_add(op: Operation | None) -> bool:
    return isinstance(op, loop.ReduceOp) and op.kind_name == "add" and len(op.res) == 1


def _const(v: SSAValue) -> float | None:
    owner = v.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, FloatAttr):
        return float(owner.value.value.data)
    return None


def _is_mean(op: Operation, total: SSAValue, n: int) -> bool:
    """`op` is total / n or total * (1/n)."""
    if isinstance(op, arith.DivfOp) and op.lhs is total:
        return _const(op.rhs) == n
    if isinstance(op, arith.MulfOp) and op.lhs is total:
        c = _const(op.rhs)
        return c is not None and abs(c * n - 1.0) < 1e-6
    return False


def _match(total: loop.ReduceOp, stored: set[SSAValue]):
    """(mean, squares reduction, the subtraction in it) when `total` starts the pattern."""
    if not _is_add(total):
        return None
    n = math.prod(total.bound_values)
    value = total.body.block.last_op.operands[0]  # type: ignore[union-attr]
    tree = _expression(value, total.body.block)
    if n < 2 or tree is None or any(isinstance(op, loop.LoadOp) and op.buf in stored
                                    for op in tree):
        return None
    if any(_is_expensive(op) for op in tree):
        # v is computed once more per reduction: the two-pass form (with the sum keeping
        # v for the normalizing loop, `reuse.py`) is cheaper than three times
        return None
    for use in list(total.res[0].uses):
        mean = use.operation
        if not _is_mean(mean, total.res[0], n) or mean.parent_block() is not total.parent_block():
            continue
        for squares in _later_adds(total):
            sub = _squared_deviation(squares, mean.results[0])
            if sub is None or squares.bound_values != total.bound_values:
                continue
            if _find_equal(value, total, _as_loop(squares)) is not sub.lhs:
                continue
            outside = [o for op in squares.walk() for o in op.operands
                       if not _inside(o, squares) and o is not mean.results[0]]
            if all(_defined_before(o, total) for o in outside):
                return mean, squares, sub
    return None


def _later_adds(red: loop.ReduceOp) -> list[loop.ReduceOp]:
    ops, out, seen = red.parent_block().ops, [], False  # type: ignore[union-attr]
    for op in ops:
        if op is red:
            seen = True
        elif seen and _is_add(op):
            out.append(op)
    return out


def _squared_deviation(red: loop.ReduceOp, mean: SSAValue) -> arith.SubfOp | None:
    """The `v - mean` of a body yielding `(v - mean) * (v - mean)`."""
    sq = red.body.block.last_op.operands[0].owner  # type: ignore[union-attr]
    if not isinstance(sq, arith.MulfOp) or sq.lhs is not sq.rhs:
        return None
    sub = sq.lhs.owner
    if isinstance(sub, arith.SubfOp) and sub.rhs is mean and len(list(sub.result.uses)) == 2:
        return sub
    return None


class _as_loop:
    """A reduction seen as the loop `_find_equal` searches (its body and indices)."""

    def __init__(self, red: loop.ReduceOp):
        self.body, self.indices = red.body, red.indices


def _inside(v: SSAValue, op: Operation) -> bool:
    owner = v.owner
    parent = owner if isinstance(owner, Block) else owner.parent_block()
    while parent is not None:
        if parent.parent_op() is op:
            return True
        grand = parent.parent_op()
        parent = grand.parent_block() if grand is not None else None
    return False


def _rewrite(total: loop.ReduceOp, mean: Operation, squares: loop.ReduceOp,
             sub: arith.SubfOp) -> None:
    block = total.parent_block()
    assert block is not None
    n = math.prod(total.bound_values)
    t = total.res[0].type
    # K: the summed value at the first point, computed before the sum
    zero = arith.ConstantOp(IntegerAttr(0, IndexType()))
    block.insert_op_before(zero, total)
    first = {iv: zero.result for iv in total.indices}
    value = total.body.block.last_op.operands[0]  # type: ignore[union-attr]
    shift = _clone_at(value, total.body.block, first, block, total)
    # squares of (v - K), then a copy yielding v - K: both next to the sum
    sub.operands[1] = shift
    squares.detach()
    block.insert_op_after(squares, total)
    shifted = squares.clone()
    block.insert_op_after(shifted, squares)
    yielded = shifted.body.block.last_op
    copy_sub = yielded.operands[0].owner.lhs.owner  # type: ignore[union-attr]
    yielded.operands[0] = copy_sub.results[0]  # type: ignore[union-attr]
    square = {use.operation for use in copy_sub.results[0].uses} - {yielded}
    for op in square:
        op.detach()
        op.erase()
    # sum((v - m)^2) = sum((v - K)^2) - sum(v - K)^2 / n, never below 0
    ops = [arith.MulfOp(shifted.res[0], shifted.res[0])]
    count = arith.ConstantOp(FloatAttr(float(n), t))  # type: ignore[arg-type]
    nought = arith.ConstantOp(FloatAttr(0.0, t))  # type: ignore[arg-type]
    ops += [count, nought, arith.DivfOp(ops[0].result, count.result)]
    ops.append(arith.SubfOp(squares.res[0], ops[-1].results[0]))
    ops.append(arith.MaximumfOp(ops[-1].results[0], nought.result))
    anchor: Operation = shifted
    for op in ops:
        block.insert_op_after(op, anchor)
        anchor = op
    result = ops[-1].results[0]
    squares.res[0].replace_uses_with_if(result, lambda use: use.operation is not ops[4])
    # the mean as K + sum(v - K) / n (as accurate: the shifted sum is small), so that
    # the plain sum is left without readers and the loop keeps two accumulators
    mean_ops = [arith.DivfOp(shifted.res[0], count.result)]
    mean_ops.append(arith.AddfOp(shift, mean_ops[0].result))
    for op in mean_ops:
        block.insert_op_after(op, anchor)
        anchor = op
    mean.results[0].replace_all_uses_with(mean_ops[-1].result)
    mean.detach()
    mean.erase()
    if not any(True for _ in total.res[0].uses) and not any(
            isinstance(op, loop.StoreOp) for op in total.walk()):
        total.detach()
        total.erase()


def _clone_at(value: SSAValue, body: Block, env: dict[SSAValue, SSAValue], block: Block,
              before: Operation) -> SSAValue:
    """Copy the ops of `body` computing `value` before `before`, with `env` for the
    body's indices."""
    ops = [op for op in body.ops if op in set(_expression(value, body) or [])]
    mapping = dict(env)
    for op in ops:
        copy = op.clone(value_mapper=mapping)
        block.insert_op_before(copy, before)
        for old, new in zip(op.results, copy.results, strict=True):
            mapping[old] = new
    return mapping.get(value, value)
