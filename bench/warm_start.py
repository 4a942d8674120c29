"""Start-up times of new processes, the disk cache already warm (issue 18, part 3).

    python -m bench.warm_start                 # all rows, median of 5 processes each
    python -m bench.warm_start --runs 3 gelu   # some workloads

Rows:
- `python -c pass`, `import numpy`, `import lamina` (the lazy package), `lamina-opt --help`:
  wall time of the whole process;
- eager: `import lamina as lm; print((lm.ones(3) + 1).sum())`, wall time of the process;
- each `make bench` workload: a new process whose lm.jit program is in the disk cache
  (a first process populated it). Reported: interpreter start (`python -c pass`) +
  the `import lamina` + API load in that process + the first call (trace, disk-cache
  lookup, run). The workload's own set-up (its inputs, torch, which the workload
  module imports for its peers) is timed separately and left out.

Also says which heavy modules (xdsl, ml_dtypes, triton) lamina's import or the first
call loaded (not those the set-up's torch import loaded). Wall times on a shared
machine vary with its load: compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

_CHILD = """
import time, sys, json
t0, c0 = time.perf_counter(), time.process_time()
import numpy as np
import lamina as lm
lm.jit
t1, c1 = time.perf_counter(), time.process_time()
heavy = ("xdsl", "ml_dtypes", "triton")
seen = {{m for m in heavy if m in sys.modules}}
from bench import workloads
w = workloads.ALL[{key!r}]()
f = w.lamina()
t2, c2 = time.perf_counter(), time.process_time()
before = {{m for m in heavy if m in sys.modules}}
np.asarray(f(*w.inputs))
t3, c3 = time.perf_counter(), time.process_time()
seen |= {{m for m in heavy if m in sys.modules}} - before  # (torch's own imports left out)
print(json.dumps({{"import": t1 - t0, "setup": t2 - t1, "call": t3 - t2,
                  "import_cpu": c1 - c0, "call_cpu": c3 - c2,
                  "modules": sorted(seen)}}))
"""

EAGER = "import lamina as lm; print((lm.ones(3) + 1).sum())"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _wall(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU milliseconds of one process."""
    t, c = time.perf_counter(), _children_cpu()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return (time.perf_counter() - t) * 1e3, (_children_cpu() - c) * 1e3


def _median_wall(argv: list[str], env: dict, runs: int) -> tuple[float, float]:
    _wall(argv, env)  # the first one warms the disk cache (and the OS's file cache)
    samples = [_wall(argv, env) for _ in range(runs)]
    return statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples)


def workload_row(key: str, env: dict, runs: int, base_ms: float) -> dict:
    argv = [sys.executable, "-c", _CHILD.format(key=key)]
    subprocess.run(argv, env=env, check=True, capture_output=True)  # populate the cache
    samples = []
    for _ in range(runs):
        out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(s[k] for s in samples) * 1e3
           for k in ("import", "setup", "call", "import_cpu", "call_cpu")}
    return {"key": key, **med, "total": base_ms[0] + med["import"] + med["call"],
            "total_cpu": base_ms[1] + med["import_cpu"] + med["call_cpu"],
            "modules": samples[-1]["modules"]}


def main(argv: list[str] | None = None) -> None:
    from bench import workloads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"workloads (default all): {list(workloads.ALL)}")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    env = dict(os.environ)
    env.setdefault("LAMINA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "lamina-warm-start"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    py = sys.executable
    base = _median_wall([py, "-c", "pass"], env, args.runs)
    print("| process | wall ms | CPU ms |\n|---|---|---|")
    print(f"| python -c pass | {base[0]:.0f} | {base[1]:.0f} |")
    opt = [py, "-c", "import sys; sys.argv[0] = 'lamina-opt'; "
           "from lamina.tools.opt import main; sys.exit(main())", "--help"]
    for label, argv_ in [("import numpy", [py, "-c", "import numpy"]),
                         ("import lamina", [py, "-c", "import lamina"]),
                         ("eager (lm.ones(3)+1).sum()", [py, "-c", EAGER]),
                         ("lamina-opt --help", opt)]:
        wall, cpu = _median_wall(argv_, env, args.runs)
        print(f"| {label} | {wall:.0f} | {cpu:.0f} |", flush=True)
    print("\n| workload | warm start ms (CPU ms) | import ms (CPU) | first call ms (CPU) "
          "| (set-up, excluded) ms | heavy modules loaded |\n|---|---|---|---|---|---|")
    for key in args.names or list(workloads.ALL):
        r = workload_row(key, env, args.runs, base)
        print(f"| {key} | {r['total']:.0f} ({r['total_cpu']:.0f}) | {r['import']:.0f} "
              f"({r['import_cpu']:.0f}) | {r['call']:.0f} ({r['call_cpu']:.0f}) | "
              f"{r['setup']:.0f} | {', '.join(r['modules']) or '-'} |", flush=True)


if __name__ == "__main__":
    main()
