"""`python -m bench.distributed`: lamina.distributed's overhead over bare MPI, and the
data-parallel step-time model of docs/distributed.md checked against measurement.

For each world size (default 2 and 4 local ranks) it launches itself under mpiexec and
measures, in one run, with interleaved rounds (one call of each contender per round):

1. all-reduce of 1, 16 and 64 MiB float32: bare `mpi4py` `comm.Allreduce(a, out)` into a
   preallocated buffer, against `lamina.distributed.all_reduce(t)` on a lamina tensor
   (the rank-agreement fingerprint exchanged on the first call of a signature, the
   default, and before every call: LAMINA_DIST_CHECK=always);
   bandwidth = bytes / time (algorithm bandwidth);
2. the jitted data-parallel step of an MLP (DDP: forward, backward, bucketed gradient
   all-reduce, SGD update as one program) against the same jitted step without DDP on
   the same local batch plus a bare Allreduce of the gradient bytes;
3. the latency and bandwidth of Allreduce (fitted from 8 B and 64 MiB) that the
   step-time model uses.

    python -m bench.distributed                  # 2 and 4 ranks
    python -m bench.distributed --ranks 2 --rounds 20
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES_MB = (1, 16, 64)


def _median_time(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _interleaved(contenders: dict, rounds: int, comm) -> dict:
    """Median seconds per call of each contender, one call of each per round, every rank
    starting each call together (a barrier before it, not timed)."""
    times: dict = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            comm.Barrier()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    # the slowest rank decides a collective's time
    return {k: comm.allreduce(statistics.median(v), op=_max(comm)) for k, v in times.items()}


def _max(comm):
    from mpi4py import MPI

    return MPI.MAX


def worker(rounds: int) -> None:
    from mpi4py import MPI

    import lamina as lm
    import lamina.distributed as dist
    import lamina.nn as nn
    import lamina.nn.functional as F
    from lamina.nn.parallel import DistributedDataParallel as DDP
    from lamina.runtime import collectives

    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD
    rank, n = comm.rank, comm.size
    group = collectives.current()
    out: dict = {"world": n, "allreduce": {}}
    for mb in SIZES_MB:
        count = mb * 2**20 // 4
        a = np.full(count, rank + 1, np.float32)
        recv = np.empty_like(a)
        t = lm.tensor(a)

        def bare(a=a, recv=recv):
            comm.Allreduce(a, recv)

        def lamina_checked(t=t):  # the default: the first call of a signature checks
            group.check = "1"
            dist.all_reduce(t)

        def lamina_unchecked(t=t):  # LAMINA_DIST_CHECK=always: every call checks
            group.check = "always"
            dist.all_reduce(t)

        for fn in (bare, lamina_checked, lamina_unchecked):  # warm up (pages, pool)
            fn()
        med = _interleaved({"mpi4py": bare, "lamina": lamina_checked,
                            "lamina_always": lamina_unchecked}, rounds, comm)
        out["allreduce"][mb] = med
    group.check = "1"
    tiny = np.ones(2, np.float32)
    tiny_out = np.empty_like(tiny)
    alpha = _interleaved({"t": lambda: comm.Allreduce(tiny, tiny_out)}, rounds * 5, comm)["t"]
    out["latency_s"] = alpha

    # the data-parallel step: DDP jitted vs the same step alone + the bare all-reduce
    lm.manual_seed(0)
    width, batch = 512, 64
    plain = nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(),
                          nn.Linear(width, 10))
    ddp_model = DDP(nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, width),
                                  nn.Tanh(), nn.Linear(width, 10)))
    x = np.random.default_rng(rank).standard_normal((batch, width)).astype(np.float32)
    y = (np.arange(batch) % 10).astype(np.int64)

    def make_step(model):
        opt = lm.optim.SGD(model.parameters(), lr=0.01)

        @lm.jit
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step

    single, ddp = make_step(plain), make_step(ddp_model)
    grad_bytes = sum(p.numel() * 4 for p in plain.parameters())
    g = np.ones(grad_bytes // 4, np.float32)
    g_out = np.empty_like(g)
    for fn in (single, ddp):
        fn(x, y)
        fn(x, y)
    med = _interleaved({"single": lambda: single(x, y), "ddp": lambda: ddp(x, y),
                        "allreduce_grads": lambda: comm.Allreduce(g, g_out)}, rounds, comm)
    out["step"] = med | {"grad_bytes": grad_bytes}
    dist.destroy_process_group()
    if rank == 0:
        print("RESULT " + json.dumps(out), flush=True)


def _launch(n: int, rounds: int) -> dict:
    from lamina.distributed.run import command

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    proc = subprocess.run(command(n, ["bench.distributed", "--worker", "--rounds",
                                      str(rounds)], module=True),
                          capture_output=True, text=True, env=env, cwd=root)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"{n} ranks failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(lines[0][7:])


def report(results: list[dict]) -> None:
    print("all-reduce, float32 (algorithm bandwidth = bytes / time; median of rounds)")
    print(f"{'ranks':>5} {'MiB':>4} {'mpi4py GB/s':>12} {'lamina GB/s':>12} {'ratio':>6} "
          f"{'always-check GB/s':>18} {'ratio':>6}")
    for r in results:
        for mb, med in r["allreduce"].items():
            nbytes = int(mb) * 2**20
            bw = {k: nbytes / v / 1e9 for k, v in med.items()}
            print(f"{r['world']:>5} {mb:>4} {bw['mpi4py']:>12.2f} {bw['lamina']:>12.2f} "
                  f"{bw['lamina'] / bw['mpi4py']:>6.2f} {bw['lamina_always']:>18.2f} "
                  f"{bw['lamina_always'] / bw['mpi4py']:>6.2f}")
    print("\njitted MLP step (512-512-512-10, batch 64 per rank), ms")
    print(f"{'ranks':>5} {'single':>8} {'allreduce':>10} {'sum':>8} {'DDP':>8} {'overhead':>9}")
    for r in results:
        s = r["step"]
        base = s["single"] + s["allreduce_grads"]
        print(f"{r['world']:>5} {s['single'] * 1e3:>8.2f} {s['allreduce_grads'] * 1e3:>10.2f} "
              f"{base * 1e3:>8.2f} {s['ddp'] * 1e3:>8.2f} {s['ddp'] / base - 1:>+9.1%}")
    # the model: step(N) = compute + 2(N-1)/N * bytes / B + 2(N-1) * alpha, with the
    # bandwidth B and latency alpha fitted on the smallest world size measured
    first = results[0]
    n0 = first["world"]
    big = first["allreduce"][str(SIZES_MB[-1])]["mpi4py"]
    alpha = first["latency_s"] / (2 * (n0 - 1))
    bw = 2 * (n0 - 1) / n0 * SIZES_MB[-1] * 2**20 / max(big - 2 * (n0 - 1) * alpha, 1e-9)
    print(f"\nring model fitted at {n0} ranks: alpha = {alpha * 1e6:.1f} us per step, "
          f"B = {bw / 1e9:.2f} GB/s")
    print(f"{'ranks':>5} {'MiB':>4} {'predicted ms':>13} {'measured ms':>12}")
    for r in results:
        n = r["world"]
        for mb, med in r["allreduce"].items():
            nbytes = int(mb) * 2**20
            pred = 2 * (n - 1) / n * nbytes / bw + 2 * (n - 1) * alpha
            print(f"{n:>5} {mb:>4} {pred * 1e3:>13.2f} {med['mpi4py'] * 1e3:>12.2f}")
        s = r["step"]
        pred = s["single"] + 2 * (n - 1) / n * s["grad_bytes"] / bw + 2 * (n - 1) * alpha
        print(f"{n:>5} step {pred * 1e3:>13.2f} {s['ddp'] * 1e3:>12.2f}   (compute measured "
              f"at {n} ranks: {s['single'] * 1e3:.2f} ms)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, nargs="*", default=[2, 4])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--worker", action="store_true")
    p.add_argument("--json", help="also write the raw results here")
    a = p.parse_args()
    if a.worker:
        worker(a.rounds)
        return
    results = [_launch(n, a.rounds) for n in a.ranks]
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    report(results)


if __name__ == "__main__":
    sys.exit(main())
