"""Comparisons, select and cast: the elementwise ops that change or choose by type."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import TensorType, i1
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure

from lamina.dialects.hl.base import (
    dtype_of,
    element_of,
    require,
    require_same_types,
    shape_of,
    tensor_type,
)
from lamina.dialects.hl.elementwise.binary import BinaryOp
from lamina.dialects.hl.elementwise.unary import ElementwiseOp
from lamina.dialects.scalar import Scalars, compute_type, is_float, is_unsigned
from lamina.errors import DTypeError

# ---------------------------------------------------------------- comparisons


class CompareOp(BinaryOp):
    """A comparison; the result is a bool (i1) tensor of the operands' shape.
    `PREDICATES` names its `arith.cmpf` predicate, then its signed and unsigned
    `arith.cmpi` predicates."""

    DIFFERENTIABLE: ClassVar = False
    PREDICATES: ClassVar[tuple[str, str, str]]

    @classmethod
    def infer(cls, types, props, result_type):
        require_same_types(cls.name, types)
        return tensor_type(i1, shape_of(types[0]))

    def scalar(self, s, a, b):
        t = self.compute_type()
        floating, signed, unsigned = self.PREDICATES
        if is_float(t):
            return s.op(arith.CmpfOp(a, b, floating))
        return s.op(arith.CmpiOp(a, b, unsigned if self.is_unsigned() or t == i1 else signed))


@irdl_op_definition
class EqOp(CompareOp):
    """a == b.  `%r = hl.eq %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.eq"
    PREDICATES: ClassVar = ("oeq", "eq", "eq")

    def reference(self, a, b):
        return np.equal(a, b)


@irdl_op_definition
class NeOp(CompareOp):
    """a != b.  `%r = hl.ne %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.ne"
    PREDICATES: ClassVar = ("une", "ne", "ne")

    def reference(self, a, b):
        return np.not_equal(a, b)


@irdl_op_definition
class LtOp(CompareOp):
    """a < b.  `%r = hl.lt %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.lt"
    PREDICATES: ClassVar = ("olt", "slt", "ult")

    def reference(self, a, b):
        return np.less(a, b)


@irdl_op_definition
class LeOp(CompareOp):
    """a <= b.  `%r = hl.le %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.le"
    PREDICATES: ClassVar = ("ole", "sle", "ule")

    def reference(self, a, b):
        return np.less_equal(a, b)


@irdl_op_definition
class GtOp(CompareOp):
    """a > b.  `%r = hl.gt %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.gt"
    PREDICATES: ClassVar = ("ogt", "sgt", "ugt")

    def reference(self, a, b):
        return np.greater(a, b)


@irdl_op_definition
class GeOp(CompareOp):
    """a >= b.  `%r = hl.ge %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>`"""

    name = "hl.ge"
    PREDICATES: ClassVar = ("oge", "sge", "uge")

    def reference(self, a, b):
        return np.greater_equal(a, b)


# ---------------------------------------------------------------- select, cast


@irdl_op_definition
class SelectOp(ElementwiseOp):
    """cond ? a : b.  `%r = hl.select %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>`"""

    name = "hl.select"
    cond = operand_def(TensorType)
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        c, a, b = types
        require(c.get_element_type() == i1, f"condition must be a bool tensor, got {c}",
                DTypeError)
        require_same_types(cls.name, [a, b])
        require(shape_of(c) == shape_of(a),
                f"condition shape {shape_of(c)} differs from value shape {shape_of(a)}")
        return a

    def reference(self, c, a, b):
        return np.where(c, a, b)

    def vjp(self, ct, out, c, a, b):
        zero = ct.zeros_like()
        return (None, ct.builder.select(c, ct, zero), ct.builder.select(c, zero, ct))

    def scalar(self, s, c, a, b):
        return s.op(arith.SelectOp(c, a, b))


def convert(s: Scalars, x: SSAValue, src: Attribute, dst: Attribute) -> SSAValue:
    """A compute-type scalar of element type `src` as element type `dst`, with torch's
    semantics (float -> int truncates toward zero; anything -> bool is `!= 0`)."""
    ts, td = compute_type(src), compute_type(dst)
    if dst == i1:
        if is_float(ts):
            return s.op(arith.CmpfOp(x, s.const(0.0, ts), "une"))
        return x if ts == i1 else s.op(arith.CmpiOp(x, s.const(0, ts), "ne"))
    if is_float(td):
        if is_float(ts):
            if ts == td:
                return x
            wider = td.bitwidth > ts.bitwidth  # type: ignore[attr-defined]
            return s.op(arith.ExtFOp(x, td) if wider else arith.TruncFOp(x, td))
        if ts == i1 or is_unsigned(src):
            return s.op(arith.UIToFPOp(x, td))
        return s.op(arith.SIToFPOp(x, td))
    if is_float(ts):
        return s.op(arith.FPToUIOp(x, td) if is_unsigned(dst) else arith.FPToSIOp(x, td))
    ws, wd = ts.width.data, td.width.data  # type: ignore[attr-defined]
    if ws == wd:
        return x
    if ws > wd:
        return s.op(arith.TruncIOp(x, td))
    if ts == i1 or is_unsigned(src):
        return s.op(arith.ExtUIOp(x, td))
    return s.op(arith.ExtSIOp(x, td))


@irdl_op_definition
class CastOp(ElementwiseOp):
    """Convert the element type; float->int truncates toward zero.
    `%r = hl.cast %x : tensor<4xf32> -> tensor<4xi32>`"""

    name = "hl.cast"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        require(result_type is not None, "needs a result type")
        require(shape_of(result_type) == shape_of(t),
                f"cannot change the shape {shape_of(t)} to {shape_of(result_type)}")
        return result_type

    def reference(self, x):
        target = dtype_of(self.out.type)
        if target.np_dtype == np.bool_:
            return x != 0
        if target.category == 1 and x.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                return np.trunc(x).astype(target.np_dtype)
        return x.astype(target.np_dtype)

    def vjp(self, ct, out, x):
        if not x.dtype.is_floating_point:
            return (None,)
        return (ct.to(x.dtype),)

    def scalar(self, s, x):
        return convert(s, x, element_of(self.operands[0].type), element_of(self.out.type))


__all__ = ["CastOp", "CompareOp", "EqOp", "GeOp", "GtOp", "LeOp", "LtOp", "NeOp", "SelectOp",
           "convert"]
