"""`lamina.nn.parallel`: DistributedDataParallel."""

from lamina.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
