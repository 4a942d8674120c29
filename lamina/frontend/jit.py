"""`lm.jit`: trace once per signature, compile, cache, call.

A signature is the pytree structure of the arguments, the shape and dtype of
every array leaf, and the value of every other leaf (Python scalars and strings
are static). Tensors the function reads from its closure (module parameters,
optimizer state) become extra inputs; tensors it updates in place and `.grad`
fields it sets become extra outputs, written back after every call. Guards on
the Python state the trace read (`lamina.frontend.guards`: a module's `training`
flag, a float in a closure, which tensor a global holds) and on the captured
tensors (dtype, whether `.grad` was None) trigger a retrace when they no longer
hold, as Dynamo's guards do (`LAMINA_LOG_RECOMPILES=1` says which failed). The tracing itself is
`lamina.frontend.trace` (its `Trace` holds the program and this plan); `lm.jit`
adds the signature cache, compilation and the fast path for plain ndarrays.

Donation: the traced function says which output is the new value of which captured
input (`lamina.donate`); where the C backend finds that safe it writes the output
into the input's own array (`lamina/passes/donate_buffers.py`), so a training step
updates parameters and optimizer state in place: no new parameter-sized arrays per
step, and arrays or views a user holds (`p.numpy()`) see the update, as in torch.
Other backends allocate fresh outputs (same values). `LAMINA_DONATE=0` turns it off.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from lamina import dtypes, knobs
from lamina.errors import ArgumentError, LaminaError, with_location
from lamina.frontend import dynamic_dims, pytree
from lamina.frontend import graph as graphs
from lamina.frontend.compile import LRU, Recompiles, static_key
from lamina.frontend.sizes import Sizes
from lamina.frontend.tensor import Tensor
from lamina.frontend.trace import Trace, as_array, trace_flat
from lamina.runtime import backends

__all__ = ["Jitted", "Lowered", "jit"]


def _leaf_signature(x: Any) -> tuple:
    if isinstance(x, Tensor):
        # same signature as an ndarray of that shape and dtype: no retrace between the two
        return ("A", x.shape, x.dtype.name) + (("grad",) if x.requires_grad else ())
    if isinstance(x, np.ndarray | np.generic):
        return ("A", tuple(np.shape(x)), dtypes.from_numpy(np.asarray(x).dtype).name)
    if isinstance(x, bool | int | float | str | bytes | type(None)):
        return ("S", type(x).__name__, static_key(x))
    try:
        hash(x)
    except TypeError:
        raise ArgumentError(with_location(
            f"lm.jit: cannot pass an argument of type {type(x).__name__} (pass arrays, "
            "tensors, Python scalars, or tuples/lists/dicts of them)")) from None
    return ("S", type(x).__name__, static_key(x))


@dataclass
class _Entry:
    """One compiled signature: its trace (how to gather inputs and scatter outputs) and
    its program."""

    program: backends.Program
    trace: Trace
    # inputs whose arrays the program updates in place (C backend, see donate-buffers)
    donated: list[int] = field(default_factory=list)

    def module_text(self) -> str:
        return str(self.trace.module)


class Jitted:
    """A function compiled on first call for each signature (see module docstring)."""

    def __init__(self, fn: Callable, backend: str | None = None, dynamic: bool | None = None):
        self.fn = fn
        self.backend = backend
        self.dynamic = dynamic
        # per rank signature: the shapes of its first compile, and its symbolic program
        self._first: dict[tuple, tuple[list, _Entry]] = {}
        # per rank signature, its symbolic programs (one per state of the guards on
        # Python state: a module in train and in eval mode)
        self._symbolic: dict[tuple, list[dynamic_dims.Symbolic]] = {}
        self._not_symbolic: dict[tuple, str] = {}  # rank signature -> why it failed
        self.compile_log: list[str] = []  # why each program was compiled (as torch's explain)
        self.stats = {"static": 0, "symbolic": 0}  # programs compiled, by kind
        # both bounded (LAMINA_PROGRAM_CACHE): a dropped entry's library is unloaded
        self._cache: dict[tuple, _Entry] = LRU()
        # calls whose arguments are all plain ndarrays skip flattening and signatures:
        # (backend, (shape, dtype) per argument) -> entry
        self._fast: dict[tuple, _Entry] = LRU()
        self._recompiles = Recompiles(fn, _leaf_signature)  # LAMINA_RECOMPILE_LIMIT
        self._lock = threading.RLock()
        functools.update_wrapper(self, fn)

    # ------------------------------------------------------------ calling

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if graphs.tracing():  # inside another trace: inline
            return self.fn(*args, **kwargs)
        backend = self.backend or backends.default_name()
        fast = None if kwargs else _fast_key(backend, args)
        if fast is not None:
            entry = self._fast.get(fast)
            if entry is not None and entry.trace.guards_hold():
                return self._run(entry, args, ready=True)
        leaves, treedef = pytree.flatten((args, kwargs))
        key = (treedef, tuple(_leaf_signature(x) for x in leaves), backend)
        entry = self._cache.get(key)
        if entry is None or not entry.trace.guards_hold():
            entry = self._miss(key, args, kwargs, leaves, treedef, backend)
        if fast is not None and entry.trace.inputs == list(range(len(args))) and all(
                a.dtype == dtypes.from_numpy(a.dtype).np_dtype for a in args):
            self._fast[fast] = entry
        return self._run(entry, leaves)

    def _miss(self, key, args, kwargs, leaves, treedef, backend: str) -> _Entry:
        """Trace and compile a signature not cached (or whose guards failed). Threads
        that miss together compile once: the others find the first one's entry."""
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and entry.trace.guards_hold():
                return entry
            if entry is not None:
                _log_retrace(self.fn, entry.trace)
            entry = self._symbolic_entry(key, args, kwargs, leaves, treedef, backend)
            if entry is None:
                self._recompiles.note(args, kwargs)
                entry = self._compile(args, kwargs, leaves, treedef, backend, warm_start=True)
                self.stats["static"] += 1
                # the first program of a rank signature is kept for the symbolic policy
                # to compare with; otherwise only its shapes (the LRU bounds the rest)
                keep = entry if (self.dynamic or knobs.auto_dynamic()) else None
                first = self._first.setdefault(dynamic_dims.rank_key(key),
                                               (dynamic_dims.shapes_of(leaves), keep))
                if first[0] != dynamic_dims.shapes_of(leaves) and len(self.compile_log) < 1000:
                    self._log("static program for the new shapes")
            self._cache[key] = entry
            return entry

    # ------------------------------------------------------------ symbolic dims

    def _log(self, message: str) -> None:
        self.compile_log.append(message)
        if knobs.log_recompiles():
            code = getattr(self.fn, "__code__", None)
            where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
            print(f"[lamina recompile] {getattr(self.fn, '__qualname__', self.fn)!s}{where}: "
                  f"{message}", file=sys.stderr)

    def _symbolic_entry(self, key, args, kwargs, leaves, treedef, backend) -> _Entry | None:
        """The program with symbolic dims for this call (found or compiled now), or
        None (and the reason logged) when this call compiles for its static shapes."""
        if self.dynamic is False:
            return None
        rank = dynamic_dims.rank_key(key)
        shapes = dynamic_dims.shapes_of(leaves)
        programs = self._symbolic.setdefault(rank, [])
        live = [p for p in programs if p.entry.trace.guards_hold()]
        for found in live:
            refused = found.refuses(shapes)
            if not refused:
                return found.entry
            self._log(f"a symbolic program does not fit: {refused}")
            if found.static_fits(shapes) or len(live) >= 4:
                return None  # its symbol's guards refused the size: static shapes
        # (a dim its program keeps static changed: another symbol, another program)
        if rank in self._not_symbolic:
            return None
        dims, why = dynamic_dims.requested(leaves, shapes, self.dynamic) if not live \
            else ((), "")
        first = self._first.get(rank)
        if not dims and first is not None and (self.dynamic or knobs.auto_dynamic()):
            # (torch's default policy only on request: the probe traces can materialize
            # size-dependent constants at the probe size, see knobs.auto_dynamic)
            dims, why = dynamic_dims.changed(first[0], shapes)
            if dims:
                why = "sizes changed (" + why + ")"
        if not dims:
            if why:
                self._log(f"no symbolic dim: {why}")
            return None
        reason = dynamic_dims.admissible(dims, shapes)
        if reason:
            self._log(f"static shapes for this call: {reason}")
            return None
        from lamina.runtime.dynamic import NotGeneric

        try:
            # the first static trace must match the probes' op sequence when its sizes
            # could have been the symbol's (a size-1 trace simplifies broadcasts)
            same = first is not None and first[1] is not None \
                and not dynamic_dims.admissible(dims, first[0]) and first[1].trace.guards_hold()
            entry, guards = self._compile_symbolic(dims, leaves, treedef, backend,
                                                   first[1] if same else None)
        except NotGeneric as err:
            self._not_symbolic[rank] = str(err)
            self._log(f"symbolic compile of {_describe_dims(dims)} failed, static shapes "
                      f"instead: {err}")
            return None
        found = dynamic_dims.Symbolic.of(entry, dims, shapes, guards)
        programs.insert(0, found)
        self._first.setdefault(rank, (shapes, entry))
        del programs[8:]
        self.stats["symbolic"] += 1
        self._log(f"compiled once with {_describe_dims(dims)} symbolic: {why}"
                  + (f"; guards: {', '.join(map(str, guards))}" if guards else ""))
        refused = found.refuses(shapes)
        if refused:
            self._log(f"the symbolic program does not fit this call: {refused}")
            return None
        return entry

    def _compile_symbolic(self, dims, leaves, treedef, backend: str,
                          first: _Entry | None) -> tuple[_Entry, list]:
        from lamina.frontend.compile import _LOCK
        from lamina.runtime import dynamic

        compiler = getattr(backends.get(backend), "compile_sized", None)
        if compiler is None:
            raise dynamic.NotGeneric(f"the {backend} backend compiles per shape")
        traces, records = [], []
        for size in dynamic.PROBES:
            probe = dynamic_dims.probe_leaves(leaves, dims, size)
            pargs, pkwargs = pytree.unflatten(treedef, probe)
            records.append(Sizes(size))
            try:
                traces.append(trace_flat(self.fn, pargs, pkwargs, probe, treedef, records[-1]))
            except dynamic.NotGeneric:
                raise
            except Exception as err:  # the static trace of this call will say it properly
                raise dynamic.NotGeneric(f"tracing at the probe size failed: "
                                         f"{type(err).__name__}: {str(err)[:200]}") from None
        t0, t1 = traces
        for record in records:
            if record.failure:
                raise dynamic.NotGeneric(record.failure)
        if records[0].guards != records[1].guards:
            raise dynamic.NotGeneric("the two probe sizes asked different questions of the "
                                     "size")
        ops = dynamic_dims.structure(t0.module)
        if ops != dynamic_dims.structure(t1.module) or (
                first is not None and ops != dynamic_dims.structure(first.trace.module)):
            raise dynamic.NotGeneric("the traced program depends on the size (the function "
                                     "branches on it, or an op decides by it)")
        if t0.inputs != t1.inputs or [id(t) for t in t0.captured] != [id(t) for t in t1.captured]:
            raise dynamic.NotGeneric("the traced program's inputs depend on the size")
        guards = records[0].guards + dynamic_dims.slice_guards(t0.module, t1.module)
        bindings = [dynamic.Binding(t0.inputs.index(i), d) for i, d in dims]
        with _LOCK:
            program = compiler([t0.module, t1.module], bindings)
        donated = sorted(getattr(program.run, "donated", {}).values())
        return _Entry(program=program, trace=t0, donated=donated), guards

    def _run(self, entry: _Entry, leaves: list[Any] | tuple, ready: bool = False) -> Any:
        """`ready`: the leaves are exactly the program's arrays (the fast path)."""
        trace = entry.trace
        inputs = list(leaves) + trace.captured_arrays() if ready else trace.leaf_arrays(leaves)
        if entry.donated:  # arrays the program overwrites: pending eager ops keep a copy
            graphs.keep_snapshots([inputs[i] for i in entry.donated])
        return trace.finish(entry.program(inputs, donate=True))

    def _compile(self, args, kwargs, leaves, treedef, backend: str,
                 warm_start: bool = False) -> _Entry:
        from lamina.frontend.compile import compile_module

        traced = trace_flat(self.fn, args, kwargs, leaves, treedef)
        program = compile_module(traced.module, backend, name=traced.name,
                                 warm_start=warm_start)
        donated = sorted(getattr(program.run, "donated", {}).values())
        return _Entry(program=program, trace=traced, donated=donated)

    # ------------------------------------------------------------ inspection

    def lower(self, *args: Any, backend: str | None = None, **kwargs: Any) -> Lowered:
        """Trace and compile for these arguments without running; see `Lowered`."""
        leaves, treedef = pytree.flatten((args, kwargs))
        entry = self._compile(args, kwargs, leaves, treedef, backend or self.backend
                              or backends.default_name())
        return Lowered(entry.program)

    def trace(self, *args: Any, **kwargs: Any) -> ModuleOp:
        """The traced hl module, before any pass (`lamina.frontend.trace.trace(fn, ...)`
        gives the whole `Trace`)."""
        leaves, treedef = pytree.flatten((args, kwargs))
        return trace_flat(self.fn, args, kwargs, leaves, treedef).module


class Lowered:
    """A compiled program's levels: `.ir("hl" | "loop" | "hw")`, `.source()`, `.compile()`."""

    def __init__(self, program: backends.Program):
        self.program = program

    def ir(self, level: str = "hl") -> str:
        if level not in self.program.levels:
            raise LaminaError(f"backend {self.program.backend!r} has no level {level!r}; "
                              f"it has {sorted(self.program.levels)}")
        return self.program.levels[level]

    def source(self) -> str:
        if self.program.source is None:
            raise LaminaError(f"backend {self.program.backend!r} generates no source")
        return self.program.source

    @property
    def kernel_count(self) -> int:
        return self.program.kernel_count

    def compile(self) -> Callable[..., list[np.ndarray]]:
        return lambda *arrays: self.program([as_array(a) for a in arrays])


def _log_retrace(fn: Callable, trace: Trace) -> None:
    """`LAMINA_LOG_RECOMPILES=1`: say which guard of the old trace failed."""
    if knobs.log_recompiles():
        code = getattr(fn, "__code__", None)
        where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
        print(f"[lamina recompile] {getattr(fn, '__qualname__', fn)!s}{where}: "
              f"{trace.guard_failure()}", file=sys.stderr)


def _describe_dims(dims) -> str:
    return ", ".join(f"arg {i} dim {d}" for i, d in dims)


def _fast_key(backend: str, args: tuple) -> tuple | None:
    """The cache key of a call whose arguments are all plain ndarrays, else None."""
    key: list = [backend]
    for a in args:
        if type(a) is not np.ndarray:
            return None
        key.append((a.shape, a.dtype))
    return tuple(key)


def jit(fn: Callable | None = None, *, backend: str | None = None,
        dynamic: bool | None = None) -> Any:
    """`@lm.jit`, `lm.jit(fn)`, `lm.jit(fn, backend=...)`, `@lm.jit(backend=...)`.

    `dynamic` (as torch.compile's): True makes the batch dim symbolic from the first
    call (and a dim that changes later, once), False compiles every shape; None
    compiles every shape unless `lm.mark_dynamic` marked a dim, or LAMINA_AUTO_DYNAMIC=1
    asks for torch's default policy (a second call with other sizes compiles once with
    those dims symbolic). `lamina.frontend.dynamic_dims`, docs/dynamic_shapes.md."""
    if fn is None:
        return lambda f: Jitted(f, backend, dynamic)
    if isinstance(fn, Jitted):
        return fn if backend in (None, fn.backend) and dynamic in (None, fn.dynamic) \
            else Jitted(fn.fn, backend or fn.backend, dynamic)
    return Jitted(fn, backend, dynamic)
