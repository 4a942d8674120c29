"""`lm.nn.utils.rnn`: padding sequences of different lengths into one tensor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import movement
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor

__all__ = ["pad_sequence", "unpad_sequence"]


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack sequences of shape (L_i, *) into (max L, B, *) (or (B, max L, *))."""
    if not sequences:
        raise ShapeError(with_location("pad_sequence: received an empty list of sequences"))
    longest = max(s.shape[0] for s in sequences)
    trailing = sequences[0].shape[1:]
    padded = []
    for s in sequences:
        if s.shape[1:] != trailing:
            raise ShapeError(with_location(
                f"pad_sequence: sequences must share their trailing dims, got "
                f"{list(trailing)} and {list(s.shape[1:])}"))
        extra = longest - s.shape[0]
        amounts = [0, 0] * len(trailing) + ([0, extra] if padding_side == "right" else [extra, 0])
        padded.append(movement.pad(s, amounts, value=padding_value) if extra else s)
    return movement.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Sequence[int],
                   batch_first: bool = False) -> list[Tensor]:
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(lengths)]


class PackedSequence(NamedTuple):
    """torch's packed layout: `data` holds step 0 of every sequence, then step 1 of those
    that have one, ... (sequences sorted by decreasing length); `batch_sizes[t]` is how
    many sequences have a step t; `sorted_indices` maps sorted to original order."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def _lengths(lengths: Any) -> np.ndarray:
    return np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths,
                      dtype=np.int64).reshape(-1)


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    x = input.transpose(0, 1) if batch_first else input  # time-major
    n = _lengths(lengths)
    if n.size != x.shape[1]:
        raise ShapeError(with_location(
            f"pack_padded_sequence: {n.size} lengths for a batch of {x.shape[1]}"))
    if (n <= 0).any() or (n > x.shape[0]).any():
        raise ArgumentError(with_location(
            f"pack_padded_sequence: lengths must be in [1, {x.shape[0]}], got {n.tolist()}"))
    if enforce_sorted:
        if (np.diff(n) > 0).any():
            raise ArgumentError(with_location(
                "pack_padded_sequence: `lengths` array must be sorted in decreasing order "
                "when `enforce_sorted` is True (pass enforce_sorted=False)"))
        order, sorted_t, unsorted_t = np.arange(n.size), None, None
    else:
        order = np.argsort(-n, kind="stable")
        sorted_t = Tensor._wrap(order.astype(np.int64))
        unsorted_t = Tensor._wrap(np.argsort(order).astype(np.int64))
        x = movement.index_select(x, 1, sorted_t)
    sorted_lengths = n[order]
    batch_sizes = np.array([(sorted_lengths > t).sum() for t in range(int(sorted_lengths[0]))],
                           np.int64)
    data = movement.cat([x[t, :int(b)] for t, b in enumerate(batch_sizes)], 0)
    return PackedSequence(data, Tensor._wrap(batch_sizes), sorted_t, unsorted_t)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None
                        ) -> tuple[Tensor, Tensor]:
    batch_sizes = _lengths(sequence.batch_sizes)
    steps = len(batch_sizes)
    if total_length is not None and total_length < steps:
        raise ArgumentError(with_location(
            f"pad_packed_sequence: total_length {total_length} is shorter than the longest "
            f"sequence ({steps})"))
    batch = int(batch_sizes[0])
    rows, offset = [], 0
    for b in batch_sizes:
        step = sequence.data[offset:offset + int(b)]
        if b < batch:
            pads = [0, 0] * (step.ndim - 1) + [0, batch - int(b)]
            step = movement.pad(step, pads, value=padding_value)
        rows.append(step)
        offset += int(b)
    for _ in range((total_length or steps) - steps):
        rows.append(O.full_like(rows[0], padding_value))
    padded = movement.stack(rows, 0)
    lengths = np.array([(batch_sizes > i).sum() for i in range(batch)], np.int64)
    if sequence.unsorted_indices is not None:
        padded = movement.index_select(padded, 1, sequence.unsorted_indices)
        lengths = lengths[_lengths(sequence.unsorted_indices)]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, Tensor._wrap(lengths)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


__all__ += ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence"]
