"""The body of `lamina.distributed` (its __init__ re-exports `__all__`)."""


from __future__ import annotations

import datetime
import importlib.util
from typing import Any

from lamina.errors import ArgumentError, DistributedError, like, with_location
from lamina.frontend import collectives as _c
from lamina.frontend.tensor import Tensor
from lamina.runtime import collectives as _rt

__all__ = ["Backend", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
           "all_reduce", "barrier", "broadcast", "destroy_process_group", "get_backend",
           "get_rank", "get_world_size", "init_process_group", "is_available",
           "is_initialized", "is_mpi_available", "is_nccl_available", "reduce",
           "reduce_scatter", "reduce_scatter_tensor", "DistributedError"]


class ReduceOp:
    """torch.distributed.ReduceOp's members (`ReduceOp.SUM`, ...)."""

    SUM = "sum"
    AVG = "avg"
    MAX = "max"
    MIN = "min"
    PRODUCT = "prod"
    PROD = "prod"


class Backend:
    MPI = "mpi"
    NCCL = "nccl"


class Work:
    """What `async_op=True` returns: lamina's collectives complete before returning."""

    def wait(self, timeout: Any = None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True


def _done(async_op: bool) -> Work | None:
    return Work() if async_op else None


def _world(group: Any) -> None:
    if group is not None and group != "WORLD":
        raise like(ArgumentError, ValueError)(with_location(
            "lamina.distributed supports the default group (WORLD) only; new_group is not "
            "implemented"))


def is_available() -> bool:
    return True


def is_mpi_available() -> bool:
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | float | None = None,
                       world_size: int = -1, rank: int = -1, store: Any = None,
                       group_name: str = "", pg_options: Any = None,
                       device_id: Any = None) -> None:
    """Start the default process group. `backend`: "mpi" (CPU; the default) or "nccl"
    (CUDA GPUs). The rank and size come from the launcher (MPI's own, or RANK /
    WORLD_SIZE as torchrun sets them); given ones must agree. `timeout`: how long one
    collective may wait before the job is aborted (default $LAMINA_DIST_TIMEOUT, 1800 s)."""
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
    name = (backend or "mpi").lower()
    if init_method not in (None, "env://"):
        raise like(ArgumentError, ValueError)(with_location(
            f"init_process_group: init_method {init_method!r} is not supported: the "
            f"launcher (mpiexec) tells each process its rank"))
    _rt.init(name, seconds, rank, world_size)


def destroy_process_group(group: Any = None) -> None:
    _world(group)
    _rt.destroy()


def is_initialized() -> bool:
    return _rt.initialized()


def get_rank(group: Any = None) -> int:
    _world(group)
    return _rt.current().rank


def get_world_size(group: Any = None) -> int:
    _world(group)
    return _rt.current().size


def get_backend(group: Any = None) -> str:
    _world(group)
    return _rt.current().backend


def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:
    _world(group)
    _c.all_reduce(tensor, op)
    return _done(async_op)


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    _world(group)
    _c.broadcast(tensor, src if group_src is None else group_src)
    return _done(async_op)


def reduce(tensor: Tensor, dst: int = 0, op: Any = ReduceOp.SUM, group: Any = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    """torch's `dist.reduce`: rank `dst` gets the reduction; the other ranks get zeros
    (torch leaves their tensor unspecified)."""
    _world(group)
    _c.reduce(tensor, dst if group_dst is None else group_dst, op)
    return _done(async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:
    _world(group)
    _c.all_gather(tensor_list, tensor)
    return _done(async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                           async_op: bool = False) -> Work | None:
    _world(group)
    _c.all_gather_into_tensor(output_tensor, input_tensor)
    return _done(async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: Any = ReduceOp.SUM,
                   group: Any = None, async_op: bool = False) -> Work | None:
    _world(group)
    _c.reduce_scatter(output, input_list, op)
    return _done(async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM,
                          group: Any = None, async_op: bool = False) -> Work | None:
    _world(group)
    _c.reduce_scatter_tensor(output, input, op)
    return _done(async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    _world(group)
    _c.barrier()
    return _done(async_op)
