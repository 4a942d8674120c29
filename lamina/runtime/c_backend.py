"""The "c" backend: hl -> loop -> cpu -> C -> cc -> a ctypes call.

    hl  --c-pipeline (lamina/passes/registry.py)-->  cpu  --codegen.c-->  C
    C   --cache.load (cc $LAMINA_CFLAGS, default lamina.knobs.DEFAULT_CFLAGS)-->  .so

A run is one foreign call `lamina_main(void **bufs)`: input arrays are made
contiguous with the program's dtype, outputs are fresh `np.empty` arrays; a program
that checks indices also gets a fault buffer and raises what it recorded
(`lamina.runtime.faults`).

OpenMP threads wait passively between kernels unless `OMP_WAIT_POLICY` says
otherwise (see `lamina.runtime.cache.load`). The library stays loaded while the
program's `Runner` (its entry function) is alive, and is unloaded after.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType

from lamina import dtypes
from lamina.errors import ArgumentError, CompileError, with_location
from lamina.runtime import backends, blas, buffers, faults
from lamina.runtime.buffers import data_address

if TYPE_CHECKING:  # the pass pipeline is imported by a compile, never by a warm start
    from lamina.passes.pipeline import Dump


@dataclass(frozen=True)
class BufferSpec:
    shape: tuple[int, ...]
    dtype: np.dtype


def _specs(types: Sequence) -> list[BufferSpec]:
    specs = []
    for t in types:
        if not isinstance(t, TensorType):
            raise CompileError(f"c backend: program values must be tensors, got {t}")
        specs.append(BufferSpec(tuple(int(d) for d in t.get_shape()),
                                np.dtype(dtypes.from_ir(t.element_type).np_dtype)))
    return specs


def _main(module: ModuleOp) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp):
            return op
    raise CompileError("c backend: the module has no func.func")


class Runner:
    """Calls the compiled entry with numpy buffers; checks the arguments first.

    `donated` ({output j: input i}, from the `donate-buffers` pass): the program writes
    output j into input i's buffer. A caller that gives those inputs up (`donate=True`,
    lm.jit for the tensors it updates in place) gets its own array back as output j,
    updated in place; otherwise, or when the array cannot be written safely (read-only,
    converted, or sharing memory with another input), input i is copied first."""

    def __init__(self, entry, inputs: list[BufferSpec], outputs: list[BufferSpec], name: str,
                 donated: dict[int, int] | None = None, faults: Sequence[str] = ()):
        self.entry = entry
        self.inputs, self.outputs, self.name = inputs, outputs, name
        self.donated = dict(donated or {})
        self._fresh = [(j, s) for j, s in enumerate(outputs) if j not in self.donated]
        self._disjoint: list[int] | None = None  # input addresses last found not to overlap
        self.count = len(inputs) + len(outputs)
        self.faults = list(faults)  # the fault sites (lamina.runtime.faults), in slot order
        self._ptr_array = ctypes.c_void_p * max(self.count + bool(self.faults), 1)

    def _prepare(self, i: int, arg, spec: BufferSpec) -> np.ndarray:
        a = np.require(arg, dtype=spec.dtype, requirements="C")  # keeps 0-d (ascontiguousarray makes it 1-d)
        if a.shape != spec.shape:
            raise ArgumentError(with_location(
                f"c program @{self.name}: argument {i} has shape {a.shape} and dtype "
                f"{np.asarray(arg).dtype}; the program was compiled for {spec.shape} "
                f"{spec.dtype}"))
        return a

    def __call__(self, args: Sequence, donate: bool = False) -> list[np.ndarray]:
        if len(args) != len(self.inputs):
            raise ArgumentError(with_location(
                f"c program @{self.name} takes {len(self.inputs)} arguments, got {len(args)}"))
        # the per-call path is the dispatch overhead of every program: no conversion for
        # arrays that already fit, outputs from the buffer pool (see runtime/buffers.py)
        ptrs = self._ptr_array()
        arrays = []
        for i, spec in enumerate(self.inputs):
            a = args[i]
            if not (type(a) is np.ndarray and a.dtype == spec.dtype and a.shape == spec.shape
                    and a.flags.c_contiguous):
                a = self._prepare(i, a, spec)
            arrays.append(a)
            ptrs[i] = data_address(a)
        n_in = len(self.inputs)
        outs: list = [None] * len(self.outputs)
        for j, spec in self._fresh:
            outs[j] = out = buffers.empty(spec.shape, spec.dtype)
            ptrs[n_in + j] = data_address(out)
        if self.donated:
            shared: set[int] = set()
            if donate:  # a training loop passes the same arrays every call: checked once
                addresses = ptrs[:n_in]
                if addresses != self._disjoint:
                    shared = _sharing(arrays, self.donated.values())
                    self._disjoint = None if shared else addresses
            for j, i in self.donated.items():
                a = arrays[i]
                if not (donate and a is args[i] and a.flags.writeable) or i in shared:
                    a = buffers.empty(a.shape, a.dtype)  # the caller keeps its input intact
                    np.copyto(a, arrays[i])
                    ptrs[i] = data_address(a)
                outs[j] = a
                ptrs[n_in + j] = ptrs[i]
        if not self.faults:
            self.entry(ptrs)
            return outs
        fault = faults.new_buffer(self.faults)
        ptrs[self.count] = data_address(fault)
        self.entry(ptrs)
        faults.raise_recorded(self.faults, fault, f"c program @{self.name}")
        return outs


def _sharing(arrays: list[np.ndarray], donated: Iterable[int]) -> set[int]:
    """The donated inputs whose memory overlaps another input's (the same parameter
    passed twice, a view of it): writing them in place would change the other.
    All arrays are C-contiguous here, so byte ranges decide. A sweep over the sorted
    ranges finds whether anything overlaps (~20 us for the 15 inputs of the bench's
    MLP step, so the runner skips it when the addresses are the last call's); only
    then are the donated ones checked pair by pair."""
    spans = sorted((data_address(a), data_address(a) + a.nbytes, i)
                   for i, a in enumerate(arrays) if a.nbytes)
    end = -1
    for start, stop, _ in spans:
        if start < end:
            break
        end = max(end, stop)
    else:
        return set()
    found = set()
    for i in donated:
        a = arrays[i]
        lo = data_address(a)
        hi = lo + a.nbytes
        if a.nbytes and any(k != i and start < hi and lo < stop for start, stop, k in spans):
            found.add(i)
    return found


def _kernel_count(module: ModuleOp) -> int:
    from lamina.dialects import cpu

    return sum(isinstance(op, cpu.KernelOp | cpu.GemmOp) for op in module.walk())


class CBackend(backends.Backend):
    name = "c"
    pipeline = "c-pipeline"

    def compile(self, module: ModuleOp, dump: Dump | None = None) -> backends.Program:
        from lamina.codegen.c import ENTRY, emit_c
        from lamina.passes.pipeline import run_pipeline
        from lamina.runtime import cache

        fn = _main(module)
        name = fn.sym_name.data
        inputs = _specs(fn.function_type.inputs.data)
        outputs = _specs(fn.function_type.outputs.data)
        work = module.clone()
        levels = run_pipeline(work, self.pipeline, dump)
        source = emit_c(work)
        if dump is not None:
            dump.write("source", source, ".c")
        lib = cache.load(source)
        blas.bind(lib)  # f32/f64 GEMMs call numpy's OpenBLAS when present
        entry = lib[ENTRY]  # by item, not attribute: no cycle keeps an unused library loaded
        entry.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        entry.restype = None
        from lamina.dialects.check import sites
        from lamina.passes.donate_buffers import donation_map

        runner = Runner(entry, inputs, outputs, name, donation_map(_main(work)), sites(work))
        return backends.Program("c", runner, levels=levels, source=source,
                                kernel_count=_kernel_count(work))

    def compile_sized(self, modules: Sequence[ModuleOp], bindings: Sequence,
                      dump: Dump | None = None) -> backends.Program:
        """One program for every size of a symbolic dim, from the hl modules traced at
        the two probe sizes (`lamina.runtime.dynamic`); raises `dynamic.NotGeneric`
        (with the reason) when their lowerings do not generalize."""
        from lamina.codegen.c import ENTRY, emit_c
        from lamina.dialects.check import sites
        from lamina.passes.donate_buffers import donation_map
        from lamina.passes.pipeline import run_pipeline
        from lamina.runtime import cache, dynamic

        works, sources, levels = [], [], {}
        for module in modules:
            work = module.clone()
            found = run_pipeline(work, self.pipeline, None if works else dump)
            levels = levels or found
            works.append(work)
            sources.append(emit_c(work))
        source, _ = dynamic.generalize_c(sources)
        fns = [_main(m) for m in modules]
        ins = dynamic.generalize_shapes(*[[t.get_shape() for t in f.function_type.inputs.data]
                                          for f in fns])
        outs = dynamic.generalize_shapes(*[[t.get_shape() for t in f.function_type.outputs.data]
                                           for f in fns])
        donated = [donation_map(_main(w)) for w in works]
        faults = [[s.replace(str(p), "s") for s in sites(w)]
                  for w, p in zip(works, dynamic.PROBES, strict=True)]
        if donated[0] != donated[1] or faults[0] != faults[1]:
            raise dynamic.NotGeneric("buffer donation or index checks differ between sizes")
        if dump is not None:
            dump.write("source", source, ".c")
        lib = cache.load(source)
        blas.bind(lib)
        entry = lib[ENTRY]
        entry.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        entry.restype = None
        set_size = lib["lamina_set_size"]
        set_size.argtypes = [ctypes.c_int64]
        set_size.restype = None
        name = fns[0].sym_name.data
        in_dtypes = [s.dtype for s in _specs(fns[0].function_type.inputs.data)]
        out_dtypes = [s.dtype for s in _specs(fns[0].function_type.outputs.data)]

        def make_runner(s: int) -> Runner:
            return Runner(entry, [BufferSpec(d.at(s), t) for d, t in zip(ins, in_dtypes, strict=True)],
                          [BufferSpec(d.at(s), t) for d, t in zip(outs, out_dtypes, strict=True)],
                          name, donated[0], faults[0])

        run = dynamic.SizedEntry(set_size, make_runner, name, ins, list(bindings), donated[0])
        return backends.Program("c", run, levels=levels, source=source,
                                kernel_count=_kernel_count(works[0]))
