"""`lm.nn.utils.rnn`: padding sequences of different lengths into one tensor."""

from __future__ import annotations

from collections.abc import Sequence

from lamina.errors import ShapeError, with_location
from lamina.frontend import movement
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
