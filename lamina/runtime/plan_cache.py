"""Warm start: a traced program found on disk runs without the compiler pipeline.

`lm.jit` calls look up the traced hl module's text (+ backend, C compiler and flags,
and a fingerprint of lamina's own source files) here
before simplifying and lowering it. An entry is a small JSON plan next to the
compiled library in the artifact cache:

    {"so": "<key of the .so in lamina.runtime.cache>", "name": "main",
     "inputs": [[[4, 8], "float32"], ...], "outputs": [...], "kernels": 3}

A hit loads the checksummed library, binds BLAS and builds the runner from the plan:
no simplification, no lowering, no C generation and no xDSL context (whose dialect
imports alone cost ~250 ms). Only the C backend has plans. `Lowered` (`.lower()`)
never uses them: it needs the IR levels and the source.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os

import numpy as np

from lamina import knobs
from lamina.runtime import backends, blas, cache

_VERSION = "1"


@functools.cache
def _compiler_fingerprint() -> str:
    """Size and mtime of every file of the lamina package: a plan made by other
    passes or another code generator must not be reused (the hl text would match)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".h", ".c")):
                info = os.stat(os.path.join(folder, name))
                h.update(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _key(hl_text: str, backend: str) -> str | None:
    try:
        cc = cache._compiler()
        parts = (_VERSION, backend, hl_text, cache.compiler_version(cc),
                 " ".join(cache.all_flags(cc)), _compiler_fingerprint(),
                 "profile" if knobs.profile() else "")
    except Exception:  # no compiler: nothing to look up
        return None
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _plan_path(key: str) -> str:
    return os.path.join(cache.cache_dir(), f"{key}.plan.json")


def lookup(hl_text: str, backend: str) -> backends.Program | None:
    """The program of this traced module from the disk cache, or None (also when the
    user asked for IR dumps or the fusion log: those come from the pipeline)."""
    if backend != "c" or knobs.dump_dir() or knobs.log_fusion():
        return None
    key = _key(hl_text, backend)
    if key is None:
        return None
    try:
        with open(_plan_path(key)) as f:
            plan = json.load(f)
        so_key = plan["so"]
        directory = cache.cache_dir()
        so_path = os.path.join(directory, f"{so_key}.so")
        if not cache._valid(so_path, os.path.join(directory, f"{so_key}.sum")):
            return None
        from lamina.runtime.c_backend import BufferSpec, Runner

        specs = [[BufferSpec(tuple(shape), np.dtype(_np_dtype(dt))) for shape, dt in plan[k]]
                 for k in ("inputs", "outputs")]
        lib = cache._LOADED.get(so_key) or ctypes.CDLL(so_path)
        entry = getattr(lib, plan.get("entry", "lamina_main"))  # no import of the codegen
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    cache._LOADED[so_key] = lib
    blas.bind(lib)
    entry.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    entry.restype = None
    donated = {int(j): int(i) for j, i in plan.get("donated", {}).items()}
    return backends.Program("c", Runner(entry, specs[0], specs[1], plan["name"], donated),
                            levels={"hl": hl_text}, kernel_count=int(plan["kernels"]))


def store(hl_text: str, backend: str, program: backends.Program) -> None:
    """Remember a freshly compiled C program (best effort: a failure only costs the
    next process a compile)."""
    if backend != "c" or program.source is None:
        return
    runner = program.run
    key = _key(hl_text, backend)
    if key is None or not hasattr(runner, "inputs"):
        return
    cc = cache._compiler()
    from lamina.codegen.c import ENTRY

    plan = {"so": cache.cache_key(program.source, cc, cache.all_flags(cc)), "entry": ENTRY,
            "name": runner.name, "kernels": program.kernel_count,
            "inputs": [[list(s.shape), s.dtype.name] for s in runner.inputs],
            "outputs": [[list(s.shape), s.dtype.name] for s in runner.outputs],
            "donated": {str(j): i for j, i in getattr(runner, "donated", {}).items()}}
    with contextlib.suppress(OSError):
        directory = cache.cache_dir()
        cache._atomic_write(_plan_path(key), json.dumps(plan).encode(), directory)


def _np_dtype(name: str):
    if name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    return name
