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

from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import tensor_type
from lamina.errors import ArgumentError, with_location
from lamina.frontend import graph as graphs
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor

_STATE = Tensor._wrap(np.array(0x5EED, dtype=np.int64))


def _tracing_jit() -> bool:
    return graphs.tracing() and graphs.current().kind == "jit"


def manual_seed(seed: int) -> None:
    """Reset the generator: the same seed gives the same samples afterwards."""
    if _tracing_jit():
        _STATE._assign(ops.full((), int(seed), dtype=dtypes.int64))
    else:
        _STATE._set_array(np.array(int(seed), np.int64))



def get_rng_state() -> Tensor:
    """A copy of the generator state (a 0-d int64 tensor)."""
    return Tensor._wrap(np.array(_STATE.numpy()))


def set_rng_state(state: Any) -> None:
    manual_seed(int(np.asarray(state)))


def _next_seed() -> Tensor:
    """The seed for one sampling call; advances the state."""
    if _tracing_jit():
        graph = graphs.current()
        seed_value = Tensor._from_value(_STATE._ssa(graph), graph, False)
        _STATE._assign(ops.add(seed_value, 1))
        return seed_value
    value = int(_STATE.numpy())
    _STATE._set_array(np.array(value + 1, np.int64))
    return Tensor._wrap(np.array(value, np.int64))


def _sample(shape: tuple[int, ...], dist: str, dtype: Any) -> Tensor:
    return ops.emit(hl.RandomOp, _next_seed(), result_type=tensor_type(dtype.ir_type, shape),
                    dist=dist)


def _float_dtype(dtype: Any, op: str) -> dtypes.DType:
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float()
    if not dt.is_floating_point:
        raise ArgumentError(with_location(f"{op}: needs a floating-point dtype, got {dt.name}"))
    return dt


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad and not graphs.tracing():
        return Tensor._wrap(t.numpy(), requires_grad=True)
    return t


def rand(*shape: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    dt = _float_dtype(dtype, "rand")
    return _finish(_sample(ops._new_shape(shape, "rand"), "uniform", dt), requires_grad)


def randn(*shape: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    dt = _float_dtype(dtype, "randn")
    return _finish(_sample(ops._new_shape(shape, "randn"), "normal", dt), requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), dtype: Any = None
            ) -> Tensor:
    """Integers uniform in [low, high) (torch.randint; `randint(high, size)` also works)."""
    if high is None or not isinstance(high, int | np.integer):
        low, high, size = 0, low, size if high is None else high
    if high <= low:
        raise ArgumentError(with_location(f"randint: need low < high, got [{low}, {high})"))
    if high - low > 2**32:
        raise ArgumentError(with_location(f"randint: range [{low}, {high}) exceeds 2**32"))
    bits = _sample(ops._new_shape(size, "randint"), "bits", dtypes.int64)
    out = ops.add(ops.remainder(bits, high - low), low)
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    return out if dt == dtypes.int64 else out.to(dt)


def rand_like(x: Tensor, dtype: Any = None) -> Tensor:
    return rand(*x.shape, dtype=dtype or x.dtype)


def randn_like(x: Tensor, dtype: Any = None) -> Tensor:
    return randn(*x.shape, dtype=dtype or x.dtype)


def randint_like(x: Tensor, low: int, high: int | None = None, dtype: Any = None) -> Tensor:
    return randint(low, high, x.shape, dtype=dtype or x.dtype)


def bernoulli(p: Any) -> Tensor:
    """1.0 with probability p (elementwise), else 0.0; same shape and dtype as `p`."""
    p = p if isinstance(p, Tensor) else ops.tensor(p)
    dt = p.dtype if p.dtype.is_floating_point else dtypes.default_float()
    return ops.lt(rand(*p.shape, dtype=dt), p).to(dt)


def dropout_mask(shape: Sequence[int], p: float, dtype: Any = None) -> Tensor:
    """A bool mask keeping each element with probability 1 - p (True = keep)."""
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(with_location(f"dropout_mask: p must be in [0, 1], got {p}"))
    return ops.ge(rand(*ops._shape_arg(shape), dtype=dtype), p)


def randperm(n: int, dtype: Any = None) -> Tensor:
    """A random permutation of 0..n-1 (ranks of n random keys, computed by comparisons)."""
    keys = _sample((n,), "bits", dtypes.int64)
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


__all__ = ["bernoulli", "dropout_mask", "get_rng_state", "manual_seed", "rand", "rand_like",
           "randint", "randint_like", "randn", "randn_like", "randperm", "set_rng_state"]
