"""Random sampling (`lm.manual_seed`, `lm.rand`, `lm.randn`, `lm.randint`, ...).

The generator state is one concrete 0-d int64 `lm.Tensor`. Each sampling call
emits one `hl.random` whose seed is the current state, then advances the state by
one. Inside `lm.jit` the advance is an in-place update (`state._assign(state + 1)`),
so the state becomes a program input and its new value an output written back
after every call: a jitted training step draws fresh dropout masks each call.
Outside jit the state is advanced concretely and the seed enters the eager graph
as an input, so every eager call compiles to the same cached program.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import tensor_type
from lamina.errors import ArgumentError, like, with_location
from lamina.frontend import graph as graphs
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor

_STATE = Tensor._wrap(np.array(0x5EED, dtype=np.int64))
_DEFAULT_SEED = 67280421310721  # torch.Generator().initial_seed()


class Generator:
    """torch.Generator: a random stream of its own. `lm.randn(..., generator=g)` and
    the other samplers draw from it exactly as from the global stream (a counter that
    seeds each `hl.random`, advanced per call: inside `lm.jit` a program input and
    output, so a jitted step draws fresh numbers each call); host-side sampling
    (DataLoader shuffles, `random_split`) draws from its numpy PCG64 stream. Both are
    reset by `manual_seed`, so a seed gives the same numbers on every run."""

    def __init__(self, device: Any = "cpu"):
        self.device = device
        self._counter = Tensor._wrap(np.array(0, dtype=np.int64))
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise ArgumentError(with_location(
                f"Generator.manual_seed: seed must be an int, got {seed!r:.30}"))
        self._seed = int(seed)
        self._counter._set_array(np.array(self._seed & (2**63 - 1), np.int64))
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
        """The generator's state as a uint8 tensor (as torch's ByteTensor state)."""
        state = {"seed": self._seed, "counter": int(self._counter.numpy()),
                 "pcg64": self.numpy.bit_generator.state}
        data = np.frombuffer(json.dumps(state).encode(), dtype=np.uint8).copy()
        return Tensor._wrap(data)

    def set_state(self, new_state: Any) -> Generator:
        state = json.loads(np.asarray(new_state, dtype=np.uint8).tobytes().decode())
        self.manual_seed(state["seed"])
        self._counter._set_array(np.array(state.get("counter", self._seed), np.int64))
        self.numpy.bit_generator.state = state["pcg64"]
        return self

    def __repr__(self) -> str:
        return f"<lamina.Generator seed={self._seed}>"


def _tracing_jit() -> bool:
    return graphs.tracing() and graphs.current().kind == "jit"


def manual_seed(seed: int) -> None:
    """Reset the generator: the same seed gives the same samples afterwards."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):  # torch: TypeError
        raise ArgumentError(with_location(f"manual_seed: seed must be an int, got {seed!r:.30}"))
    if _tracing_jit():
        _STATE._assign(ops.full((), int(seed), dtype=dtypes.int64))
    else:
        _STATE._set_array(np.array(int(seed), np.int64))



def get_rng_state() -> Tensor:
    """A copy of the generator state (a 0-d int64 tensor)."""
    return Tensor._wrap(np.array(_STATE.numpy()))


def set_rng_state(state: Any) -> None:
    manual_seed(int(np.asarray(state)))


def _next_seed(generator: Generator | None = None) -> Tensor:
    """The seed for one sampling call; advances the state (the generator's, if any)."""
    if generator is not None and not isinstance(generator, Generator):
        raise ArgumentError(with_location(
            f"generator must be an lm.Generator, not {type(generator).__name__}"))
    state = _STATE if generator is None else generator._counter
    if _tracing_jit():
        graph = graphs.current()
        seed_value = Tensor._from_value(state._ssa(graph), graph, False)
        state._assign(ops.add(seed_value, 1))
        return seed_value
    value = int(state.numpy())
    state._set_array(np.array(value + 1, np.int64))
    return Tensor._wrap(np.array(value, np.int64))


def _sample(shape: tuple[int, ...], dist: str, dtype: Any,
            generator: Generator | None = None) -> Tensor:
    ops.check_size(shape, dtype, {"uniform": "rand", "normal": "randn"}.get(dist, "randint"))
    return ops.emit(hl.RandomOp, _next_seed(generator),
                    result_type=tensor_type(dtype.ir_type, shape), dist=dist)


def _float_dtype(dtype: Any, op: str) -> dtypes.DType:
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float()
    if not dt.is_floating_point:
        raise like(ArgumentError, NotImplementedError)(with_location(  # torch's class
            f"{op}: needs a floating-point dtype, got {dt.name}"))
    return dt


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad and not graphs.tracing():
        return Tensor._wrap(t.numpy(), requires_grad=True)
    return t


@ops.factory
def rand(*shape: int, generator: Generator | None = None, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    dt = _float_dtype(dtype, "rand")
    return _finish(_sample(ops._new_shape(shape, "rand"), "uniform", dt, generator),
                   requires_grad)


@ops.factory
def randn(*shape: int, generator: Generator | None = None, dtype: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    dt = _float_dtype(dtype, "randn")
    return _finish(_sample(ops._new_shape(shape, "randn"), "normal", dt, generator),
                   requires_grad)


@ops.factory
def randint(low: int, high: int | None = None, size: Sequence[int] = (),
            generator: Generator | None = None, dtype: Any = None) -> Tensor:
    """Integers uniform in [low, high) (torch.randint; `randint(high, size)` also works)."""
    if high is None or not isinstance(high, int | np.integer):
        low, high, size = 0, low, size if high is None else high
    if high <= low:
        raise ArgumentError(with_location(f"randint: need low < high, got [{low}, {high})"))
    if high - low > 2**32:
        raise ArgumentError(with_location(f"randint: range [{low}, {high}) exceeds 2**32"))
    bits = _sample(ops._new_shape(size, "randint"), "bits", dtypes.int64, generator)
    out = ops.add(ops.remainder(bits, high - low), low)
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    return out if dt == dtypes.int64 else out.to(dt)


@ops.factory
def rand_like(x: Tensor, dtype: Any = None) -> Tensor:
    return rand(*x.shape, dtype=dtype or x.dtype)


@ops.factory
def randn_like(x: Tensor, dtype: Any = None) -> Tensor:
    return randn(*x.shape, dtype=dtype or x.dtype)


@ops.factory
def randint_like(x: Tensor, low: int, high: int | None = None, dtype: Any = None) -> Tensor:
    return randint(low, high, x.shape, dtype=dtype or x.dtype)


def bernoulli(p: Any, *, generator: Generator | None = None) -> Tensor:
    """1.0 with probability p (elementwise), else 0.0; same shape and dtype as `p`."""
    p = p if isinstance(p, Tensor) else ops.tensor(p)
    dt = p.dtype if p.dtype.is_floating_point else dtypes.default_float()
    return ops.lt(rand(*p.shape, dtype=dt, generator=generator), p).to(dt)


def dropout_mask(shape: Sequence[int], p: float, dtype: Any = None) -> Tensor:
    """A bool mask keeping each element with probability 1 - p (True = keep)."""
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(with_location(f"dropout_mask: p must be in [0, 1], got {p}"))
    return ops.ge(rand(*ops._shape_arg(shape), dtype=dtype), p)


@ops.factory
def randperm(n: int, *, generator: Generator | None = None, dtype: Any = None) -> Tensor:
    """A random permutation of 0..n-1 (ranks of n random keys, computed by comparisons)."""
    keys = _sample((n,), "bits", dtypes.int64, generator)
    iota = ops.arange(n)
    # rank of key i = #{j: key_j < key_i or (key_j == key_i and j < i)}
    less = ops.lt(keys.reshape(1, n), keys.reshape(n, 1))
    tie = ops.logical_and(ops.eq(keys.reshape(1, n), keys.reshape(n, 1)),
                          ops.lt(iota.reshape(1, n), iota.reshape(n, 1)))
    rank = ops.sum(ops.logical_or(less, tie), dim=1)
    # the permutation puts element i at position rank_i: perm[rank_i] = i
    onehot = ops.eq(rank.reshape(n, 1), iota.reshape(1, n))  # [i, pos]
    perm = ops.sum(ops.mul(onehot.to(dtypes.int64), iota.reshape(n, 1)), dim=0)
    return perm if dtype is None else perm.to(dtype)


__all__ = ["Generator", "bernoulli", "dropout_mask", "get_rng_state", "manual_seed", "rand", "rand_like",
           "randint", "randint_like", "randn", "randn_like", "randperm", "set_rng_state"]
