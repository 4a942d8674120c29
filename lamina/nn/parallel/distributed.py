"""DistributedDataParallel in torch's name: one model replica per rank, each on its own
slice of the batch, gradients averaged over the ranks after every backward.

- At wrap time the parameters and buffers are broadcast from rank 0 (one coalesced
  broadcast per dtype), so every replica starts equal.
- After a `backward()` that follows a forward outside `no_sync()`, every `.grad` of the
  module is averaged over the ranks (`ReduceOp.AVG`): eagerly as one flat all-reduce
  per dtype; inside `lm.jit` as one `hl.all_reduce` per gradient, which the
  `bucket-all-reduce` pass groups into buckets of `bucket_cap_mb` (LAMINA_BUCKET_MB)
  when the program is compiled. So forward, backward, gradient all-reduce and
  optimizer update are one program.
- Under `no_sync()` gradients accumulate locally; the next synchronized backward
  averages the accumulated `.grad` (torch's semantics: the sum of the local steps,
  averaged once).

The hook is `lamina.frontend.autograd.on_backward_end` (torch's DDP queues the same
kind of callback at the end of its autograd engine's run).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from lamina.frontend import autograd, collectives
from lamina.frontend.ops import is_grad_enabled
from lamina.nn.module import Module
from lamina.runtime import collectives as runtime

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, **kwargs: Any):
        super().__init__()
        runtime.current()  # torch's error when there is no process group
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self._sync_pending = False
        tensors = [p for p in module.parameters()] + (
            list(module.buffers()) if broadcast_buffers else [])
        if tensors:
            collectives.broadcast_coalesced(tensors, src=0)
        self._remove_hook = autograd.on_backward_end(self._after_backward)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self._sync_pending = self.require_backward_grad_sync and is_grad_enabled()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside accumulate gradients without averaging."""
        before = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    def _after_backward(self) -> None:
        if not self._sync_pending:
            return
        self._sync_pending = False
        grads = [p.grad for p in self.module.parameters() if p.grad is not None]
        if grads:
            collectives.all_reduce_coalesced(grads, "avg")
