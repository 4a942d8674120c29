"""lamina.distributed: data-parallel training on MPI equals one process training on the
concatenated batch; faults end the job with a clear error instead of a hang.

The multi-process checks spawn `mpiexec -n N python tests/distributed_*.py` (the ranks
must be separate processes); the rest runs in this process without MPI.

Skip table (the only skips here):
| test | skipped when | why |
|---|---|---|
| every `mpiexec` test | no `mpiexec` beside this Python or on PATH | the mpich wheel (`pip install 'lamina[distributed]'`, in the `test` extra) brings it |
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import lamina.distributed as dist
from lamina.distributed.run import command, find_mpiexec
from lamina.utils.data import DistributedSampler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
needs_mpiexec = pytest.mark.skipif(find_mpiexec() is None, reason="no mpiexec (mpich wheel)")


def _spawn(n: int, script: str, *args: str, timeout: float = 300, launcher: bool = False):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    path = os.path.join(HERE, script)
    cmd = ([sys.executable, "-m", "lamina.distributed.run", "--nproc-per-node", str(n), path,
            *args] if launcher else command(n, [path, *args]))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=ROOT)


def _result(proc) -> dict:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr
    print(lines[0])  # (pytest -rP shows the figures)
    return json.loads(lines[0][len("RESULT "):])


# ---------------------------------------------------------------- training equals one process


@needs_mpiexec
@pytest.mark.parametrize("args", [("--mode", "eager"), ("--mode", "jit", "--accumulate")],
                         ids=["eager", "jit-no_sync"])
def test_ddp_mlp_two_ranks_equals_one_process(args):
    res = _result(_spawn(2, "distributed_worker.py", "--model", "mlp", "--steps", "3", *args))
    assert res["world"] == 2 and res["same_on_all_ranks"]
    assert res["rel_err"] <= 1e-5, res
    if "jit" in args:  # one program per step; its 6 gradients all-reduced as one bucket
        assert res["program"] == {"all_reduces": 6, "buckets": 1, "reduce_scatters": 0,
                                  "all_gathers": 0}


@needs_mpiexec
@pytest.mark.slow
@pytest.mark.parametrize("model", ["mlp", "gpt"])
@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_ddp_four_ranks_twenty_steps(model, mode):
    res = _result(_spawn(4, "distributed_worker.py", "--model", model, "--mode", mode,
                         "--steps", "20", "--per-rank", "2", timeout=1800))
    assert res["world"] == 4 and res["same_on_all_ranks"]
    assert res["rel_err"] <= 1e-5, res


@needs_mpiexec
@pytest.mark.slow
@pytest.mark.parametrize("model", ["mlp", "gpt"])
@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_zero1_equals_one_process(model, mode):
    """ZeRO-1 gives the parameters of one process on the whole batch (which plain DDP
    gives too, above), with the optimizer state split over the ranks."""
    res = _result(_spawn(2, "distributed_worker.py", "--model", model, "--mode", mode,
                         "--steps", "5", "--zero", timeout=1800))
    assert res["same_on_all_ranks"] and res["rel_err"] <= 1e-5, res
    assert res["state_bytes"] <= res["state_bytes_unsharded"] / 2 + 64, res
    if mode == "jit":
        assert res["program"] == {"all_reduces": 0, "buckets": 0, "reduce_scatters": 1,
                                  "all_gathers": 1}


@needs_mpiexec
@pytest.mark.parametrize("n, backends", [
    (2, ("interp", "c")),
    pytest.param(4, ("interp", "c", "triton"), marks=pytest.mark.slow),
], ids=["2-ranks", "4-ranks"])
def test_gradients_through_collectives_are_of_the_summed_loss(n, backends):
    """lm.grad through all_reduce, all_gather, reduce_scatter and broadcast, on each
    rank, equals the gradient of the sum of every rank's loss (numpy, from every
    rank's weights): the gradient rules' SPMD convention, numerically."""
    proc = _spawn(n, "distributed_grads.py", *backends, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for r in range(n):
        for b in backends:
            assert f"OK {r} {b}" in proc.stdout, proc.stdout + proc.stderr


# ---------------------------------------------------------------- faults


@needs_mpiexec
def test_a_rank_that_raises_stops_every_rank():
    proc = _spawn(2, "distributed_faults.py", "--case", "raise", timeout=120, launcher=True)
    assert proc.returncode != 0
    assert "rank 1 of 2 raised an unhandled exception; aborting every rank" in proc.stderr
    assert "ValueError: rank 1 fails on purpose" in proc.stderr
    assert "ended with exit code" in proc.stderr


@needs_mpiexec
def test_a_rank_that_dies_stops_every_rank():
    proc = _spawn(2, "distributed_faults.py", "--case", "die", timeout=120, launcher=True)
    assert proc.returncode == 7, proc.stderr
    assert "ended with exit code 7" in proc.stderr


@needs_mpiexec
def test_a_rank_that_hangs_times_out_the_others():
    proc = _spawn(2, "distributed_faults.py", "--case", "hang", "--timeout", "2", timeout=100)
    assert proc.returncode != 0
    assert "rank 0 of 2:" in proc.stderr and "did not complete within 2 s" in proc.stderr


@needs_mpiexec
@pytest.mark.parametrize("case, mine, theirs", [
    ("mismatch", "rank 0: collective #1: all_reduce(op=sum) float32[4]",
     "rank 1: collective #1: all_reduce(op=sum) float32[5]"),
    ("mismatch-jit", "rank 0: collective #1: program @step (1 collectives: all_reduce(op=sum) "
     "float32[3])", "rank 1: collective #1: program @step (2 collectives: all_reduce(op=sum) "
     "float32[3], all_reduce(op=max) float32[3])"),
])
def test_mismatched_collectives_are_reported_on_every_rank(case, mine, theirs):
    proc = _spawn(2, "distributed_faults.py", "--case", case, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for rank in (0, 1):
        assert f"CAUGHT rank {rank}: ranks disagree on the collective they run" in proc.stdout
    assert proc.stdout.count(mine) == 2 and proc.stdout.count(theirs) == 2, proc.stdout


# ---------------------------------------------------------------- in this process (no MPI)


def test_no_process_group_raises_torchs_error():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()


def test_nccl_without_cuda_says_so():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the NCCL path is exercised by the GPU check")
    with pytest.raises(dist.DistributedError, match="backend='nccl' needs a CUDA GPU"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


@pytest.mark.parametrize("n, drop_last", [(10, False), (10, True), (11, False), (11, True),
                                          (3, False)])
def test_distributed_sampler_matches_torch_without_shuffle(n, drop_last):
    from torch.utils.data import DistributedSampler as TorchSampler

    data = list(range(n))
    for rank in range(4):
        ours = DistributedSampler(data, num_replicas=4, rank=rank, shuffle=False,
                                  drop_last=drop_last)
        theirs = TorchSampler(data, num_replicas=4, rank=rank, shuffle=False,
                              drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_sampler_shuffles_one_permutation_per_epoch():
    data = list(range(13))
    samplers = [DistributedSampler(data, num_replicas=3, rank=r, seed=5) for r in range(3)]
    first = [list(s) for s in samplers]
    joined = sorted(i for part in first for i in part)
    assert len(joined) == 15 and set(joined) == set(data)  # padded by repeating 2
    for s in samplers:
        s.set_epoch(1)
    assert [list(s) for s in samplers] != first
    with pytest.raises(ValueError, match="Invalid rank 3"):
        DistributedSampler(data, num_replicas=3, rank=3)


def test_launcher_is_a_thin_mpiexec_wrapper():
    if find_mpiexec() is None:
        pytest.skip("no mpiexec (mpich wheel)")
    cmd = command(4, ["train.py", "--lr", "0.1"])
    assert cmd[1:3] == ["-n", "4"] and cmd[3:] == [sys.executable, "train.py", "--lr", "0.1"]


def test_collectives_in_jit_without_a_process_group_raise():
    """The hl collective ops have no engine without a process group: torch's error."""
    import lamina as lm

    @lm.jit(backend="interp")
    def f(x):
        y = x * 2
        dist.all_reduce(y)
        return y

    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        f(np.ones(3, np.float32))
