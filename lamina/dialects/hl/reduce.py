"""Reductions over a set of dims (the reduced dims are removed; the frontend
reshapes for keepdim=True), and argmax/argmin over one dim."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import TensorType, i64
from xdsl.irdl import irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure

from lamina.dialects.hl.base import (
    HlOp,
    element_of,
    int_prop,
    ints_prop,
    require,
    require_dims,
    shape_of,
)
from lamina.dialects.hl.indexing import PadOp, ReverseOp


def _kept_shape(shape: tuple[int, ...], dims: tuple[int, ...]) -> list[int]:
    return [n for i, n in enumerate(shape) if i not in dims]


class ReduceOp(HlOp):
    """Reduce `dims` of the operand with one combiner."""

    input = operand_def(TensorType)
    result = result_def(TensorType)
    dims = ints_prop()
    traits = traits_def(Pure())
    NUMPY_FN: ClassVar = None

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        dims, shape = props["dims"], shape_of(t)
        require_dims(dims, len(shape))
        return TensorType(element_of(t), _kept_shape(shape, dims))

    def reference(self, x):
        return type(self).NUMPY_FN(x, axis=self.prop("dims"))

    def _expand(self, v, x):
        """Re-insert the reduced dims of `v` as size 1 and broadcast to x's shape."""
        dims = self.prop("dims")
        kept = [n if i not in dims else 1 for i, n in enumerate(x.shape)]
        return v.reshape(kept).broadcast_to(x.shape)


@irdl_op_definition
class ReduceSumOp(ReduceOp):
    """Sum over dims.  `%r = hl.reduce_sum %x dims=[1] : tensor<4x8xf32> -> tensor<4xf32>`"""

    name = "hl.reduce_sum"
    NUMPY_FN: ClassVar = np.sum

    def vjp(self, ct, out, x):
        return (self._expand(ct, x),)


@irdl_op_definition
class ReduceProdOp(ReduceOp):
    """Product over dims.  `%r = hl.reduce_prod %x dims=[1] : tensor<4x8xf32> -> tensor<4xf32>`"""

    name = "hl.reduce_prod"
    NUMPY_FN: ClassVar = np.prod

    def vjp(self, ct, out, x):
        # d prod / d x_i is the product of the other elements: the exclusive products
        # from the left and from the right, multiplied (no division: exact at zeros,
        # and finite where prod / x_i would be inf / x_i)
        dims = self.prop("dims")
        kept = [d for d in range(x.ndim) if d not in dims]
        k, n = int(np.prod([x.shape[d] for d in kept])), int(np.prod([x.shape[d] for d in dims]))
        rows = x.permute(*kept, *dims).reshape((k, n))
        others = _exclusive_products(rows) * _reverse(_exclusive_products(_reverse(rows)))
        grad = ct.reshape((k, 1)).broadcast_to((k, n)) * others
        moved = grad.reshape([x.shape[d] for d in (*kept, *dims)])
        return (moved.permute(*np.argsort([*kept, *dims])),)


def _shift_right(v, k: int):
    """`v` (k rows, n columns) moved k columns to the right, ones coming in."""
    return v.builder.emit(PadOp, v, low=(0, k), high=(0, -k), interior=(0, 0), value=1.0)


def _exclusive_products(v):
    """Row-wise exclusive prefix products: out[:, j] = prod(v[:, :j]) (a Hillis-Steele
    scan: log2(n) steps of one multiply each)."""
    step = 1
    while step < v.shape[1]:
        v = v * _shift_right(v, step)
        step *= 2
    return _shift_right(v, 1)


def _reverse(v):
    return v.builder.emit(ReverseOp, v, dims=(1,))


class _ReduceExtremumOp(ReduceOp):
    def vjp(self, ct, out, x):
        # the gradient is shared evenly among tied extrema, as torch.amax does
        hits = (x == self._expand(out, x)).to(ct.dtype)
        count = self._expand(hits.sum(self.prop("dims")), x)
        return (self._expand(ct, x) * hits / count,)


@irdl_op_definition
class ReduceMaxOp(_ReduceExtremumOp):
    """Maximum over dims (NaN propagates).  `%r = hl.reduce_max %x dims=[1] : tensor<4x8xf32> -> tensor<4xf32>`"""

    name = "hl.reduce_max"
    NUMPY_FN: ClassVar = np.max


@irdl_op_definition
class ReduceMinOp(_ReduceExtremumOp):
    """Minimum over dims (NaN propagates).  `%r = hl.reduce_min %x dims=[1] : tensor<4x8xf32> -> tensor<4xf32>`"""

    name = "hl.reduce_min"
    NUMPY_FN: ClassVar = np.min


class _ArgOp(HlOp):
    input = operand_def(TensorType)
    result = result_def(TensorType)
    dim = int_prop()
    traits = traits_def(Pure())
    DIFFERENTIABLE: ClassVar = False
    NUMPY_FN: ClassVar = None

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        shape, dim = shape_of(t), props["dim"]
        require(0 <= dim < len(shape), f"dim {dim} out of range for rank {len(shape)}")
        require(shape[dim] > 0, f"cannot take {cls.name} of an empty dim")
        return TensorType(i64, _kept_shape(shape, (dim,)))

    def reference(self, x):
        return type(self).NUMPY_FN(x, axis=self.prop("dim")).astype(np.int64)


@irdl_op_definition
class ArgMaxOp(_ArgOp):
    """Index of the first maximum along dim.  `%r = hl.argmax %x dim=1 : tensor<4x8xf32> -> tensor<4xi64>`"""

    name = "hl.argmax"
    NUMPY_FN: ClassVar = np.argmax


@irdl_op_definition
class ArgMinOp(_ArgOp):
    """Index of the first minimum along dim.  `%r = hl.argmin %x dim=1 : tensor<4x8xf32> -> tensor<4xi64>`"""

    name = "hl.argmin"
    NUMPY_FN: ClassVar = np.argmin
