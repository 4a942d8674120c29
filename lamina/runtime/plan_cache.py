"""Warm start: a traced program found on disk runs without the compiler pipeline.

`lm.jit` calls look up the traced hl module's text (+ backend, C compiler, flags and
target, and a fingerprint of lamina's own source files) here before simplifying and
lowering it. An entry is a small JSON plan next to the compiled library in the
artifact cache, `<key>.plan`, sealed to its key (`cache_store`: a stamp line holding
the key and the sha256 of the body):

    {"so": "<key of the library>", "so_digest": "<its stamp digest>", "entry": "lamina_main",
     "name": "main", "inputs": [[[4, 8], "float32"], ...], "outputs": [...], "kernels": 3,
     "donated": {"0": 2}}

A hit loads the library only if it is the very one the plan was made with (the stamp
digest), after checking it as every load does, and only if the plan is well-formed
(shapes, dtypes, donation pairs that fit): no simplification, no lowering, no C
generation and no xDSL context (whose dialect imports alone cost ~250 ms). A plan that
is damaged, foreign (another key's), or names another library is ignored and the
program compiled again, which rewrites it. Only the C backend has plans. `Lowered`
(`.lower()`) never uses them: it needs the IR levels and the source.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import re

import numpy as np

from lamina import dtypes, knobs
from lamina.runtime import backends, blas, cache, cache_store, toolchain

_VERSION = "2"
_KIND = "plan"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")
_KEY = re.compile(r"[0-9a-f]{64}")


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


def _key(hl_text: str, backend: str) -> str:
    cc = cache._compiler()
    probe = toolchain.probe(cc)
    parts = (_VERSION, backend, hl_text, probe.version, " ".join(cache.all_flags(cc)),
             probe.target, _compiler_fingerprint(), "profile" if knobs.profile() else "")
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def lookup(hl_text: str, backend: str) -> backends.Program | None:
    """The program of this traced module from the disk cache, or None (also when the
    user asked for IR dumps or the fusion log: those come from the pipeline)."""
    if backend != "c" or knobs.dump_dir() or knobs.log_fusion():
        return None
    key = _key(hl_text, backend)
    directory = cache.cache_dir()
    path = os.path.join(directory, f"{key}.{_KIND}")
    found = cache_store.read_private(path)
    body = cache_store.open_text(found[0], _KIND, key) if found else None
    plan = _parse(body) if body is not None else None
    if plan is None:
        return None
    try:
        lib = cache.open_library(plan["so"], directory, expect=plan["so_digest"])
        entry = lib[plan["entry"]]  # by item: no cycle keeps the library loaded
    except (cache.Unusable, AttributeError):
        return None
    cache_store.touch(path)
    blas.bind(lib)
    entry.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    entry.restype = None
    from lamina.runtime.c_backend import Runner

    runner = Runner(entry, plan["inputs"], plan["outputs"], plan["name"], plan["donated"])
    return backends.Program("c", runner, levels={"hl": hl_text}, kernel_count=plan["kernels"])


def _parse(body: bytes) -> dict | None:
    """The plan, checked field by field (a stamp vouches for bytes, not for sense)."""
    from lamina.runtime.c_backend import BufferSpec

    try:
        plan = json.loads(body)
        specs = {k: [BufferSpec(_shape(shape), _dtype(dt)) for shape, dt in plan[k]]
                 for k in ("inputs", "outputs")}
        donated = {int(j): int(i) for j, i in plan["donated"].items()}
        kernels = plan["kernels"]
        fields = [plan[k] for k in ("so", "so_digest", "entry", "name")]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not (all(isinstance(f, str) for f in fields) and _KEY.fullmatch(plan["so"])
            and _KEY.fullmatch(plan["so_digest"]) and _NAME.fullmatch(plan["entry"])
            and type(kernels) is int and kernels >= 0):
        return None
    ins, outs = specs["inputs"], specs["outputs"]
    if not all(0 <= j < len(outs) and 0 <= i < len(ins) and outs[j] == ins[i]
               for j, i in donated.items()):
        return None
    return {**plan, **specs, "donated": donated}


def _shape(shape) -> tuple[int, ...]:
    if not isinstance(shape, list) or not all(type(d) is int and 0 <= d < 2**62 for d in shape):
        raise ValueError(shape)
    return tuple(shape)


def _dtype(name) -> np.dtype:
    found = {d.name: d for d in dtypes.ALL}.get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(name)
    return np.dtype(found.np_dtype)


def store(hl_text: str, backend: str, program: backends.Program) -> None:
    """Remember a freshly compiled C program (best effort: a failure only costs the
    next process a compile)."""
    if backend != "c" or program.source is None:
        return
    runner = program.run
    if not hasattr(runner, "inputs"):
        return
    cc = cache._compiler()
    from lamina.codegen.c import ENTRY

    so_key = cache.cache_key(program.source, cc, cache.all_flags(cc))
    directory = cache.cache_dir()
    try:
        digest, _ = cache.verified_digest(so_key, directory)
    except cache.Unusable:
        return
    key = _key(hl_text, backend)
    plan = {"so": so_key, "so_digest": digest, "entry": ENTRY,
            "name": runner.name, "kernels": program.kernel_count,
            "inputs": [[list(s.shape), s.dtype.name] for s in runner.inputs],
            "outputs": [[list(s.shape), s.dtype.name] for s in runner.outputs],
            "donated": {str(j): i for j, i in getattr(runner, "donated", {}).items()}}
    data = cache_store.seal_text(_KIND, key, json.dumps(plan).encode())
    try:
        cache_store.atomic_write(directory, f"{key}.{_KIND}", data)
    except OSError:
        return
    cache_store.enforce_limit(directory, len(data), keep=key)
