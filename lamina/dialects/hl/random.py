"""`hl.random`: counter-based random numbers, a pure function of (seed, element index).

Every backend must reproduce the integer hash below bit-exactly; it uses only
32-bit unsigned arithmetic (wrapping `*` and `+`, `^`, logical `>>`), so it is
the same in numpy (`np.uint32` arrays), C (`uint32_t`) and Triton (`tl.uint32`).

    fmix32(x):                       # murmur3's finalizer, all ops mod 2**32
        x ^= x >> 16; x *= 0x85EBCA6B
        x ^= x >> 13; x *= 0xC2B2AE35
        x ^= x >> 16; return x

    seed (int64) -> lo = seed & 0xFFFFFFFF, hi = (seed >> 32) & 0xFFFFFFFF   (two's complement)
    key  = fmix32(lo ^ fmix32(hi ^ 0x9E3779B9))        # once per op
    bits(c) = fmix32(fmix32(c ^ key) + key)            # c: a uint32 counter

Element i (row-major linear index of the result, as uint32) gets:

- `dist="bits"` (result i64): bits(i), a value in [0, 2**32).
- `dist="uniform"` (float result): (bits(i) >> (32 - m)) * 2**-m, a value in [0, 1) on a
  grid of 2**-m, where m = 11 for f16, 8 for bf16 and 24 for f32/f64 (the float's
  significand, so the value is exact in the result type and never rounds up to 1).
- `dist="normal"` (float result): Box–Muller in float32 over two counters,
  u1 = ((bits(2i) >> 8) + 1) * 2**-24 in (0, 1], u2 = (bits(2i+1) >> 8) * 2**-24,
  z = sqrt(-2 * log(u1)) * cos(2*pi * u2), then cast to the result type. (2i and 2i+1
  wrap mod 2**32.) The bits and uniforms are bit-exact across backends; normals agree
  up to the float32 rounding of log/cos/sqrt in each backend's math library.

Not differentiable: the result does not depend smoothly on anything.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.irdl import irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure

from lamina import dtypes
from lamina.dialects.hl.base import HlOp, dtype_of, require, shape_of, str_prop
from lamina.errors import DTypeError

DISTRIBUTIONS = ("uniform", "normal", "bits")
GOLDEN = 0x9E3779B9
_U32 = np.uint32


def fmix32(x: np.ndarray) -> np.ndarray:
    """murmur3's 32-bit finalizer on a uint32 array (wrapping arithmetic)."""
    x = x ^ (x >> _U32(16))
    x = x * _U32(0x85EBCA6B)
    x = x ^ (x >> _U32(13))
    x = x * _U32(0xC2B2AE35)
    return x ^ (x >> _U32(16))


def key_of(seed: int) -> np.uint32:
    """The per-op key derived from a 64-bit seed."""
    lo = _U32(int(seed) & 0xFFFFFFFF)
    hi = _U32((int(seed) >> 32) & 0xFFFFFFFF)
    with np.errstate(over="ignore"):
        return fmix32(np.array(lo ^ fmix32(np.array(hi ^ _U32(GOLDEN)))))


def random_bits(seed: int, counters: np.ndarray) -> np.ndarray:
    """bits(c) for an array of uint32 counters."""
    key = key_of(seed)
    with np.errstate(over="ignore"):
        return fmix32(fmix32(counters.astype(_U32) ^ key) + key)


def uniform_bits(dt: dtypes.DType) -> int:
    """How many top bits of the hash make a uniform of this dtype (see module docstring)."""
    return {dtypes.float16: 11, dtypes.bfloat16: 8}.get(dt, 24)


def sample(seed: int, shape: tuple[int, ...], dist: str, dt: dtypes.DType) -> np.ndarray:
    """The numpy spec of `hl.random`."""
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.uint64).astype(_U32)
    if dist == "bits":
        return random_bits(seed, i).astype(np.int64).reshape(shape)
    if dist == "uniform":
        m = uniform_bits(dt)
        top = random_bits(seed, i) >> _U32(32 - m)
        return (top.astype(np.float32) * np.float32(2.0 ** -m)).reshape(shape)
    with np.errstate(over="ignore"):
        two_i = i * _U32(2)
        b1, b2 = random_bits(seed, two_i), random_bits(seed, two_i + _U32(1))
    scale = np.float32(2.0 ** -24)
    u1 = ((b1 >> _U32(8)) + _U32(1)).astype(np.float32) * scale
    u2 = (b2 >> _U32(8)).astype(np.float32) * scale
    radius = np.sqrt(np.float32(-2.0) * np.log(u1))
    z = radius * np.cos(np.float32(2.0 * np.pi) * u2)
    return z.astype(np.float32).reshape(shape)


@irdl_op_definition
class RandomOp(HlOp):
    """Counter-based random tensor from a 0-d int64 seed (the hash is in the module docstring).
    `%r = hl.random %seed dist="uniform" : tensor<i64> -> tensor<4x8xf32>`"""

    name = "hl.random"
    seed = operand_def(TensorType)
    result = result_def(TensorType)
    dist = str_prop()
    traits = traits_def(Pure())
    DIFFERENTIABLE: ClassVar = False

    @classmethod
    def infer(cls, types, props, result_type):
        (seed,) = types
        require(result_type is not None, "needs a result type")
        require(shape_of(seed) == () and dtype_of(seed) == dtypes.int64,
                f"seed must be a 0-d int64 tensor, got {seed}", DTypeError)
        dist, dt = props["dist"], dtype_of(result_type)
        require(dist in DISTRIBUTIONS, f"dist {dist!r} is not one of {list(DISTRIBUTIONS)}")
        if dist == "bits":
            require(dt == dtypes.int64, f"dist 'bits' needs an i64 result, got {result_type}",
                    DTypeError)
        else:
            require(dt.is_floating_point, f"dist {dist!r} needs a floating-point result, "
                    f"got {result_type}", DTypeError)
        return result_type

    def reference(self, seed):
        dt = dtype_of(self.out.type)
        out = sample(int(seed), shape_of(self.out.type), self.prop("dist"), dt)
        return out.astype(dt.np_dtype)


__all__ = ["RandomOp"]
