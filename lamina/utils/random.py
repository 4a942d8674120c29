"""Host-side sampling (DataLoader shuffles, samplers, `random_split`) from an
`lm.Generator` (defined with the samplers in `lamina.frontend.random`).

The stream is numpy's PCG64, so the permutations differ from torch's numbers, but a
seed gives the same ones on every run and machine. Without a generator, samplers
draw their seed from lamina's global stream (`lm.manual_seed` makes them
reproducible), as torch's draw theirs from torch's default generator."""

from __future__ import annotations

import numpy as np

from lamina.frontend import random as _global
from lamina.frontend.random import Generator

__all__ = ["Generator"]

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
