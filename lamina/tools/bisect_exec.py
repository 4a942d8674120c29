"""Running a module at whatever level it is, for `lamina-bisect`.

| level | executor |
|---|---|
| hl | the numpy reference interpreter (`lamina.runtime.interp`): the spec |
| loop | the loop interpreter (`lamina.runtime.loop_interp`) |
| cpu | the generated C, compiled with the C flags in force (`lamina.runtime.cache`) |
| tile | the generated Triton (on the GPU, else in Triton's interpreter) |

Every executor takes the program's inputs and returns its outputs as numpy arrays, in
the order of the hl function's results. Inputs are never written: after
`donate-buffers` (`lamina.donated`) output j is written into input i's buffer, and the
runners copy that input first and read output j from the copy.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Iterator, Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from lamina import dtypes
from lamina.passes import levels
from lamina.tools.bisect_values import Param

LEVELS = ("hl", "loop", "cpu", "tile")


def level_of(module: ModuleOp) -> str:
    """The one level a module is at, "empty", or "mixed (a, b)" (nothing runs that)."""
    found = list(levels.levels_in(module))
    if not found:
        return "empty"
    return found[0] if len(found) == 1 else f"mixed ({', '.join(found)})"


def runnable(level: str) -> bool:
    return level in LEVELS


def run(module: ModuleOp, level: str, inputs: Sequence[np.ndarray],
        outputs: Sequence[Param]) -> list[np.ndarray]:
    """The outputs of `module` (at `level`) on `inputs`."""
    if level == "hl":
        from lamina.runtime import interp

        return [np.asarray(x) for x in interp.run_module(module, list(inputs))]
    if level == "loop":
        from lamina.runtime import loop_interp

        return loop_interp.run(module, list(inputs))
    if level == "cpu":
        return run_c(c_source(module), module, inputs, outputs)
    if level == "tile":
        return run_triton(module, inputs, outputs)
    raise ValueError(f"no executor for {level}-level IR")


def _main(module: ModuleOp) -> func.FuncOp:
    return next(op for op in module.ops if isinstance(op, func.FuncOp))


# ---------------------------------------------------------------- cpu: compiled C


def c_source(module: ModuleOp) -> str:
    from lamina.codegen.c import emit_c

    return emit_c(module)


@contextlib.contextmanager
def c_flags(flags: Sequence[str] | None) -> Iterator[None]:
    """Compile with exactly `flags` (LAMINA_CFLAGS, no LAMINA_EXTRA_CFLAGS) inside."""
    if flags is None:
        yield
        return
    saved = {k: os.environ.get(k) for k in ("LAMINA_CFLAGS", "LAMINA_EXTRA_CFLAGS")}
    os.environ["LAMINA_CFLAGS"] = " ".join(flags)
    os.environ.pop("LAMINA_EXTRA_CFLAGS", None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def omp_threads(n: int | None) -> Iterator[None]:
    """Run the OpenMP regions started inside with `n` threads (None: unchanged)."""
    name = ctypes.util.find_library("gomp") or "libgomp.so.1"
    try:
        gomp = ctypes.CDLL(name) if n is not None else None
    except OSError:
        gomp = None
    if gomp is None:
        yield
        return
    before = gomp.omp_get_max_threads()
    gomp.omp_set_num_threads(n)
    try:
        yield
    finally:
        gomp.omp_set_num_threads(before)


def run_c(source: str, module: ModuleOp, inputs: Sequence[np.ndarray],
          outputs: Sequence[Param], flags: Sequence[str] | None = None,
          threads: int | None = None) -> list[np.ndarray]:
    """Compile `source` (the C of the cpu-level `module`) with `flags` (default: the
    flags in force) and run it once, as the C backend's Runner does."""
    from lamina.codegen.c import ENTRY
    from lamina.passes.donate_buffers import donation_map
    from lamina.runtime import blas, cache
    from lamina.runtime.c_backend import BufferSpec, Runner

    with c_flags(flags):
        lib = cache.load(source)
    blas.bind(lib)
    entry = getattr(lib, ENTRY)
    entry.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    entry.restype = None
    fn = _main(module)
    kinds = [dtypes.as_dtype(s.data) for s in fn.attributes["lamina.dtypes"].data]  # type: ignore[attr-defined]
    n_in = len(inputs)
    specs = [BufferSpec(tuple(int(d) for d in a.type.get_shape()), np.dtype(k.np_dtype))  # type: ignore[attr-defined]
             for a, k in zip(fn.body.block.args, kinds, strict=True)]
    runner = Runner(entry, specs[:n_in], specs[n_in:], fn.sym_name.data, donation_map(fn))
    with omp_threads(threads):
        outs = runner(list(inputs))
    # copies: the runner's buffers come from a pool that reuses them
    return [np.array(o).reshape(p.shape) for o, p in zip(outs, outputs, strict=True)]


# ---------------------------------------------------------------- tile: Triton


def run_triton(module: ModuleOp, inputs: Sequence[np.ndarray],
               outputs: Sequence[Param]) -> list[np.ndarray]:
    from lamina.codegen.triton import generate
    from lamina.runtime import triton_backend as tb

    tb._require_packages()
    launch = tb._load_source(generate(module)).launch
    types = [a.type for a in tb._main(module).body.block.args]
    n_in = len(inputs)
    torch = tb._torch()
    ins = [tb.to_device(np.asarray(x), t) for x, t in zip(inputs, types[:n_in], strict=True)]
    outs = [torch.empty((int(np.prod(t.get_shape())),), dtype=tb._torch_dtype(t),  # type: ignore[attr-defined]
                        device=tb.device()) for t in types[n_in:]]
    launch(*ins, *outs, torch=torch, device=tb.device())
    return [tb.to_host(o, np.dtype(p.dtype.np_dtype), p.shape)
            for o, p in zip(outs, outputs, strict=True)]
