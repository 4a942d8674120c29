"""`nn.MultiheadAttention` with torch's parameter names (`in_proj_weight`,
`in_proj_bias`, `out_proj.weight`, `out_proj.bias`) and mask conventions: in
`attn_mask` and `key_padding_mask` a boolean True marks a position that may NOT
be attended to (the opposite of `scaled_dot_product_attention`)."""

from __future__ import annotations

import math
from typing import Any

from lamina import dtypes
from lamina.errors import ShapeError, like, with_location
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.nn import functional as F
from lamina.nn import init
from lamina.nn.layers import Linear, _empty
from lamina.nn.module import Module

__all__ = ["MultiheadAttention"]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else O.tensor(x)


class MultiheadAttention(Module):
    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, device: Any = None, dtype: Any = None):
        super().__init__()
        if embed_dim % num_heads:  # torch: AssertionError
            raise like(ShapeError, AssertionError)(with_location(
                f"MultiheadAttention: embed_dim {embed_dim} is not divisible by num_heads "
                f"{num_heads}"))
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        self.in_proj_weight = init.xavier_uniform_(_empty(3 * embed_dim, embed_dim, dtype=dtype))
        self.in_proj_bias = _empty(3 * embed_dim, dtype=dtype) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if bias:
            init.zeros_(self.out_proj.bias)

    def _project(self, x: Tensor, i: int) -> Tensor:
        """The i-th of the q/k/v projections, split into heads: (N, H, len, head_dim)."""
        e = self.embed_dim
        w = self.in_proj_weight[i * e:(i + 1) * e]
        b = None if self.in_proj_bias is None else self.in_proj_bias[i * e:(i + 1) * e]
        n, length = x.shape[0], x.shape[1]
        y = F.linear(x, w, b).reshape(n, length, self.num_heads, self.head_dim)
        return y.transpose(1, 2)

    def _mask(self, scores: Tensor, attn_mask: Any, key_padding_mask: Any,
              is_causal: bool) -> Tensor:
        n_q, n_k = scores.shape[-2], scores.shape[-1]
        if is_causal and attn_mask is None:
            scores = O.where(F.causal_mask(n_q, n_k), scores, float("-inf"))
        for mask, shape in ((attn_mask, None), (key_padding_mask, (scores.shape[0], 1, 1, n_k))):
            if mask is None:
                continue
            mask = mask if isinstance(mask, Tensor) else O.tensor(mask)
            if shape is not None:
                mask = mask.reshape(*shape)
            elif mask.ndim == 3:  # (N·H, L, S)
                mask = mask.reshape(scores.shape[0], self.num_heads, n_q, n_k)
            if mask.dtype == dtypes.bool_:
                scores = O.where(mask, float("-inf"), scores)
            else:
                scores = scores + mask
        return scores

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Any = None, need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False):
        if query.ndim == 2:  # unbatched (L, E): a batch of one
            b = 0 if self.batch_first else 1
            kpm = None if key_padding_mask is None else O.unsqueeze(_tensor(key_padding_mask), 0)
            out, weights = self.forward(query.unsqueeze(b), key.unsqueeze(b), value.unsqueeze(b),
                                        kpm, need_weights, attn_mask, average_attn_weights,
                                        is_causal)
            return out.squeeze(b), None if weights is None else weights.squeeze(0)
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        q, k, v = self._project(query, 0), self._project(key, 1), self._project(value, 2)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        weights = F.softmax(self._mask(scores, attn_mask, key_padding_mask, is_causal), dim=-1)
        if self.training and self.dropout > 0:
            weights = F.dropout(weights, self.dropout)
        n, n_q = query.shape[0], query.shape[1]
        out = (weights @ v).transpose(1, 2).reshape(n, n_q, self.embed_dim)
        out = self.out_proj(out)
        if not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        return out, (weights.mean(1) if average_attn_weights else weights)
