"""`F.ctc_loss`: connectionist temporal classification (Graves et al., 2006), as torch's.

The forward (alpha) recursion runs over the time steps on the extended targets
(blank, l1, blank, l2, ..., blank), vectorized over the batch and the target
positions; its gradient is the autodiff pass's (the beta recursion falls out of
reverse mode). Log-probabilities are combined by a log-sum-exp whose "impossible"
value is a large finite negative number rather than -inf, so that unreachable
states give zero gradients instead of 0·inf = NaN; a loss that is truly impossible
(a target longer than its input allows) comes out +inf, as torch's, or 0 with
`zero_infinity=True`. The gradient w.r.t. log_probs is torch's: it carries an extra
exp(log_probs) term, which the log_softmax before it cancels (torch assumes
normalized log-probabilities)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, ShapeError, TraceError, with_location
from lamina.frontend import movement
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor

__all__ = ["ctc_loss"]

_IMPOSSIBLE = -1e30  # stands for log(0); far below any reachable log-probability
_LOSS_INF = 1e29  # losses beyond this came from impossible alignments only


def _as_int_tensor(x: Any, name: str) -> Tensor:
    t = x if isinstance(x, Tensor) else O.tensor(np.asarray(x))
    if t.dtype.is_floating_point or t.dtype == dtypes.bool_:
        raise ArgumentError(with_location(f"ctc_loss: {name} must be integers, got {t.dtype.name}"))
    return t if t.dtype == dtypes.int64 else t.to(dtypes.int64)


def _padded_targets(targets: Tensor, target_lengths: Tensor, batch: int) -> Tensor:
    """(N, S) targets: as given, or cut from torch's concatenated 1-D form."""
    if targets.ndim == 2:
        return targets
    try:
        lengths = np.asarray(target_lengths.numpy(), np.int64).reshape(-1)
        flat = np.asarray(targets.numpy(), np.int64)
    except TraceError:
        raise TraceError(with_location(
            "ctc_loss: concatenated (1-D) targets are cut into rows by their lengths, "
            "which must be known: under lm.jit pass targets padded to (N, S), or "
            "capture them as constants")) from None
    if lengths.sum() != flat.shape[0]:
        raise ShapeError(with_location(
            f"ctc_loss: concatenated targets hold {flat.shape[0]} labels but target_lengths "
            f"sum to {int(lengths.sum())}"))
    width = max(int(lengths.max(initial=0)), 1)
    padded = np.zeros((batch, width), np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for n, (s, k) in enumerate(zip(starts, lengths, strict=True)):
        padded[n, :k] = flat[s:s + k]
    return O.tensor(padded)


def _logaddexp3(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    m = O.maximum(O.maximum(a, b), c)
    return m + O.log(O.exp(a - m) + O.exp(b - m) + O.exp(c - m))


def ctc_loss(log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """log_probs (T, N, C) or (T, C) (log-softmax outputs), targets (N, S) padded or the
    1-D concatenation, lengths per sample; 'mean' divides each loss by its target
    length before averaging over the batch, as torch does."""
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
    if log_probs.ndim != 3:
        raise ShapeError(with_location(
            f"ctc_loss: log_probs must be (T, N, C) or (T, C), got {list(log_probs.shape)}"))
    steps, batch, classes = log_probs.shape
    if not 0 <= blank < classes:
        raise ArgumentError(with_location(f"ctc_loss: blank {blank} is not a class of {classes}"))
    if reduction not in ("none", "mean", "sum"):
        raise ArgumentError(with_location(f"ctc_loss: {reduction!r} is not a valid reduction"))
    targets = _as_int_tensor(targets, "targets")
    target_lengths = _as_int_tensor(target_lengths, "target_lengths")
    if unbatched and targets.ndim == 1 and target_lengths.ndim == 0:
        targets = targets.unsqueeze(0)
    targets = _padded_targets(targets, target_lengths, batch)
    input_lengths = _as_int_tensor(input_lengths, "input_lengths").reshape(-1)
    target_lengths = target_lengths.reshape(-1)
    width = targets.shape[1]
    positions = 2 * width + 1

    # the extended targets: blank at even positions, the labels at odd ones
    ext = O.full((batch, positions), blank, dtype=dtypes.int64)
    ext = movement.stack([ext[:, 0::2][:, :width], targets], dim=2).reshape(batch, 2 * width)
    ext = movement.cat([ext, O.full((batch, 1), blank, dtype=dtypes.int64)], dim=1)
    # a skip from s-2 to s is allowed onto a label that differs from the one before it
    shifted = movement.cat([O.full((batch, 2), blank, dtype=dtypes.int64), ext[:, :-2]], dim=1)
    can_skip = O.logical_and(O.ne(ext, blank), O.ne(ext, shifted))

    dt = log_probs.dtype
    impossible = O.full((batch, 1), _IMPOSSIBLE, dtype=dt)
    index = O.arange(positions).reshape(1, positions)
    emit = movement.gather(log_probs[0], 1, ext)
    alpha = O.where(O.lt(index, 2), emit, _IMPOSSIBLE)
    for t in range(1, steps):
        prev1 = movement.cat([impossible, alpha[:, :-1]], dim=1)
        prev2 = movement.cat([impossible, impossible, alpha[:, :-2]], dim=1)
        prev2 = O.where(can_skip, prev2, _IMPOSSIBLE)
        step = _logaddexp3(alpha, prev1, prev2) + movement.gather(log_probs[t], 1, ext)
        alpha = O.where(O.lt(t, input_lengths).reshape(batch, 1), step, alpha)

    last = (2 * target_lengths).reshape(batch, 1)
    end_blank = movement.gather(alpha, 1, last)
    end_label = movement.gather(alpha, 1, O.clamp(last - 1, min=0))
    end_label = O.where(O.gt(last, 0), end_label, _IMPOSSIBLE)
    loss = -(O.maximum(end_blank, end_label) + O.log(
        O.exp(end_blank - O.maximum(end_blank, end_label))
        + O.exp(end_label - O.maximum(end_blank, end_label)))).reshape(batch)
    # torch's backward returns exp(log_probs) - (the true gradient's term) for t below
    # the input length: the gradient through a log_softmax that produced log_probs is
    # the same either way, but torch's answer w.r.t. log_probs themselves has this extra
    # term; it is added here with value 0 (S - stop_gradient(S))
    live = O.lt(O.arange(steps).reshape(steps, 1), input_lengths.reshape(1, batch))
    mass = O.sum(O.where(live.reshape(steps, batch, 1), O.exp(log_probs), 0.0), dim=(0, 2))
    loss = loss + (mass - O.stop_gradient(mass))
    infinite = O.gt(loss, _LOSS_INF)
    loss = O.where(infinite, 0.0 if zero_infinity else float("inf"), loss)
    if reduction == "none":
        return loss[0] if unbatched else loss
    if reduction == "sum":
        return loss.sum()
    return (loss / O.clamp(target_lengths, min=1).to(dt)).mean()
