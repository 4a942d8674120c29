"""Collectives: ops whose result depends on the same op running on every rank of a
process group (SPMD: every rank runs the same program on its own data).

    %s = hl.all_reduce %g op="avg" : tensor<4x8xf32>
    %a = hl.all_gather %x dim=0 world_size=2 : tensor<4x8xf32> -> tensor<8x8xf32>
    %r = hl.reduce_scatter %x op="sum" dim=0 world_size=2 : tensor<8x8xf32> -> tensor<4x8xf32>
    %b = hl.broadcast %w src=0 : tensor<4x8xf32>
    %t = hl.reduce_to %x dst=0 op="sum" : tensor<4x8xf32>

Semantics (rank r of N, x_r its operand):

- `all_reduce`: every rank gets op(x_0, ..., x_{N-1}) elementwise (sum, avg, max, min, prod);
- `all_gather`: every rank gets concat(x_0, ..., x_{N-1}) along `dim`;
- `reduce_scatter`: rank r gets block r (along `dim`, size shape[dim] / N) of op(x_0..x_{N-1});
- `broadcast`: every rank gets x_src;
- `reduce_to`: rank dst gets op(x_0..x_{N-1}), every other rank zeros (the transpose of
  broadcast: a well-defined value where torch's `dist.reduce` leaves it unspecified).

Gradients follow from the SPMD convention that the differentiated quantity is the sum of
every rank's loss (as JAX's psum transposes to psum): all_reduce sum <-> all_reduce sum
(avg <-> avg), all_gather <-> reduce_scatter sum, broadcast <-> reduce_to sum. Max, min
and prod have no rule.

`world_size` is a property of the ops whose shape depends on it, so that shape rules stay
local. The numpy `reference` hands the buffers to the process group's engine, which the
runtime installs with `set_engine` (lamina.runtime.collectives): without one the ops
fail with torch's message for a missing process group.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np
from xdsl.dialects.builtin import IntegerAttr, TensorType
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, result_def, traits_def
from xdsl.traits import Pure

from lamina.dialects.hl.base import (
    HlOp,
    element_of,
    int_prop,
    require,
    shape_of,
    str_prop,
    tensor_type,
)
from lamina.errors import (
    ArgumentError,
    DistributedError,
    GradientError,
    like,
    with_location,
)

REDUCE_OPS = ("sum", "avg", "max", "min", "prod")


class Engine(Protocol):
    """What a process group gives the collective ops (lamina.runtime.collectives)."""

    rank: int
    size: int

    def run(self, op: str, x: np.ndarray, props: dict[str, Any]) -> np.ndarray: ...


_ENGINE: list[Engine | None] = [None]


def set_engine(engine: Engine | None) -> None:
    _ENGINE[0] = engine


def engine() -> Engine:
    found = _ENGINE[0]
    if found is None:
        raise like(DistributedError, ValueError)(with_location(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."))
    return found


class CollectiveOp(HlOp):
    """Common shape of the collectives: one tensor in, one tensor out."""

    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    KIND: ClassVar[str] = ""

    def reference(self, x):
        return engine().run(self.KIND, np.ascontiguousarray(x), self.props())

    def describe(self) -> str:
        """`all_reduce(op=sum) float32[4, 8]`: how errors and fingerprints name it."""
        props = ", ".join(f"{k}={v}" for k, v in sorted(self.props().items()))
        t = self.input.type
        from lamina.dialects.hl.base import dtype_of

        return f"{self.KIND}({props}) {dtype_of(t).name}{list(shape_of(t))}"


def _require_op(props: dict[str, Any]) -> str:
    op = props.get("op")
    require(op in REDUCE_OPS, f"op {op!r} is not one of {list(REDUCE_OPS)}", ArgumentError)
    return op


def _require_dim(props: dict[str, Any], rank: int) -> int:
    dim = props.get("dim")
    require(isinstance(dim, int) and 0 <= dim < rank,
            f"dim {dim} out of range for rank {rank}")
    return dim


def _require_world(props: dict[str, Any]) -> int:
    n = props.get("world_size")
    require(isinstance(n, int) and n >= 1, f"world_size must be >= 1, got {n}", ArgumentError)
    return n


def _require_root(props: dict[str, Any], name: str) -> None:
    root = props.get(name)
    require(isinstance(root, int) and root >= 0, f"{name} must be a rank >= 0, got {root}",
            ArgumentError)


def _no_rule(op: CollectiveOp) -> GradientError:
    return GradientError(with_location(
        f"hl op '{op.name}' with op={op.prop('op')!r} has no gradient rule"))


@irdl_op_definition
class AllReduceOp(CollectiveOp):
    """Elementwise reduction over ranks, result on every rank. `bucket=k` (set by the
    bucket-all-reduce pass on adjacent all-reduces): the runtime runs every all-reduce
    of bucket k as one collective over their packed buffers.
    `%s = hl.all_reduce %g op="sum" : tensor<4x8xf32>`"""

    name = "hl.all_reduce"
    op = str_prop()
    bucket = opt_prop_def(IntegerAttr)
    KIND: ClassVar = "all_reduce"

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        _require_op(props)
        bucket = props.get("bucket")
        require(bucket is None or (isinstance(bucket, int) and bucket >= 0),
                f"bucket must be an integer >= 0, got {bucket}")
        return t

    def vjp(self, ct, out, x):
        if self.prop("op") not in ("sum", "avg"):
            raise _no_rule(self)
        return (ct.builder.emit(AllReduceOp, ct, op=self.prop("op")),)


@irdl_op_definition
class AllGatherOp(CollectiveOp):
    """Concatenation of every rank's operand along `dim`, on every rank.
    `%a = hl.all_gather %x dim=0 world_size=2 : tensor<4x8xf32> -> tensor<8x8xf32>`"""

    name = "hl.all_gather"
    dim = int_prop()
    world_size = int_prop()
    KIND: ClassVar = "all_gather"

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        shape = list(shape_of(t))
        dim, n = _require_dim(props, len(shape)), _require_world(props)
        shape[dim] *= n
        return tensor_type(element_of(t), shape)

    def vjp(self, ct, out, x):
        return (ct.builder.emit(ReduceScatterOp, ct, op="sum", dim=self.prop("dim"),
                                world_size=self.prop("world_size")),)


@irdl_op_definition
class ReduceScatterOp(CollectiveOp):
    """Reduction over ranks, rank r keeping block r along `dim`.
    `%r = hl.reduce_scatter %x op="sum" dim=0 world_size=2 : tensor<8x8xf32> -> tensor<4x8xf32>`"""

    name = "hl.reduce_scatter"
    op = str_prop()
    dim = int_prop()
    world_size = int_prop()
    KIND: ClassVar = "reduce_scatter"

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        shape = list(shape_of(t))
        _require_op(props)
        dim, n = _require_dim(props, len(shape)), _require_world(props)
        require(shape[dim] % n == 0,
                f"dim {dim} of size {shape[dim]} does not split into {n} equal blocks")
        shape[dim] //= n
        return tensor_type(element_of(t), shape)

    def vjp(self, ct, out, x):
        if self.prop("op") not in ("sum", "avg"):
            raise _no_rule(self)
        n = self.prop("world_size")
        gathered = ct.builder.emit(AllGatherOp, ct, dim=self.prop("dim"), world_size=n)
        return (gathered if self.prop("op") == "sum" else gathered / float(n),)


@irdl_op_definition
class BroadcastOp(CollectiveOp):
    """Rank `src`'s operand, on every rank (torch.distributed.broadcast; not numpy's
    broadcasting, which is hl.broadcast_in_dim).  `%b = hl.broadcast %w src=0 : tensor<4xf32>`"""

    name = "hl.broadcast"
    src = int_prop()
    KIND: ClassVar = "broadcast"

    @classmethod
    def infer(cls, types, props, result_type):
        _require_root(props, "src")
        return types[0]

    def vjp(self, ct, out, x):
        return (ct.builder.emit(ReduceToOp, ct, dst=self.prop("src"), op="sum"),)


@irdl_op_definition
class ReduceToOp(CollectiveOp):
    """Reduction over ranks onto rank `dst`; zeros on the other ranks.
    `%t = hl.reduce_to %x dst=0 op="sum" : tensor<4xf32>`"""

    name = "hl.reduce_to"
    dst = int_prop()
    op = str_prop()
    KIND: ClassVar = "reduce_to"

    @classmethod
    def infer(cls, types, props, result_type):
        _require_op(props)
        _require_root(props, "dst")
        return types[0]

    def vjp(self, ct, out, x):
        if self.prop("op") != "sum":
            raise _no_rule(self)
        return (ct.builder.emit(BroadcastOp, ct, src=self.prop("dst")),)


COLLECTIVES: tuple[type[CollectiveOp], ...] = (AllReduceOp, AllGatherOp, ReduceScatterOp,
                                               BroadcastOp, ReduceToOp)

__all__ = ["AllGatherOp", "AllReduceOp", "BroadcastOp", "CollectiveOp", "ReduceScatterOp",
           "ReduceToOp"]
