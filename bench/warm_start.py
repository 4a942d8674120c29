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
import statistics
import subprocess
import sys
import tempfile
import time

_CHILD = """
import time, sys, json
t0 = time.perf_counter()
import numpy as np
import lamina as lm
lm.jit
t1 = time.perf_counter()
heavy = ("xdsl", "ml_dtypes", "triton")
seen = {{m for m in heavy if m in sys.modules}}
from bench import workloads
w = workloads.ALL[{key!r}]()
f = w.lamina()
t2 = time.perf_counter()
before = {{m for m in heavy if m in sys.modules}}
np.asarray(f(*w.inputs))
t3 = time.perf_counter()
seen |= {{m for m in heavy if m in sys.modules}} - before  # (torch's own imports left out)
print(json.dumps({{"import": t1 - t0, "setup": t2 - t1, "call": t3 - t2,
                  "modules": sorted(seen)}}))
"""

EAGER = "import lamina as lm; print((lm.ones(3) + 1).sum())"


def _wall(argv: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return (time.perf_counter() - t) * 1e3


def _median_wall(argv: list[str], env: dict, runs: int) -> float:
    _wall(argv, env)  # the first one warms the disk cache (and the OS's file cache)
    return statistics.median(_wall(argv, env) for _ in range(runs))


def workload_row(key: str, env: dict, runs: int, base_ms: float) -> dict:
    argv = [sys.executable, "-c", _CHILD.format(key=key)]
    subprocess.run(argv, env=env, check=True, capture_output=True)  # populate the cache
    samples = []
    for _ in range(runs):
        out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(s[k] for s in samples) * 1e3
           for k in ("import", "setup", "call")}
    return {"key": key, **med, "total": base_ms + med["import"] + med["call"],
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
    print("| process | wall ms |\n|---|---|")
    print(f"| python -c pass | {base:.0f} |")
    for label, code in [("import numpy", "import numpy"), ("import lamina", "import lamina"),
                        ("eager (lm.ones(3)+1).sum()", EAGER)]:
        print(f"| {label} | {_median_wall([py, '-c', code], env, args.runs):.0f} |", flush=True)
    opt = [py, "-c", "import sys; sys.argv[0] = 'lamina-opt'; "
           "from lamina.tools.opt import main; sys.exit(main())", "--help"]
    print(f"| lamina-opt --help | {_median_wall(opt, env, args.runs):.0f} |\n", flush=True)
    print("| workload | warm start ms | import ms | first call ms | (set-up, excluded) ms "
          "| heavy modules loaded |\n|---|---|---|---|---|---|")
    for key in args.names or list(workloads.ALL):
        r = workload_row(key, env, args.runs, base)
        print(f"| {key} | {r['total']:.0f} | {r['import']:.0f} | {r['call']:.0f} | "
              f"{r['setup']:.0f} | {', '.join(r['modules']) or '-'} |", flush=True)


if __name__ == "__main__":
    main()
