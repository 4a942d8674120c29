"""The OpInfo sweep: every op of torch's `op_db`, its samples, every path; the records it
makes, their counts per family and path, and the report.

As a script, for the people fixing what it finds:

    python tests/opinfo_report.py                        # the fast subset (what make test runs)
    python tests/opinfo_report.py --full --out /tmp/r    # the full sweep, report in /tmp/r/
    python tests/opinfo_report.py --full --op index_fill --dtype float32 -v   # one op, each sample
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("LAMINA_VERIFY", "1")  # as tests/conftest.py: verify after every pass

import opinfo_harness as harness  # noqa: E402
import opinfo_skips  # noqa: E402
from opinfo_map import DAILY, FAMILIES, family, is_random, resolve  # noqa: E402
from opinfo_torch import (  # noqa: E402
    describe,
    dtype_name,
    op_db,
    op_key,
    samples,
    take_apart,
    tested_dtypes,
    to_numpy,
    torch_answer,
    untested_ops,
)


@dataclass(frozen=True)
class Config:
    name: str
    dtypes: tuple[str, ...]
    paths: tuple[str, ...]
    max_samples: int | None  # per (op, dtype); None: all
    spread: bool  # over max_samples: evenly spread over all samples (else the first ones)
    grad_paths: tuple[str, ...]  # paths that also check gradients (float32)
    triton_ops: frozenset[str] | None = None  # None: every op runs on triton
    triton_max_samples: int | None = None
    ops: frozenset[str] | None = None  # restrict to these op keys / names
    c_max_samples: int | None = None  # C compiles each sample: the fast sweep runs one
    heavy_ops: frozenset[str] = frozenset()  # not in this sweep unless named with --op


# `make test`: float32, the first two samples of each op on eager, the first on C (with
# gradients: each is a C compile), and a handful of ops on Triton's interpreter.
TRITON_FAST = frozenset({"add", "mul", "exp", "sum", "amax", "softmax", "matmul",
                         "nn.functional.relu", "where", "__getitem__", "cat", "gather"})
# The decompositions of lamina/frontend/linalg_decomp.py: programs unrolled at trace time
# (hundreds of ops for LU/QR/Cholesky with their gradients, thousands for the Jacobi sweeps
# of eigh and svd and all built on them), 15 s to several minutes to compile each on a
# loaded 2-core machine. The fast sweep leaves them to the full one (`make test-slow`);
# tests/test_linalg_decomp.py covers each algorithm in `make test`.
HEAVY = frozenset({
    "cholesky", "cholesky_inverse", "cholesky_solve", "lu_solve", "qr", "triangular_solve",
    "logdet", "linalg.det", "linalg.cholesky", "linalg.cholesky_ex",
    "linalg.householder_product", "linalg.qr", "linalg.slogdet", "linalg.lu_factor",
    "linalg.lu_factor_ex", "linalg.lu", "linalg.lu_solve", "linalg.inv", "linalg.inv_ex",
    "linalg.solve", "linalg.solve_ex", "linalg.solve_triangular", "linalg.tensorinv",
    "linalg.tensorsolve", "linalg.matrix_power",
    "svd", "linalg.svd", "linalg.svdvals", "pinverse", "linalg.pinv", "linalg.pinv.singular",
    "linalg.pinv.hermitian", "linalg.matrix_rank", "linalg.matrix_rank.hermitian",
    "linalg.lstsq", "linalg.lstsq.grad_oriented", "linalg.eigh", "linalg.eigvalsh",
    "linalg.cond", "norm.nuc", "matrix_exp"})
FAST = Config("fast", ("float32",), harness.PATHS, 2, False, ("c",), TRITON_FAST, 1,
              c_max_samples=1, heavy_ops=HEAVY)
# `make test-slow`: every tested dtype, up to 24 samples of each (spread over all of them)
# on eager and C, the first two of those on Triton's interpreter (its kernels run element
# by element in Python: one 3-d transposed convolution takes a minute), gradients everywhere.
FULL = Config("full", ("float32", "int64", "int32", "uint8", "bool"), harness.PATHS, 24, True,
              harness.PATHS, None, 2)


@dataclass
class Record:
    key: str
    family: str
    label: str
    dtype: str
    path: str
    index: int
    outcome: str
    stage: str = ""
    detail: str = ""
    sample: str = ""
    skip: str | None = None  # the id of the skip row covering a wrong/crash record


# --- the sweep -------------------------------------------------------------------------------


def pick(op, dtype: torch.dtype, cfg: Config, missing: bool) -> list[tuple[int, object]]:
    """(index, sample) pairs: all samples, the first max_samples, or max_samples spread
    evenly over all of them (for an op lamina lacks, only how many: the first ones)."""
    cap = cfg.max_samples
    if cap is not None and (missing or not cfg.spread):
        return list(enumerate(samples(op, dtype, first=cap)))
    found = samples(op, dtype)
    chosen = range(len(found))
    if cap is not None and len(found) > cap:
        chosen = sorted({round(k * (len(found) - 1) / (cap - 1)) for k in range(cap)})
    return [(i, found[i]) for i in chosen]


def paths_for(key: str, index_rank: int, cfg: Config) -> tuple[str, ...]:
    paths = []
    for p in cfg.paths:
        if p == "triton" and cfg.triton_ops is not None and key not in cfg.triton_ops:
            continue
        if p == "triton" and cfg.triton_max_samples is not None \
                and index_rank >= cfg.triton_max_samples:
            continue
        if p == "c" and cfg.c_max_samples is not None and index_rank >= cfg.c_max_samples:
            continue
        paths.append(p)
    return tuple(paths)


def selected(op, cfg: Config) -> bool:
    if cfg.ops is None:
        return op_key(op) not in cfg.heavy_ops
    return op_key(op) in cfg.ops or op.name in cfg.ops


def check_op_dtype(op, target, fam: str, dtype: torch.dtype,
                   chosen: list[tuple[int, object]], cfg: Config) -> list[Record]:
    """Every chosen sample of (op, dtype) on every path of cfg."""
    key, dt = op_key(op), dtype_name(dtype)
    records: list[Record] = []
    items: dict[int, harness.Item] = {}  # rank -> item
    for rank, (index, sample) in enumerate(chosen):
        base = dict(key=key, family=fam, label=target.label, dtype=dt, index=index,
                    sample=describe(sample))
        paths = paths_for(key, rank, cfg)
        if target.call is None:
            records += [Record(path=p, outcome="missing", **base) for p in paths]
            continue
        parts = take_apart(sample, harness.translate)
        problem = harness.untranslatable_leaf(parts)
        if problem:
            records += [Record(path=p, outcome="unsupported", detail=problem, **base)
                        for p in paths]
            continue
        random = is_random(op, sample)
        grad = dtype == torch.float32 and op.supports_autograd and not random
        ans = torch_answer(op, sample, parts, grad, zlib.crc32(f"{key}/{dt}/{index}".encode()))
        items[rank] = harness.Item(parts, [to_numpy(t) for t in parts.leaves], ans, random, grad)
    failed_eagerly: set[int] = set()
    for path in cfg.paths:
        ranks = [r for r in items if path in paths_for(key, r, cfg)]
        with_grad = path in cfg.grad_paths
        run = {r: dataclasses.replace(items[r], with_grad=items[r].with_grad and with_grad)
               for r in ranks}
        # samples that raised eagerly would most likely fail the shared program: alone
        together = [r for r in ranks if r not in failed_eagerly]
        verdicts = dict(zip(together, harness.run_batch(path, target, [run[r] for r in together]),
                            strict=True))
        for r in ranks:
            if r in failed_eagerly:
                verdicts[r] = harness.run_batch(path, target, [run[r]])[0]
        for r in ranks:
            index, sample = chosen[r]
            v = verdicts[r]
            if path == "eager" and v.outcome in ("crash", "clean-error", "unsupported"):
                failed_eagerly.add(r)
            rec = Record(key=key, family=fam, label=target.label, dtype=dt, index=index,
                         sample=describe(sample), path=path, outcome=v.outcome, stage=v.stage,
                         detail=v.detail)
            if v.outcome in ("wrong", "crash"):
                row = opinfo_skips.find(key, dt, path, sample, index, v.outcome, v.stage, v.detail)
                rec.skip = row.id if row is not None else None
            records.append(rec)
    return records


def sweep(cfg: Config, log=None) -> tuple[list[Record], list[str]]:
    """Every selected op, dtype and sample on every path; returns the records and the rows
    of the skip table that are no longer needed."""
    torch.set_num_threads(1)
    records: list[Record] = []
    scope: dict[str, list[str]] = defaultdict(list)  # skip id -> outcomes of samples in scope
    for op in op_db():
        if not selected(op, cfg):
            continue
        target, fam = resolve(op), family(op)
        for dtype in tested_dtypes(op):
            if dtype_name(dtype) not in cfg.dtypes:
                continue
            t0 = time.perf_counter()
            try:
                chosen = pick(op, dtype, cfg, missing=target.call is None)
            except Exception as e:  # torch cannot make samples here: say so, count nothing
                if log:
                    log(f"{op_key(op)} {dtype_name(dtype)}: no samples ({type(e).__name__}: {e})")
                continue
            by_index = dict(chosen)
            for rec in check_op_dtype(op, target, fam, dtype, chosen, cfg):
                records.append(rec)
                for row in opinfo_skips.SKIPS:
                    if row.in_scope(rec.key, rec.dtype, rec.path, by_index[rec.index],
                                    rec.index):
                        scope[row.id].append("excused" if rec.skip == row.id else rec.outcome)
            if log and target.call is not None:
                mine = [r for r in records if r.key == op_key(op) and r.dtype == dtype_name(dtype)]
                tally = Counter(r.outcome for r in mine)
                log(f"{op_key(op):40s} {dtype_name(dtype):8s} {len(chosen):3d} samples "
                    f"{time.perf_counter() - t0:6.1f}s  {dict(tally)}")
    return records, stale_rows(scope, cfg)


def stale_rows(scope: dict[str, list[str]], cfg: Config) -> list[str]:
    """Rows whose scope ran without excusing anything (and, in the whole full sweep, rows
    whose scope never ran)."""
    stale = []
    for row in opinfo_skips.SKIPS:
        outcomes = scope.get(row.id)
        if outcomes is None:
            if cfg.name == "full" and cfg.ops is None and cfg.paths == FULL.paths \
                    and cfg.dtypes == FULL.dtypes:
                stale.append(f"{row.id}: no sample in its scope in the full sweep")
            continue
        if "excused" not in outcomes:
            stale.append(f"{row.id}: its {len(outcomes)} samples give "
                         f"{dict(Counter(outcomes))} (delete the row)")
    return stale


# --- the baseline of passing samples ----------------------------------------------------------


def passes(records: list[Record]) -> dict[str, dict[str, int]]:
    """op key -> path -> number of passing samples."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for r in records:
        if r.outcome == "pass":
            out[r.key][r.path] = out[r.key].get(r.path, 0) + 1
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def regressions(cfg: Config, records: list[Record], baseline: dict) -> list[str]:
    """Ops whose passing samples on a path fell below the baseline (a pass that became a
    clean error, an unsupported argument or a missing op: nothing else would notice)."""
    if cfg.ops is not None:
        return []
    now = passes(records)
    return [f"regression: {key} on {path}: {now.get(key, {}).get(path, 0)} samples pass, "
            f"{n} did (tests/opinfo_baseline.py)"
            for key, by_path in baseline.items() for path, n in by_path.items()
            if path in cfg.paths and now.get(key, {}).get(path, 0) < n]


def write_baseline(path: str, name: str, records: list[Record]) -> None:
    """Rewrite the `name` entry of tests/opinfo_baseline.py with this sweep's passes."""
    import importlib
    import pprint

    import opinfo_baseline

    importlib.reload(opinfo_baseline)
    table = dict(opinfo_baseline.PASSES)
    table[name] = passes(records)
    with open(path) as f:
        head = f.read().split("PASSES = ")[0]
    with open(path, "w") as f:
        f.write(head + "PASSES = " + pprint.pformat(table, width=99, sort_dicts=True) + "\n")


# --- counts and the report -------------------------------------------------------------------


@dataclass
class Summary:
    counts: dict = field(default_factory=dict)  # family -> path -> outcome -> n
    daily: dict = field(default_factory=dict)  # path -> {pass, total, pass_pct, ...}


def summarize(records: list[Record], paths: tuple[str, ...]) -> Summary:
    counts = {f: {p: dict.fromkeys(harness.OUTCOMES, 0) for p in paths} for f in FAMILIES}
    for r in records:
        counts[r.family][r.path][r.outcome] += 1
    daily = {}
    for p in paths:
        tot = Counter()
        for f in DAILY:
            tot.update(counts[f][p])
        n = sum(tot.values())
        have = n - tot["missing"]
        daily[p] = {"pass": tot["pass"], "samples": n, "samples_of_ops_lamina_has": have,
                    "pass_pct": _pct(tot["pass"], n), "pass_pct_of_ops_lamina_has":
                    _pct(tot["pass"], have)}
    return Summary(counts, daily)


def _pct(a: int, b: int) -> float:
    return round(100.0 * a / b, 1) if b else 0.0


def markdown(cfg: Config, records: list[Record], stale: list[str]) -> str:
    s = summarize(records, cfg.paths)
    out = [f"# OpInfo sweep ({cfg.name}): torch {torch.__version__}", ""]
    out += ["| family | path | " + " | ".join(harness.OUTCOMES) + " | total |",
            "|---|---|" + "---|" * (len(harness.OUTCOMES) + 1)]
    for f in FAMILIES:
        for p in cfg.paths:
            c = s.counts[f][p]
            out.append(f"| {f} | {p} | " + " | ".join(str(c[o]) for o in harness.OUTCOMES)
                       + f" | {sum(c.values())} |")
    out += ["", "Daily families (" + ", ".join(DAILY) + "):", ""]
    for p, d in s.daily.items():
        out.append(f"- {p}: {d['pass']} of {d['samples']} samples pass ({d['pass_pct']} %); "
                   f"{d['pass_pct_of_ops_lamina_has']} % of the {d['samples_of_ops_lamina_has']} "
                   f"samples of ops lamina has")
    bad = [r for r in records if r.outcome in ("wrong", "crash")]
    out += ["", f"## Wrong and crash ({len(bad)}; {sum(r.skip is None for r in bad)} not in "
            "the skip table)", "",
            "| op | dtype | path | stage | # | sample | outcome | what | skip row |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(bad, key=lambda r: (r.key, r.dtype, r.index, r.path)):
        out.append(f"| {r.key} | {r.dtype} | {r.path} | {r.stage} | {r.index} | "
                   f"`{r.sample}` | {r.outcome.upper()} | {_cell(r.detail)} | "
                   f"{'listed' if r.skip else '**NEW**'} |")
    if stale:
        out += ["", "## Skip rows no longer needed", ""] + [f"- {x}" for x in stale]
    out += ["", "Ops without a CPU dtype this sweep can test (complex, float8 or CUDA only): "
            + ", ".join(untested_ops())]
    out += ["", "## Per op", "", "| op | family | lamina | " + " | ".join(harness.OUTCOMES)
            + " |", "|---|---|---|" + "---|" * len(harness.OUTCOMES)]
    per_op: dict[tuple, Counter] = defaultdict(Counter)
    for r in records:
        per_op[(r.key, r.family, r.label)][r.outcome] += 1
    for (key, fam, label), c in sorted(per_op.items(), key=lambda kv: (kv[0][2] == "missing",
                                                                        kv[0][1], kv[0][0])):
        out.append(f"| {key} | {fam} | {label} | "
                   + " | ".join(str(c[o]) for o in harness.OUTCOMES) + " |")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def counts_table(cfg: Config, records: list[Record]) -> str:
    """The counts, as the test prints them."""
    s = summarize(records, cfg.paths)
    head = f"{'family':14s} {'path':7s} " + " ".join(f"{o:>11s}" for o in harness.OUTCOMES)
    lines = [head]
    for f in FAMILIES:
        for p in cfg.paths:
            c = s.counts[f][p]
            if sum(c.values()):
                lines.append(f"{f:14s} {p:7s} " + " ".join(f"{c[o]:11d}" for o in harness.OUTCOMES))
    for p, d in s.daily.items():
        lines.append(f"daily families on {p}: {d['pass_pct']} % of {d['samples']} samples pass "
                     f"({d['pass_pct_of_ops_lamina_has']} % of the samples of ops lamina has)")
    return "\n".join(lines)


def write_report(where: str, cfg: Config, records: list[Record], stale: list[str]) -> None:
    """The report as `where` names it: a `.json` or `.md` file, else a directory that gets
    both, `opinfo-<fast|full>.json` and `.md`."""
    if where.endswith((".json", ".md")):
        os.makedirs(os.path.dirname(os.path.abspath(where)), exist_ok=True)
        files = {where[where.rfind(".") + 1:]: where}
    else:
        os.makedirs(where, exist_ok=True)
        files = {ext: os.path.join(where, f"opinfo-{cfg.name}.{ext}") for ext in ("json", "md")}
    s = summarize(records, cfg.paths)
    if "json" in files:
        with open(files["json"], "w") as f:
            json.dump({"config": cfg.name, "torch": torch.__version__, "counts": s.counts,
                       "daily": s.daily, "stale_skip_rows": stale,
                       "records": [asdict(r) for r in records]}, f, indent=1)
    if "md" in files:
        with open(files["md"], "w") as f:
            f.write(markdown(cfg, records, stale))


def main(argv: list[str] | None = None) -> int:
    import argparse
    import dataclasses

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--full", action="store_true", help="the full sweep (make test-slow)")
    ap.add_argument("--op", action="append", help="only this op (name or name.variant)")
    ap.add_argument("--dtype", action="append", help="only this dtype")
    ap.add_argument("--path", action="append", choices=harness.PATHS, help="only this path")
    ap.add_argument("--all-samples", action="store_true", help="no cap on samples per op")
    ap.add_argument("--out", help="a .json or .md file, or a directory for both")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every sample's outcome")
    ap.add_argument("--write-baseline", action="store_true",
                    help="record this sweep's passing samples in tests/opinfo_baseline.py")
    args = ap.parse_args(argv)
    cfg = FULL if args.full else FAST
    cfg = dataclasses.replace(
        cfg, ops=frozenset(args.op) if args.op else None,
        dtypes=tuple(args.dtype) if args.dtype else cfg.dtypes,
        paths=tuple(args.path) if args.path else cfg.paths,
        max_samples=None if args.all_samples else cfg.max_samples)
    t0 = time.perf_counter()
    records, stale = sweep(cfg, log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.verbose:
        for r in records:
            print(f"{r.key} {r.dtype} #{r.index} {r.path}: {r.outcome} {r.stage} {r.detail}"
                  f"  [{r.sample}]" + (f"  (skip: {r.skip})" if r.skip else ""))
    print(counts_table(cfg, records))
    for r in records:
        if r.outcome in ("wrong", "crash") and r.skip is None:
            print(f"NEW {r.outcome.upper()}: {r.key} {r.dtype} {r.path} {r.stage} #{r.index} "
                  f"[{r.sample}]: {r.detail}")
    for x in stale:
        print(f"STALE SKIP ROW: {x}")
    import opinfo_baseline

    for x in regressions(cfg, records, opinfo_baseline.PASSES.get(cfg.name, {})):
        print(x)
    if args.out:
        write_report(args.out, cfg, records, stale)
    if args.write_baseline:
        if args.op or args.dtype or args.path or args.all_samples:
            raise SystemExit("--write-baseline records a whole sweep: no --op/--dtype/--path")
        write_baseline(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "opinfo_baseline.py"), cfg.name, records)
    print(f"{len(records)} records in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
