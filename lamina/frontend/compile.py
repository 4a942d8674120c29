"""From a traced hl module to a runnable `Program`: the backend runs its pipeline.

Programs are cached in memory by the structure of their IR and the backend, so
an eager loop or a retrace that produces the same program compiles once. Every
in-memory cache of programs is an `LRU` of `LAMINA_PROGRAM_CACHE` entries: a
program pushed out is dropped, and its compiled library is unloaded once nothing
else uses it (`lamina.runtime.cache`), so a loop over ever new shapes keeps memory
and mapped libraries flat. `Recompiles` counts the signatures one jitted function
compiled and, past `LAMINA_RECOMPILE_LIMIT`, warns once, naming the argument that
changed (as torch's `recompile_limit`).

Threads: one compile runs at a time (`_LOCK`). The pipeline is Python (the GIL
serializes it anyway), and the backends write their artifacts under names derived
from the program (the Triton runtime's temporary file is named after the process):
two threads compiling the same program must not write one file together. A thread
that waited finds the other's program in the cache."""

from __future__ import annotations

import contextlib
import gc
import inspect
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from lamina import knobs
from lamina.frontend import pytree
from lamina.runtime import backends

__all__ = ["cached", "compile_module"]


class LRU(OrderedDict):
    """A dict of at most `LAMINA_PROGRAM_CACHE` entries (read when one is added);
    `get` and `[]` count as uses, and adding past the cap drops the least recently
    used. Safe to share between threads: an entry another thread dropped meanwhile
    is simply missing (a recompile), never an error."""

    def get(self, key: Hashable, default: Any = None) -> Any:
        try:  # (the per-call path of lm.jit: no context managers here)
            value = OrderedDict.__getitem__(self, key)
            self.move_to_end(key)
        except KeyError:
            return default
        return value

    def __getitem__(self, key: Hashable) -> Any:
        value = OrderedDict.__getitem__(self, key)
        try:
            self.move_to_end(key)
        except KeyError:
            pass
        return value

    def __setitem__(self, key: Hashable, value: Any) -> None:
        super().__setitem__(key, value)
        cap = knobs.program_cache_size()
        with contextlib.suppress(KeyError):
            self.move_to_end(key)
            while len(self) > cap:
                self.popitem(last=False)


_CACHE: LRU = LRU()
_LOCK = threading.RLock()


def cached(key: tuple, backend: str | None = None) -> backends.Program | None:
    """The program compiled before under `key` for `backend` (the default one), if any."""
    return _CACHE.get((key, backend or backends.default_name()))


def compile_module(module: ModuleOp, backend: str | None = None, key: tuple | None = None,
                   name: str = "main", warm_start: bool = False) -> backends.Program:
    """`warm_start`: look the traced module up in the disk cache first and skip the
    pipeline on a hit (`lamina.runtime.plan_cache`; lm.jit calls, not `.lower()`)."""

    backend_name = backend or backends.default_name()
    if key is not None and (found := _CACHE.get((key, backend_name))) is not None:
        return found
    with _LOCK:
        if key is not None and (found := _CACHE.get((key, backend_name))) is not None:
            return found  # compiled while we waited
        program = _compile(module, backend_name, name, warm_start)
        if key is not None:
            _CACHE[(key, backend_name)] = program
        return program


def _compile(module: ModuleOp, backend_name: str, name: str, warm_start: bool) -> backends.Program:
    from lamina.runtime import (
        collective_program,
        plan_cache,  # (the C runtime: not imported before a compile)
    )

    if collective_program.has_collectives(module):  # compute segments + collectives
        return collective_program.compile(module, backends.get(backend_name))
    traced = str(module) if warm_start else None
    if traced is not None and (found := plan_cache.lookup(traced, backend_name)):
        return found
    # imported here: a warm start (plan found) never loads the pass pipeline
    from lamina.passes.pipeline import Dump

    dump = Dump.for_program(name)
    if dump is not None:
        dump.write("input", str(module))
    with _gc_paused():
        program = backends.get(backend_name).compile(module, dump)
    if traced is not None:
        plan_cache.store(traced, backend_name, program)
    return program


@contextlib.contextmanager
def _gc_paused():
    """Python's cyclic collector off while a program compiles. The pipeline builds and
    drops IR objects by the hundred thousand; each full collection walks every live
    one, and their number grows with the program: a 6-layer GPT step spent 8 of its
    42 s in the collector (2 layers: 1.2 of 10). The cycles a compile drops (xDSL ops
    point to their parents) are collected after it, as usual. Compiles are serialized
    (`_LOCK`); a collector the caller turned off stays off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------- recompiles


def static_key(x: Any) -> Any:
    """How a static Python value enters a signature: floats by their bits, so that
    NaN (NaN != NaN) finds its trace again and -0.0 (== 0.0) gets its own."""
    if type(x) is float:
        return ("float", x.hex())
    if type(x) is complex:
        return ("complex", x.real.hex(), x.imag.hex())
    return x


class Recompiles:
    """The signatures one jitted function compiled; warns once past the limit."""

    def __init__(self, fn: Callable, signature: Callable[[Any], tuple]):
        self.fn = fn
        self.signature = signature  # one leaf -> its part of the cache key
        self.count = 0
        self.last: dict[str, list[tuple]] | None = None
        self.warned = False

    def note(self, args: tuple, kwargs: dict) -> None:
        """A new signature is being compiled for these arguments."""
        self.count += 1
        now = {name: [self.signature(leaf) for leaf in pytree.flatten(value)[0]]
               for name, value in self._named(args, kwargs)}
        before, self.last = self.last, now
        limit = knobs.recompile_limit()
        if self.warned or limit <= 0 or self.count <= limit or before is None:
            return
        self.warned = True
        name = getattr(self.fn, "__qualname__", None) or repr(self.fn)
        warnings.warn(
            f"lm.jit({name}) has compiled {self.count} signatures (LAMINA_RECOMPILE_LIMIT="
            f"{limit}); the last because {_changed(before, now)}. Each new shape, dtype "
            "or Python scalar value compiles anew: pass changing scalars as arrays, or "
            "pad shapes to a few sizes", RuntimeWarning, stacklevel=3)

    def _named(self, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
        try:
            params = list(inspect.signature(self.fn).parameters.values())
        except (TypeError, ValueError):
            params = []
        names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY,
                                                       p.POSITIONAL_OR_KEYWORD)]
        named = [(f"'{names[i]}'" if i < len(names) else f"#{i}", a) for i, a in
                 enumerate(args)]
        return named + [(f"'{k}'", v) for k, v in kwargs.items()]


def _changed(before: dict[str, list[tuple]], now: dict[str, list[tuple]]) -> str:
    for name, leaves in now.items():
        old = before.get(name)
        if old is None:
            return f"argument {name} is new"
        if old == leaves:
            continue
        if len(old) != len(leaves):
            return f"argument {name} changed structure ({len(old)} -> {len(leaves)} leaves)"
        for a, b in zip(old, leaves, strict=True):
            if a != b:
                return f"argument {name} changed {_describe(a, b)}"
    gone = [name for name in before if name not in now]
    if gone:
        return f"argument {gone[0]} is no longer passed"
    return "a guard on state the function reads (a captured tensor, a module's mode) failed"


def _describe(a: tuple, b: tuple) -> str:
    if a[0] == b[0] == "A":
        if a[1] != b[1]:
            return f"shape {a[1]} -> {b[1]}"
        if a[2] != b[2]:
            return f"dtype {a[2]} -> {b[2]}"
        return "requires_grad"
    if a[0] == b[0] == "S":
        return f"value {_value(a)} -> {_value(b)}"
    return f"kind ({'array' if a[0] == 'A' else 'Python value'} -> " \
           f"{'array' if b[0] == 'A' else 'Python value'})"


def _value(leaf: tuple) -> str:
    v = leaf[2]
    if isinstance(v, tuple) and len(v) == 2 and v[0] == "float":
        return repr(float.fromhex(v[1]))
    return repr(v)
