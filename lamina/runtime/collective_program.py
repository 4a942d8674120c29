"""Programs that communicate: compute segments compiled by the backend, collectives run
by the process group between them.

    hl @main with collectives --hl-simplify, bucket-all-reduce-->  [compute | collective]*
    each compute segment: its own hl @main, compiled by the chosen backend (c, triton,
    interp) as any program; each collective: one call of `lamina.runtime.collectives`
    on the segment outputs' buffers (no copy in between).

Why between kernels and not from the generated C: a collective waits for the other
ranks, and nothing fuses across it anyway, so a segment boundary costs only the
dispatch of one more compiled call (measured in docs/distributed.md: ~10-20 us per
boundary on the C backend, against >= 50 us for the smallest all-reduce between two
processes here), and one mechanism serves every backend and both engines (MPI on numpy
buffers, NCCL on CUDA buffers). Calling MPI from generated C would need the MPI
headers and library at compile time and a second engine binding per backend.

Parameters update in place as in any jitted step: a segment keeps lm.jit's pair
(output j is the new value of argument i, `lamina.donate`) when it computes output j,
reads argument i and nothing after it reads argument i.

Before the first run, the ranks compare one fingerprint of the program's list of
collectives (`ProcessGroup.check_same`): ranks that traced different programs stop
with an error naming each rank's program instead of exchanging mismatched buffers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, i64
from xdsl.ir import Block, Region, SSAValue

from lamina import knobs
from lamina.dialects.hl.collective import AllReduceOp, CollectiveOp
from lamina.runtime import backends, collectives

DONATE = "lamina.donate"  # lm.jit's in-place pairs (lamina/passes/donate_buffers.py)

if TYPE_CHECKING:
    from lamina.passes.pipeline import Dump


def has_collectives(module: ModuleOp) -> bool:
    return any(isinstance(op, CollectiveOp) for op in module.walk())


class _Bucket:
    """Adjacent all-reduces of one bucket (the bucket-all-reduce pass): one collective
    over their buffers packed into one, the results views of it."""

    def __init__(self, key: int, ops: list[AllReduceOp]):
        self.key, self.ops = key, ops

    def describe(self) -> str:
        return f"bucket of {len(self.ops)} [" + ", ".join(o.describe() for o in self.ops) + "]"

    def run(self, group: collectives.ProcessGroup, env: dict) -> None:
        arrays = [env[o.operands[0]] for o in self.ops]
        flat = np.concatenate([a.reshape(-1) for a in arrays])
        out = group.run("all_reduce", flat, {"op": self.ops[0].prop("op")})
        offset = 0
        for o, a in zip(self.ops, arrays, strict=True):
            env[o.results[0]] = out[offset:offset + a.size].reshape(a.shape)
            offset += a.size


class _Compute:
    def __init__(self, program: backends.Program, inputs: list[SSAValue],
                 outputs: list[SSAValue]):
        self.program, self.inputs, self.outputs = program, inputs, outputs


class SegmentedRun:
    """The run function of a communicating program."""

    def __init__(self, name: str, args: Sequence[SSAValue], steps: list,
                 results: list[SSAValue]):
        self.name, self.args, self.steps, self.results = name, list(args), steps, results
        # {output j: input i} the segments update in place (lm.jit's `donate=True`)
        self.donated: dict[int, int] = {}
        for step in steps:
            if isinstance(step, _Compute):
                for k, m in getattr(step.program.run, "donated", {}).items():
                    j, i = results.index(step.outputs[k]), self.args.index(step.inputs[m])
                    self.donated[j] = i
        self.collectives = [s.describe() for s in steps if isinstance(s, CollectiveOp | _Bucket)]
        shown = ", ".join(self.collectives[:6]) + (", ..." if len(self.collectives) > 6 else "")
        self.what = f"program @{name} ({len(self.collectives)} collectives: {shown})"

    def __call__(self, args: Sequence[np.ndarray], donate: bool = False) -> list[np.ndarray]:
        group = collectives.current()
        group.check_same(self.what, self.collectives)
        env: dict[SSAValue, np.ndarray] = dict(zip(self.args, args, strict=True))
        for step in self.steps:
            if isinstance(step, CollectiveOp):
                env[step.results[0]] = step.reference(env[step.operands[0]])
            elif isinstance(step, _Bucket):
                step.run(group, env)
            else:
                outs = step.program([env[v] for v in step.inputs], donate=donate)
                env.update(zip(step.outputs, outs, strict=True))
        return [np.asarray(env[v]) for v in self.results]


def compile(module: ModuleOp, backend: backends.Backend, dump: Dump | None = None
            ) -> backends.Program:
    from lamina.passes.pipeline import run, run_pipeline

    work = module.clone()
    levels = run_pipeline(work, "hl-simplify", dump)
    if knobs.bucket_bytes() > 0:
        run(work, f"bucket-all-reduce{{bucket_bytes={knobs.bucket_bytes()}}}", dump)
        levels["hl"] = str(work)
    fn = next(op for op in work.ops if isinstance(op, func.FuncOp))
    block = fn.body.block
    pairs = fn.attributes.get(DONATE)
    donate = {j: i for j, i in enumerate(pairs.get_values()) if i >= 0} \
        if isinstance(pairs, DenseArrayBase) else {}
    ret = block.last_op
    assert isinstance(ret, func.ReturnOp)
    ops = [op for op in block.ops if op is not ret]
    runs: list = []  # lists of compute ops, or one collective op
    for op in ops:
        bucket = op.prop("bucket") if isinstance(op, AllReduceOp) else None
        if bucket is not None and runs and isinstance(runs[-1], _Bucket) \
                and runs[-1].key == bucket:
            runs[-1].ops.append(op)
        elif bucket is not None:
            runs.append(_Bucket(bucket, [op]))
        elif isinstance(op, CollectiveOp):
            runs.append(op)
        elif runs and isinstance(runs[-1], list):
            runs[-1].append(op)
        else:
            runs.append([op])
    position = {op: i for i, op in enumerate(ops)}
    for i, part in enumerate(runs):  # (a bucket of one is a plain all-reduce)
        if isinstance(part, _Bucket) and len(part.ops) == 1:
            runs[i] = part.ops[0]
    steps: list = []
    sources, kernels = [], 0
    for part in runs:
        if isinstance(part, CollectiveOp | _Bucket):
            steps.append(part)
            continue
        segment = _segment(part, position, ret, backend, len(steps), donate)
        if segment is None:
            continue
        steps.append(segment)
        program = segment.program
        kernels += program.kernel_count
        if program.source:
            sources.append(program.source)
        for level, text in program.levels.items():
            if level != "hl":
                levels[level] = levels.get(level, "") + f"// segment {len(steps) - 1}\n{text}"
    runner = SegmentedRun(fn.sym_name.data, block.args, steps, list(ret.operands))
    return backends.Program(backend.name, runner, levels=levels,
                            source="\n".join(sources) or None, kernel_count=kernels)


def _segment_donations(outputs: list[SSAValue], inputs: list[SSAValue], ret: func.ReturnOp,
                       donate: dict[int, int], position: dict, last: int) -> list[int]:
    """lm.jit's in-place pairs (program output j is the new value of argument i) that
    this segment can keep: it computes output j and reads argument i, and nothing
    after it reads argument i (-1 for each output without a pair)."""
    args = ret.parent_block().args
    results = list(ret.operands)
    pairs = []
    for o in outputs:
        found = -1
        for j, r in enumerate(results):
            i = donate.get(j)
            if r is o and i is not None and args[i] in inputs and not any(
                    u.operation is ret or position.get(u.operation, -1) > last
                    for u in args[i].uses):
                found = inputs.index(args[i])
        pairs.append(found)
    return pairs


def _segment(part: list, position: dict, ret: func.ReturnOp, backend: backends.Backend,
             index: int, donate: dict[int, int]) -> _Compute | None:
    inside = set(part)
    last = position[part[-1]]
    inputs: list[SSAValue] = []
    for op in part:
        for v in op.operands:
            if v.owner not in inside and v not in inputs:
                inputs.append(v)
    outputs = [r for op in part for r in op.results
               if any(u.operation is ret or (u.operation not in inside
                                             and position.get(u.operation, -1) > last)
                      for u in r.uses)]
    if not outputs:
        return None
    block = Block(arg_types=[v.type for v in inputs])
    mapping = dict(zip(inputs, block.args, strict=True))
    for op in part:
        clone = op.clone(value_mapper=mapping)
        block.add_op(clone)
        mapping.update(zip(op.results, clone.results, strict=True))
    block.add_op(func.ReturnOp(*[mapping[v] for v in outputs]))
    fn = func.FuncOp(f"segment{index}", ([v.type for v in inputs], [v.type for v in outputs]),
                     Region(block))
    pairs = _segment_donations(outputs, inputs, ret, donate, position, last)
    if any(i >= 0 for i in pairs):
        fn.attributes[DONATE] = DenseArrayBase.from_list(i64, pairs)
    from lamina.passes.pipeline import Dump

    module = ModuleOp([fn])
    dump = Dump.for_program(f"segment{index}")
    if dump is not None:
        dump.write("input", str(module))
    program = backend.compile(module, dump)
    return _Compute(program, inputs, outputs)
