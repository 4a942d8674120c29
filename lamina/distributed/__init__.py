"""`lamina.distributed`: torch.distributed's process group and collectives, on MPI (CPU,
through mpi4py) or NCCL (GPU, through torch.distributed).

    import lamina.distributed as dist
    dist.init_process_group("mpi")          # launched by `mpiexec -n 4 python train.py`
    dist.all_reduce(t, op=dist.ReduceOp.SUM)  # in place, as torch

Eagerly each collective realizes its tensors and runs on their buffers; inside `lm.jit`
it records an hl collective op (differentiable), so a whole data-parallel step is one
compiled program (see docs/distributed.md). Launch with the engine's launcher
(`mpiexec -n N python script.py`) or `python -m lamina.distributed.run --nproc-per-node N
script.py`, which wraps it.
"""

from lamina.distributed._api import *  # noqa: F403
from lamina.distributed._api import __all__  # noqa: F401
