"""ZeroRedundancyOptimizer (ZeRO stage 1) in torch's name: the optimizer state is split
over the ranks instead of repeated on each.

The parameters (one flat vector per dtype, padded to a multiple of the world size) are
cut into `world_size` equal shards; rank r keeps an optimizer (`optimizer_class`) over
shard r only, so Adam's two moments take 1/world_size of the memory on each rank. A
step is

    flat gradient --reduce_scatter(avg)--> this rank's shard of the averaged gradient
    local optimizer step on the shard
    updated shards --all_gather--> every parameter, on every rank

Use it on a model that is NOT wrapped in DistributedDataParallel (the reduce-scatter
replaces DDP's all-reduce; DDP would average twice, harmlessly but for nothing) after
making the replicas equal (e.g. `dist.broadcast` of each parameter from rank 0; the
constructor does it when `broadcast_params=True`, the default). Element-wise optimizers
(SGD, Adam, AdamW, ...) then give the parameters plain data parallelism gives. Works
eagerly and inside `lm.jit` (the collectives become hl ops of the step's program).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from lamina.errors import ArgumentError, with_location
from lamina.frontend import collectives
from lamina.frontend import ops as O
from lamina.frontend.movement import cat
from lamina.frontend.tensor import Tensor
from lamina.nn.module import Parameter
from lamina.optim.optimizer import Optimizer

__all__ = ["ZeroRedundancyOptimizer"]


class _Shard:
    """One dtype's parameters, their flat layout and this rank's shard of it."""

    def __init__(self, params: list[Tensor], rank: int, n: int):
        self.params = params
        self.sizes = [int(np.prod(p.shape, dtype=np.int64)) for p in params]
        total = sum(self.sizes)
        self.length = -(-total // n)  # shard length
        self.pad = self.length * n - total
        flat = np.concatenate([p.numpy().reshape(-1) for p in params]
                              + [np.zeros(self.pad, params[0].dtype.np_dtype)])
        self.lo = rank * self.length
        self.param = Parameter(Tensor._wrap(flat[self.lo:self.lo + self.length].copy(),
                                            dtype=params[0].dtype))

    def flat_grad(self) -> Tensor:
        parts = [p.grad.reshape(-1) if p.grad is not None else O.zeros_like(p).reshape(-1)
                 for p in self.params]
        if self.pad:
            parts.append(O.zeros(self.pad, dtype=self.params[0].dtype))
        return cat(parts, 0)

    def write_back(self, gathered: Tensor) -> None:
        offset = 0
        with O.no_grad():
            for p, size in zip(self.params, self.sizes, strict=True):
                p.copy_(gathered[offset:offset + size].reshape(p.shape))
                offset += size


class ZeroRedundancyOptimizer(Optimizer):
    def __init__(self, params: Iterable[Any], optimizer_class: type[Optimizer],
                 process_group: Any = None, parameters_as_bucket_view: bool = False,
                 overlap_with_ddp: bool = False, broadcast_params: bool = True,
                 **defaults: Any):
        if process_group is not None or overlap_with_ddp:
            raise ArgumentError(with_location(
                "ZeroRedundancyOptimizer: only the default process group, without "
                "overlap_with_ddp"))
        params = [p for p in params]
        if not params or not all(isinstance(p, Tensor) for p in params):
            raise ArgumentError(with_location(
                "ZeroRedundancyOptimizer: expects a non-empty list of parameters"))
        if broadcast_params:
            collectives.broadcast_coalesced(params, src=0)
        self.rank, self.world_size = collectives.rank(), collectives.world_size()
        by_dtype: dict = {}
        for p in params:
            by_dtype.setdefault(p.dtype, []).append(p)
        self._shards = [_Shard(ps, self.rank, self.world_size) for ps in by_dtype.values()]
        self.optim = optimizer_class([s.param for s in self._shards], **defaults)
        self._all_params = params
        # torch's attributes: the local optimizer's groups and state are this rank's
        self.param_groups = self.optim.param_groups
        self.state = self.optim.state
        self.defaults = self.optim.defaults

    def step(self, closure: Any = None) -> Any:
        loss = closure() if closure is not None else None
        for s in self._shards:
            s.param.grad = collectives.reduce_scatter_tensor_(s.flat_grad(), "avg", 0)
        self.optim.step()
        for s in self._shards:
            s.write_back(collectives.all_gather_tensor(s.param, 0))
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._all_params:
            p.grad = None
        self.optim.zero_grad(set_to_none)

    def state_bytes(self) -> int:
        """Bytes of optimizer state this rank holds (Adam: two moments of its shard)."""
        return sum(t.numel() * t.dtype.itemsize for st in self.optim.state.values()
                   for t in st.values())

    def state_dict(self) -> dict[str, Any]:
        return self.optim.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.optim.load_state_dict(state_dict)
