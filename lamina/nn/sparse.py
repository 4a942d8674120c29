"""EmbeddingBag: sums, means or maxima of embedding rows over bags, as torch's — bags
as the rows of a 2-D input, or as `offsets` into a 1-D input (`include_last_offset`),
optional `per_sample_weights` (mode 'sum'), `padding_idx` entries left out.

Offsets may be data (a tensor under `lm.jit`): each position's bag is counted with a
comparison against the offsets (bag(j) = #{i : offsets[i] <= j} - 1), the bags reduced
with a scatter-add (sum, mean) or a masked maximum."""

from __future__ import annotations

from typing import Any

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import tensor_type
from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.nn import init
from lamina.nn.layers import _empty
from lamina.nn.module import Module, Parameter

__all__ = ["EmbeddingBag"]


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2, scale_grad_by_freq:
                  bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    idx = input if isinstance(input, Tensor) else O.tensor(input)
    if mode not in ("sum", "mean", "max"):
        raise ArgumentError(with_location(f"embedding_bag: mode has to be one of sum, mean or "
                                          f"max, got {mode!r}"))
    if per_sample_weights is not None and mode != "sum":
        raise ArgumentError(with_location(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}')"))
    if max_norm is not None:
        raise ArgumentError(with_location("embedding_bag: max_norm is not supported"))
    if idx.ndim == 2:
        if offsets is not None:
            raise ArgumentError(with_location(
                "embedding_bag: if input is 2-D, then offsets has to be None"))
        bags, per_bag = idx.shape
        flat = idx.reshape(-1)
        bag_of = O.arange(bags).reshape(bags, 1) + O.zeros(bags, per_bag, dtype=dtypes.int64)
        bag_of = bag_of.reshape(-1)
        weights = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    elif idx.ndim == 1:
        if offsets is None:
            raise ArgumentError(with_location(
                "embedding_bag: offsets has to be a 1-D tensor but got None"))
        offs = offsets if isinstance(offsets, Tensor) else O.tensor(offsets)
        bags = offs.shape[0] - (1 if include_last_offset else 0)
        offs = offs[:bags]
        positions = O.arange(idx.shape[0]).reshape(-1, 1)
        bag_of = O.ge(positions, offs.reshape(1, -1)).to(dtypes.int64).sum(1) - 1
        flat, weights = idx, per_sample_weights
    else:
        raise ShapeError(with_location(
            f"embedding_bag: input has to be 1-D or 2-D, got shape {list(idx.shape)}"))
    n, dim = flat.shape[0], weight.shape[1]
    rows = O.emit(hl.GatherOp, weight, flat, axis=0) if n else O.zeros(0, dim,
                                                                         dtype=weight.dtype)
    keep = O.ge(bag_of, 0)
    if padding_idx is not None:
        keep = O.logical_and(keep, O.ne(flat, padding_idx % weight.shape[0]))
    target = O.where(keep, bag_of, 0)
    if mode == "max":
        member = O.logical_and(O.eq(target.reshape(1, -1), O.arange(bags).reshape(-1, 1)),
                               keep.reshape(1, -1))
        masked = O.where(member.unsqueeze(-1), rows.unsqueeze(0), float("-inf"))
        best = O.amax(masked, 1) if n else O.full((bags, dim), float("-inf"))
        return O.where(O.eq(best, float("-inf")), 0.0, best).to(weight.dtype)
    contrib = O.where(keep.unsqueeze(-1), rows, 0.0)
    if weights is not None:
        contrib = contrib * weights.reshape(-1, 1)
    out_type = tensor_type(weight.dtype.ir_type, (bags, dim))
    total = O.emit(hl.ScatterAddOp, target, contrib, result_type=out_type, axis=0)
    if mode == "sum":
        return total
    count = O.emit(hl.ScatterAddOp, target, keep.to(weight.dtype),
                   result_type=tensor_type(weight.dtype.ir_type, (bags,)), axis=0)
    return total / O.maximum(count, O.ones_like(count)).reshape(-1, 1)


class EmbeddingBag(Module):
    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight: Tensor | None = None,
                 include_last_offset: bool = False, padding_idx: int | None = None,
                 device: Any = None, dtype: Any = None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type, self.mode = max_norm, norm_type, mode
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        self.include_last_offset, self.padding_idx = include_last_offset, padding_idx
        if _weight is not None:
            self.weight = Parameter(_weight)
        else:
            self.weight = init.normal_(_empty(num_embeddings, embedding_dim, dtype=dtype))
            if padding_idx is not None:
                self.weight.numpy()[padding_idx] = 0

    def forward(self, input: Tensor, offsets: Tensor | None = None,
                per_sample_weights: Tensor | None = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                             self.scale_grad_by_freq, self.mode, self.sparse,
                             per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, mode='{self.mode}'"
