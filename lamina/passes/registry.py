"""Every pass and every named pipeline, in one table each.

`lamina-opt -p NAME` and the runtimes use the same names: the IR a user gets from
`lamina-opt traced.mlir -p c-pipeline` is the IR `lm.jit` compiles for the C backend
(`tests/test_pipelines.py` checks it byte for byte). A pass's module is imported the
first time the pass is used, as xDSL registers its own.

Adding a pass: write it (`xdsl.passes.ModulePass`, a docstring saying which level it
takes and gives), add one `PassInfo` row below, and one lit test named after it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from xdsl.passes import ModulePass


@dataclass(frozen=True)
class PassInfo:
    name: str
    where: str  # "module:Class", imported on first use
    summary: str  # the line `lamina-opt --help` shows

    def load(self) -> type[ModulePass]:
        module, _, cls = self.where.partition(":")
        return getattr(importlib.import_module(module), cls)


PASSES: tuple[PassInfo, ...] = (
    PassInfo("canonicalize", "xdsl.transforms.canonicalize:CanonicalizePass",
             "any level: fold constants and apply each op's canonicalization patterns"),
    PassInfo("cse", "xdsl.transforms.common_subexpression_elimination:"
             "CommonSubexpressionElimination",
             "any level: merge identical pure ops"),
    PassInfo("dce", "xdsl.transforms.dead_code_elimination:DeadCodeElimination",
             "any level: erase unused pure ops"),
    PassInfo("autodiff", "lamina.passes.autodiff:AutodiffPass",
             "hl -> hl: add @f_vjp(primals, cotangents) for every func marked {autodiff}"),
    PassInfo("strip-stop-gradient", "lamina.passes.strip_stop_gradient:StripStopGradientPass",
             "hl -> hl: replace hl.stop_gradient by its operand (after autodiff)"),
    PassInfo("instantiate-dims", "lamina.passes.instantiate_dims:InstantiateDimsPass",
             "hl -> hl: every dynamic dim `?` becomes size (a probe of a symbolic program)"),
    PassInfo("conv-to-gemm", "lamina.passes.conv_to_gemm:ConvToGemmPass",
             "hl -> hl: large f32/f64 hl.conv as im2col gathers + hl.matmul (BLAS)"),
    PassInfo("fold-batch-matmul", "lamina.passes.matmul_folds:FoldBatchMatmulPass",
             "hl -> hl: reduce_sum over the batch of a batched matmul as one matmul"),
    PassInfo("fold-transposed-matmul", "lamina.passes.matmul_folds:FoldTransposedMatmulPass",
             "hl -> hl: transpose(a @ b) as transpose(b) @ transpose(a)"),
    PassInfo("split-reductions", "lamina.passes.split_reductions:SplitReductionsPass",
             "hl -> hl: a large full reduction as two stages (the first one parallel)"),
    PassInfo("bucket-all-reduce", "lamina.passes.bucket_all_reduce:BucketAllReducePass",
             "hl -> hl: neighbouring small all-reduces as one all-reduce of a flat bucket"),
    PassInfo("lower-hl-to-loop", "lamina.passes.lower_hl_to_loop.pass_:LowerHlToLoopPass",
             "hl -> loop: bufferize and fuse into loop.kernel / loop.matmul"),
    PassInfo("donate-buffers", "lamina.passes.donate_buffers:DonateBuffersPass",
             "loop -> loop: write outputs marked lamina.donate into their inputs' buffers"),
    PassInfo("lower-loop-to-cpu", "lamina.passes.lower_loop_to_cpu:LowerLoopToCpuPass",
             "loop -> cpu: kernels as C-function-shaped ops over linear offsets"),
    PassInfo("cpu-column-reduce", "lamina.passes.cpu_column_reduce:CpuColumnReducePass",
             "cpu -> cpu: reductions across rows run row by row over several columns"),
    PassInfo("cpu-hoist-reciprocals",
             "lamina.passes.cpu_hoist_reciprocals:CpuHoistReciprocalsPass",
             "cpu -> cpu: a loop dividing by an invariant multiplies by its reciprocal "
             "(versioned on 1/d being normal)"),
    PassInfo("cpu-group-reductions",
             "lamina.passes.cpu_group_reductions:CpuGroupReductionsPass",
             "cpu -> cpu: neighbouring reductions over one space share one loop"),
    PassInfo("cpu-hoist-invariants",
             "lamina.passes.cpu_hoist_invariants:CpuHoistInvariantsPass",
             "cpu -> cpu: a kernel's loop-invariant scalars are computed before it, "
             "passed in as args"),
    PassInfo("cpu-parallelize", "lamina.passes.cpu_parallelize:CpuParallelizePass",
             "cpu -> cpu: OpenMP clauses: the dims threads split (collapse), the simd loops"),
    PassInfo("cpu-stack-gemm-rows", "lamina.passes.cpu_stack_gemm_rows:CpuStackGemmRowsPass",
             "cpu -> cpu: batched GEMMs sharing B with stacked A/C batches as one GEMM"),
    PassInfo("lower-loop-to-tile", "lamina.passes.lower_loop_to_tile:LowerLoopToTile",
             "loop -> tile: kernels as Triton programs and host launches"),
)

PASSES_BY_NAME: dict[str, PassInfo] = {p.name: p for p in PASSES}


@dataclass(frozen=True)
class Pipeline:
    """A named pass list in stages; each stage ends at the level it names, so a
    compile can keep the IR of every level (`Lowered.ir("loop")`)."""

    name: str
    stages: tuple[tuple[str, str], ...]  # (level reached, pass spec)
    summary: str

    @property
    def spec(self) -> str:
        return ",".join(spec for _, spec in self.stages)


_HL_SIMPLIFY = "strip-stop-gradient,canonicalize,cse,dce"
# hl -> hl rewrites that give the lowering fewer, larger or more parallel kernels
_HL_PREPARE = "conv-to-gemm,fold-batch-matmul,fold-transposed-matmul,split-reductions"

PIPELINES: tuple[Pipeline, ...] = (
    Pipeline("hl-simplify", (("hl", _HL_SIMPLIFY),),
             "hl -> hl: what every compile runs first (autodiff is done by then)"),
    Pipeline("hl-to-loop", (("loop", f"{_HL_PREPARE},lower-hl-to-loop"),),
             "hl -> loop: the rewrites that prepare the lowering, then the lowering"),
    Pipeline("c-pipeline", (
        ("hl", _HL_SIMPLIFY),
        ("loop", "hl-to-loop,donate-buffers"),
        # cse merges the offset arithmetic that every access computes for itself (and
        # the constants of the reciprocals' range checks)
        ("hw", "lower-loop-to-cpu,cpu-column-reduce,cpu-hoist-reciprocals,cse,"
               "cpu-group-reductions,cpu-hoist-invariants,cpu-parallelize,cpu-stack-gemm-rows"),
    ), "hl -> cpu: what lm.jit runs for the C backend"),
    Pipeline("triton-pipeline", (
        ("hl", _HL_SIMPLIFY),
        # the tile GEMM reads contiguous operands only: no strided views
        ("loop", f"{_HL_PREPARE},lower-hl-to-loop{{gemm_views=false}}"),
        ("hw", "lower-loop-to-tile"),
    ), "hl -> tile: what lm.jit runs for the Triton backend"),
)

PIPELINES_BY_NAME: dict[str, Pipeline] = {p.name: p for p in PIPELINES}


def expand(spec: str) -> str:
    """A pass spec with every pipeline name replaced by its passes. `NAME{until=LEVEL}`
    stops after the stage that reaches LEVEL, as `run_pipeline(until=LEVEL)` does: what
    `lamina-opt -p 'c-pipeline{until=loop}'` prints is `Lowered.ir("loop")`."""
    return ",".join(_expand_entry(entry) for entry in split_spec(spec))


def _expand_entry(entry: str) -> str:
    name, _, options = entry.partition("{")
    pipeline = PIPELINES_BY_NAME.get(name.strip())
    if pipeline is None:
        return entry
    key, _, until = options.removesuffix("}").partition("=")
    levels = [level for level, _ in pipeline.stages]
    if options and (key.strip() != "until" or until.strip() not in levels):
        raise ValueError(f"pipeline {pipeline.name} takes one option, until=LEVEL with "
                         f"LEVEL one of {', '.join(levels)}; got {{{options}")
    stages = pipeline.stages[:levels.index(until.strip()) + 1] if options else pipeline.stages
    return expand(",".join(spec for _, spec in stages))


def split_spec(spec: str) -> list[str]:
    """The entries of a spec `a,b{opt=1,2},c` (commas inside braces kept)."""
    entries, depth, current = [], 0, ""
    for ch in spec or "":
        depth += (ch == "{") - (ch == "}")
        if ch == "," and depth == 0:
            entries.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        entries.append(current.strip())
    return entries
