"""`python -m bench --suite models`: real models, lamina against torch eager,
torch.compile and (inference) onnxruntime in the same process, rounds interleaved.

Rows (`--list`): torchvision resnet18 / resnet50 / mobilenet_v2 / efficientnet_b0 /
densenet121 inference at batch 1 and 8 (224x224; lamina runs the model exported by
`torch.onnx.export` through `lamina.onnx.load`, backend "c"); a resnet18 training step
(batch 16, SGD momentum 0.9; lamina runs the same network written once against the
torch-like API of both libraries, from torch's weights); a GPT-2-small-shaped decoder
(inference on 128 tokens through ONNX, and a training step of the same network ported);
an LSTM language-model training step. Random weights (fixed seeds), nothing downloaded.

Each row runs in a subprocess under `--timeout` seconds (a row past it is reported as a
timeout, with what it had measured); every contender's output is checked against torch
eager first (relative error, inference 1e-4, training losses 1e-3). Reported per
contender: median ms over the rounds, the min-max spread, the first call (which for
lamina and torch.compile includes compiling; for onnxruntime, session creation is
separate), and lamina's load/compile time.

    python -m bench --suite models                      # every row
    python -m bench --suite models resnet18_b1 lstm_train --rounds 5 --timeout 600
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
from collections.abc import Callable

import numpy as np

__all__ = ["ROWS", "main"]

INFERENCE = ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "densenet121"]


def _rel(got, want) -> float:
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))


def _timed(fn: Callable, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t0) * 1e3


# ---------------------------------------------------------------- one row


def _inference_row(model_name: str, batch: int) -> dict:
    import onnxruntime as ort
    import torch

    import lamina.onnx as lo
    from bench.tv import export_onnx, torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, model_name)().eval()
    x = torch.randn(batch, 3, 224, 224)
    with torch.no_grad():
        ref = model(x).numpy()
    proto = export_onnx(model, (x,), opset=17, input_names=["x"])
    xn = x.numpy()
    result = {"contenders": {}}

    def torch_eager(x=x):
        with torch.no_grad():
            return model(x)

    compiled = torch.compile(model)

    def torch_compiled(x=x):
        with torch.no_grad():
            return compiled(x)

    t0 = time.perf_counter()
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    ort_load = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    fn = lo.load(proto, backend="c", weights="inputs")
    lamina_load = (time.perf_counter() - t0) * 1e3
    contenders = {  # lamina last: a row cut by the timeout keeps its peers' figures
        "torch": (lambda: torch_eager().numpy(), None),
        "torch.compile": (lambda: torch_compiled().numpy(), None),
        "onnxruntime": (lambda: sess.run(None, {"x": xn})[0], ort_load),
        "lamina": (lambda: fn.run([xn])[0], lamina_load),
    }
    return _measure(contenders, ref, 1e-4, result)


def _measure(contenders: dict, ref, tol: float, result: dict, rounds: int | None = None) -> dict:
    """First calls (checked against `ref`), then rounds interleaved one call of each
    contender per round. The peers are measured among themselves first, so that a row whose
    lamina compile runs past the timeout still reports them; then everything again,
    lamina included, interleaved."""
    if os.environ.get("BENCH_NO_COMPILE"):
        contenders = {k: v for k, v in contenders.items() if k != "torch.compile"}
    rounds = rounds or int(os.environ.get("BENCH_ROUNDS", "5"))
    fns: dict[str, Callable] = {}
    peers = [w for w in contenders if w != "lamina"]
    for group in (peers, list(contenders)):
        for who in group:
            if who in result["contenders"]:
                continue
            fn, load_ms = contenders[who]
            entry = {"load_ms": load_ms}
            result["contenders"][who] = entry
            try:
                out, first = _timed(fn)
            except Exception as err:  # noqa: BLE001 - reported in the table, not fatal
                entry["error"] = f"{type(err).__name__}: {str(err)[:200]}"
                _emit(result)
                continue
            entry["first_ms"] = first
            entry["rel_err"] = _rel(out, ref)
            if entry["rel_err"] > tol:
                entry["error"] = f"differs from torch eager (rel err {entry['rel_err']:.1e})"
            else:
                fns[who] = fn
            _emit(result)
        times: dict[str, list[float]] = {who: [] for who in group if who in fns}
        for _ in range(rounds):
            for who in times:
                times[who].append(_timed(fns[who])[1])
            for who, ts in times.items():
                entry = result["contenders"][who]
                entry["median_ms"] = statistics.median(ts)
                entry["min_ms"], entry["max_ms"] = min(ts), max(ts)
                entry["rounds"] = len(ts)
            _emit(result)
    return result


def _emit(result: dict) -> None:
    """Each partial result is printed as it grows, so a row cut by the timeout keeps what
    it measured (the parent reads the last line)."""
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------- ResNet-18, both libraries


def _resnet18(nn):
    """torchvision's ResNet-18 written against the API lamina shares with torch."""

    class Basic(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            skip = x if self.downsample is None else self.downsample(x)
            return self.relu(out + skip)

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            widths = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
            for i, (cin, cout, stride) in enumerate(widths, 1):
                setattr(self, f"layer{i}", nn.Sequential(Basic(cin, cout, stride),
                                                         Basic(cout, cout, 1)))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, 1000)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).reshape(x.shape[0], -1))

    return ResNet18()


def _copy_weights(torch_model, lamina_model) -> None:
    import lamina as lm

    state = {k: lm.from_numpy(v.detach().numpy().copy())
             for k, v in torch_model.state_dict().items()}
    lamina_model.load_state_dict(state)


def _train_row(build: Callable, make_batch: Callable, loss_of: Callable, lr: float) -> dict:
    """One SGD-momentum training step of the same network in lamina (lm.jit) and torch
    (eager and torch.compile), from the same weights: losses checked on the first step."""
    import torch

    import lamina as lm
    import lamina.nn as lnn

    torch.manual_seed(0)
    tmodel = build(torch.nn).train()
    inputs, targets = make_batch()
    result = {"contenders": {}}

    def torch_step_factory(model_fn):
        model = build(torch.nn).train()
        model.load_state_dict(tmodel.state_dict())
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        fwd = model_fn(model)

        def step():
            opt.zero_grad()
            loss = loss_of(torch.nn.functional, fwd(torch.from_numpy(inputs)),
                           torch.from_numpy(targets))
            loss.backward()
            opt.step()
            return loss.detach().numpy()

        return step

    eager = torch_step_factory(lambda m: m)
    compiled = torch_step_factory(torch.compile)
    ref = torch_step_factory(lambda m: m)()

    t0 = time.perf_counter()
    lmodel = build(lnn).train()
    _copy_weights(tmodel, lmodel)
    lopt = lm.optim.SGD(lmodel.parameters(), lr=lr, momentum=0.9)

    @lm.jit
    def lstep(x, y):
        loss = loss_of(lnn.functional, lmodel(x), y)
        lopt.zero_grad()
        loss.backward()
        lopt.step()
        return loss

    build_ms = (time.perf_counter() - t0) * 1e3
    contenders = {
        "torch": (eager, None),
        "torch.compile": (compiled, None),
        "lamina": (lambda: np.asarray(lstep(inputs, targets)), build_ms),
    }
    return _measure(contenders, ref, 1e-3, result)


def _resnet18_train() -> dict:
    rng = np.random.default_rng(0)
    return _train_row(
        _resnet18, lambda: (rng.standard_normal((16, 3, 224, 224), dtype=np.float32),
                            rng.integers(0, 1000, 16)),
        lambda F, logits, y: F.cross_entropy(logits, y), lr=0.01)


# ---------------------------------------------------------------- GPT-2 and the LSTM LM


def _gpt2(nn, lib, vocab=50257, d=768, heads=12, layers=12, ctx=1024):
    """bench.zoo's GPT-2 shape, written against the API lamina shares with torch."""
    import math

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.reshape(b, t, heads, d // heads).transpose(1, 2) for z in (q, k, v))
            scores = q @ k.transpose(-2, -1) / math.sqrt(d // heads)
            causal = lib.ones(t, t, dtype=lib.bool).tril()
            scores = scores.masked_fill(~causal, float("-inf"))
            y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
            x = x + self.proj(y)
            return x + self.out(nn.functional.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT2(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.ln = nn.LayerNorm(d)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(lib.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.ln(x) @ self.wte.weight.T

    return GPT2()


def _lib_of(nn):
    import torch

    import lamina as lm

    return torch if nn is torch.nn else lm


def _gpt2_infer() -> dict:
    import onnxruntime as ort
    import torch

    import lamina.onnx as lo
    from bench.tv import export_onnx

    torch.manual_seed(0)
    model = _gpt2(torch.nn, torch).eval()
    idx = torch.randint(0, 50257, (1, 128))
    with torch.no_grad():
        ref = model(idx).numpy()
    proto = export_onnx(model, (idx,), opset=17, input_names=["idx"])
    compiled = torch.compile(model)
    t0 = time.perf_counter()
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    ort_load = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    fn = lo.load(proto, backend="c", weights="inputs")
    lamina_load = (time.perf_counter() - t0) * 1e3
    idx_n = idx.numpy()

    def run_torch(m):
        with torch.no_grad():
            return m(idx).numpy()

    contenders = {
        "torch": (lambda: run_torch(model), None),
        "torch.compile": (lambda: run_torch(compiled), None),
        "onnxruntime": (lambda: sess.run(None, {"idx": idx_n})[0], ort_load),
        "lamina": (lambda: fn.run([idx_n])[0], lamina_load),
    }
    return _measure(contenders, ref, 1e-4, {"contenders": {}})


def _gpt2_train() -> dict:
    rng = np.random.default_rng(0)
    return _train_row(
        lambda nn: _gpt2(nn, _lib_of(nn)),
        lambda: (rng.integers(0, 50257, (1, 128)), rng.integers(0, 50257, (1, 128))),
        lambda F, logits, y: F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             y.reshape(-1)), lr=1e-3)


def _lstm_lm(nn, vocab=10000, d=256, hidden=512, layers=2):
    class LSTMLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.lstm = nn.LSTM(d, hidden, num_layers=layers)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, idx):  # idx [seq, batch]
            y, _ = self.lstm(self.emb(idx))
            return self.head(y)

    return LSTMLM()


def _lstm_train() -> dict:
    rng = np.random.default_rng(0)
    return _train_row(
        _lstm_lm, lambda: (rng.integers(0, 10000, (35, 20)), rng.integers(0, 10000, (35, 20))),
        lambda F, logits, y: F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             y.reshape(-1)), lr=1.0)


ROWS: dict[str, tuple[str, Callable[[], dict]]] = {}
for _name in INFERENCE:
    for _b in (1, 8):
        ROWS[f"{_name}_b{_b}"] = (f"{_name} inference, batch {_b}, 224x224",
                                  lambda n=_name, b=_b: _inference_row(n, b))
ROWS["resnet18_train"] = ("resnet18 training step, batch 16, SGD momentum", _resnet18_train)
ROWS["gpt2_infer"] = ("GPT-2-small-shaped decoder inference, 128 tokens", _gpt2_infer)
ROWS["gpt2_train"] = ("GPT-2-small-shaped decoder training step, 1x128 tokens", _gpt2_train)
ROWS["lstm_train"] = ("LSTM LM training step (2x512, vocab 10k, 35x20)", _lstm_train)


# ---------------------------------------------------------------- driver


def _run_row(key: str, timeout: float, rounds: int, no_compile: bool = False) -> dict:
    env = dict(os.environ, BENCH_ROUNDS=str(rounds), PYTHONWARNINGS="ignore")
    if no_compile:
        env["BENCH_NO_COMPILE"] = "1"
    env.setdefault("LAMINA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "lamina-bench-models"))
    cmd = [sys.executable, "-m", "bench.realmodels", "--row", key]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        timed_out = True
    lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    result = json.loads(lines[-1][7:]) if lines else {"contenders": {}}
    result["timed_out"] = timed_out
    result["wall_s"] = time.perf_counter() - t0
    if proc.returncode and not timed_out:
        result["error"] = (err.strip().splitlines() or ["?"])[-1][:300]
    return result


def _cell(entry: dict | None, key: str = "median_ms") -> str:
    if not entry:
        return "–"
    if entry.get("error") and key not in entry:
        return "error"
    if key not in entry:
        return "…"
    if key == "median_ms":
        return f"{entry['median_ms']:.1f} ({entry['min_ms']:.0f}–{entry['max_ms']:.0f})"
    return f"{entry[key]:.0f}"


def format_table(rows: list[tuple[str, dict]]) -> str:
    who = ["lamina", "torch", "torch.compile", "onnxruntime"]
    lines = ["| row | " + " | ".join(f"{w} ms (min–max)" for w in who)
             + " | lamina / best | lamina load ms | lamina first call ms "
             "| torch.compile first call ms | ORT session ms | notes |",
             "|" + "---|" * (len(who) + 7)]
    for title, r in rows:
        c = r["contenders"]
        meds = {w: c[w]["median_ms"] for w in who if w in c and "median_ms" in c[w]}
        peers = [v for w, v in meds.items() if w != "lamina"]
        ratio = f"{meds['lamina'] / min(peers):.2f}" if "lamina" in meds and peers else "–"
        notes = []
        if r.get("timed_out"):
            notes.append(f"timed out after {r['wall_s']:.0f} s")
        if r.get("error"):
            notes.append(r["error"])
        for w in who:
            if w in c and c[w].get("error"):
                notes.append(f"{w}: {c[w]['error']}")
        lines.append(f"| {title} | " + " | ".join(_cell(c.get(w)) for w in who)
                     + f" | {ratio} | {_cell(c.get('lamina'), 'load_ms')} "
                     f"| {_cell(c.get('lamina'), 'first_ms')} "
                     f"| {_cell(c.get('torch.compile'), 'first_ms')} "
                     f"| {_cell(c.get('onnxruntime'), 'load_ms')} | {'; '.join(notes)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="lamina on real models")
    parser.add_argument("names", nargs="*", help=f"rows (default all): {list(ROWS)}")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per row")
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip torch.compile (its first call can take minutes on a "
                             "loaded machine and eat the row's timeout)")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(f"{k}: {v[0]}" for k, v in ROWS.items()))
        return
    if args.row:
        import torch

        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1)))
        _emit(ROWS[args.row][1]())
        return
    names = args.names or list(ROWS)
    done = []
    for key in names:
        result = _run_row(key, args.timeout, args.rounds, args.no_compile)
        done.append((ROWS[key][0], result))
        print(format_table(done[-1:]).splitlines()[-1], flush=True)
    print()
    print(format_table(done))


if __name__ == "__main__":
    main()
