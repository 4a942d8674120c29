"""`python -m bench` (or `make bench`): lamina against numpy, torch eager,
torch.compile and JAX (`jax.jit`) on the CPU workloads, measured side by side in one run.

Every contender is checked against a float64 reference before it is timed;
rounds are interleaved (one call of each contender per round) so that machine
noise hits all of them alike; the table gives medians, lamina's ratio to the
best peer, and the fraction of the measured machine limits each reaches.
Cold-compile time (fresh cache) and warm-start time (new process, disk cache)
are measured for lamina in subprocesses.

    python -m bench                 # all workloads
    python -m bench softmax sum     # some
    python -m bench --rounds 5
    python -m bench --suite models  # real models (bench/realmodels.py)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench import jax_versions, limits, workloads


def _check(name: str, who: str, out, ref, rtol: float) -> None:
    out = np.asarray(out.detach().numpy() if hasattr(out, "detach") else out, np.float64)
    err = np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-30)
    if not np.isfinite(err) or err > rtol:
        raise SystemExit(f"{name}: {who} differs from the float64 reference (rel err {err:.2e})")


def _time(fn, args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1e3


def run_workload(w: workloads.Workload, rounds: int, with_compile: bool, key: str = "",
                 with_jax: bool = True) -> dict:
    import torch

    ref = w.reference(*w.inputs)
    lamina_fn = w.lamina()
    t_inputs = [torch.from_numpy(x) for x in w.inputs]
    contenders: dict[str, tuple] = {}
    t0 = time.perf_counter()
    out = lamina_fn(*w.inputs)
    np.asarray(out)
    cold = (time.perf_counter() - t0) * 1e3
    _check(w.name, "lamina", out, ref, w.rtol)
    contenders["lamina"] = (lambda *a: np.asarray(lamina_fn(*a)), w.inputs)
    if w.numpy is not None:
        _check(w.name, "numpy", w.numpy(*w.inputs), ref, w.rtol)
        contenders["numpy"] = (w.numpy, w.inputs)
    with torch.no_grad():
        _check(w.name, "torch", w.torch(*t_inputs), ref, w.rtol)
    contenders["torch"] = (lambda *a: w.torch(*a), t_inputs)
    if with_compile:
        compiled = torch.compile(w.torch)
        _check(w.name, "torch.compile", compiled(*t_inputs), ref, w.rtol)
        contenders["torch.compile"] = (compiled, t_inputs)
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for who, (fn, args) in contenders.items():
            times[who].append(_time(fn, args))
    med = {k: statistics.median(v) for k, v in times.items()}
    if with_jax and jax_versions.available():
        jax_ms = jax_median(key, rounds)
        if jax_ms is not None:
            med["jax"] = jax_ms
    return {"name": w.name, "median": med, "cold_ms": cold, "workload": w}


def jax_median(key: str, rounds: int) -> float | None:
    """JAX's median in a process of its own: XLA's CPU thread pools, once started, slow
    the OpenMP kernels of the other contenders in the same process (measured: lamina's
    64M sum 8.6 -> 16.4 ms next to them). The output is checked there too."""
    code = ("import statistics, sys, time, numpy as np; "
            "from bench import jax_versions, workloads; from bench.__main__ import _check; "
            f"w = workloads.ALL[{key!r}](); f = jax_versions.build({key!r}, w); "
            "f is None and sys.exit(3); "
            "_check(w.name, 'jax', f(*w.inputs), w.reference(*w.inputs), w.rtol); "
            f"ts = [0.0] * {rounds}\n"
            f"for i in range({rounds}):\n"
            "    t = time.perf_counter(); f(*w.inputs); ts[i] = (time.perf_counter() - t) * 1e3\n"
            "print(statistics.median(ts))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode == 3:
        return None
    if out.returncode != 0:
        raise SystemExit(f"{key}: the JAX process failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def warm_start_ms(key: str) -> float:
    """Time to the first result in a new process whose disk cache is already warm,
    from after the imports (lamina ~0.3 s, torch ~1-2 s: a constant of the process,
    reported in bench/README.md) and the workload's input data. `import lamina` loads
    its API on first use, so the API and the C runtime are imported explicitly first."""
    code = ("import time, numpy as np, lamina.api, lamina.runtime.c_backend; "
            "from bench import workloads; "
            f"w=workloads.ALL[{key!r}](); t=time.perf_counter(); f=w.lamina(); "
            "np.asarray(f(*w.inputs)); print((time.perf_counter()-t)*1e3)")
    env = dict(os.environ)
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         check=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"workloads (default all): {list(workloads.ALL)}")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--no-warm-start", action="store_true")
    parser.add_argument("--no-jax", action="store_true", help="skip the JAX column")
    parser.add_argument("--suite", choices=["default", "models"], default="default",
                        help="models: the real-model suite (bench/realmodels.py, its own "
                             "options: python -m bench.realmodels --help)")
    argv = list(sys.argv[1:] if argv is None else argv)
    for i, arg in enumerate(argv):
        if arg in ("--suite=models", "--suite") and (arg != "--suite" or argv[i + 1:i + 2]
                                                      == ["models"]):
            from bench import realmodels

            del argv[i:i + (1 if "=" in arg else 2)]
            realmodels.main(argv)
            return
    args = parser.parse_args(argv)
    os.environ.setdefault("LAMINA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "lamina-bench"))
    names = args.names or list(workloads.ALL)
    machine = limits.measure()
    print(f"machine: {machine.describe()}\n")
    rows = []
    for name in names:
        result = run_workload(workloads.ALL[name](), args.rounds, not args.no_compile, name,
                              not args.no_jax)
        result["warm_ms"] = None if args.no_warm_start else warm_start_ms(name)
        rows.append(result)
        print(format_row(result, machine), flush=True)
    print()
    print(format_table(rows, machine))


def _fraction(result: dict, machine: limits.Machine) -> str:
    w, t = result["workload"], result["median"]["lamina"] / 1e3
    if w.bound == "compute":
        return f"{w.flops / t / 1e9 / machine.sgemm_gflops:.0%} of sgemm peak"
    if w.bound == "read":
        return f"{w.bytes_moved / t / 1e9 / machine.read_gbs:.0%} of read-only BW"
    return f"{w.bytes_moved / t / 1e9 / machine.triad_gbs:.0%} of triad BW"


def format_row(result: dict, machine: limits.Machine) -> str:
    med = result["median"]
    return f"{result['name']}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in med.items())


def format_table(rows: list[dict], machine: limits.Machine) -> str:
    peers = ["numpy", "torch", "torch.compile", "jax"]
    head = ("| workload | lamina ms | numpy ms | torch ms | torch.compile ms | jax ms "
            "| lamina / best peer | lamina / jax | lamina vs limit | cold compile ms "
            "| warm start ms |")
    lines = [head, "|" + "---|" * 11]
    ratios = []
    for r in rows:
        med = r["median"]
        best = min(med[p] for p in peers if p in med)
        ratio = med["lamina"] / best
        ratios.append(ratio)
        cells = [f"{med[p]:.2f}" if p in med else "–" for p in peers]
        warm = f"{r['warm_ms']:.0f}" if r.get("warm_ms") is not None else "–"
        vs_jax = f"{med['lamina'] / med['jax']:.2f}" if "jax" in med else "–"
        lines.append(f"| {r['name']} | {med['lamina']:.2f} | " + " | ".join(cells)
                     + f" | {ratio:.2f} | {vs_jax} | {_fraction(r, machine)} "
                     f"| {r['cold_ms']:.0f} | {warm} |")
    geo = float(np.exp(np.mean(np.log(ratios)))) if ratios else float("nan")
    lines.append(f"\ngeomean lamina / best peer: {geo:.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
