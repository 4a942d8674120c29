"""`hl.scatter_reduce`: scatter_add's sibling for the other combiners (mul, max, min).

The result starts at the combiner's identity (1, the lowest value, the highest value)
and each update is combined into the slice its index names, along `axis`, in index
order. The frontend combines that with `self` (torch.scatter_reduce's include_self)
and supplies torch's gradient rules (lamina/frontend/scatter.py); the op itself has
none. Lowered like scatter_add: one kernel, a seq_for read-modify-write per column.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import TensorType
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def, traits_def
from xdsl.traits import Pure

from lamina import dtypes
from lamina.dialects.hl.base import HlOp, dtype_of, element_of, int_prop, require
from lamina.dialects.hl.indexing import ScatterAddOp, _scatter_layout
from lamina.dialects.scalar import compute_type, is_float, is_unsigned

SCATTER_KINDS = ("mul", "max", "min")
_UFUNC = {"mul": np.multiply, "max": np.maximum, "min": np.minimum}


def identity(kind: str, dt: dtypes.DType) -> bool | int | float:
    """The combiner's neutral element in `dt`."""
    if kind == "mul":
        return True if dt == dtypes.bool_ else (1.0 if dt.is_floating_point else 1)
    low = kind == "max"
    if dt == dtypes.bool_:
        return not low
    if dt.is_floating_point:
        return float("-inf") if low else float("inf")
    info = np.iinfo(dt.np_dtype)
    return int(info.min) if low else int(info.max)


@irdl_op_definition
class ScatterReduceOp(HlOp):
    """A tensor of the result type filled with the identity of `kind` (mul, max, min)
    into whose slices along `axis` the updates are combined at `indices`; max/min
    propagate NaN. `%r = hl.scatter_reduce %i, %u axis=0 kind="max" : (tensor<3xi64>,
    tensor<3x4xf32>) -> tensor<10x4xf32>`"""

    name = "hl.scatter_reduce"
    RECORDS_LOCATION: ClassVar = True
    indices = operand_def(TensorType)
    updates = operand_def(TensorType)
    result = result_def(TensorType)
    axis = int_prop()
    kind = prop_def()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        require(props["kind"] in SCATTER_KINDS,
                f"kind must be one of {', '.join(SCATTER_KINDS)}, got {props['kind']!r}")
        require(dtype_of(types[1]) != dtypes.bool_, "updates must not be bool")
        return ScatterAddOp.infer(types, props, result_type)

    def reference(self, idx, updates):
        out, rows, updates_axis_first = _scatter_layout(self, idx, updates)
        rows[...] = identity(self.prop("kind"), dtype_of(self.out.type))
        with np.errstate(over="ignore", invalid="ignore"):
            _UFUNC[self.prop("kind")].at(rows, idx, updates_axis_first)
        return out

    def identity_value(self) -> bool | int | float:
        return identity(self.prop("kind"), dtype_of(self.out.type))

    def combine(self, s, a, b):
        element = element_of(self.out.type)
        t, kind = compute_type(element), self.prop("kind")
        if is_float(t):
            cls = {"mul": arith.MulfOp, "max": arith.MaximumfOp, "min": arith.MinimumfOp}[kind]
        elif is_unsigned(element):
            cls = {"mul": arith.MuliOp, "max": arith.MaxUIOp, "min": arith.MinUIOp}[kind]
        else:
            cls = {"mul": arith.MuliOp, "max": arith.MaxSIOp, "min": arith.MinSIOp}[kind]
        return s.op(cls(a, b))


__all__ = ["ScatterReduceOp"]
