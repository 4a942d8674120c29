"""`lamina-bisect FILE`: find the first pass of a pipeline whose output computes
something else than the program it was given.

    lamina-bisect 00-input.mlir                      # c-pipeline, random inputs (seed 0)
    lamina-bisect prog.mlir -p triton-pipeline --inputs xs.npz --diff
    lamina-bisect prog.mlir -p canonicalize,lower-hl-to-loop --range -1:1 --range ct=0:5

How it decides: the input (an hl function, e.g. the `00-input.mlir` that
`LAMINA_DUMP=dir` writes for every compiled program) runs in the hl interpreter, the
spec; that gives the reference outputs. Then the pipeline's passes run one at a time,
and after each the module runs on the executor of the level it is at
(`lamina.tools.bisect_exec`: hl interpreter, loop interpreter, compiled C, Triton) and
every output is compared with the reference within its dtype's tolerance
(`lamina.tools.bisect_values`). The first pass whose module computes different values
(or that raises, or leaves IR that cannot run) is named, with where and by how much its
outputs differ, and the IR before and after it is written to files (plus a diff). When
that module is compiled C, the same C is compiled again with the optimisation knobs
turned down (`lamina.tools.bisect_cflags`) to tell a wrong pass from a C compiler that
miscompiles with lamina's flags, naming the smallest flag change that makes it right.

Exit status: 0 no divergence, 1 a pass diverges (or fails), 2 a usage or input error
(one line on stderr). From Python: `bisect(module, inputs)`, or `bisect_function(f,
*args)` to trace `f` first.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from lamina.errors import LaminaError
from lamina.passes import pipeline as pipelines
from lamina.passes import registry
from lamina.tools import bisect_exec, bisect_values
from lamina.tools.bisect_cflags import FlagDiagnosis, diagnose
from lamina.tools.bisect_values import Mismatch, Param, UsageError

__all__ = ["Report", "Step", "UsageError", "bisect", "bisect_function", "main"]

EXECUTORS = {"hl": "hl interpreter", "loop": "loop interpreter", "cpu": "compiled C",
             "tile": "Triton"}


@dataclass
class Step:
    """One pass of the pipeline (index 0: the input itself) and what running it gave."""

    index: int
    name: str
    level: str
    status: str = "ok"  # ok | diverged | skipped (level not runnable) | pass failed | run failed
    pass_s: float = 0.0
    run_s: float = 0.0
    note: str = ""
    mismatches: list[Mismatch] = field(default_factory=list)
    ir: str = ""  # the module's text after this step
    source: str = ""  # the generated C, for cpu-level steps

    @property
    def bad(self) -> bool:
        return self.status in ("diverged", "pass failed", "run failed")


@dataclass
class Report:
    program: str
    pipeline: str
    inputs: str  # where the inputs came from
    steps: list[Step]
    reference_s: float = 0.0
    culprit: Step | None = None
    files: dict[str, str] = field(default_factory=dict)
    flags: FlagDiagnosis | None = None
    total_s: float = 0.0

    @property
    def diverged(self) -> bool:
        return self.culprit is not None

    @property
    def last_checked(self) -> Step | None:
        """The last step before the culprit that ran and matched the reference."""
        if self.culprit is None:
            return None
        return next((s for s in reversed(self.steps[:self.culprit.index])
                     if s.status == "ok"), None)

    def describe(self, diff: bool = False) -> str:
        return "\n".join(_describe(self, diff))


def bisect(module: ModuleOp, inputs: Sequence[np.ndarray] | None = None,
           pipeline: str = "c-pipeline", *, seed: int = 0,
           ranges: dict[str, tuple[float, float]] | None = None,
           rtol: float | None = None, atol: float | None = None,
           out_dir: str | None = None, check_cflags: bool = True, keep_going: bool = False,
           progress: Callable[[str], None] | None = None) -> Report:
    """Run `pipeline` over (a copy of) `module` pass by pass and report the first pass
    whose module's outputs differ from the input's (see the module docstring).
    `inputs`: one array per function argument; None draws them with `seed`/`ranges`."""
    t_start = time.perf_counter()
    module = module.clone()
    fn = _main(module)
    params, results = bisect_values.signature(fn)
    if inputs is None:
        inputs = bisect_values.random_inputs(params, seed, ranges)
        where = f"random (seed {seed})"
    else:
        if len(inputs) != len(params):
            raise UsageError(f"@{fn.sym_name.data} takes {len(params)} inputs, got "
                             f"{len(inputs)}")
        inputs = [bisect_values.check_input(x, p, f"input {i}")
                  for i, (x, p) in enumerate(zip(inputs, params, strict=True))]
        where = "given"
    passes = pipelines.parse(pipeline)
    labels = registry.split_spec(registry.expand(pipeline))
    if len(labels) != len(passes):
        labels = [p.name for p in passes]
    names = [r.name for r in results]
    report = Report(fn.sym_name.data, pipeline, where, [])
    level = bisect_exec.level_of(module)
    if not bisect_exec.runnable(level):
        raise UsageError(f"the input is {level}-level IR: nothing can run it")
    t0 = time.perf_counter()
    try:
        reference = bisect_exec.run(module, level, inputs, results)
    except LaminaError as err:
        raise UsageError(f"the input does not run in the {EXECUTORS[level]}: "
                         f"{_one_line(err)}") from None
    report.reference_s = time.perf_counter() - t0
    report.steps.append(Step(0, "input", level, ir=str(module)))
    ctx = pipelines.context()
    for index, (p, label) in enumerate(zip(passes, labels, strict=True), start=1):
        step = _step(index, label, p, module, ctx, inputs, results, reference, names,
                     rtol, atol)
        report.steps.append(step)
        if progress is not None:
            progress(_row(step))
        if step.bad and report.culprit is None:
            report.culprit = step
            if not keep_going:
                break
    if report.culprit is not None:
        report.files = _write_files(report, out_dir or "lamina-bisect")
        if check_cflags and report.culprit.status == "diverged" \
                and report.culprit.level == "cpu":
            report.flags = _check_cflags(report.culprit, inputs, results, reference, names,
                                         rtol, atol, ctx)
    report.total_s = time.perf_counter() - t_start
    return report


def bisect_function(fn: Callable, *args, pipeline: str = "c-pipeline", **options) -> Report:
    """`bisect` on the program `lm.jit` would compile for `fn(*args)` (traced)."""
    from lamina.frontend.trace import trace

    traced = trace(fn, *args)
    return bisect(traced.module, traced.input_arrays(*args), pipeline, **options)


def _main(module: ModuleOp) -> func.FuncOp:
    fn = next((op for op in module.ops if isinstance(op, func.FuncOp)), None)
    if fn is None:
        raise UsageError("the module has no func.func")
    return fn


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:300]


def _step(index: int, label: str, p, module: ModuleOp, ctx, inputs, results: list[Param],
          reference, names, rtol, atol) -> Step:
    t0 = time.perf_counter()
    try:
        p.apply(ctx, module)
        module.verify()
    except Exception as err:
        return Step(index, label, "?", "pass failed", time.perf_counter() - t0,
                    note=f"{type(err).__name__}: {_one_line(err)}",
                    ir=_safe_str(module) + "\n\n// " + traceback.format_exc().replace(
                        "\n", "\n// "))
    step = Step(index, label, bisect_exec.level_of(module), pass_s=time.perf_counter() - t0,
                ir=str(module))
    if not bisect_exec.runnable(step.level):
        step.status, step.note = "skipped", f"{step.level}-level IR: nothing runs it"
        return step
    t0 = time.perf_counter()
    try:
        if step.level == "cpu":
            step.source = bisect_exec.c_source(module)
            got = bisect_exec.run_c(step.source, module, inputs, results)
        else:
            got = bisect_exec.run(module, step.level, inputs, results)
        step.mismatches = bisect_values.compare(got, reference, names, rtol, atol)
    except Exception as err:
        step.status, step.note = "run failed", f"{type(err).__name__}: {_one_line(err)}"
    step.run_s = time.perf_counter() - t0
    if step.mismatches:
        step.status = "diverged"
    return step


def _safe_str(module: ModuleOp) -> str:
    try:
        return str(module)
    except Exception as err:
        return f"// the module cannot be printed: {_one_line(err)}"


def _check_cflags(step: Step, inputs, results, reference, names, rtol, atol,
                  ctx) -> FlagDiagnosis:
    from xdsl.parser import Parser

    module = Parser(ctx, step.ir).parse_module()

    def run(flags, threads):
        return bisect_exec.run_c(step.source, module, inputs, results, flags, threads)

    return diagnose(step.source, run,
                    lambda got: not bisect_values.compare(got, reference, names, rtol, atol))


# ---------------------------------------------------------------- files and text


def _file_name(step: Step) -> str:
    return f"{step.index:02d}-" + re.sub(r"[^\w.-]+", "_", step.name).strip("_")


def _write_files(report: Report, out_dir: str) -> dict[str, str]:
    culprit = report.culprit
    assert culprit is not None
    before = report.steps[culprit.index - 1]
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, _file_name(culprit))
    files = {"before": f"{stem}.before.mlir", "after": f"{stem}.after.mlir",
             "diff": f"{stem}.diff"}
    texts = {"before": before.ir, "after": culprit.ir, "diff": ir_diff(before, culprit)}
    if before.source:
        files["before C"], texts["before C"] = f"{stem}.before.c", before.source
    if culprit.source:
        files["after C"], texts["after C"] = f"{stem}.after.c", culprit.source
    for key, path in files.items():
        with open(path, "w") as f:
            f.write(texts[key])
    return files


def ir_diff(before: Step, after: Step) -> str:
    return "".join(difflib.unified_diff(
        before.ir.splitlines(keepends=True), after.ir.splitlines(keepends=True),
        f"before {after.name}", f"after {after.name}"))


def _row(step: Step) -> str:
    result = step.status.upper() if step.bad else step.status
    line = (f"  {step.index:02d}  {step.name:<34} {step.level:<6} {result:<11} "
            f"{step.pass_s * 1e3:8.1f} {step.run_s * 1e3:9.1f}")
    return line + (f"  {step.note}" if step.note and not step.bad else "")


def _describe(report: Report, diff: bool) -> list[str]:
    runs = [s for s in report.steps[1:] if s.status != "skipped"]
    n_passes = len(registry.split_spec(registry.expand(report.pipeline)))
    lines = [f"lamina-bisect: @{report.program} through {report.pipeline} "
             f"({n_passes} passes), inputs {report.inputs}",
             f"reference: the {EXECUTORS[report.steps[0].level]} on the input "
             f"({report.reference_s * 1e3:.1f} ms)",
             "  step pass                               level  result       pass ms    run ms"]
    lines += [_row(s) for s in report.steps[1:]]
    culprit = report.culprit
    if culprit is None:
        lines.append(f"no divergence: every one of the {len(runs)} runnable steps matches "
                     "the reference")
    else:
        lines += _describe_culprit(report, culprit, diff)
    compile_note = ", C compiles included" if any(s.level == "cpu" for s in runs) else ""
    flags_note = f"; C flag check {report.flags.seconds:.1f} s" if report.flags else ""
    lines.append(f"time: {report.total_s:.1f} s (passes "
                 f"{sum(s.pass_s for s in report.steps):.2f} s, runs "
                 f"{sum(s.run_s for s in report.steps) + report.reference_s:.2f} s"
                 f"{compile_note}{flags_note})")
    return lines


def _describe_culprit(report: Report, culprit: Step, diff: bool) -> list[str]:
    before = report.steps[culprit.index - 1]
    checked = report.last_checked
    lines = [f"FIRST DIVERGENCE: pass '{culprit.name}' (step {culprit.index}, "
             f"{before.level} -> {culprit.level}): {culprit.status}"]
    if culprit.status == "diverged":
        lines += [f"  {m.describe()}" for m in culprit.mismatches]
        where = f"{EXECUTORS.get(culprit.level, culprit.level)}"
        if checked is before:
            lines.append(f"  the IR before it gives the reference's values "
                         f"({EXECUTORS[before.level]}); after it, the {where} does not")
        else:
            first = checked.index + 1 if checked else 1
            lines.append(f"  steps {first:02d}..{culprit.index - 1:02d} could not be run: "
                         f"the divergence is in one of passes {first:02d}..{culprit.index:02d}")
    else:
        lines.append(f"  {culprit.note}")
    for key, path in report.files.items():
        lines.append(f"  {key + ':':<10} {path}")
    if report.flags is not None:
        lines += report.flags.describe()
    if diff:
        lines.append(ir_diff(before, culprit).rstrip("\n"))
    return lines


# ---------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="lamina-bisect",
        description="Name the first pass of a pipeline whose output diverges from the hl "
                    "interpreter on the input. Exit 0: no divergence, 1: divergence, "
                    "2: usage or input error.")
    ap.add_argument("file", help="an hl module (.mlir), e.g. LAMINA_DUMP's 00-input.mlir")
    ap.add_argument("-p", "--pipeline", default="c-pipeline",
                    help="a named pipeline (" + ", ".join(registry.PIPELINES_BY_NAME)
                         + ") or a pass spec; default c-pipeline")
    ap.add_argument("--inputs", metavar="NPZ", help="inputs from an .npz (np.savez(path, "
                    "*arrays), or keyed by argument name); default: random")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    ap.add_argument("--range", action="append", default=[], metavar="[NAME=]LO:HI",
                    help="range of random floats/ints, for all inputs or one (by name or "
                         "index); repeatable")
    ap.add_argument("--save-inputs", metavar="NPZ", help="write the inputs used")
    ap.add_argument("--rtol", type=float, help="relative tolerance (default per dtype)")
    ap.add_argument("--atol", type=float, help="absolute tolerance (default per dtype)")
    ap.add_argument("-o", "--out", default="lamina-bisect",
                    help="where the IR before/after the culprit goes (default ./lamina-bisect)")
    ap.add_argument("--diff", action="store_true", help="print the IR diff of the culprit")
    ap.add_argument("--keep-going", action="store_true",
                    help="run every step, not only up to the first divergence")
    ap.add_argument("--no-cflags", action="store_true",
                    help="skip recompiling diverging C with other flags")
    return ap


def _load(path: str) -> ModuleOp:
    from xdsl.parser import Parser
    from xdsl.utils.exceptions import ParseError

    try:
        with open(path) as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: cannot read it ({err.strerror or err})") from None
    try:
        return Parser(pipelines.context(), text, path).parse_module()
    except ParseError as err:
        loc = err.span.get_location()
        raise UsageError(f"{loc.file}:{loc.line}:{loc.col}: {err.msg.strip()}") from None


def _join_ranges(argv: Sequence[str]) -> list[str]:
    """`--range -1:1` as `--range=-1:1` (argparse takes `-1:1` for an option)."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] == "--range" and arg.startswith("-"):
            out[-1] = f"--range={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(_join_ranges(sys.argv[1:] if argv is None else argv))
    try:
        module = _load(args.file)
        params, _ = bisect_values.signature(_main(module))
        inputs = bisect_values.load_npz(args.inputs, params) if args.inputs else None
        ranges = bisect_values.parse_ranges(args.range)
        if inputs is None:
            inputs = bisect_values.random_inputs(params, args.seed, ranges)
        if args.save_inputs:
            np.savez(args.save_inputs, *inputs)
        print(f"lamina-bisect: {args.file}: @{_main(module).sym_name.data}("
              + ", ".join(p.describe() for p in params) + ")", flush=True)
        report = bisect(module, inputs, args.pipeline, rtol=args.rtol, atol=args.atol,
                        out_dir=args.out, check_cflags=not args.no_cflags,
                        keep_going=args.keep_going)
    except UsageError as err:
        print(f"lamina-bisect: error: {err}", file=sys.stderr)
        return 2
    except LaminaError as err:  # an unknown pass or pipeline name
        print(f"lamina-bisect: error: {_one_line(err)}", file=sys.stderr)
        return 2
    if not args.inputs:
        report.inputs = f"random (seed {args.seed}" + (
            f", ranges {' '.join(args.range)})" if args.range else ")")
    else:
        report.inputs = f"from {args.inputs}"
    print(report.describe(args.diff))
    return 1 if report.diverged else 0


if __name__ == "__main__":
    sys.exit(main())
