"""One rank of the fault checks of tests/test_distributed.py (run under mpiexec):
`--case raise|die|hang|mismatch|mismatch-jit`."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import lamina as lm
import lamina.distributed as dist


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--case", required=True)
    p.add_argument("--timeout", type=float, default=None)
    a = p.parse_args()
    dist.init_process_group("mpi", timeout=a.timeout)
    rank = dist.get_rank()
    t = lm.ones(4)
    if a.case == "raise":
        if rank == 1:
            raise ValueError("rank 1 fails on purpose")
        dist.all_reduce(t)
    elif a.case == "die":
        if rank == 1:
            os._exit(7)
        dist.all_reduce(t)
    elif a.case == "hang":
        if rank == 1:
            time.sleep(120)
        dist.all_reduce(t)
    elif a.case == "mismatch":
        try:
            dist.all_reduce(lm.ones(4 + rank))
        except dist.DistributedError as err:
            print(f"CAUGHT rank {rank}: {err}", flush=True)
    elif a.case == "mismatch-jit":
        @lm.jit
        def step(x):
            y = x * 2
            dist.all_reduce(y)
            if rank == 1:  # a program that differs on one rank
                dist.all_reduce(y, op=dist.ReduceOp.MAX)
            return y

        try:
            step(np.ones(3, np.float32))
        except dist.DistributedError as err:
            print(f"CAUGHT rank {rank}: {err}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
