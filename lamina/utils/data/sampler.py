"""Samplers with torch's classes and checks: which indices a DataLoader reads, and
in which order. Random ones draw from a `lm.Generator` (or, without one, a stream
seeded from lamina's global RNG at each epoch, as torch seeds from its own)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from lamina import errors
from lamina.errors import ArgumentError, with_location
from lamina.utils.random import Generator, numpy_stream

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]

_ValueError = errors.like(ArgumentError, ValueError)
_TypeError = errors.like(ArgumentError, TypeError)


class Sampler:
    """An iterable of indices (or of lists of indices, for a batch sampler)."""

    def __init__(self, data_source: Any = None):
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source: Any):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh permutation each epoch, or `num_samples` draws with replacement."""

    def __init__(self, data_source: Any, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise _TypeError(with_location(
                f"replacement should be a boolean value, but got replacement={replacement}"))
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise _ValueError(with_location(
                f"num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"))

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        rng = numpy_stream(self.generator)
        if self.replacement:
            yield from rng.integers(0, n, self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n).tolist()[:self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order, each epoch."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None):
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in numpy_stream(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices 0..len(weights)-1 drawn with probabilities proportional to `weights`."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Generator | None = None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) \
                or num_samples <= 0:
            raise _ValueError(with_location(
                f"num_samples should be a positive integer value, but got "
                f"num_samples={num_samples}"))
        if not isinstance(replacement, bool):
            raise _ValueError(with_location(
                f"replacement should be a boolean value, but got replacement={replacement}"))
        weights_array = np.asarray(weights, dtype=np.float64)
        if weights_array.ndim != 1:
            raise _ValueError(with_location(
                f"weights should be a 1d sequence but given weights have shape "
                f"{tuple(weights_array.shape)}"))
        if (weights_array < 0).any() or not np.isfinite(weights_array).all() \
                or weights_array.sum() <= 0:
            raise errors.like(ArgumentError, RuntimeError)(with_location(
                "WeightedRandomSampler: weights must be finite, non-negative and not all zero"))
        if not replacement and num_samples > np.count_nonzero(weights_array):
            raise errors.like(ArgumentError, RuntimeError)(with_location(
                "WeightedRandomSampler: cannot sample n_sample > prob_dist.size(-1) samples "
                "without replacement"))
        self.weights = weights_array
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        p = self.weights / self.weights.sum()
        rng = numpy_stream(self.generator)
        yield from rng.choice(len(p), self.num_samples, replace=self.replacement, p=p).tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of `batch_size` indices from `sampler` (the last one shorter unless
    `drop_last`)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise _ValueError(with_location(
                f"batch_size should be a positive integer value, but got "
                f"batch_size={batch_size}"))
        if not isinstance(drop_last, bool):
            raise _ValueError(with_location(
                f"drop_last should be a boolean value, but got drop_last={drop_last}"))
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
