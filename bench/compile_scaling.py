"""Compile time against program size (issue 18, part 4): trace, each pass, C
generation and the C compiler, for chains of elementwise ops, mixed chains (with
reductions and matmuls) and a GPT training step (examples/gpt.py's blocks,
value-and-grad + AdamW) of 2 / 8 / 24 layers, beside torch.compile's cold compile of
the same step, in one run.

    python -m bench.compile_scaling                      # everything
    python -m bench.compile_scaling chain --sizes 100 1000 10000
    python -m bench.compile_scaling gpt --layers 2 8 --no-torch
    python -m bench.compile_scaling chain --passes       # + the slowest passes

Each program is compiled from a fresh artifact cache (the C compiler always runs).
CPU seconds per phase (this process and the C compiler; torch.compile: its compile
workers too), since on a shared machine wall time mostly measures the neighbours;
`per op` is the whole compile over the traced hl op count.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import tempfile
from collections import defaultdict

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the C compiler): on a
    shared machine wall time measures the neighbours' load as much as the compile."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def compile_phases(fn, args, gc_on: bool = False) -> dict[str, float]:
    """Trace `fn(*args)`, then run the C backend's pipeline pass by pass, generate C and
    compile it, as `lm.jit` does (the collector paused from the passes on, unless
    `gc_on`): CPU seconds per phase, plus the hl op count and the slowest passes."""
    from lamina.frontend.compile import _gc_paused

    times: dict[str, float] = {}
    t = _cpu()
    from lamina.frontend.trace import trace

    traced = trace(fn, *args)
    times["trace"] = _cpu() - t
    with contextlib.nullcontext() if gc_on else _gc_paused():
        _compile_phases(traced, times)
    times["total"] = times["trace"] + times["passes"] + times["codegen"] + times["cc"]
    return times


def _compile_phases(traced, times: dict) -> None:
    from lamina.codegen.c import emit_c
    from lamina.passes import pipeline, registry
    from lamina.runtime import cache

    fn_op = traced.module.body.block.first_op
    times["ops"] = sum(1 for _ in fn_op.body.block.ops)
    per_pass: dict[str, float] = defaultdict(float)
    t = _cpu()
    work = traced.module.clone()
    ctx = pipeline.context()
    for _, spec in registry.PIPELINES_BY_NAME["c-pipeline"].stages:
        for p in pipeline.parse(spec):
            tp = _cpu()
            p.apply(ctx, work)
            per_pass[p.name] += _cpu() - tp
        tp = _cpu()
        pipeline.print_ir(work)  # a compile keeps every level's text (Lowered.ir)
        per_pass["(print level)"] += _cpu() - tp
    times["passes"] = _cpu() - t
    t = _cpu()
    source = emit_c(work)
    times["codegen"] = _cpu() - t
    t = _cpu()
    cache.load(source)
    times["cc"] = _cpu() - t
    times["per_pass"] = dict(sorted(per_pass.items(), key=lambda kv: -kv[1]))  # type: ignore
    times["c_lines"] = source.count("\n")


# ---------------------------------------------------------------- programs


def elementwise_chain(n: int):
    import lamina as lm

    def chain(x):
        for i in range(n):
            k = i % 4
            x = x * 0.999 if k == 0 else x + 0.001 if k == 1 else lm.tanh(x) if k == 2 \
                else lm.sin(x)
        return x

    return chain, (np.ones((64, 64), np.float32),)


def mixed_chain(n: int):
    """Every 8 ops one matmul, one row reduction (a normalization) and elementwise ops."""
    import lamina as lm

    def chain(x, w):
        for _ in range(n // 8):
            x = x @ w
            x = x / (x.abs().sum(dim=-1, keepdim=True) + 1.0)
            x = lm.tanh(x * 1.5 + 0.1)
        return x

    return chain, (np.ones((32, 64), np.float32), np.eye(64, dtype=np.float32))


GPT = dict(vocab=65, block=32, d_model=64, heads=4, batch=8)


def gpt_step(layers: int):
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    import gpt as example

    import lamina as lm
    import lamina.nn.functional as F

    lm.manual_seed(0)
    model = example.GPT(GPT["vocab"], GPT["block"], GPT["d_model"], GPT["heads"], layers)
    opt = lm.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def train_step(idx, targets):
        opt.zero_grad()
        logits = model(idx)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    rng = np.random.default_rng(0)
    idx = rng.integers(0, GPT["vocab"], (GPT["batch"], GPT["block"] + 1))
    return train_step, (idx[:, :-1], idx[:, 1:])


def torch_gpt_cold_compile(layers: int) -> float:
    """CPU seconds of torch.compile's first call of the same training step, minus an
    eager step: a fresh Dynamo and Inductor (no FX-graph or kernel cache), compiling in
    this process (`compile_threads=1`, as lamina's compile: one thread, its cc
    children counted)."""
    import torch
    import torch.nn as tnn
    import torch.nn.functional as tF

    d, h, t, v, b = GPT["d_model"], GPT["heads"], GPT["block"], GPT["vocab"], GPT["batch"]

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = tnn.LayerNorm(d), tnn.LayerNorm(d)
            self.qkv, self.proj = tnn.Linear(d, 3 * d), tnn.Linear(d, d)
            self.mlp = tnn.Sequential(tnn.Linear(d, 4 * d), tnn.GELU(), tnn.Linear(4 * d, d))

        def forward(self, x):
            qkv = self.qkv(self.ln1(x))
            q, k, vv = (qkv[..., i * d:(i + 1) * d].reshape(b, t, h, d // h).transpose(1, 2)
                        for i in range(3))
            y = tF.scaled_dot_product_attention(q, k, vv, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
            return x + self.mlp(self.ln2(x))

    class Model(tnn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = tnn.Embedding(v, d), tnn.Embedding(t, d)
            self.blocks = tnn.Sequential(*(Block() for _ in range(layers)))
            self.ln_f, self.head = tnn.LayerNorm(d), tnn.Linear(d, v, bias=False)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            return self.head(self.ln_f(self.blocks(x)))

    torch.manual_seed(0)
    model = Model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def step(idx, targets):
        opt.zero_grad()
        logits = model(idx)
        loss = tF.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    idx = torch.randint(0, v, (b, t + 1))
    x, y = idx[:, :-1], idx[:, 1:]
    step(x, y)
    t0 = _cpu()
    step(x, y)
    eager = _cpu() - t0
    import torch._dynamo
    import torch._inductor.config as inductor_config

    torch._dynamo.reset()
    inductor_config.compile_threads = 1  # in this process: its CPU time is counted
    inductor_config.fx_graph_cache = False
    inductor_config.autotune_local_cache = False
    compiled = torch.compile(step)
    t0 = _cpu()
    compiled(x, y)
    return _cpu() - t0 - eager


# ---------------------------------------------------------------- tables


def _row(label: str, r: dict, extra: str = "") -> str:
    per_op = r["total"] / max(r["ops"], 1) * 1e3
    return (f"| {label} | {r['ops']} | {r['trace']:.2f} | {r['passes']:.2f} | "
            f"{r['codegen']:.2f} | {r['cc']:.2f} | {r['total']:.2f} | {per_op:.2f} |{extra}")


HEAD = ("| program | hl ops | trace s | passes s | C gen s | cc s | total s | ms per op |"
        " torch.compile s |", "|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", default=["chain", "mixed", "gpt"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--layers", type=int, nargs="+", default=[2, 8, 24])
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--passes", action="store_true", help="list the slowest passes")
    parser.add_argument("--gc-on", action="store_true",
                        help="keep the cyclic collector on while compiling (as before)")
    args = parser.parse_args(argv)
    os.environ["LAMINA_CACHE_DIR"] = tempfile.mkdtemp(prefix="lamina-compile-scaling-")
    rows = []
    for what in args.what:
        counts = args.layers if what == "gpt" else args.sizes
        for n in counts:
            build = {"chain": elementwise_chain, "mixed": mixed_chain, "gpt": gpt_step}[what]
            r = compile_phases(*build(n), gc_on=args.gc_on)
            if what == "gpt":
                tc = None if args.no_torch else torch_gpt_cold_compile(n)
                extra = f" {tc:.2f} |" if tc is not None else " – |"
            else:
                extra = " |"
            label = f"{what} {n}" + (" layers" if what == "gpt" else "")
            rows.append(_row(label, r, extra))
            print(rows[-1], flush=True)
            if args.passes:
                top = list(r["per_pass"].items())[:6]
                print("    " + ", ".join(f"{k} {v:.2f}" for k, v in top), flush=True)
    print("\n" + "\n".join(HEAD))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
