"""Building one `loop.kernel`: scopes, hoisting, element emission.

`KernelBuilder.element(v, idx)` returns the scalar of hl value `v` at the
index tuple `idx` (SSA `index` values), as code inside the kernel: a
`loop.load` when `v` lives in a buffer, otherwise the op's element rule
(`rules.py`) applied recursively -- that recursion IS the fusion.

Each element is emitted in the OUTERMOST scope where all its indices are
defined (kernel body, then nested `loop.for` / `loop.reduce` bodies), and
memoized there: a row statistic needed inside a `loop.for` is computed once per
kernel instance, before the loop (loop-invariant code motion and CSE for free).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    TensorType,
    f32,
    i1,
    i8,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from lamina.dialects import loop
from lamina.dialects.hl.base import HlOp
from lamina.errors import CompileError

INNER = -1  # dependency marker: an index that varies inside a nested reduction


# ---------------------------------------------------------------- types


def storage_type(element: Attribute) -> Attribute:
    """Element type of a buffer: bool -> i8 bytes, integers signless."""
    if element == i1:
        return i8
    if isinstance(element, IntegerType):
        return IntegerType(element.width.data)
    return element


def is_half(element: Attribute) -> bool:
    return isinstance(element, Float16Type | BFloat16Type)


def memref_of(t: TensorType) -> MemRefType:
    return MemRefType(storage_type(t.get_element_type()), t.get_shape())


def elem_type(v: SSAValue) -> Attribute:
    assert isinstance(v.type, TensorType), v.type
    return v.type.get_element_type()


def shape(v: SSAValue) -> tuple[int, ...]:
    assert isinstance(v.type, TensorType), v.type
    return tuple(int(d) for d in v.type.get_shape())


# ---------------------------------------------------------------- scopes


@dataclass(eq=False)
class Scope:
    block: Block
    op: Operation | None  # the nested op owning `block` (None for the kernel body)
    memo: dict = field(default_factory=dict)
    anchor: Operation | None = None  # while hoisting into this scope: insert before it


ElementRule = Callable[["KernelBuilder", Operation, tuple[SSAValue, ...]], SSAValue]


class KernelBuilder:
    """Emits the body of one kernel. `buffers` maps hl values to their buffers."""

    def __init__(self, name: str, bounds: Sequence[int], dims: Sequence[int],
                 buffers: dict[SSAValue, SSAValue], rules: dict[type, ElementRule],
                 reducing: frozenset[type] = frozenset(),
                 recompute: frozenset[SSAValue] = frozenset()):
        self.kernel = loop.KernelOp(name, bounds)
        self.buffers = buffers
        self.rules = rules
        self.reducing = reducing
        self.recompute = recompute  # materialized values cheaper to recompute than to load
        self.stack: list[Scope] = [Scope(self.kernel.body.block, None)]
        self.home: dict[SSAValue, Scope] = {}  # index value -> scope defining it
        self.deps: dict[SSAValue, frozenset[int]] = {}
        # every reducing hl value emitted inline, with the dims its indices depend on
        self.reductions: list[tuple[SSAValue, frozenset[int]]] = []
        self.consts: dict[tuple, SSAValue] = {}
        self.inlined: set[SSAValue] = set()  # hl values computed by their element rules
        self._warming = False  # inside _warm: operands are emitted already
        # the expansion guard (set while planning): a value inlined at more than
        # REPEATS distinct points of one scope (one loop iteration) whose element costs
        # more than COST rule applications is handed to `on_repeat` (the planner
        # materializes it) instead of being recomputed; a recurrence (x_t read at s,
        # s-1, s-2 of x_{t-1}) otherwise inlines exponentially many copies. Points in
        # different scopes (a reduction's body, then a loop over the row) are one
        # value per iteration each: recomputing there is the fusion working.
        self.on_repeat: Callable[[SSAValue], None] | None = None
        self.evaluations: dict[tuple[SSAValue, int], int] = {}
        self.cost: dict[SSAValue, int] = {}
        self.applied = 0  # rule applications so far
        self.depth = 0  # element rules being applied (nested): past MAX_DEPTH the guard
        # cuts too, so a long chain through other points (reshapes, gathers, shifted
        # slices) is lowered in pieces instead of overflowing Python's stack
        self._const_anchor: Operation | None = None
        for arg, d in zip(self.kernel.body.block.args, dims, strict=True):
            self.home[arg] = self.stack[0]
            self.deps[arg] = frozenset([d])

    # ---- insertion

    def _target(self, values: Sequence[SSAValue]) -> int:
        """Index in the stack of the outermost scope where all `values` are defined."""
        level = 0
        for v in values:
            scope = self.home.get(v)
            if scope is not None:
                level = max(level, self.stack.index(scope))
        return level

    def _insert(self, op: Operation, level: int) -> None:
        scope = self.stack[level]
        anchor = self.stack[level + 1].op if level < len(self.stack) - 1 else scope.anchor
        if anchor is None:
            scope.block.add_op(op)
        else:
            scope.block.insert_op_before(op, anchor)

    def op(self, op: Operation, level: int | None = None) -> SSAValue:
        """Insert a scalar op where its operands allow; returns its (first) result."""
        operands = list(op.operands)
        if level is None:
            level = self._target(operands)
        key = None
        if op.name.startswith(("arith.", "math.")) and len(op.results) == 1:
            # the result type too: extui %b to i8 (a bool's storage) and to i64 differ
            key = ("op", op.name, tuple(operands), tuple(op.properties.items()),
                   op.results[0].type)
            found = self.stack[level].memo.get(key)
            if found is not None:  # common subexpression: the index math of shifted reads
                op.erase()
                return found
        self._insert(op, level)
        if key is not None:
            self.stack[level].memo[key] = op.results[0]
        for r in op.results:
            self.home[r] = self.stack[level]
            self.deps[r] = frozenset().union(*(self.dep(o) for o in operands))
        return op.results[0] if op.results else None  # type: ignore[return-value]

    def dep(self, v: SSAValue) -> frozenset[int]:
        return self.deps.get(v, frozenset())

    # ---- constants (at the top of the kernel body, shared)

    def const(self, value: int | float | bool, t: Attribute) -> SSAValue:
        key = (repr(value), t)
        if key not in self.consts:
            if isinstance(t, IndexType | IntegerType):
                attr: Attribute = IntegerAttr(int(value), t)
            else:
                attr = FloatAttr(float(value), t)  # type: ignore[arg-type]
            c = arith.ConstantOp(attr)
            block = self.stack[0].block
            if self._const_anchor is None or self._const_anchor.parent is not block:
                block.insert_op_before(c, block.first_op) if block.first_op else block.add_op(c)
            else:
                block.insert_op_after(c, self._const_anchor)
            self._const_anchor = c
            self.consts[key] = c.result
            self.home[c.result] = self.stack[0]
        return self.consts[key]

    def index(self, value: int) -> SSAValue:
        return self.const(value, IndexType())

    def number(self, value: int | float, t: Attribute) -> SSAValue:
        """A numeric constant of register type `t` (int for integer types)."""
        return self.const(int(value) if isinstance(t, IntegerType | IndexType) else float(value),
                          t)

    # ---- index arithmetic (folded when constant)

    def _const_value(self, v: SSAValue) -> int | None:
        owner = v.owner
        if isinstance(owner, arith.ConstantOp) and isinstance(v.type, IndexType):
            return int(owner.value.value.data)  # type: ignore[attr-defined]
        return None

    def add(self, a: SSAValue, b: SSAValue) -> SSAValue:
        ca, cb = self._const_value(a), self._const_value(b)
        if ca is not None and cb is not None:
            return self.index(ca + cb)
        if ca == 0:
            return b
        if cb == 0:
            return a
        if cb is not None and isinstance(a.owner, arith.AddiOp):  # (x + c1) + c2
            c1 = self._const_value(a.owner.rhs)
            if c1 is not None:
                return self.add(a.owner.lhs, self.index(c1 + cb))
        return self.op(arith.AddiOp(a, b))

    def sub(self, a: SSAValue, b: SSAValue) -> SSAValue:
        if self._const_value(b) == 0:
            return a
        return self.op(arith.SubiOp(a, b))

    def mul(self, a: SSAValue, c: int) -> SSAValue:
        ca = self._const_value(a)
        if ca is not None:
            return self.index(ca * c)
        if c == 1:
            return a
        return self.op(arith.MuliOp(a, self.index(c)))

    def div(self, a: SSAValue, c: int) -> SSAValue:
        """Floor division of a non-negative index by a positive constant."""
        ca = self._const_value(a)
        if ca is not None:
            return self.index(ca // c)
        return a if c == 1 else self.op(arith.DivUIOp(a, self.index(c)))

    def rem(self, a: SSAValue, c: int) -> SSAValue:
        ca = self._const_value(a)
        if ca is not None:
            return self.index(ca % c)
        return self.index(0) if c == 1 else self.op(arith.RemUIOp(a, self.index(c)))

    def linearize(self, idx: Sequence[SSAValue], dims: Sequence[int]) -> SSAValue:
        total = self.index(0)
        for i, n in zip(idx, dims, strict=True):
            total = self.add(self.mul(total, n), i)
        return total

    def delinearize(self, flat: SSAValue, dims: Sequence[int]) -> tuple[SSAValue, ...]:
        out: list[SSAValue] = []
        stride = 1
        for pos, n in enumerate(reversed(dims)):
            q = self.div(flat, stride)
            # flat < prod(dims) (callers linearize in-range indices): the outermost index
            # needs no `rem`, so a reshape to 1-d stays affine and vectorizes
            out.append(q if pos == len(dims) - 1 else self.rem(q, n))
            stride *= n
        return tuple(reversed(out))

    # ---- memory

    def load(self, buf: SSAValue, idx: Sequence[SSAValue], element: Attribute,
             mask: SSAValue | None = None) -> SSAValue:
        """Load and convert from storage to compute type (masked loads give 0). A buffer
        without elements has no index in bounds: a read of it is one a select or mask
        discards (a pad of an empty gradient), and it becomes a constant, never a load
        (the Triton interpreter segfaulted on a masked load of a zero-size tensor)."""
        if isinstance(buf.type, MemRefType) and 0 in buf.type.get_shape():
            return self.const(0, i1 if element == i1 else f32 if is_half(element)
                              else storage_type(element))
        other = self.const(0, storage_type(element)) if mask is not None else None
        v = self.op(loop.LoadOp(buf, idx, mask, other))
        if element == i1:
            return self.op(arith.TruncIOp(v, i1))
        if is_half(element):
            return self.op(arith.ExtFOp(v, f32))
        return v

    def to_storage(self, v: SSAValue, element: Attribute) -> SSAValue:
        if element == i1:
            return self.op(arith.ExtUIOp(v, i8))
        if is_half(element):
            return self.op(arith.TruncFOp(v, element))
        return v

    def store(self, v: SSAValue, buf: SSAValue, idx: Sequence[SSAValue],
              element: Attribute) -> None:
        value = self.to_storage(v, element)
        self._insert(loop.StoreOp(value, buf, idx), len(self.stack) - 1)

    # ---- elements

    def element(self, v: SSAValue, idx: Sequence[SSAValue]) -> SSAValue:
        idx = tuple(idx)
        level = self._target(idx)
        key = (v, idx)
        if key in self.stack[level].memo:
            return self.stack[level].memo[key]
        if not self._warming:
            self._warm(v, idx, level)
        saved = self.stack
        scope = saved[level]
        old_anchor = scope.anchor
        if level < len(saved) - 1:  # hoist: emit before the nested op we are inside
            scope.anchor = saved[level + 1].op
        self.stack = saved[: level + 1]
        try:
            if self.on_repeat is not None and v not in self.buffers and (
                    self._repeated(v, scope) or self.depth > self.MAX_DEPTH):
                self.on_repeat(v)  # (now a buffer: loaded below)
            if v in self.buffers and v not in self.recompute:
                result = self.load(self.buffers[v], idx, elem_type(v))
            else:
                self.inlined.add(v)
                start = self.applied
                self.applied += 1
                self.depth += 1
                try:
                    result = self._rule(v, idx)
                finally:
                    self.depth -= 1
                self.cost[v] = max(self.cost.get(v, 0), self.applied - start)
                if v.owner.name in self.reducing:  # type: ignore[union-attr]
                    self.reductions.append((v, frozenset().union(*(self.dep(i) for i in idx))))
                if is_half(elem_type(v)):  # round after every op, as the interpreter does
                    result = self.op(arith.ExtFOp(self.op(arith.TruncFOp(result,
                                                                         elem_type(v))), f32))
        finally:
            self.stack = saved
            scope.anchor = old_anchor
        self.stack[level].memo[key] = result
        return result

    REPEATS = 1
    COST = 8
    MAX_DEPTH = 120

    def _repeated(self, v: SSAValue, scope: Scope) -> bool:
        key = (v, id(scope))
        count = self.evaluations[key] = self.evaluations.get(key, 0) + 1
        return count > self.REPEATS and self.cost.get(v, 0) > self.COST

    def _warm(self, v: SSAValue, idx: tuple[SSAValue, ...], level: int) -> None:
        """Emit, deepest first, the elementwise ops `v` inlines at the same point `idx`,
        so that the element rules below find their operands memoized: a chain of
        100,000 elementwise ops lowers without 100,000 nested calls (the order is the
        one the recursion would take: operands in order, then the op)."""
        order: list[SSAValue] = []
        seen: set[SSAValue] = set()
        stack: list[tuple[SSAValue, bool]] = [(v, False)]
        memo = self.stack[level].memo
        while stack:
            value, expanded = stack.pop()
            if expanded:
                order.append(value)
                continue
            if value in seen or (value, idx) in memo:
                continue
            seen.add(value)
            if not self._same_point(value):
                order.append(value)  # a leaf: a load, or a rule reading other points
                continue
            stack.append((value, True))
            stack.extend((o, False) for o in reversed(value.owner.operands))  # type: ignore[union-attr]
        if order and order[-1] is v:
            order.pop()  # v itself is emitted by the caller
        self._warming = True
        try:
            for value in order:
                self.element(value, idx)
        finally:
            self._warming = False

    def _same_point(self, v: SSAValue) -> bool:
        """An elementwise op computed inline: its operands are read at its own point."""
        owner = v.owner
        return (isinstance(owner, HlOp) and owner.has_scalar_rule()
                and not (v in self.buffers and v not in self.recompute))

    def _rule(self, v: SSAValue, idx: tuple[SSAValue, ...]) -> SSAValue:
        op = v.owner
        rule = self.rules.get(op.name)  # type: ignore[union-attr]
        if rule is None:
            raise CompileError(f"lower-hl-to-loop: no element rule for {op.name}")  # type: ignore[union-attr]
        return rule(self, op, idx)  # type: ignore[arg-type]

    # ---- nested structured ops

    def nest(self, op: loop.ReduceOp | loop.ForOp | loop.SeqForOp, level: int) -> Scope:
        """Insert `op` at `level` and open its body as the innermost scope."""
        self._insert(op, level)
        self.stack = self.stack[: level + 1]
        scope = Scope(op.body.block, op)
        self.stack.append(scope)
        for arg in op.body.block.args:
            self.home[arg] = scope
            self.deps[arg] = frozenset([INNER])
        return scope

    def reduce(self, kind: str, bounds: Sequence[int], init: SSAValue,
               body: Callable[[tuple[SSAValue, ...]], SSAValue],
               outer: Sequence[SSAValue]) -> tuple[SSAValue, ...]:
        """A `loop.reduce` placed by the indices `outer` it depends on; `body(ks)` gives
        the value at reduction point `ks`. Returns the op's results."""
        level = self._target([*outer, init])
        saved = self.stack
        red = loop.ReduceOp(kind, bounds, init)
        self.nest(red, level)
        try:
            value = body(tuple(red.body.block.args))
            red.body.block.add_op(loop.YieldOp(value))
        finally:
            self.stack = saved
        deps = frozenset().union(*(self.dep(i) for i in outer))
        for r in red.results:
            self.home[r] = self.stack[level]
            self.deps[r] = deps
        return tuple(red.results)
