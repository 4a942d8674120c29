"""Torch definitions of the real-model workloads that torchvision does not build: a
GPT-2-shaped decoder (fused qkv projection split in three, as GPT-2's exports have
it, causal attention, GELU MLP, tied embeddings) and an LSTM language model. Used by
`bench.realmodels` and by the ONNX import tests."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["GPT2", "LSTMLM", "gpt2_small"]


class _Block(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.reshape(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // h)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.out(nn.functional.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, vocab: int, d: int, heads: int, layers: int, ctx: int):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(_Block(d, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(d)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t))
        for block in self.blocks:
            x = block(x)
        return self.ln(x) @ self.wte.weight.T


def gpt2_small() -> GPT2:
    """GPT-2 small's shape: 12 layers, d 768, 12 heads, vocab 50257, context 1024."""
    return GPT2(50257, 768, 12, 12, 1024)


class LSTMLM(nn.Module):
    def __init__(self, vocab: int, d: int, hidden: int, layers: int):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.lstm = nn.LSTM(d, hidden, num_layers=layers)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:  # idx [seq, batch]
        y, _ = self.lstm(self.emb(idx))
        return self.head(y)
