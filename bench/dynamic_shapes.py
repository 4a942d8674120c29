"""Variable sizes: `python -m bench.dynamic_shapes` (issue 18, docs/dynamic_shapes.md).

Two programs called with many sizes, as training with a short last batch, serving,
or variable-length sequences do:

- an MLP training step (64 -> 128 -> 10, cross-entropy, SGD) at batch sizes 1..256;
- a small transformer language-model step (2 layers, width 32, 4 heads, causal
  attention, cross-entropy, SGD; batch 4) at sequence lengths 1..64.

For each: how many programs lamina compiles (`Jitted.stats`) and the total wall time
of all calls (compiles included), for lamina (`lm.jit`, default `dynamic=None`, and
`dynamic=True`), torch eager and `torch.compile(dynamic=None)`, same calls in the
same order; then the steady-state time per call of lamina's symbolic program against
the program compiled for that very shape (`dynamic=False`), on a few sizes,
interleaved round by round (medians and the best round).
"""

from __future__ import annotations

import os

os.environ.setdefault("LAMINA_AUTO_DYNAMIC", "1")  # the dynamic=None rows measure torch's policy

import argparse
import statistics
import time

import numpy as np

BATCHES = list(range(1, 257))
LENGTHS = list(range(1, 65))
SAMPLE_BATCHES = [1, 2, 7, 32, 64, 129, 256]
SAMPLE_LENGTHS = [2, 9, 16, 33, 64]


# ---------------------------------------------------------------- models


def mlp_lamina(dynamic):
    import lamina as lm
    import lamina.nn as nn
    import lamina.nn.functional as F

    lm.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = lm.optim.SGD(model.parameters(), lr=0.01)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return lm.jit(step, backend="c", dynamic=dynamic)


def mlp_torch(compiled: bool):
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step(x, y):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return torch.compile(step, dynamic=None) if compiled else step


def _blocks(nn, F, width=32, heads=4):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.fc1, self.fc2 = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))

    return Block


def _lm_model(nn, F, arange, vocab=50, width=32, layers=2):
    block = _blocks(nn, F, width)

    class TinyLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.pos = nn.Embedding(vocab, width), nn.Embedding(64, width)
            self.blocks = nn.Sequential(*[block() for _ in range(layers)])
            self.head = nn.Linear(width, vocab)

        def forward(self, idx):
            return self.head(self.blocks(self.emb(idx) + self.pos(arange(idx.shape[1]))))

    return TinyLM()


def lm_lamina(dynamic):
    import lamina as lm
    import lamina.nn as nn
    import lamina.nn.functional as F

    lm.manual_seed(0)
    model = _lm_model(nn, F, lm.arange)
    opt = lm.optim.SGD(model.parameters(), lr=0.01)

    def step(idx, tgt):
        opt.zero_grad()
        logits = model(idx)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    return lm.jit(step, backend="c", dynamic=dynamic)


def lm_torch(compiled: bool):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = _lm_model(torch.nn, F, torch.arange)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step(idx, tgt):
        opt.zero_grad()
        logits = model(idx)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    return torch.compile(step, dynamic=None) if compiled else step


# ---------------------------------------------------------------- inputs and timing


def mlp_inputs(b: int, rng):
    return rng.standard_normal((b, 64)).astype(np.float32), rng.integers(0, 10, (b,))


def lm_inputs(t: int, rng):
    return rng.integers(0, 50, (4, t)), rng.integers(0, 50, (4, t))


def total(step, calls, to_torch: bool) -> float:
    import torch

    start = time.perf_counter()
    for x, y in calls:
        if to_torch:
            x, y = torch.from_numpy(x), torch.from_numpy(y)
        float(step(x, y).detach() if to_torch else step(x, y))
    return time.perf_counter() - start


def steady(make_step, inputs, sizes, rounds: int, calls: int) -> list[tuple]:
    """Per size: (median, best) us per call of the symbolic program and of the
    program compiled for that shape, interleaved round by round."""
    symbolic = make_step(True)
    rng = np.random.default_rng(1)
    rows = []
    for size in sizes:
        x, y = inputs(size, rng)
        static = make_step(False)
        for f in (symbolic, static):
            float(f(x, y))
        times: dict[str, list[float]] = {"sym": [], "static": []}
        for _ in range(rounds):
            for name, f in (("sym", symbolic), ("static", static)):
                start = time.perf_counter()
                for _ in range(calls):
                    f(x, y)
                times[name].append((time.perf_counter() - start) / calls * 1e6)
        rows.append((size, statistics.median(times["sym"]), min(times["sym"]),
                     statistics.median(times["static"]), min(times["static"])))
    return rows


def run_workload(name, make_lamina, make_torch, inputs, sizes, samples, args) -> None:
    rng = np.random.default_rng(0)
    calls = [inputs(s, rng) for s in sizes]
    print(f"\n## {name}: {len(sizes)} sizes ({sizes[0]}..{sizes[-1]})\n")
    print("| contender | compiles | total s (compile + run) |")
    print("|---|---|---|")
    for label, dynamic in (("lamina lm.jit (dynamic=None)", None),
                           ("lamina lm.jit(dynamic=True)", True)):
        step = make_lamina(dynamic)
        seconds = total(step, calls, False)
        s = step.stats
        print(f"| {label} | {s['static'] + s['symbolic']} ({s['symbolic']} symbolic) "
              f"| {seconds:.2f} |")
    if not args.no_torch:
        import torch
        import torch._dynamo

        print(f"| torch eager | - | {total(make_torch(False), calls, True):.2f} |")
    if not (args.no_torch or args.no_compile):
        import torch
        import torch._dynamo

        torch._dynamo.reset()
        counter = torch._dynamo.utils.counters
        counter.clear()
        seconds = total(make_torch(True), calls, True)
        frames = counter["stats"]["unique_graphs"]
        print(f"| torch.compile(dynamic=None) | {frames} graphs | {seconds:.2f} |")
    print("\nsteady state, us per call (median / best of "
          f"{args.rounds} rounds of {args.calls} calls):\n")
    print("| size | symbolic program | program compiled for the shape | ratio (median) |")
    print("|---|---|---|---|")
    for size, sm, sb, tm, tb in steady(make_lamina, inputs, samples, args.rounds, args.calls):
        print(f"| {size} | {sm:.0f} / {sb:.0f} | {tm:.0f} / {tb:.0f} | {sm / tm:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--only", choices=["mlp", "transformer"])
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.only in (None, "mlp"):
        run_workload("MLP training step", mlp_lamina, mlp_torch, mlp_inputs, BATCHES,
                     SAMPLE_BATCHES, args)
    if args.only in (None, "transformer"):
        run_workload("transformer LM training step", lm_lamina, lm_torch, lm_inputs,
                     LENGTHS, SAMPLE_LENGTHS, args)


if __name__ == "__main__":
    main()
