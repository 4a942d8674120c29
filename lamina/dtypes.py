"""lamina's dtypes: one table mapping each dtype to numpy and to its xDSL element type.

Type promotion follows PyTorch (`torch.result_type`): categories bool < integer <
floating; within a category the wider type wins (uint8 with a signed type needs the
next wider signed one). Operands come in three ranks of priority: tensors with dims,
0-d tensors, Python scalars. A lower rank only matters when its category is higher
than every higher rank's, and then only decides the category: `f16_tensor * 2.0`
stays f16, `i32_tensor + 1` stays i32, `i32_tensor + f64_0d_tensor` is f64,
`i32_tensor ** 2.0` is f32. uint16/uint32/uint64 (as in torch) promote with floats
only: mixing them with another integer or bool dtype is a `DTypeError`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    Signedness,
    bf16,
    f16,
    f32,
    f64,
)
from xdsl.ir import Attribute

from lamina.errors import DTypeError, with_location


@dataclass(frozen=True)
class DType:
    """A tensor element type: `lm.float32`, `lm.int64`, `lm.bool`, ..."""

    name: str
    numpy_type: type | str  # a numpy scalar type, or "ml_dtypes.NAME"
    ir_type: Attribute
    category: int  # 0 bool, 1 integer, 2 floating
    bits: int

    @functools.cached_property
    def np_dtype(self) -> np.dtype:
        # ml_dtypes (bfloat16) takes ~0.5 s to import: only a program that uses
        # bfloat16 data loads it, never the compiler core or lamina-opt
        if isinstance(self.numpy_type, str):
            import ml_dtypes

            return np.dtype(getattr(ml_dtypes, self.numpy_type.removeprefix("ml_dtypes.")))
        return np.dtype(self.numpy_type)

    @property
    def is_floating_point(self) -> bool:
        return self.category == 2

    @property
    def itemsize(self) -> int:
        return np.dtype(self.np_dtype).itemsize

    def __repr__(self) -> str:
        return f"lamina.{self.name}"


float64 = DType("float64", np.float64, f64, 2, 64)
float32 = DType("float32", np.float32, f32, 2, 32)
float16 = DType("float16", np.float16, f16, 2, 16)
bfloat16 = DType("bfloat16", "ml_dtypes.bfloat16", bf16, 2, 16)
int64 = DType("int64", np.int64, IntegerType(64), 1, 64)
int32 = DType("int32", np.int32, IntegerType(32), 1, 32)
int16 = DType("int16", np.int16, IntegerType(16), 1, 16)
int8 = DType("int8", np.int8, IntegerType(8), 1, 8)
uint8 = DType("uint8", np.uint8, IntegerType(8, Signedness.UNSIGNED), 1, 8)
uint16 = DType("uint16", np.uint16, IntegerType(16, Signedness.UNSIGNED), 1, 16)
uint32 = DType("uint32", np.uint32, IntegerType(32, Signedness.UNSIGNED), 1, 32)
uint64 = DType("uint64", np.uint64, IntegerType(64, Signedness.UNSIGNED), 1, 64)
bool_ = DType("bool", np.bool_, IntegerType(1), 0, 1)

ALL: tuple[DType, ...] = (
    float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, uint16, uint32,
    uint64, bool_,
)
# torch's "limited support" unsigned types: they promote with floating types only
_LIMITED = (uint16, uint32, uint64)
FLOATING = tuple(d for d in ALL if d.is_floating_point)
_BY_NP = {np.dtype(d.numpy_type): d for d in ALL if not isinstance(d.numpy_type, str)}
_BY_IR = {d.ir_type: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL} | {"float": float32, "double": float64, "half": float16,
                                         "long": int64, "int": int32}

# numpy types lamina has no dtype of, mapped to the nearest one (as torch.from_numpy
# would refuse them, we convert instead of failing).
_NP_FALLBACK = {
    np.dtype(np.longdouble): float64,
}


def from_numpy(dt: np.dtype | type) -> DType:
    dt = np.dtype(dt)
    if dt in _BY_NP:
        return _BY_NP[dt]
    if "ml_dtypes" in sys.modules and dt == bfloat16.np_dtype:
        return bfloat16  # (a bfloat16 array exists only once ml_dtypes is loaded)
    if dt in _NP_FALLBACK:
        return _NP_FALLBACK[dt]
    raise DTypeError(with_location(
        f"lamina has no dtype for numpy dtype {dt} (supported: "
        f"{', '.join(sorted(d.name for d in ALL))})"))


def from_ir(t: Attribute) -> DType:
    if t in _BY_IR:
        return _BY_IR[t]
    if isinstance(t, IntegerType) and t.signedness.data == Signedness.SIGNED:
        return _BY_IR[IntegerType(t.width.data)]
    raise TypeError(f"lamina has no dtype for element type {t}")


def as_dtype(x: DType | str | np.dtype | type | None) -> DType:
    """Accept lamina dtypes, their names, numpy dtypes, torch dtypes and Python's
    bool/int/float; anything else is a `DTypeError` (a TypeError, as torch's)."""
    if isinstance(x, DType):
        return x
    if x is bool:
        return bool_
    if x is int:
        return int64
    if x is float:
        return float32
    if isinstance(x, str) and x in _BY_NAME:
        return _BY_NAME[x]
    if hasattr(x, "dtype") and not isinstance(x, np.dtype | type):  # a torch dtype name, say
        x = x.dtype
    name = str(x).removeprefix("torch.")
    if name in _BY_NAME:
        return _BY_NAME[name]
    try:
        dt = np.dtype(x)  # type: ignore[arg-type]
    except TypeError:
        raise DTypeError(with_location(
            f"{x!r} is not a dtype (use lm.float32, 'float32', numpy or torch dtypes)")) from None
    return from_numpy(dt)


def is_float_ir(t: Attribute) -> bool:
    return isinstance(t, Float16Type | BFloat16Type | Float32Type | Float64Type)


def promote(a: DType, b: DType) -> DType:
    """PyTorch's promotion of two tensor dtypes (`torch.promote_types`)."""
    if a == b:
        return a
    if (a in _LIMITED or b in _LIMITED) and not (a.is_floating_point or b.is_floating_point):
        raise DTypeError(with_location(
            f"promotion of {a.name} with {b.name} is not supported (as in torch, uint16, "
            "uint32 and uint64 promote with floating-point types only); convert one with "
            ".to(dtype)"))
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == 2:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.bits > b.bits else b
    if a.category == 1:
        if uint8 in (a, b):  # uint8 with a signed type needs the next wider signed type
            other = b if a == uint8 else a
            return int16 if other == int8 else other
        return a if a.bits > b.bits else b
    return a


def scalar_category(x: bool | int | float) -> int:
    if isinstance(x, bool | np.bool_):
        return 0
    if isinstance(x, int | np.integer):
        return 1
    return 2


def scalar_dtype(x: bool | int | float) -> DType:
    """The dtype a Python number stands for in promotion: bool, int64 or float32."""
    return (bool_, int64, default_float())[scalar_category(x)]


def _combine(higher: DType | None, lower: DType | None) -> DType | None:
    """torch's combine_categories: a lower-priority group only counts when its category
    is higher, and then a float group's width is taken only if `higher` is bool/int."""
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher == bool_ or lower.is_floating_point:
        return promote(higher, lower)
    return higher


def _fold(group: Sequence[DType]) -> DType | None:
    return functools.reduce(promote, group) if group else None


def result_type(dimensioned: Sequence[DType], zero_dim: Sequence[DType] = (),
                scalars: Sequence[bool | int | float] = ()) -> DType:
    """`torch.result_type` of tensors with dims, 0-d tensors and Python numbers."""
    wrapped = _fold([scalar_dtype(x) for x in scalars])
    out = _combine(_fold(dimensioned), _combine(_fold(zero_dim), wrapped))
    if out is None:
        raise ValueError("result_type needs at least one operand")
    return out


def promote_with_scalar(t: DType, scalar: bool | int | float) -> DType:
    """A weak Python scalar only raises the category: f16 * 2.0 is f16, i32 * 2.5 is f32."""
    return result_type([t], (), [scalar])


def wrap_int(value: int, dt: DType) -> int:
    """A Python int converted to integer dtype `dt` as torch does (two's complement
    wraparound: uint8 -1 is 255, int8 1000 is -24)."""
    mask = (1 << dt.bits) - 1
    v = int(value) & mask
    signed = not (dt in _LIMITED or dt == uint8)
    return v - (1 << dt.bits) if signed and v >> (dt.bits - 1) else v


_default_float: list[DType] = []  # set by set_default_dtype (empty: float32)


def default_float() -> DType:
    """The dtype Python floats and the float factories get (torch's default dtype)."""
    return _default_float[-1] if _default_float else float32


def set_default_float(dtype: DType) -> None:
    if not dtype.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, "
                        f"got {dtype.name}")
    _default_float[:] = [dtype]
