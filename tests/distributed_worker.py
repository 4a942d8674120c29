"""One rank of the data-parallel checks of tests/test_distributed.py (run under mpiexec).

    mpiexec -n N python tests/distributed_worker.py --model mlp --mode jit --steps 3

Every rank trains a DistributedDataParallel replica on its slice of each global batch;
then rank 0 trains the same model in one process on the whole batches and prints one
JSON line: the largest relative error (per parameter, in norm) between the two, and
whether every rank ended with the same parameters."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

import numpy as np

import lamina as lm
import lamina.distributed as dist
import lamina.nn as nn
import lamina.nn.functional as F
from lamina.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))


class Plain:
    """The training loop's model without DDP (one process, or ZeRO's own reduction)."""

    def __init__(self, m):
        self.module = m

    def __call__(self, x):
        return self.module(x)

    def no_sync(self):
        return contextlib.nullcontext()


def make_model(kind: str):
    if kind == "mlp":
        return nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                             nn.Linear(32, 4))
    from gpt import GPT

    return GPT(vocab=16, block_size=8, d_model=32, n_head=2, n_layer=2)


def batch(kind: str, step: int, size: int):
    rng = np.random.default_rng(1000 + step)
    if kind == "mlp":
        return (rng.standard_normal((size, 8)).astype(np.float32),
                rng.integers(0, 4, size).astype(np.int64))
    window = rng.integers(0, 16, (size, 9)).astype(np.int64)
    return window[:, :-1], window[:, 1:]


def loss_of(model, x, y):
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def train(model, opt, kind, mode, steps, rank, n, per_rank, accumulate=False):
    def step(x, y):
        opt.zero_grad()
        if accumulate:  # two half-batches, the first under no_sync
            h = x.shape[0] // 2
            with model.no_sync():
                (loss_of(model, x[:h], y[:h]) * 0.5).backward()
            loss = loss_of(model, x[h:], y[h:]) * 0.5
        else:
            loss = loss_of(model, x, y)
        loss.backward()
        opt.step()
        return loss

    run = lm.jit(step) if mode == "jit" else step
    for s in range(steps):
        x, y = batch(kind, s, per_rank * n)
        lo, hi = rank * per_rank, (rank + 1) * per_rank
        run(lm.tensor(x[lo:hi]), lm.tensor(y[lo:hi]))
    return run


def optimizer(kind, model, zero):
    make = (lambda ps: lm.optim.SGD(ps, lr=0.1, momentum=0.9)) if kind == "mlp" else (
        lambda ps: lm.optim.AdamW(ps, lr=3e-3, weight_decay=0.01))
    if zero:
        from lamina.distributed.optim import ZeroRedundancyOptimizer

        cls = lm.optim.SGD if kind == "mlp" else lm.optim.AdamW
        kw = dict(lr=0.1, momentum=0.9) if kind == "mlp" else dict(lr=3e-3, weight_decay=0.01)
        return ZeroRedundancyOptimizer(list(model.parameters()), optimizer_class=cls, **kw)
    return make(model.parameters())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mlp")
    p.add_argument("--mode", default="eager")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--per-rank", type=int, default=4)
    p.add_argument("--zero", action="store_true")
    p.add_argument("--accumulate", action="store_true")
    a = p.parse_args()
    dist.init_process_group("mpi")
    rank, n = dist.get_rank(), dist.get_world_size()
    lm.manual_seed(rank)  # different initial weights: DDP must broadcast rank 0's
    model = Plain(make_model(a.model)) if a.zero else DDP(make_model(a.model))
    opt = optimizer(a.model, model.module, a.zero)
    run = train(model, opt, a.model, a.mode, a.steps, rank, n, a.per_rank, a.accumulate)
    program = {}
    if a.mode == "jit":  # the step is one program: how many all-reduces (after bucketing)
        x, y = batch(a.model, 0, a.per_rank)
        hl = run.lower(x, y).ir("hl")
        buckets = {ln.split("bucket=")[1].split()[0] for ln in hl.splitlines() if "bucket=" in ln}
        program = {"all_reduces": hl.count("hl.all_reduce"), "buckets": len(buckets),
                   "reduce_scatters": hl.count("hl.reduce_scatter"),
                   "all_gathers": hl.count("hl.all_gather")}
    params = [p.numpy().copy() for p in model.module.parameters()]
    flat = lm.tensor(np.concatenate([q.reshape(-1) for q in params]))
    low, high = flat.clone(), flat.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    same = bool(np.array_equal(low.numpy(), high.numpy()))
    state = [sum(t.numel() * t.dtype.itemsize for st in o.state.values() for t in st.values())
             for o in (opt, optimizer(a.model, make_model(a.model), False))]
    dist.destroy_process_group()
    if rank != 0:
        return
    lm.manual_seed(0)
    ref = make_model(a.model)
    ref_opt = optimizer(a.model, ref, False)

    train(Plain(ref), ref_opt, a.model, a.mode, a.steps, 0, 1, a.per_rank * n, a.accumulate)
    refs = [r.numpy() for r in ref.parameters()]
    errors = [float(np.linalg.norm(q - r) / max(np.linalg.norm(r), 1e-30))
              for q, r in zip(params, refs, strict=True)]
    whole = float(np.linalg.norm(np.concatenate([(q - r).ravel() for q, r in zip(params, refs, strict=True)]))
                  / np.linalg.norm(np.concatenate([r.ravel() for r in refs])))
    names = [name for name, _ in ref.named_parameters()]
    worst = int(np.argmax(errors))
    print("RESULT " + json.dumps({"rel_err": whole, "worst_param": names[worst],
                                  "worst_param_rel_err": errors[worst],
                                  "same_on_all_ranks": same, "world": n,
                                  "state_bytes": state[0], "state_bytes_unsharded": state[1],
                                  "program": program}),
          flush=True)


if __name__ == "__main__":
    main()
