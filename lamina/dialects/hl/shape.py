"""Shape hl ops (broadcast_in_dim, reshape, transpose) and creation ops (splat,
constant, iota). Linear ops state their transpose as their gradient rule."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, TensorType
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def, traits_def
from xdsl.traits import Pure

from lamina.dialects.hl.base import (
    HlOp,
    dense_to_numpy,
    dtype_of,
    element_of,
    int_prop,
    ints_prop,
    require,
    shape_of,
)
from lamina.errors import DTypeError

# ---------------------------------------------------------------- shape ops


@irdl_op_definition
class BroadcastInDimOp(HlOp):
    """Broadcast to a larger shape; operand dim i becomes result dim `dims[i]` (size 1 or equal).
    `%r = hl.broadcast_in_dim %x dims=[1] : tensor<8xf32> -> tensor<4x8xf32>`"""

    name = "hl.broadcast_in_dim"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    dims = ints_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        require(result_type is not None, "needs a result type")
        src, dst, dims = shape_of(t), shape_of(result_type), props["dims"]
        require(len(dims) == len(src), f"dims {list(dims)} must name one result dim per "
                f"operand dim (operand rank {len(src)})")
        require(len(set(dims)) == len(dims) and all(0 <= d < len(dst) for d in dims)
                and list(dims) == sorted(dims), f"dims {list(dims)} must be increasing and "
                f"within the result rank {len(dst)}")
        for i, d in enumerate(dims):
            require(src[i] in (1, dst[d]),
                    f"cannot broadcast dim {i} of size {src[i]} to size {dst[d]}")
        require(element_of(t) == element_of(result_type), "element type must not change",
                DTypeError)
        return result_type

    def reference(self, x):
        dst = shape_of(self.out.type)
        expanded = [1] * len(dst)
        for i, d in enumerate(self.prop("dims")):
            expanded[d] = x.shape[i]
        return np.broadcast_to(x.reshape(expanded), dst).copy()

    def vjp(self, ct, out, x):
        return (ct.unbroadcast(x.shape, self.prop("dims")),)


@irdl_op_definition
class ReshapeOp(HlOp):
    """Same elements in row-major order, new shape.
    `%r = hl.reshape %x : tensor<4x8xf32> -> tensor<32xf32>`"""

    name = "hl.reshape"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        require(result_type is not None, "needs a result type")
        n_in, n_out = int(np.prod(shape_of(t))), int(np.prod(shape_of(result_type)))
        require(n_in == n_out, f"cannot reshape {list(shape_of(t))} ({n_in} elements) into "
                f"{list(shape_of(result_type))} ({n_out} elements)")
        require(element_of(t) == element_of(result_type), "element type must not change",
                DTypeError)
        return result_type

    def reference(self, x):
        return x.reshape(shape_of(self.out.type))

    def vjp(self, ct, out, x):
        return (ct.reshape(x.shape),)


@irdl_op_definition
class TransposeOp(HlOp):
    """Permute dimensions: result dim i is operand dim `perm[i]`.
    `%r = hl.transpose %x perm=[1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>`"""

    name = "hl.transpose"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    perm = ints_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        perm, shape = props["perm"], shape_of(t)
        require(sorted(perm) == list(range(len(shape))),
                f"perm {list(perm)} is not a permutation of {len(shape)} dims")
        return TensorType(element_of(t), [shape[p] for p in perm])

    def reference(self, x):
        return np.transpose(x, self.prop("perm"))

    def vjp(self, ct, out, x):
        inverse = tuple(int(i) for i in np.argsort(self.prop("perm")))
        return (ct.permute(*inverse),)


# ---------------------------------------------------------------- creation ops


@irdl_op_definition
class SplatOp(HlOp):
    """A tensor filled with one value.  `%r = hl.splat value=1.5 : tensor<4x8xf32>`"""

    name = "hl.splat"
    result = result_def(TensorType)
    value = prop_def()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        require(result_type is not None, "needs a result type")
        require(isinstance(props["value"], bool | int | float), "value must be a number")
        return result_type

    def reference(self):
        dt = dtype_of(self.out.type).np_dtype
        value = self.prop("value")
        if isinstance(value, int) and not isinstance(value, bool):  # two's complement
            value = np.array(value & ((1 << 8 * dt.itemsize) - 1), np.uint64).astype(dt) \
                if dt.kind in "iu" else value
        return np.full(shape_of(self.out.type), value, dtype=dt)


@irdl_op_definition
class ConstantOp(HlOp):
    """A dense constant.  `%r = hl.constant value=dense<[1.0, 2.0]> : tensor<2xf32> : tensor<2xf32>`"""

    name = "hl.constant"
    result = result_def(TensorType)
    value = prop_def(DenseIntOrFPElementsAttr)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        value = props["value"]
        t = value.get_type()
        require(result_type is None or result_type == t,
                lambda: f"value type {t} differs from result type {result_type}")
        return t

    def reference(self):
        return dense_to_numpy(self.properties["value"])  # type: ignore[arg-type]


@irdl_op_definition
class IotaOp(HlOp):
    """Indices 0, 1, 2, ... along `dim`, broadcast over the other dims.
    `%r = hl.iota dim=0 : tensor<4x8xi64>`"""

    name = "hl.iota"
    result = result_def(TensorType)
    dim = int_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        require(result_type is not None, "needs a result type")
        rank = len(shape_of(result_type))
        require(0 <= props["dim"] < rank, f"dim {props['dim']} out of range for rank {rank}")
        return result_type

    def reference(self):
        shape, dim = shape_of(self.out.type), self.prop("dim")
        view = [1] * len(shape)
        view[dim] = shape[dim]
        values = np.arange(shape[dim]).reshape(view)
        return np.broadcast_to(values, shape).astype(dtype_of(self.out.type).np_dtype)

