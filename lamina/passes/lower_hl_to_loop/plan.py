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
            new = self._producer_operands() or self._shared_reductions() or self._probe_all()
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
        return new

    def _probe(self, root: SSAValue) -> set[SSAValue]:
        """Emit `root` into a scratch kernel parallel over all its dims, then decide."""
        dims = shape(root)
        buffers = _Placeholders(self, root)
        kb = KernelBuilder("probe", dims, range(len(dims)), buffers, self.rules, self.reducing)  # type: ignore[arg-type]
        kb.element(root, kb.kernel.body.block.args)
        self.probed[root] = kb.inlined - {root}
        inner = [(v, d) for v, d in kb.reductions if v is not root]
        new = {v for v, d in inner if INNER in d}
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
