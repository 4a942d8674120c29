"""`lm.Generator`: a seeded random stream for host-side sampling (DataLoader shuffles,
samplers, `random_split`), with torch.Generator's methods.

The stream is numpy's PCG64, so the permutations differ from torch's numbers, but a
seed gives the same ones on every run and machine. Without a generator, samplers
draw their seed from lamina's global stream (`lm.manual_seed` makes them
reproducible), as torch's draw theirs from torch's default generator."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lamina.frontend import random as _global
from lamina.frontend.tensor import Tensor

__all__ = ["Generator"]

_DEFAULT_SEED = 67280421310721  # torch.Generator().initial_seed()


class Generator:
    def __init__(self, device: Any = "cpu"):
        self.device = device
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self.numpy = np.random.Generator(np.random.PCG64(self._seed & (2**64 - 1)))
        return self

    def seed(self) -> int:
        """Re-seed from the operating system's entropy; returns the seed."""
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0]) >> 1
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The stream's state as a uint8 tensor (as torch's ByteTensor state)."""
        state = {"seed": self._seed, "pcg64": self.numpy.bit_generator.state}
        data = np.frombuffer(json.dumps(state).encode(), dtype=np.uint8).copy()
        return Tensor._wrap(data)

    def set_state(self, new_state: Any) -> Generator:
        state = json.loads(np.asarray(new_state, dtype=np.uint8).tobytes().decode())
        self.manual_seed(state["seed"])
        self.numpy.bit_generator.state = state["pcg64"]
        return self

    def __repr__(self) -> str:
        return f"<lamina.Generator seed={self._seed}>"


def numpy_stream(generator: Generator | None) -> np.random.Generator:
    """The numpy stream to sample from: the generator's, or a fresh one seeded by one
    draw from lamina's global stream."""
    if generator is not None:
        return generator.numpy
    state = int(np.asarray(_global.get_rng_state()))
    _global.set_rng_state(state + 1)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(state & (2**63 - 1))))


def draw_seed(generator: Generator | None) -> int:
    """A non-negative int64 seed drawn from `generator` (or the global stream)."""
    return int(numpy_stream(generator).integers(0, 2**63 - 1))
