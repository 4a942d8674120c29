"""One rank of the collective-gradient check of tests/test_distributed.py (under mpiexec):
`lm.grad` through each collective, on each rank, equals the gradient of the SUM of every
rank's loss (the SPMD convention of the gradient rules), computed here in numpy from
every rank's weights. Prints `OK <rank> <backend>` per backend, or raises."""

from __future__ import annotations

import sys

import numpy as np

import lamina as lm
import lamina.distributed as dist
from lamina.frontend import collectives as C


def weights(rank: int, shape) -> np.ndarray:
    return np.random.default_rng(100 + rank).standard_normal(shape).astype(np.float32)


def main() -> None:
    dist.init_process_group("mpi")
    r, n = dist.get_rank(), dist.get_world_size()
    x = np.random.default_rng(r).standard_normal((2, 3)).astype(np.float32)
    x_tall = np.random.default_rng(r).standard_normal((2 * n, 3)).astype(np.float32)

    def all_reduce_sum(x):
        y = x * 1.0
        dist.all_reduce(y)
        return (y * lm.tensor(weights(r, (2, 3)))).sum()

    def all_gather(x):
        return (C.all_gather_tensor(x, 0) * lm.tensor(weights(r, (2 * n, 3)))).sum()

    def reduce_scatter(x):
        return (C.reduce_scatter_tensor_(x, "sum", 0) * lm.tensor(weights(r, (2, 3)))).sum()

    def broadcast(x):
        y = x * 1.0
        dist.broadcast(y, src=1 % n)
        return (y * lm.tensor(weights(r, (2, 3)))).sum()

    every = [weights(s, (2, 3)) for s in range(n)]
    tall = [weights(s, (2 * n, 3)) for s in range(n)]
    cases = [
        (all_reduce_sum, x, sum(every)),
        (all_gather, x, sum(t[2 * r:2 * r + 2] for t in tall)),
        (reduce_scatter, x_tall, np.concatenate(every)),
        (broadcast, x, sum(every) if r == 1 % n else np.zeros((2, 3), np.float32)),
    ]
    for backend in sys.argv[1:] or ["c"]:
        for fn, arg, want in cases:
            got = np.asarray(lm.jit(lm.grad(fn), backend=backend)(arg))
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5,
                                       err_msg=f"{fn.__name__} on {backend}, rank {r}")
        print(f"OK {r} {backend}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
