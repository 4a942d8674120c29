"""From a traced hl module to a runnable `Program`: the backend runs its pipeline.

Programs are cached in memory by the structure of their IR and the backend, so
an eager loop or a retrace that produces the same program compiles once.

Threads: one compile runs at a time (`_LOCK`). The pipeline is Python (the GIL
serializes it anyway), and the backends write their artifacts under names derived
from the program (the Triton runtime's temporary file is named after the process):
two threads compiling the same program must not write one file together. A thread
that waited finds the other's program in the cache."""

from __future__ import annotations

import threading

from xdsl.dialects.builtin import ModuleOp

from lamina.runtime import backends, plan_cache

__all__ = ["cached", "compile_module"]

_CACHE: dict[tuple, backends.Program] = {}
_LOCK = threading.RLock()


def cached(key: tuple, backend: str | None = None) -> backends.Program | None:
    """The program compiled before under `key` for `backend` (the default one), if any."""
    return _CACHE.get((key, backend or backends.default_name()))


def compile_module(module: ModuleOp, backend: str | None = None, key: tuple | None = None,
                   name: str = "main", warm_start: bool = False) -> backends.Program:
    """`warm_start`: look the traced module up in the disk cache first and skip the
    pipeline on a hit (`lamina.runtime.plan_cache`; lm.jit calls, not `.lower()`)."""
    backend_name = backend or backends.default_name()
    if key is not None and (key, backend_name) in _CACHE:
        return _CACHE[(key, backend_name)]
    with _LOCK:
        if key is not None and (key, backend_name) in _CACHE:  # compiled while we waited
            return _CACHE[(key, backend_name)]
        program = _compile(module, backend_name, name, warm_start)
        if key is not None:
            _CACHE[(key, backend_name)] = program
        return program


def _compile(module: ModuleOp, backend_name: str, name: str, warm_start: bool) -> backends.Program:
    traced = str(module) if warm_start else None
    if traced is not None and (found := plan_cache.lookup(traced, backend_name)):
        return found
    # imported here: a warm start (plan found) never loads the pass pipeline
    from lamina.passes.pipeline import Dump

    dump = Dump.for_program(name)
    if dump is not None:
        dump.write("input", str(module))
    program = backends.get(backend_name).compile(module, dump)
    if traced is not None:
        plan_cache.store(traced, backend_name, program)
    return program
