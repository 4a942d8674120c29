"""`python -m lamina.distributed.run --nproc-per-node N script.py args...`: torchrun's
spelling over the MPI launcher (`mpiexec -n N python script.py args...`).

Each process finds its rank through MPI (init_process_group("mpi")). When the job
fails, mpiexec has already stopped every rank (a rank that raised names itself on
stderr, see lamina.runtime.collectives); this wrapper adds one line with the exit
code and returns it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

__all__ = ["command", "find_mpiexec", "main"]


def find_mpiexec() -> str | None:
    """The mpiexec beside this Python (a venv with the mpich wheel), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.access(here, os.X_OK) else shutil.which("mpiexec")


def command(nproc: int, target: list[str], module: bool = False) -> list[str]:
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise SystemExit("lamina.distributed.run: no mpiexec found: pip install "
                         "'lamina[distributed]' (mpi4py and the mpich wheel)")
    python = [sys.executable, "-m"] if module else [sys.executable]
    return [mpiexec, "-n", str(nproc), *python, *target]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lamina.distributed.run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1)
    parser.add_argument("--nnodes", type=int, default=1)
    parser.add_argument("-m", "--module", action="store_true",
                        help="run the target as a module (python -m)")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    if ns.nnodes != 1:
        parser.error("--nnodes > 1: launch with mpiexec and a host file instead")
    cmd = command(ns.nproc_per_node, [ns.script, *ns.args], ns.module)
    code = subprocess.call(cmd)
    if code != 0:
        sys.stderr.write(f"lamina.distributed.run: {ns.nproc_per_node} processes of "
                         f"{ns.script} ended with exit code {code} (a rank failed; its "
                         f"message is above)\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
