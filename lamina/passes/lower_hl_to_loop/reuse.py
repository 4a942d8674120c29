"""Keep the values a reduction computed for the loop after it that recomputes them.

The element rules fuse by recomputation: softmax's `exp(x - max)` is emitted once in
the body of the sum `loop.reduce` and again in the `loop.for` that divides by the
sum. When the recomputed expression is expensive (a transcendental or a division),
`keep_reduced_values` makes the reduction also store its yielded value into the
buffer the loop writes, at the point the loop will write, and the loop load it
instead of computing it again:

    %s = loop.reduce "add" [n] (%k) init(%0) {      %s = loop.reduce "add" [n] (%k) init(%0) {
      %e = math.exp(f(%x[%i, %k]))                    %e = math.exp(f(%x[%i, %k]))
      loop.yield %e                       ==>         loop.store %e, %out[%i, %k]
    }                                                 loop.yield %e
    loop.for [n] (%j) {                             }
      %e2 = math.exp(f(%x[%i, %j]))                 loop.for [n] (%j) {
      loop.store %e2 / %s, %out[%i, %j]               %e2 = loop.load %out[%i, %j]
    }                                                 loop.store %e2 / %s, %out[%i, %j]
                                                    }

The row of `out` is still in L1/L2 when the loop reads it back (a softmax row of 4096
f32 is 16 KiB), so the loop costs a load instead of an `exp`: row softmax 4096x4096
went from two `exp` per element to one.

Safe because (checked here): the loop stores to `out` exactly once per iteration,
at an index that names each of its induction variables directly (so iteration k
owns the element at idx(k), which the reduction's iteration k fills); nothing else
in the kernel reads or writes `out`; the buffers the expression loads are never
written in the kernel; the two expressions are structurally equal (same ops,
attributes and outside operands, induction variable k for induction variable k).
Output buffers never alias inputs at the loop level (see `lamina/dialects/loop.py`).
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.ir import Block, Operation, SSAValue

from lamina.dialects import loop

# ops worth a store and a load to avoid recomputing (an `exp` is ~20 vector ops; a
# subtraction or a multiply is cheaper than the store it would need)
_EXPENSIVE_PREFIXES = ("math.",)
_EXPENSIVE = (arith.DivfOp,)
_PURE_PREFIXES = ("arith.", "math.")


def keep_reduced_values(kernel: loop.KernelOp) -> loop.KernelOp:
    """Rewrite every (reduce, later loop over the same space) pair of `kernel` where
    the loop recomputes the reduction's expensive yielded value. Returns `kernel`."""
    stored = {op.buf for op in kernel.walk() if isinstance(op, loop.StoreOp)}
    loaded = {op.buf for op in kernel.walk() if isinstance(op, loop.LoadOp)}
    blocks = [kernel.body.block] + [r.block for op in kernel.walk()
                                    if isinstance(op, loop.ForOp | loop.ReduceOp)
                                    for r in [op.body]]
    for block in blocks:
        ops = list(block.ops)
        for pos, red in enumerate(ops):
            if not isinstance(red, loop.ReduceOp) or len(red.res) != 1:
                continue
            for later in ops[pos + 1:]:
                if (isinstance(later, loop.ForOp)
                        and later.bound_values == red.bound_values
                        and _reuse(red, later, stored, loaded)):
                    break
    return kernel


def _reuse(red: loop.ReduceOp, for_op: loop.ForOp, stored: set[SSAValue],
           loaded: set[SSAValue]) -> bool:
    yielded = red.body.block.last_op
    assert isinstance(yielded, loop.YieldOp)
    value = yielded.operands[0]
    tree = _expression(value, red.body.block)
    if tree is None or not any(_is_expensive(op) for op in tree):
        return False
    if any(isinstance(op, loop.LoadOp) and op.buf in stored for op in tree):
        return False
    match = _find_equal(value, red, for_op)
    if match is None:
        return False
    stores = [op for op in for_op.body.block.ops if isinstance(op, loop.StoreOp)]
    for store in stores:
        if store.buf in loaded or sum(s.buf == store.buf for s in stores) != 1:
            continue
        if not _owns_its_point(store, for_op, red):
            continue
        keep, restore = _storable(value, store.buf.type.element_type)  # type: ignore[attr-defined]
        if keep is None:
            continue
        to_red = dict(zip(for_op.indices, red.indices, strict=True))
        red_idx = [to_red.get(i, i) for i in store.indices]
        red.body.block.insert_op_before(loop.StoreOp(keep, store.buf, red_idx), yielded)
        load = loop.LoadOp(store.buf, list(store.indices))
        block = for_op.body.block
        block.insert_op_before(load, block.first_op) if block.first_op else block.add_op(load)
        new: SSAValue = load.res
        if restore is not None:
            ext = restore(new)
            block.insert_op_after(ext, load)
            new = ext.results[0]
        match.replace_all_uses_with(new)
        _drop_dead(block)
        stored.add(store.buf)  # now read and written twice: no other pair may use it
        loaded.add(store.buf)
        return True
    return False


def _is_expensive(op: Operation) -> bool:
    return op.name.startswith(_EXPENSIVE_PREFIXES) or isinstance(op, _EXPENSIVE)


def _expression(value: SSAValue, body: Block) -> list[Operation] | None:
    """The ops of `body` that `value` depends on (None if one is not a pure scalar op
    or a load)."""
    seen: dict[Operation, None] = {}
    todo = [value]
    while todo:
        v = todo.pop()
        op = v.owner
        if not isinstance(op, Operation) or op.parent_block() is not body or op in seen:
            continue
        if not (op.name.startswith(_PURE_PREFIXES) or isinstance(op, loop.LoadOp)):
            return None
        seen[op] = None
        todo.extend(op.operands)
    return list(seen)


def _owns_its_point(store: loop.StoreOp, for_op: loop.ForOp, red: loop.ReduceOp) -> bool:
    """Each induction variable of the loop is one index of the store, and every other
    index is defined before the reduction (so the reduction can store there too)."""
    ivs = list(for_op.indices)
    named = [i for i in store.indices if i in ivs]
    if sorted(map(ivs.index, named)) != list(range(len(ivs))):
        return False
    return all(i in ivs or _defined_before(i, red) for i in store.indices)


def _defined_before(value: SSAValue, op: Operation) -> bool:
    """`value` is available at `op`: a block argument of a block enclosing it, a result
    of an op before it in an enclosing block, or defined outside the outermost op (the
    kernel, not yet inserted in its function while it is rewritten)."""
    owner = value.owner
    block = owner if isinstance(owner, Block) else owner.parent_block()
    inner: Operation | None = op
    while inner is not None:
        if inner.parent_block() is block:
            return isinstance(owner, Block) or owner.is_before_in_block(inner)
        inner = inner.parent_op()
    return not _encloses(op, block)


def _encloses(op: Operation, block: Block | None) -> bool:
    """`block` is inside the outermost op enclosing `op` (so SSA rules apply to it)."""
    top = op
    while top.parent_op() is not None:
        top = top.parent_op()  # type: ignore[assignment]
    while block is not None:
        parent = block.parent_op()
        if parent is top:
            return True
        block = parent.parent_block() if parent is not None else None
    return False


def _find_equal(value: SSAValue, red: loop.ReduceOp, for_op: loop.ForOp) -> SSAValue | None:
    """The value of the loop body structurally equal to `value` of the reduction body."""
    ivs = dict(zip(red.indices, for_op.indices, strict=True))
    memo: dict[tuple[SSAValue, SSAValue], bool] = {}

    def equal(a: SSAValue, b: SSAValue) -> bool:
        if a in ivs:
            return ivs[a] is b
        oa, ob = a.owner, b.owner
        if not isinstance(oa, Operation) or oa.parent_block() is not red.body.block:
            return a is b  # defined outside the reduction: the same value
        if not isinstance(ob, Operation) or ob.parent_block() is not for_op.body.block:
            return False
        key = (a, b)
        if key not in memo:
            memo[key] = (oa.name == ob.name and oa.results.index(a) == ob.results.index(b)
                         and oa.properties == ob.properties and oa.attributes == ob.attributes
                         and len(oa.operands) == len(ob.operands)
                         and all(equal(x, y) for x, y in zip(oa.operands, ob.operands, strict=True)))
        return memo[key]

    for op in for_op.body.block.ops:
        for r in op.results:
            if r.type == value.type and equal(value, r):
                return r
    return None


def _storable(value: SSAValue, element) -> tuple[SSAValue | None, object]:
    """What to store for `value` in a buffer of `element`, and how the loop turns the
    loaded element back into `value` (None: as loaded). f16/bf16 values are computed
    as `extf(truncf(v))` (rounded after every op), so their truncated form is exact."""
    if value.type == element:
        return value, None
    owner = value.owner
    if isinstance(owner, arith.ExtFOp) and owner.input.type == element:
        return owner.input, lambda v: arith.ExtFOp(v, value.type)
    return None, None


def _drop_dead(block: Block) -> None:
    """Remove the ops of `block` left without uses (the recomputed expression)."""
    for op in reversed(list(block.ops)):
        if ((op.name.startswith(_PURE_PREFIXES) or isinstance(op, loop.LoadOp))
                and all(not r.uses for r in op.results)):
            op.detach()
            op.erase()
