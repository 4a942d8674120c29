"""The losses and distances of `torch.nn.functional` beyond mse/l1/nll/cross_entropy/
bce, as compositions of lamina ops (re-exported by `lm.nn.functional`), each with
torch's formula, its `reduction` (and `'batchmean'` for kl_div) and its edge rules."""

from __future__ import annotations

import math
from typing import Any

from lamina import dtypes
from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import graph, movement
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.nn.functional_activation import logsigmoid

__all__ = [
    "cosine_embedding_loss", "cosine_similarity", "gaussian_nll_loss", "hinge_embedding_loss",
    "huber_loss", "kl_div", "margin_ranking_loss", "multi_margin_loss",
    "multilabel_soft_margin_loss", "pairwise_distance", "poisson_nll_loss", "smooth_l1_loss",
    "soft_margin_loss", "triplet_margin_loss",
]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else O.tensor(x)


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    from lamina.nn.functional import _reduce as reduce

    return reduce(loss, reduction, op)


def _same_shape(input: Tensor, target: Tensor, op: str) -> None:
    if input.shape != target.shape:
        O.broadcast_shapes(input.shape, target.shape, op=op)  # raises if they cannot


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5·d²/beta where |d| < beta, |d| - 0.5·beta elsewhere (l1 for beta = 0)."""
    input, target = _t(input), _t(target)
    if beta < 0:
        raise ArgumentError(with_location(
            f"smooth_l1_loss: beta must be non-negative, got {beta}"))
    _same_shape(input, target, "smooth_l1_loss")
    d = O.abs(input - target)
    if beta == 0:
        return _reduce(d, reduction, "smooth_l1_loss")
    loss = O.where(O.lt(d, beta), d * d * (0.5 / beta), d - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """0.5·d² where |d| < delta, delta·(|d| - 0.5·delta) elsewhere."""
    input, target = _t(input), _t(target)
    if delta <= 0:
        raise ArgumentError(with_location(
            f"huber_loss: delta must be positive, got {delta}"))
    _same_shape(input, target, "huber_loss")
    d = O.abs(input - target)
    loss = O.where(O.lt(d, delta), d * d * 0.5, (d - 0.5 * delta) * delta)
    return _reduce(loss, reduction, "huber_loss")


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target·(log target - input), 0 where target = 0 (`input` holds log-probabilities);
    `reduction='batchmean'` divides the sum by the batch size (dim 0)."""
    input, target = _t(input), _t(target)
    if log_target:
        loss = O.exp(target) * (target - input)
    else:
        safe = O.where(O.gt(target, 0), target, 1)  # log(1) = 0 where target = 0
        loss = O.where(O.eq(target, 0), 0, target * (O.log(safe) - input))
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction, "kl_div")


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: Any = None, eps: float = 1e-8, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    input, target = _t(input), _t(target)
    if log_input:
        loss = O.exp(input) - target * input
    else:
        loss = input - target * O.log(input + eps)
    if full:
        safe = O.where(O.gt(target, 1), target, 2)
        stirling = safe * O.log(safe) - safe + O.log(safe * (2 * math.pi)) * 0.5
        loss = loss + O.where(O.gt(target, 1), stirling, 0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """0.5·(log max(var, eps) + (input - target)² / max(var, eps)) (+ 0.5·log 2π when
    `full`); the clamp of var passes its gradient unchanged, as torch's in-place clamp
    under no_grad does. `var` has the input's shape, or one dim fewer, or a last dim of 1,
    or is a number."""
    input, target = _t(input), _t(target)
    var = var if isinstance(var, Tensor) else O.full((), float(var), dtype=input.dtype)
    if var.shape != input.shape and var.ndim > 0:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ShapeError(with_location(
                f"gaussian_nll_loss: var of shape {list(var.shape)} is of incorrect size for "
                f"an input of shape {list(input.shape)}"))
    if reduction not in ("mean", "sum", "none"):
        raise ArgumentError(with_location(f"gaussian_nll_loss: {reduction} is not valid"))
    if not graph.tracing() and bool(O.any(O.lt(var, 0))):  # (a traced var is not known)
        raise ArgumentError(with_location("gaussian_nll_loss: var has negative entry/entries"))
    clamped = var + O.stop_gradient(O.maximum(var, O.full((), eps, dtype=var.dtype)) - var)
    loss = (O.log(clamped) + (input - target) ** 2 / clamped) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def _norm(x: Tensor, dim: int, keepdim: bool = False) -> Tensor:
    return O.sqrt((x * x).sum(dim, keepdim=keepdim))


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1/max(‖x1‖, eps)) · (x2/max(‖x2‖, eps)) along `dim` (torch ≥ 1.12's form:
    each input normalized first, so large norms do not overflow their product)."""
    x1, x2 = _t(x1), _t(x2)
    shape = O.broadcast_shapes(x1.shape, x2.shape, op="cosine_similarity")
    x1, x2 = O.broadcast_to(x1, shape), O.broadcast_to(x2, shape)
    n1 = O.clamp(_norm(x1, dim, keepdim=True), min=eps)
    n2 = O.clamp(_norm(x2, dim, keepdim=True), min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """‖x1 - x2 + eps‖_p over the last dim."""
    x1, x2 = _t(x1), _t(x2)
    d = x1 - x2 + eps
    dim = -1 if max(x1.ndim, x2.ndim) > 0 else None
    if dim is None:
        return O.abs(d)
    if p == 2:
        return _norm(d, dim, keepdim)
    if p == 1:
        return O.abs(d).sum(dim, keepdim=keepdim)
    if p == math.inf:
        return O.amax(O.abs(d), dim, keepdim)
    if p == 0:
        return O.ne(d, 0).to(d.dtype).sum(dim, keepdim=keepdim)
    return (O.abs(d) ** p).sum(dim, keepdim=keepdim) ** (1.0 / p)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average: Any = None, reduce: Any = None,
                          reduction: str = "mean") -> Tensor:
    """1 - cos where target = 1, max(0, cos - margin) where target = -1; cos as torch
    computes it here: Σ x1·x2 / sqrt((Σ x1² + 1e-12)(Σ x2² + 1e-12))."""
    x1, x2, y = _t(input1), _t(input2), _t(target)
    dim = x1.ndim - 1
    prod = (x1 * x2).sum(dim)
    cos = prod / O.sqrt(((x1 * x1).sum(dim) + 1e-12) * ((x2 * x2).sum(dim) + 1e-12))
    pos = 1 - cos
    neg = O.clamp(cos - margin, min=0)
    loss = O.where(O.eq(y, 1), pos, 0) + O.where(O.eq(y, -1), neg, 0)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    x1, x2, y = _t(input1), _t(input2), _t(target)
    loss = O.clamp(-y * (x1 - x2) + margin, min=0)
    return _reduce(loss, reduction, "margin_ranking_loss")


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """x where target = 1, max(0, margin - x) where target = -1 (torch sums both parts
    where target is neither)."""
    x, y = _t(input), _t(target)
    margin_part = O.where(O.ne(y, 1), O.clamp(margin - x, min=0), 0)
    self_part = O.where(O.ne(y, -1), x, 0)
    return _reduce(margin_part + self_part, reduction, "hinge_embedding_loss")


def soft_margin_loss(input: Tensor, target: Tensor, size_average: Any = None,
                     reduce: Any = None, reduction: str = "mean") -> Tensor:
    """log(1 + e^(-y·x))."""
    x, y = _t(input), _t(target)
    return _reduce(-logsigmoid(y * x), reduction, "soft_margin_loss")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    a, pos, neg = _t(anchor), _t(positive), _t(negative)
    if not (a.ndim == pos.ndim == neg.ndim):
        raise ShapeError(with_location(
            f"triplet_margin_loss: the anchor, positive and negative must have the same "
            f"number of dims, got {a.ndim}, {pos.ndim} and {neg.ndim}"))
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = O.minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    loss = O.clamp(d_pos - d_neg + margin, min=0)
    return _reduce(loss, reduction, "triplet_margin_loss")


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: Any = None, reduce: Any = None,
                                reduction: str = "mean") -> Tensor:
    """-(t·log σ(x) + (1 - t)·log σ(-x)), weighted per class, averaged over classes."""
    x, t = _t(input), _t(target)
    loss = -(t * logsigmoid(x) + (1 - t) * logsigmoid(-x))
    if weight is not None:
        loss = loss * _t(weight)
    loss = loss.mean(x.ndim - 1) if x.ndim else loss
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average: Any = None,
                      reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Σ_{i ≠ y} w_y · max(0, margin - x_y + x_i)^p / C per sample."""
    if p not in (1, 2):
        raise ArgumentError(with_location(f"multi_margin_loss: only p == 1 and p == 2 "
                                          f"supported, got {p}"))
    x, y = _t(input), _t(target)
    if y.dtype not in (dtypes.int64, dtypes.int32):
        raise ArgumentError(with_location(
            f"multi_margin_loss: the target must be class indices (int64), got {y.dtype.name}"))
    rows = x if x.ndim == 2 else x.reshape(1, -1)
    ys = y.reshape(-1)
    n_classes = rows.shape[1]
    if ys.shape[0] != rows.shape[0]:
        raise ShapeError(with_location(
            f"multi_margin_loss: inconsistent target size {list(y.shape)} for an input of "
            f"shape {list(x.shape)}"))
    picked = movement.take_along_dim(rows, ys.unsqueeze(1), 1)
    term = O.clamp(rows - picked + margin, min=0)
    if p == 2:
        term = term * term
    if weight is not None:
        term = term * movement.take_along_dim(_t(weight), ys, 0).unsqueeze(1)
    not_target = O.ne(O.arange(n_classes).unsqueeze(0), ys.unsqueeze(1))
    loss = O.where(not_target, term, 0).sum(1) * (1.0 / n_classes)
    loss = loss if x.ndim == 2 else loss.reshape(())
    return _reduce(loss, reduction, "multi_margin_loss")
