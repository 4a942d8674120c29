"""Datasets with torch.utils.data's classes and semantics: map-style `Dataset`,
`IterableDataset`, `TensorDataset`, `Subset`, `ConcatDataset`, `ChainDataset`, and
`random_split` (lengths or fractions)."""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from lamina import errors
from lamina.errors import ArgumentError, with_location
from lamina.frontend.tensor import Tensor
from lamina.utils.random import Generator, numpy_stream

__all__ = ["ChainDataset", "ConcatDataset", "Dataset", "IterableDataset", "Subset",
           "TensorDataset", "random_split"]

_ValueError = errors.like(ArgumentError, ValueError)


class Dataset:
    """A map-style dataset: `__getitem__(index)` and, usually, `__len__`."""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: `__iter__`. In a DataLoader with workers each worker runs
    its own copy; `get_worker_info()` tells it which share to produce."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


def _row(t: Any, index: Any) -> Any:
    """t[index]; a concrete tensor outside autograd is indexed on its array (no
    program per index), as torch's indexing returns a view."""
    if isinstance(t, Tensor) and not t.requires_grad:
        return Tensor._wrap(t.numpy()[index])
    return t[index]


class TensorDataset(Dataset):
    """Samples are the tensors' rows at one index: `(t0[i], t1[i], ...)`."""

    def __init__(self, *tensors: Any):
        if any(len(tensors[0]) != len(t) for t in tensors):
            raise _ValueError(with_location("TensorDataset: Size mismatch between tensors"))
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple[Any, ...]:
        return tuple(_row(t, index) for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])


class Subset(Dataset):
    """The samples of `dataset` at `indices`."""

    def __init__(self, dataset: Any, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list[Any]:
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[idx] for idx in indices])
        return [self.dataset[self.indices[idx]] for idx in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Map-style datasets one after another."""

    def __init__(self, datasets: Iterable[Any]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise _ValueError(with_location("datasets should not be an empty iterable"))
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise _ValueError(with_location(
                    "ConcatDataset does not support IterableDataset"))
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):
                raise errors.like(ArgumentError, ValueError)(with_location(
                    "absolute value of index should not exceed dataset length"))
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx - (self.cumulative_sizes[dataset_idx - 1] if dataset_idx else 0)
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another."""

    def __init__(self, datasets: Iterable[Any]):
        self.datasets = datasets

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def random_split(dataset: Any, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths, or fractions
    summing to 1 (the remainder spread one by one over the first subsets, as torch)."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise _ValueError(with_location(f"Fraction at index {i} is not between 0 and 1"))
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, length in enumerate(counts):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              "empty dataset.", stacklevel=2)
        lengths = counts
    if sum(lengths) != n:
        raise _ValueError(with_location(
            "Sum of input lengths does not equal the length of the input dataset!"))
    indices = numpy_stream(generator).permutation(int(sum(lengths))).tolist()
    ends = list(itertools.accumulate(int(x) for x in lengths))
    return [Subset(dataset, indices[end - int(length):end])
            for end, length in zip(ends, lengths, strict=True)]


