"""A tiny character-level GPT trained on a few of Shakespeare's sonnets.

Token and position embeddings, pre-norm transformer blocks (causal
self-attention, GELU MLP), a final layer norm and a linear head; AdamW. The
training step is one `@lm.jit` program; so is the sampling step, which always
sees a full window of `block_size` characters (left-padded with newlines) so
that it too compiles once.

    python examples/gpt.py                 # a few minutes on a CPU
    python examples/gpt.py --steps 20      # a quick run
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

import lamina as lm
import lamina.nn as nn
import lamina.nn.functional as F

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sonnets.txt")


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_head: int):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: lm.Tensor) -> lm.Tensor:
        b, t, c = x.shape
        qkv = self.qkv(x)
        q, k, v = (qkv[..., i * c:(i + 1) * c].reshape(b, t, self.n_head, c // self.n_head)
                   .transpose(1, 2) for i in range(3))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, d_model: int, n_head: int):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d_model), CausalSelfAttention(d_model, n_head)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                 nn.Linear(4 * d_model, d_model))

    def forward(self, x: lm.Tensor) -> lm.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab: int, block_size: int, d_model: int, n_head: int, n_layer: int):
        super().__init__()
        self.block_size = block_size
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(block_size, d_model)
        self.blocks = nn.Sequential(*(Block(d_model, n_head) for _ in range(n_layer)))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, bias=False)
        for name, p in self.named_parameters():  # GPT-2's small initial weights
            if name.endswith("weight") and p.ndim == 2:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, idx: lm.Tensor) -> lm.Tensor:
        x = self.tok(idx) + self.pos(lm.arange(idx.shape[1]))
        return self.head(self.ln_f(self.blocks(x)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--block-size", type=int, default=32)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--sample", type=int, default=300, help="characters to generate")
    parser.add_argument("--backend", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    text = open(DATA, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = np.array([stoi[ch] for ch in text], np.int64)
    lm.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = GPT(len(chars), args.block_size, args.d_model, args.heads, args.layers)
    opt = lm.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{len(text)} characters, vocabulary {len(chars)}, {n_params:,} parameters")

    @lm.jit(backend=args.backend)
    def train_step(idx, targets):
        opt.zero_grad()
        logits = model(idx)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    @lm.jit(backend=args.backend)
    def next_char_logits(idx):
        return model(idx)[:, -1]

    bs, t = args.batch_size, args.block_size
    for step in range(1, args.steps + 1):
        offsets = rng.integers(0, len(data) - t - 1, bs)
        window = np.stack([data[o:o + t + 1] for o in offsets])
        loss = float(train_step(window[:, :-1], window[:, 1:]))
        if step == 1:  # the first call traced and compiled the step: time from here
            start = time.perf_counter()
            print(f"step     1  loss {loss:.3f}  (uniform guess: {math.log(len(chars)):.3f})")
        elif step % max(args.steps // 10, 1) == 0 or step == args.steps:
            rate = (step - 1) * bs * t / (time.perf_counter() - start)
            print(f"step {step:5d}  loss {loss:.3f}  {rate:,.0f} tokens/s")

    context = [stoi["\n"]] * t
    out = []
    for _ in range(args.sample):
        logits = np.asarray(next_char_logits(np.array([context[-t:]], np.int64)))[0]
        probs = np.exp((logits - logits.max()) / 0.8)
        choice = int(rng.choice(len(chars), p=probs / probs.sum()))
        context.append(choice)
        out.append(chars[choice])
    print("\n--- sample ---\n" + "".join(out))


if __name__ == "__main__":
    main()
