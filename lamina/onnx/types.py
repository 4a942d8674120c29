"""ONNX element types <-> lamina dtypes.

lamina has no uint16/uint32/uint64. They map to the nearest signed type that
holds every value where one exists: uint16 -> int32 and uint32 -> int64 are
exact; uint64 -> int64 is exact below 2**63 and wraps above (two's complement),
the same bits numpy's `astype(np.int64)` gives. Results are converted back to
the element type the model declares, so a uint64 round trip keeps its bits.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from lamina import dtypes
from lamina.errors import DTypeError

__all__ = ["lamina_dtype", "numpy_dtype", "onnx_elem_type", "to_lamina_array"]

_LAMINA_BY_ONNX = {
    TensorProto.FLOAT: dtypes.float32,
    TensorProto.DOUBLE: dtypes.float64,
    TensorProto.FLOAT16: dtypes.float16,
    TensorProto.BFLOAT16: dtypes.bfloat16,
    TensorProto.INT64: dtypes.int64,
    TensorProto.INT32: dtypes.int32,
    TensorProto.INT16: dtypes.int16,
    TensorProto.INT8: dtypes.int8,
    TensorProto.UINT8: dtypes.uint8,
    TensorProto.UINT16: dtypes.int32,
    TensorProto.UINT32: dtypes.int64,
    TensorProto.UINT64: dtypes.int64,
    TensorProto.BOOL: dtypes.bool_,
}

_ONNX_BY_LAMINA = {
    dtypes.float32: TensorProto.FLOAT,
    dtypes.float64: TensorProto.DOUBLE,
    dtypes.float16: TensorProto.FLOAT16,
    dtypes.bfloat16: TensorProto.BFLOAT16,
    dtypes.int64: TensorProto.INT64,
    dtypes.int32: TensorProto.INT32,
    dtypes.int16: TensorProto.INT16,
    dtypes.int8: TensorProto.INT8,
    dtypes.uint8: TensorProto.UINT8,
    dtypes.uint16: TensorProto.UINT16,
    dtypes.uint32: TensorProto.UINT32,
    dtypes.uint64: TensorProto.UINT64,
    dtypes.bool_: TensorProto.BOOL,
}


def lamina_dtype(elem_type: int) -> dtypes.DType:
    """The lamina dtype that carries values of an ONNX element type."""
    if elem_type not in _LAMINA_BY_ONNX:
        name = TensorProto.DataType.Name(elem_type) if elem_type else "undefined"
        raise DTypeError(f"ONNX element type {name} has no lamina dtype")
    return _LAMINA_BY_ONNX[elem_type]


def onnx_elem_type(dt: dtypes.DType) -> int:
    return _ONNX_BY_LAMINA[dt]


def numpy_dtype(elem_type: int) -> np.dtype:
    """The numpy dtype ONNX itself uses for an element type (uint16 stays uint16)."""
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))


def to_lamina_array(array: np.ndarray) -> np.ndarray:
    """An array lamina can hold: unsigned 16/32/64-bit values go to int32/int64."""
    array = np.asarray(array)
    dt = dtypes.from_numpy(array.dtype) if array.dtype.kind != "U" else None
    if dt is None:
        raise DTypeError(f"ONNX strings are not supported (got an array of {array.dtype})")
    return array if array.dtype == dt.np_dtype else array.astype(dt.np_dtype)
