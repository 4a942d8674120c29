"""Fusion planning: which hl values get a buffer, and each kernel's parallel dims.

Every hl value is either *materialized* (written to a buffer by a kernel or a
producer op such as `loop.matmul`) or *inlined* (recomputed as scalar code at
each consumer's load). Materialized are: returned values, results of producer
ops, operands a producer needs in memory, and the values where inlining would
repeat a reduction:

- a value containing a reduction that is reached from two kernels;
- a reduction whose indices vary inside another reduction (e.g. `lse[i]` inside
  a mean over `i`);
- a reduction whose indices do not use every parallel dim of its kernel.

The kernel computing a root `r` is parallel over the dims its inlined
reductions depend on (all dims when there are none), with the other dims in a
`loop.for`: a row softmax is ONE kernel `parallel [rows]` with two reductions
and a normalizing loop. The decisions are found by emitting each root once into
a scratch kernel ("probing") and reading which dims each reduction's indices
used. `LAMINA_LOG_FUSION=1` logs every fusion declined, with its reason.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field

from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import Block, OpResult, SSAValue

from lamina import knobs
from lamina.dialects.hl.base import HlOp
from lamina.passes.lower_hl_to_loop.kernel import INNER, KernelBuilder, memref_of, shape


@dataclass
class Plan:
    materialized: set[SSAValue] = field(default_factory=set)
    parallel: dict[SSAValue, tuple[int, ...]] = field(default_factory=dict)  # root -> P dims


def log(message: str) -> None:
    if knobs.log_fusion():
        print(f"[lamina fusion] {message}", file=sys.stderr)


def describe(v: SSAValue) -> str:
    owner = v.owner
    return f"{owner.name} -> {v.type}" if isinstance(owner, HlOp) else str(v.type)


def _log_unfused_epilogues(op: HlOp) -> None:
    """A producer (GEMM, scatter, ...) writes its whole result before its elementwise
    consumers run as a kernel of their own: say so for each consumer."""
    if not knobs.log_fusion():
        return
    for user in dict.fromkeys(use.operation for r in op.results for use in r.uses):
        if isinstance(user, HlOp) and user.results:
            log(f"{describe(user.results[0])} is not fused into {op.name}: the {op.name} "
                "result is written whole first (a BLAS call or its own loop), then read")


class Planner:
    def __init__(self, fn: func.FuncOp, rules: dict, reducing: frozenset[type],
                 producers: dict):
        self.fn = fn
        self.rules, self.reducing, self.producers = rules, reducing, producers
        self.ops = [op for op in fn.body.block.ops if isinstance(op, HlOp)]
        self.plan = Plan()
        self.placeholders: dict[SSAValue, SSAValue] = {}
        self.probed: dict[SSAValue, set[SSAValue]] = {}  # root -> values its kernel inlines
        self.costs: dict[SSAValue, int] = {}  # inlined value -> rule applications per element

    # ---- driver

    def run(self) -> Plan:
        m = self.plan.materialized
        ret = self.fn.body.block.last_op
        assert isinstance(ret, func.ReturnOp)
        m.update(v for v in ret.operands if isinstance(v, OpResult))
        for op in self.ops:
            if op.name in self.producers or self._needs_buffer(op):
                m.add(op.results[0])
        for _ in range(100):
            new = (self._producer_operands() or self._shared_reductions() or self._probe_all()
                   or self._shared_expensive())
            if not new:
                return self.plan
            m.update(new)
        raise AssertionError("lower-hl-to-loop: fusion planning did not converge")

    def _needs_buffer(self, op: HlOp) -> bool:
        """Ops without an element rule that works from scalars alone (non-uniform
        constants live in global buffers)."""
        check = getattr(self.rules.get(op.name), "needs_buffer", None)
        return bool(check and check(op))

    # ---- rules

    def _producer_operands(self) -> set[SSAValue]:
        """Operands producers read from memory (added one by one: a later operand may be
        satisfied by an earlier one's buffer, e.g. `h @ w2` and `h.T @ g`)."""
        new: set[SSAValue] = set()
        for op in self.ops:
            producer = self.producers.get(op.name)
            if producer is None:
                continue
            for v in producer.operands_in_memory(op, self.is_buffer):
                if not self.is_buffer(v):
                    log(f"{describe(v)} is materialized: {op.name} reads it from memory")
                    new.add(v)
                    self.plan.materialized.add(v)
            _log_unfused_epilogues(op)
        return new

    def is_buffer(self, v: SSAValue) -> bool:
        return v in self.plan.materialized or not isinstance(v.owner, HlOp)

    def _inlined_operands(self, v: SSAValue):
        return [o for o in v.owner.operands if not self.is_buffer(o)]  # type: ignore[union-attr]

    def _roots(self) -> list[SSAValue]:
        return [v for op in self.ops for v in op.results
                if v in self.plan.materialized and op.name not in self.producers
                and not self._needs_buffer(op)]

    def _shared_reductions(self) -> set[SSAValue]:
        reached: dict[SSAValue, set[SSAValue]] = defaultdict(set)
        for root in self._roots():
            stack, seen = self._inlined_operands(root), set()
            while stack:
                v = stack.pop()
                if v in seen:
                    continue
                seen.add(v)
                reached[v].add(root)
                stack.extend(self._inlined_operands(v))
        # materialize the reductions themselves; what uses them is cheap to recompute
        new = {v for v, roots in reached.items()
               if len(roots) > 1 and v.owner.name in self.reducing}  # type: ignore[union-attr]
        for v in new:
            log(f"{describe(v)} is materialized: it is a reduction that feeds "
                f"{len(reached[v])} kernels")
        return new

    def _probe_all(self) -> set[SSAValue]:
        new: set[SSAValue] = set()
        for root in self._roots():
            inlined = self.probed.get(root)
            if inlined is not None and not any(self.is_buffer(v) for v in inlined):
                continue  # nothing it inlines was materialized since: same decision
            new |= self._probe(root)
        for v in self._producer_inlined_operands():
            if v not in self.probed:
                new |= self._probe_operand(v)
        return new

    SHARED_COST = 32

    def _shared_expensive(self) -> set[SSAValue]:
        """Values inlined into several kernels whose element costs more than
        SHARED_COST rule applications: each kernel would recompute the whole
        expression (a running sum read by every later step costs O(steps^2))."""
        kernels = {*self._roots(), *self._producer_inlined_operands()}
        users: dict[SSAValue, int] = defaultdict(int)
        for key, inlined in self.probed.items():
            if key in kernels:
                for v in inlined:
                    if not self.is_buffer(v):
                        users[v] += 1
        new = {v for v, n in users.items() if n > 1 and self.costs.get(v, 0) > self.SHARED_COST}
        for v in new:
            log(f"{describe(v)} is materialized: {users[v]} kernels would each recompute "
                f"it ({self.costs[v]} ops per element)")
        return new

    def _record_costs(self, kb: KernelBuilder) -> None:
        for v, cost in kb.cost.items():
            self.costs[v] = max(self.costs.get(v, 0), cost)

    def _producer_inlined_operands(self) -> list[SSAValue]:
        """Operands a producer reads through their element rules (a scatter's updates):
        they are emitted inside the producer's kernel, so they get the same guard
        against repeated expansion as a root's kernel."""
        return [v for op in self.ops if op.name in self.producers
                for v in op.operands if not self.is_buffer(v)]

    def _guard(self, kb: KernelBuilder, consumer: SSAValue) -> set[SSAValue]:
        """Arm `kb`'s expansion guard; returns the set it fills with values to
        materialize (they are added to the plan at once, so the probe loads them)."""
        repeated: set[SSAValue] = set()

        def materialize(v: SSAValue) -> None:
            log(f"{describe(v)} is materialized: the kernel of {describe(consumer)} would "
                f"recompute it at several points of one iteration ({kb.cost.get(v, '?')} ops "
                f"each), or it ends a chain of {kb.depth} nested element rules")
            repeated.add(v)
            self.plan.materialized.add(v)

        kb.on_repeat = materialize
        return repeated

    def _probe_operand(self, v: SSAValue) -> set[SSAValue]:
        dims = shape(v)
        kb = KernelBuilder("probe", dims, range(len(dims)), _Placeholders(self, v), self.rules,  # type: ignore[arg-type]
                           self.reducing)
        repeated = self._guard(kb, v)
        kb.element(v, kb.kernel.body.block.args)
        self.probed[v] = kb.inlined - {v}
        self._record_costs(kb)
        return repeated

    def _probe(self, root: SSAValue) -> set[SSAValue]:
        """Emit `root` into a scratch kernel parallel over all its dims, then decide."""
        dims = shape(root)
        buffers = _Placeholders(self, root)
        kb = KernelBuilder("probe", dims, range(len(dims)), buffers, self.rules, self.reducing)  # type: ignore[arg-type]
        repeated = self._guard(kb, root)
        kb.element(root, kb.kernel.body.block.args)
        self.probed[root] = kb.inlined - {root}
        self._record_costs(kb)
        inner = [(v, d) for v, d in kb.reductions if v is not root and v not in repeated]
        new = {v for v, d in inner if INNER in d} | repeated
        for v in new:
            log(f"{describe(v)} is materialized: it is needed at every point of another "
                f"reduction in the kernel of {describe(root)}")
        rest = [(v, d) for v, d in inner if v not in new]
        if root.owner.name in self.reducing or not rest:
            parallel = frozenset(range(len(dims)))
        else:  # parallel over the dims of the largest inner reduction
            parallel = max((d for _, d in rest), key=lambda d: math.prod(dims[i] for i in d))
        for v, d in rest:
            if not d <= parallel or math.prod(dims[i] for i in parallel - d) > 1:
                log(f"{describe(v)} is materialized: the kernel of {describe(root)} is "
                    f"parallel over dims {sorted(parallel)}, it varies over {sorted(d)} only")
                new.add(v)
        self.plan.parallel[root] = tuple(sorted(parallel))
        return new


class _Placeholders:
    """The buffers a probe sees: a stand-in memref for every value in memory but the
    root, made on first use (probing must not cost O(materialized values))."""

    def __init__(self, planner: Planner, root: SSAValue):
        self.planner, self.root = planner, root

    def __contains__(self, v: SSAValue) -> bool:
        return v is not self.root and self.planner.is_buffer(v)

    def __getitem__(self, v: SSAValue) -> SSAValue:
        cache = self.planner.placeholders
        if v not in cache:
            t = v.type
            cache[v] = Block(arg_types=[t if isinstance(t, MemRefType) else memref_of(t)]).args[0]  # type: ignore[arg-type]
        return cache[v]
