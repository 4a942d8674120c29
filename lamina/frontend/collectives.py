"""Collectives on tensors, eager and traced (the body of `lamina.distributed`).

Eagerly, a collective realizes its tensors and hands their numpy buffers to the
process group (lamina.runtime.collectives) as they are; the result is the tensor's new
value (in place, as torch's `dist.all_reduce(t)`). Under `lm.jit` the same call
records an `hl` collective op (differentiable: the op carries its gradient rule), and
the tensor is updated in place in the trace, so forward, backward, the gradient
all-reduce and the optimizer update are one program.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lamina.dialects import hl
from lamina.errors import ArgumentError, DistributedError, ShapeError, like, with_location
from lamina.frontend import graph as graphs
from lamina.frontend import movement, ops
from lamina.frontend.tensor import Tensor
from lamina.runtime import collectives

__all__ = ["all_gather", "all_gather_into_tensor", "all_gather_tensor", "all_reduce",
           "all_reduce_coalesced", "barrier", "broadcast", "broadcast_coalesced", "rank",
           "reduce", "reduce_scatter", "reduce_scatter_tensor", "reduce_scatter_tensor_",
           "world_size"]

REDUCE_OPS = hl.collective.REDUCE_OPS


def _op_name(op: object) -> str:
    name = str(getattr(op, "value", op)).lower()
    if name == "product":
        name = "prod"
    if name not in REDUCE_OPS:
        raise like(ArgumentError, ValueError)(with_location(
            f"unknown ReduceOp {op!r}; use one of ReduceOp.SUM, AVG, MAX, MIN, PRODUCT"))
    return name


def _check_tensor(t: object, what: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise like(ArgumentError, TypeError)(with_location(
            f"{what}: expected a Tensor, got {type(t).__name__}"))
    return t


def _store(t: Tensor, array: np.ndarray) -> None:
    """The tensor's new value, computed eagerly (views write through their base)."""
    if t._is_view():
        t.copy_(Tensor._wrap(array, dtype=t.dtype))
    else:
        t._set_array(array)


def _eager(kind: str, array: np.ndarray, props: dict) -> np.ndarray:
    group = collectives.current()
    group.check_same(collectives.describe(kind, array, props), (kind, array.dtype.str,
                                                               array.shape, sorted(props.items())))
    return group.run(kind, array, props)


def world_size() -> int:
    return collectives.current().size


def rank() -> int:
    return collectives.current().rank


def all_reduce(tensor: Tensor, op: object = "sum") -> None:
    _check_tensor(tensor, "all_reduce")
    name = _op_name(op)
    if graphs.tracing():
        collectives.current()
        tensor.copy_(ops.emit(hl.AllReduceOp, tensor, op=name))
    else:
        _store(tensor, _eager("all_reduce", tensor.numpy(), {"op": name}))


def all_reduce_coalesced(tensors: Sequence[Tensor], op: object = "sum") -> None:
    """Several all-reduces as one per dtype, over a flat concatenation (DDP's bucket)."""
    name = _op_name(op)
    if graphs.tracing():  # the bucket-all-reduce pass fuses the traced ones
        for t in tensors:
            all_reduce(t, name)
        return
    by_dtype: dict = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        arrays = [t.numpy() for t in group]
        flat = _eager("all_reduce", np.concatenate([a.reshape(-1) for a in arrays]),
                      {"op": name})
        _unflatten(group, arrays, flat)


def _unflatten(tensors: list[Tensor], arrays: list[np.ndarray], flat: np.ndarray) -> None:
    offset = 0
    for t, a in zip(tensors, arrays, strict=True):
        _store(t, flat[offset:offset + a.size].reshape(a.shape))
        offset += a.size


def broadcast(tensor: Tensor, src: int) -> None:
    _check_tensor(tensor, "broadcast")
    if graphs.tracing():
        collectives.current()
        tensor.copy_(ops.emit(hl.BroadcastOp, tensor, src=int(src)))
    else:
        _store(tensor, _eager("broadcast", tensor.numpy(), {"src": int(src)}))


def broadcast_coalesced(tensors: Sequence[Tensor], src: int) -> None:
    """Several broadcasts as one per dtype (DDP's parameter broadcast at wrap time)."""
    by_dtype: dict = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        arrays = [t.numpy() for t in group]
        flat = _eager("broadcast", np.concatenate([a.reshape(-1) for a in arrays]),
                      {"src": int(src)})
        _unflatten(group, arrays, flat)


def reduce(tensor: Tensor, dst: int, op: object = "sum") -> None:
    _check_tensor(tensor, "reduce")
    name = _op_name(op)
    if graphs.tracing():
        collectives.current()
        tensor.copy_(ops.emit(hl.ReduceToOp, tensor, dst=int(dst), op=name))
    else:
        _store(tensor, _eager("reduce_to", tensor.numpy(), {"dst": int(dst), "op": name}))


def all_gather_tensor(tensor: Tensor, dim: int = 0) -> Tensor:
    """Every rank's tensor, concatenated along `dim` (a new tensor; differentiable)."""
    _check_tensor(tensor, "all_gather")
    n = world_size()
    dim = dim % max(tensor.ndim, 1)
    if graphs.tracing():
        return ops.emit(hl.AllGatherOp, tensor, dim=dim, world_size=n)
    out = _eager("all_gather", tensor.numpy(), {"dim": dim, "world_size": n})
    return Tensor._wrap(out, dtype=tensor.dtype)


def reduce_scatter_tensor_(tensor: Tensor, op: object = "sum", dim: int = 0) -> Tensor:
    """Block `rank` (along `dim`) of the reduction of every rank's tensor (a new tensor)."""
    _check_tensor(tensor, "reduce_scatter")
    n, name = world_size(), _op_name(op)
    if tensor.ndim == 0 or tensor.shape[dim] % n:
        raise ShapeError(with_location(
            f"reduce_scatter: a tensor of shape {list(tensor.shape)} does not split into "
            f"{n} equal blocks along dim {dim}"))
    if graphs.tracing():
        return ops.emit(hl.ReduceScatterOp, tensor, op=name, dim=dim, world_size=n)
    out = _eager("reduce_scatter", tensor.numpy(), {"op": name, "dim": dim, "world_size": n})
    return Tensor._wrap(out, dtype=tensor.dtype)


def all_gather(tensor_list: list[Tensor], tensor: Tensor) -> None:
    """torch's `dist.all_gather`: `tensor_list[r]` gets rank r's tensor."""
    _check_tensor(tensor, "all_gather")
    n = world_size()
    if len(tensor_list) != n:
        raise like(ArgumentError, ValueError)(with_location(
            f"all_gather: tensor_list has {len(tensor_list)} tensors for a group of {n}"))
    gathered = all_gather_tensor(ops.reshape(tensor, (1, *tensor.shape)), 0)
    for r, out in enumerate(tensor_list):
        _same_shape("all_gather", out, tensor)
        _assign(out, gathered[r])


def all_gather_into_tensor(output: Tensor, input: Tensor) -> None:
    n = world_size()
    if input.ndim == 0 or tuple(output.shape) != (n * input.shape[0], *input.shape[1:]):
        raise ShapeError(with_location(
            f"all_gather_into_tensor: output of shape {list(output.shape)} cannot hold {n} "
            f"tensors of shape {list(input.shape)} along dim 0"))
    _assign(output, all_gather_tensor(input, 0))


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: object = "sum") -> None:
    """torch's `dist.reduce_scatter`: output = reduction over ranks of input_list[rank]."""
    n = world_size()
    if len(input_list) != n:
        raise like(ArgumentError, ValueError)(with_location(
            f"reduce_scatter: input_list has {len(input_list)} tensors for a group of {n}"))
    for t in input_list:
        _same_shape("reduce_scatter", output, t)
    stacked = movement.stack(list(input_list), 0)
    _assign(output, ops.reshape(reduce_scatter_tensor_(stacked, op, 0), output.shape))


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: object = "sum") -> None:
    n = world_size()
    if input.ndim == 0 or tuple(input.shape) != (n * output.shape[0], *output.shape[1:]):
        raise ShapeError(with_location(
            f"reduce_scatter_tensor: input of shape {list(input.shape)} is not {n} blocks "
            f"of the output's shape {list(output.shape)} along dim 0"))
    _assign(output, reduce_scatter_tensor_(input, op, 0))


def _same_shape(what: str, a: Tensor, b: Tensor) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise ShapeError(with_location(
            f"{what}: tensors of shapes {list(a.shape)} and {list(b.shape)} must agree"))


def _assign(out: Tensor, value: Tensor) -> None:
    if graphs.tracing():
        out.copy_(value)
    else:
        _store(out, np.ascontiguousarray(value.numpy()).astype(out.dtype.np_dtype, copy=False))


def barrier() -> None:
    if graphs.tracing():
        raise DistributedError(with_location("barrier() cannot be recorded inside lm.jit"))
    collectives.current().barrier()
