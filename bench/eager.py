"""`python -m bench.eager`: eager (un-jitted) lamina against torch eager.

Ported programs run eagerly, so what matters there is the cost of recording and
realizing each operation, not kernel speed. Three measurements:

* per-op overhead: a chain of tiny elementwise ops realized once (µs per op), and
  `float(((x @ w).relu() + 1).sum())` on 64x64 (ms per iteration);
* one training step of the port suite's CNN (`tests/ported/cnn_batchnorm.py`) and LSTM
  language model (`tests/ported/lstm_lm.py`), run with their imports rewritten, from
  torch's initial weights, against the same program under torch; the losses of the
  timed steps are compared, so a fast wrong step cannot pass;
* the first step (compiles the eager segments: a fresh cache dir) and the steady state.

Rounds are interleaved (one lamina step, one torch step); medians and the spread
(min-max) are printed.

    python -m bench.eager                 # all
    python -m bench.eager lstm --steps 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lamina.tools.port import load_program

PORTED = Path(__file__).resolve().parent.parent / "tests" / "ported"


def _load(name: str, ported: bool) -> types.ModuleType:
    return load_program(PORTED / f"{name}.py", ported, prefix="bench")


def _cnn(mod: types.ModuleType, init: dict | None) -> tuple[Callable[[int], float], dict]:
    torch = mod.torch
    r = np.random.default_rng(1)
    images = r.standard_normal((64, 1, 12, 12)).astype(np.float32)
    labels = r.integers(0, 10, 64)
    model = mod.Net()
    if init is not None:
        model.load_state_dict(init)
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    opt = mod.optim.Adam(model.parameters(), lr=1e-2)
    criterion = mod.nn.CrossEntropyLoss(label_smoothing=0.1)

    def step(i: int) -> float:
        j = (i * 8) % 56
        x, y = torch.tensor(images[j:j + 8]), torch.tensor(labels[j:j + 8])
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step, state


def _lstm(mod: types.ModuleType, init: dict | None) -> tuple[Callable[[int], float], dict]:
    torch = mod.torch
    tokens = np.random.default_rng(2).integers(0, 20, (40, 4))
    model = mod.RNNModel(20, 8, 2)
    if init is not None:
        model.load_state_dict(init)
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    criterion = mod.nn.CrossEntropyLoss()
    opt = mod.optim.Adam(model.parameters(), lr=5e-3)

    def step(i: int) -> float:
        j = (i * 3) % 34
        x, y = torch.tensor(tokens[j:j + 5]), torch.tensor(tokens[j + 1:j + 6])
        hidden = model.init_hidden(x.shape[1])
        opt.zero_grad()
        output, hidden = model(x, hidden)
        loss = criterion(output.view(-1, 20), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        return loss.item()
    return step, state


PROGRAMS = {"cnn": ("cnn_batchnorm", _cnn), "lstm": ("lstm_lm", _lstm)}


def train_step(key: str, steps: int) -> dict:
    name, make = PROGRAMS[key]
    torch_step, init = make(_load(name, ported=False), None)
    lamina_step, _ = make(_load(name, ported=True), init)
    t0 = time.perf_counter()
    got = [lamina_step(0)]
    first = (time.perf_counter() - t0) * 1e3
    want = [torch_step(0)]
    times: dict[str, list[float]] = {"lamina": [], "torch": []}
    for i in range(1, steps + 1):
        for who, fn, losses in (("lamina", lamina_step, got), ("torch", torch_step, want)):
            t0 = time.perf_counter()
            losses.append(fn(i))
            times[who].append((time.perf_counter() - t0) * 1e3)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5,
                               err_msg=f"{name}: eager lamina's losses differ from torch's")
    # the first timed steps still compile segments the first step did not have
    steady = {k: v[len(v) // 3:] for k, v in times.items()}
    return {"name": f"{key} train step ({name})", "first_ms": first, **_stats(steady)}


def _stats(times: dict[str, list[float]]) -> dict:
    return {k: (statistics.median(v), min(v), max(v)) for k, v in times.items()}


def per_op(rounds: int) -> list[dict]:
    """Tiny tensors: what recording + realizing costs per op."""
    import torch

    import lamina as lm

    rows = []
    n_ops = 32
    a = np.arange(4, dtype=np.float32)

    def chain(mod):
        x = mod.tensor(a)
        for _ in range(n_ops // 2):
            x = x * 1.5 + 1.0  # a splat-free chain: Python scalars
        return float(x.sum())

    x64 = np.random.default_rng(3).standard_normal((64, 64)).astype(np.float32)

    def mlp(mod, x, w):
        return float(((x @ w).relu() + 1).sum())

    cases = [(f"chain of {n_ops} elementwise ops on 4 floats, then .item()",
              lambda: chain(lm), lambda: chain(torch), n_ops + 2),
             ("float(((x@w).relu()+1).sum()), 64x64 (4 ops)",
              (lambda x=lm.tensor(x64), w=lm.tensor(x64): mlp(lm, x, w)),
              (lambda x=torch.tensor(x64), w=torch.tensor(x64): mlp(torch, x, w)), 4)]
    for name, lam, tor, ops in cases:
        assert abs(lam() - tor()) <= 1e-3 * max(1.0, abs(tor())), name
        t0 = time.perf_counter()
        lam()  # first call after the check: compiled already (the check ran it)
        times: dict[str, list[float]] = {"lamina": [], "torch": []}
        for _ in range(rounds):
            for who, fn in (("lamina", lam), ("torch", tor)):
                t0 = time.perf_counter()
                fn()
                times[who].append((time.perf_counter() - t0) * 1e3)
        row = {"name": name, "first_ms": None, **_stats(times)}
        row["us_per_op"] = (row["lamina"][0] - row["torch"][0]) * 1e3 / ops
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    lines = ["| workload | lamina ms (min-max) | torch ms (min-max) | lamina / torch "
             "| first call ms |", "|---|---|---|---|---|"]
    for r in rows:
        lam, tor = r["lamina"], r["torch"]
        first = f"{r['first_ms']:.0f}" if r.get("first_ms") is not None else "–"
        extra = f" (+{r['us_per_op']:.0f} µs/op over torch)" if "us_per_op" in r else ""
        lines.append(f"| {r['name']}{extra} | {lam[0]:.2f} ({lam[1]:.2f}-{lam[2]:.2f}) | "
                     f"{tor[0]:.2f} ({tor[1]:.2f}-{tor[2]:.2f}) | {lam[0] / tor[0]:.1f} | {first} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="ops, cnn, lstm (default all)")
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP / torch intra-op threads (default 1: on a shared VM "
                             "torch's thread pool made single steps 40x slower at random)")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    # a fresh cache: the first step's time includes compiling its segments
    os.environ.setdefault("LAMINA_CACHE_DIR", tempfile.mkdtemp(prefix="lamina-eager-"))
    import warnings

    warnings.simplefilter("ignore", UserWarning)
    names = args.names or ["ops", "cnn", "lstm"]
    rows = []
    for key in names:
        new = per_op(args.rounds) if key == "ops" else [train_step(key, args.steps)]
        for r in new:
            print(f"{r['name']}: lamina {r['lamina'][0]:.2f} ms, torch {r['torch'][0]:.2f} ms",
                  flush=True)
        rows += new
    print()
    print(format_table(rows))


if __name__ == "__main__":
    main()
