"""The process group: one communication engine per process, and the collectives on
numpy buffers that the hl collective ops (their `reference`), the compiled programs
(`lamina.runtime.collective_program`) and eager `lamina.distributed` calls run.

Engines are existing libraries, never a protocol of lamina's own:

- `"mpi"` (CPU): MPI through mpi4py (the `mpich` wheel here). Buffers go to MPI as they
  are (numpy's buffer protocol: no staging copy); results land in fresh arrays.
- `"nccl"` (GPU): NCCL through `torch.distributed`, on CUDA copies of the buffers. It
  needs CUDA; without it `init_process_group` says so (the machine this was written on
  has no GPU: that path is untested beyond its error).

Faults, so that no rank waits forever:

- a watchdog thread aborts the whole job (MPI_Abort: the launcher stops every rank) when
  one collective takes longer than the group's timeout, after printing which rank waited
  in which collective;
- an exception nobody catches in any rank prints its rank and traceback and aborts the
  job (`sys.excepthook`), instead of leaving the other ranks blocked in a collective;
- before each eager collective, and before each run of a compiled program that
  communicates, the ranks exchange a 16-byte fingerprint (a sequence number and a hash
  of the collective's kind, shape, dtype and properties, or of the program's whole
  list of them); on a mismatch every rank raises a `DistributedError` naming each
  rank's collective (`LAMINA_DIST_CHECK=0` skips the exchange).
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
import traceback
from typing import Any

import numpy as np

from lamina import knobs
from lamina.dialects.hl import collective
from lamina.errors import ArgumentError, DistributedError, like, with_location
from lamina.runtime import buffers

_HALF = ("float16", "bfloat16")


class Watchdog:
    """One daemon thread: aborts the job when the current collective passes its deadline."""

    def __init__(self, group: ProcessGroup):
        self.group = group
        self.current: tuple[str, float] | None = None  # (what, deadline)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="lamina-dist-watchdog",
                                       daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.stopped.wait(0.05):
            current = self.current
            if current is not None and time.monotonic() > current[1]:
                g = self.group
                sys.stderr.write(
                    f"[lamina.distributed] rank {g.rank} of {g.size}: {current[0]} did not "
                    f"complete within {g.timeout:g} s (a rank died, hangs, or did not call "
                    f"it); aborting the job\n")
                sys.stderr.flush()
                g.abort(3)


class ProcessGroup:
    """The default process group: rank, size, engine, timeout."""

    def __init__(self, backend: str, timeout: float):
        self.backend = backend
        self.timeout = timeout
        self.check = knobs.dist_check()  # "0", "1" (first call of each), "always"
        self._checked: set = set()
        self.seq = 0  # collectives (and program runs) issued so far: the fingerprint's first word
        self.rank, self.size = 0, 1
        self._watchdog: Watchdog | None = None

    # ---- engine-specific

    def _start(self) -> None:
        raise NotImplementedError

    def _run(self, kind: str, x: np.ndarray, props: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def _exchange(self, words: np.ndarray) -> np.ndarray:
        """Gather one int64 vector from every rank: (size, len(words))."""
        raise NotImplementedError

    def _gather_objects(self, obj: Any) -> list:
        raise NotImplementedError

    def barrier(self) -> None:
        raise NotImplementedError

    def abort(self, code: int) -> None:
        os._exit(code)

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.stopped.set()

    # ---- shared

    def run(self, kind: str, x: np.ndarray, props: dict[str, Any]) -> np.ndarray:
        """One collective on a buffer (the hl ops' `reference` calls this)."""
        if x.dtype.name in _HALF:  # MPI has no half types: reduce in float32, round back
            return self.run(kind, x.astype(np.float32), props).astype(x.dtype)
        with self.waiting(describe(kind, x, props)):
            return self._run(kind, np.ascontiguousarray(x), props)

    def waiting(self, what: str) -> _Waiting:
        return _Waiting(self, what)

    def check_same(self, what: str, description: Any) -> None:
        """Every rank must be about to run the same collective (or program): compare
        fingerprints; on a mismatch, name every rank's side. By default only the first
        call of each distinct collective (or program) is checked: ranks that run the
        same code see the same firsts, and the exchange is one more synchronization,
        which costs as much as a small all-reduce (LAMINA_DIST_CHECK=always checks every
        call; a later mismatch is then caught by the timeout instead)."""
        self.seq += 1
        if self.check == "0" or self.size == 1:
            return
        key = repr(description)
        if self.check != "always":
            if key in self._checked:
                return
            self._checked.add(key)
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        words = np.array([self.seq, int.from_bytes(digest, "little", signed=True)], np.int64)
        with self.waiting(f"the fingerprint exchange before {what}"):
            table = self._exchange(words)
        if (table == table[0]).all():
            return
        with self.waiting(f"the description exchange after a mismatch at {what}"):
            seen = self._gather_objects((self.seq, what))
        lines = [f"rank {r}: collective #{seq}: {desc}" for r, (seq, desc) in enumerate(seen)]
        raise DistributedError(with_location(
            f"ranks disagree on the collective they run (rank {self.rank} of {self.size} "
            f"noticed it):\n  " + "\n  ".join(lines)))


class _Waiting:
    """Arms the watchdog for the duration of one blocking call."""

    __slots__ = ("group", "what")

    def __init__(self, group: ProcessGroup, what: str):
        self.group, self.what = group, what

    def __enter__(self) -> None:
        dog = self.group._watchdog
        if dog is not None:
            dog.current = (self.what, time.monotonic() + self.group.timeout)

    def __exit__(self, *exc: Any) -> None:
        dog = self.group._watchdog
        if dog is not None:
            dog.current = None


def describe(kind: str, x: np.ndarray, props: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v}" for k, v in sorted(props.items()))
    return f"{kind}({args}) {x.dtype}{list(x.shape)}"


class MpiGroup(ProcessGroup):
    """MPI through mpi4py (COMM_WORLD)."""

    def _start(self) -> None:
        try:
            from mpi4py import MPI
        except ImportError as err:
            raise DistributedError(with_location(
                "backend='mpi' needs mpi4py and an MPI library: pip install "
                "'lamina[distributed]' (mpi4py and the mpich wheel)")) from err
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._ops = {"sum": MPI.SUM, "avg": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN,
                     "prod": MPI.PROD}

    def _run(self, kind, x, props):
        comm, n = self.comm, self.size
        if kind == "all_reduce":
            out = buffers.empty(x.shape, x.dtype)  # pooled: pages already faulted in
            comm.Allreduce(x, out, self._ops[props["op"]])
            return _average(out, n) if props["op"] == "avg" else out
        if kind == "all_gather":
            dim = props["dim"]
            out = buffers.empty((n, *x.shape), x.dtype)
            comm.Allgather(x, out)
            return out.reshape(n * x.shape[0], *x.shape[1:]) if dim == 0 \
                else np.concatenate(list(out), axis=dim)
        if kind == "reduce_scatter":
            dim = props["dim"]
            blocks = np.ascontiguousarray(np.stack(np.split(x, n, axis=dim)))
            out = buffers.empty(blocks.shape[1:], x.dtype)
            comm.Reduce_scatter_block(blocks, out, self._ops[props["op"]])
            return _average(out, n) if props["op"] == "avg" else out
        if kind == "broadcast":
            out = buffers.empty(x.shape, x.dtype)
            if self.rank == props["src"]:
                np.copyto(out, x)
            comm.Bcast(out, root=_root(props["src"], n))
            return out
        if kind == "reduce_to":
            dst = _root(props["dst"], n)
            out = np.empty_like(x) if self.rank == dst else None
            comm.Reduce(x, out, self._ops[props["op"]], root=dst)
            if self.rank != dst:
                return np.zeros_like(x)
            return _average(out, n) if props["op"] == "avg" else out
        raise ArgumentError(f"unknown collective {kind!r}")

    def _exchange(self, words):
        table = np.empty((self.size, words.size), words.dtype)
        self.comm.Allgather(words, table)
        return table

    def _gather_objects(self, obj):
        return self.comm.allgather(obj)

    def barrier(self) -> None:
        with self.waiting("barrier"):
            self.comm.Barrier()

    def abort(self, code: int) -> None:
        self.comm.Abort(code)


class NcclGroup(ProcessGroup):
    """NCCL through torch.distributed, one GPU per rank (LOCAL_RANK picks it)."""

    def _start(self) -> None:
        try:
            import torch
            import torch.distributed as dist
        except ImportError as err:
            raise DistributedError(with_location(
                "backend='nccl' needs torch with CUDA (torch.distributed's NCCL)")) from err
        if not torch.cuda.is_available():
            raise DistributedError(with_location(
                "backend='nccl' needs a CUDA GPU, and torch.cuda.is_available() is False on "
                "this machine; use backend='mpi' for CPU processes"))
        self.torch, self.dist = torch, dist
        rank, size = launcher_rank_and_size()
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29500")
        local = int(os.environ.get("LOCAL_RANK", os.environ.get("MPI_LOCALRANKID", rank)))
        self.device = torch.device("cuda", local % torch.cuda.device_count())
        torch.cuda.set_device(self.device)
        if not dist.is_initialized():
            dist.init_process_group("nccl", rank=rank, world_size=size)
        self.rank, self.size = dist.get_rank(), dist.get_world_size()
        R = dist.ReduceOp
        self._ops = {"sum": R.SUM, "avg": R.AVG, "max": R.MAX, "min": R.MIN, "prod": R.PRODUCT}

    def _run(self, kind, x, props):
        t, dist = self.torch.from_numpy(x).to(self.device), self.dist
        if kind == "all_reduce":
            dist.all_reduce(t, op=self._ops[props["op"]])
            return t.cpu().numpy()
        if kind == "all_gather":
            parts = [self.torch.empty_like(t) for _ in range(self.size)]
            dist.all_gather(parts, t)
            return self.torch.cat(parts, dim=props["dim"]).cpu().numpy()
        if kind == "reduce_scatter":
            parts = list(t.chunk(self.size, dim=props["dim"]))
            out = self.torch.empty_like(parts[0])
            dist.reduce_scatter(out, [p.contiguous() for p in parts], op=self._ops[props["op"]])
            return out.cpu().numpy()
        if kind == "broadcast":
            dist.broadcast(t, src=props["src"])
            return t.cpu().numpy()
        if kind == "reduce_to":
            dist.reduce(t, dst=props["dst"], op=self._ops[props["op"]])
            return t.cpu().numpy() if self.rank == props["dst"] else np.zeros_like(x)
        raise ArgumentError(f"unknown collective {kind!r}")

    def _exchange(self, words):
        t = self.torch.from_numpy(words).to(self.device)
        parts = [self.torch.empty_like(t) for _ in range(self.size)]
        self.dist.all_gather(parts, t)
        return self.torch.stack(parts).cpu().numpy()

    def _gather_objects(self, obj):
        out: list = [None] * self.size
        self.dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        with self.waiting("barrier"):
            self.dist.barrier()

    def close(self) -> None:
        super().close()
        if self.dist.is_initialized():
            self.dist.destroy_process_group()


def _average(out: np.ndarray, n: int) -> np.ndarray:
    if out.dtype.kind not in "fc":
        raise like(DistributedError, ValueError)(with_location(
            f"ReduceOp.AVG needs a floating-point tensor, got {out.dtype}"))
    out /= out.dtype.type(n)
    return out


def _root(root: int, n: int) -> int:
    if not 0 <= root < n:
        raise like(DistributedError, ValueError)(with_location(
            f"rank {root} is not in the group of {n} ranks"))
    return root


ENGINES = {"mpi": MpiGroup, "nccl": NcclGroup}
_GROUP: list[ProcessGroup | None] = [None]


def launcher_rank_and_size() -> tuple[int, int]:
    """The rank and world size the launcher gave this process: torch's RANK/WORLD_SIZE,
    else MPI launchers' own variables (MPICH/hydra PMI_*, Open MPI OMPI_COMM_WORLD_*)."""
    for rank_var, size_var in (("RANK", "WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE"),
                               ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE")):
        if rank_var in os.environ and size_var in os.environ:
            return int(os.environ[rank_var]), int(os.environ[size_var])
    return 0, 1


def init(backend: str, timeout: float | None, rank: int, world_size: int) -> ProcessGroup:
    if _GROUP[0] is not None:
        raise DistributedError(with_location(
            "trying to initialize the default process group twice"))
    if backend not in ENGINES:
        raise ArgumentError(with_location(
            f"init_process_group: backend {backend!r} is not one of {sorted(ENGINES)}"))
    group = ENGINES[backend](backend, knobs.dist_timeout() if timeout is None else timeout)
    group._start()
    for name, given, actual in (("rank", rank, group.rank), ("world_size", world_size,
                                                            group.size)):
        env = os.environ.get("RANK" if name == "rank" else "WORLD_SIZE")
        for source, value in ((f"init_process_group({name}=)", given), (f"${name.upper()}",
                                                                        env)):
            if value not in (None, -1) and int(value) != actual:
                raise DistributedError(with_location(
                    f"init_process_group: {source} is {value} but the {backend} launcher "
                    f"made this process {name} {actual}"))
    group._watchdog = Watchdog(group)
    _GROUP[0] = group
    collective.set_engine(group)
    _install_excepthook()
    return group


def current() -> ProcessGroup:
    group = _GROUP[0]
    if group is None:
        collective.engine()  # raises torch's message
    assert group is not None
    return group


def initialized() -> bool:
    return _GROUP[0] is not None


def destroy() -> None:
    group = _GROUP[0]
    if group is not None:
        group.close()
    _GROUP[0] = None
    collective.set_engine(None)


_PREVIOUS_HOOK: list = []


def _install_excepthook() -> None:
    """An exception no rank catches stops the whole job at once (MPI_Abort), naming the
    rank, instead of leaving the other ranks waiting in their next collective."""
    if _PREVIOUS_HOOK:
        return
    _PREVIOUS_HOOK.append(sys.excepthook)

    def hook(kind, value, tb):
        group = _GROUP[0]
        if group is None or group.size == 1:
            _PREVIOUS_HOOK[0](kind, value, tb)
            return
        sys.stderr.write(f"[lamina.distributed] rank {group.rank} of {group.size} raised an "
                         f"unhandled exception; aborting every rank:\n"
                         + "".join(traceback.format_exception(kind, value, tb)))
        sys.stderr.flush()
        group.abort(1)

    sys.excepthook = hook
