"""DistributedSampler with torch's semantics: each of `num_replicas` ranks reads its own
`1/num_replicas` of the dataset (rank, rank + n, rank + 2n, ... of one permutation that
every rank draws alike from `seed + epoch`), padded by repeating indices from the start
so every rank gets as many (or trimmed, with `drop_last`). Call `set_epoch` each epoch
for a new order."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from lamina import errors
from lamina.errors import ArgumentError, with_location
from lamina.runtime import collectives
from lamina.utils.data.sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None:
            num_replicas = collectives.current().size
        if rank is None:
            rank = collectives.current().rank
        if rank >= num_replicas or rank < 0:
            raise errors.like(ArgumentError, ValueError)(with_location(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"))
        self.dataset = dataset
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:  # the same permutation on every rank: a stream of seed + epoch
            rng = np.random.Generator(np.random.PCG64(self.seed + self.epoch))
            indices = rng.permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        assert len(indices) == self.total_size
        indices = indices[self.rank:self.total_size:self.num_replicas]
        assert len(indices) == self.num_samples
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
