"""Strides as torch keeps them (lamina/frontend/strides.py), against torch itself on
random chains of view ops: `stride()`, `is_contiguous()`, and whether `view(shape)`
exists (torch raises a RuntimeError where it does not)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import lamina as lm


def _step(rng: random.Random, t: torch.Tensor):
    """One random view op applicable to t, as (name, args)."""
    rank = t.ndim
    choices = []
    if rank >= 2:
        d0, d1 = rng.sample(range(rank), 2)
        choices += [("transpose", (d0, d1)), ("permute", tuple(rng.sample(range(rank), rank)))]
    if rank >= 1:
        d = rng.randrange(rank)
        n = t.shape[d]
        if n >= 2:
            start = rng.randrange(n - 1)
            choices += [("narrow", (d, start, rng.randint(1, n - start))),
                        ("chunk", (2, d)), ("select", (d, rng.randrange(n))),
                        ("getitem", (d, slice(rng.randrange(n), None, rng.choice([1, 2]))))]
        choices += [("flatten", ()), ("squeeze", ())]
    if rank <= 3:
        choices += [("unsqueeze", (rng.randint(0, rank),)),
                    ("expand", (rng.choice([1, 2]),))]
    if t.numel() > 0:
        choices.append(("reshape", (-1,)))
    return rng.choice(choices)


def _apply(t, name: str, args: tuple):
    if name == "chunk":
        return t.chunk(*args)[0]
    if name == "getitem":
        d, s = args
        return t[(slice(None),) * d + (s,)]
    if name == "expand":
        return t.expand(args[0], *t.shape)
    if name == "permute":
        return t.permute(*args)
    return getattr(t, name)(*args)


@pytest.mark.parametrize("seed", range(60))
def test_random_view_chains_keep_torchs_strides(seed):
    rng = random.Random(seed)
    shape = tuple(rng.randint(1, 4) for _ in range(rng.randint(1, 4)))
    theirs = torch.zeros(shape)
    ours = lm.zeros(shape)
    for _ in range(rng.randint(1, 5)):
        name, args = _step(rng, theirs)
        theirs, ours = _apply(theirs, name, args), _apply(ours, name, args)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert ours.is_contiguous() == theirs.is_contiguous(), (name, args)
        if theirs.numel():
            sizes = [n for n in theirs.shape if n != 1]
            strides = [s for n, s in zip(theirs.shape, theirs.stride(), strict=True) if n != 1]
            assert [s for n, s in zip(ours.shape, ours.stride(), strict=True) if n != 1] \
                == strides, (name, args, sizes)
    for target in ((-1,), (1, -1), tuple(reversed(theirs.shape)) or (1,)):
        try:
            expected = theirs.view(*target)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                ours.view(*target)
        else:
            np.testing.assert_array_equal(ours.view(*target).numpy(), expected.numpy())


def test_contiguous_makes_a_viewable_copy():
    x = lm.arange(6.0).reshape(2, 3)
    y = x.t().contiguous()
    assert y.is_contiguous() and y.view(-1).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    y.add_(1)  # a copy: the base keeps its values
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
