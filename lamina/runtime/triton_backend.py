"""Backend "triton": hl -> loop -> tile -> Triton source, run on a GPU or in Triton's
interpreter.

Its pipeline is `triton-pipeline` (`lamina/passes/registry.py`). Without a GPU,
importing this module sets `TRITON_INTERPRET=1` before it imports triton, so the same kernels run on the CPU with torch CPU
tensors (slow: keep shapes tiny). torch is imported lazily, only here, for
device memory. Generated sources are written to the lamina cache dir and
imported from there (Triton reads kernel source from files); Triton keeps its
own binary cache.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp, TensorType

from lamina import dtypes
from lamina.errors import ArgumentError, CompileError, with_location
from lamina.runtime import backends

if TYPE_CHECKING:  # the pass pipeline is imported by a compile, never by a warm start
    from lamina.passes.pipeline import Dump


def _has_gpu_device() -> bool:
    return os.path.exists("/dev/nvidia0") or os.path.exists("/dev/kfd")


def interpreting() -> bool:
    """True when kernels run in Triton's interpreter (no GPU, or TRITON_INTERPRET=1)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _reinterpret_triton_language() -> None:
    """Triton was imported before TRITON_INTERPRET was set, so its own `@triton.jit`
    functions (`tl.sum`, `tl.max`, ...) were made for a GPU, and an interpreted kernel
    calling one fails with "Cannot call @triton.jit'd outside of the scope of a kernel".
    Wrap each as the interpreter's function, as an import under TRITON_INTERPRET=1
    would have (one wrapper per function, so that identity checks still hold)."""
    from triton.runtime.interpreter import InterpretedFunction
    from triton.runtime.jit import JITFunction

    made: dict[int, InterpretedFunction] = {}

    def rewrap(owner: object) -> None:
        for name, obj in list(vars(owner).items()):
            if isinstance(obj, JITFunction):
                setattr(owner, name, made.setdefault(id(obj), InterpretedFunction(obj.fn)))

    for name, module in list(sys.modules.items()):
        if module is not None and name.startswith("triton.language"):
            rewrap(module)
    rewrap(sys.modules["triton.language"].core.tensor)  # methods: x.sum(), ...


if not _has_gpu_device():  # must happen before triton is imported anywhere
    _triton_imported_first = "triton.language" in sys.modules and not interpreting()
    os.environ["TRITON_INTERPRET"] = "1"
    if _triton_imported_first:
        _reinterpret_triton_language()


@functools.cache
def _torch():
    import torch

    return torch


def device() -> str:
    return "cpu" if interpreting() else "cuda"


# ---------------------------------------------------------------- host <-> device


def to_device(array: np.ndarray, t: MemRefType):
    """A flat torch tensor holding `array` with the buffer's element type (bools as i8)."""
    torch = _torch()
    from lamina.codegen.triton import torch_type

    want = getattr(torch, torch_type(t.element_type).split(".")[1])
    a = np.ascontiguousarray(array).reshape(-1)
    if a.dtype == np.bool_:
        a = a.view(np.int8)
    if a.dtype == dtypes.bfloat16.np_dtype:
        host = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    else:
        host = torch.from_numpy(a.copy() if not a.flags.writeable else a)
    if host.dtype != want:
        host = host.view(want) if host.element_size() == _itemsize(want) else host.to(want)
    return host.to(device()) if device() != "cpu" else host.clone()


def _itemsize(torch_dtype) -> int:
    return _torch().empty((), dtype=torch_dtype).element_size()


def to_host(buf, np_dtype: np.dtype, shape: Sequence[int]) -> np.ndarray:
    torch = _torch()
    cpu = buf.detach().to("cpu")
    if cpu.dtype == torch.bfloat16:
        out = cpu.view(torch.int16).numpy().view(dtypes.bfloat16.np_dtype)
    else:
        out = cpu.numpy()
    if out.dtype != np_dtype:
        out = out.view(np_dtype) if out.itemsize == np.dtype(np_dtype).itemsize \
            else out.astype(np_dtype)
    return out.reshape(tuple(shape))


# ---------------------------------------------------------------- compile


def _load_source(source: str) -> ModuleType:
    """Write the source to the cache dir (Triton reads kernels from files) and import it."""
    from lamina.runtime import cache

    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    folder = os.path.join(cache.cache_dir(), "triton")  # inside the user-only (0700) dir
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, f"lamina_{digest}.py")
    if _read(path) != source:  # missing, damaged or foreign: never import what we did not write
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    name = f"lamina_triton_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # a failed import must not be found next time
        raise
    return module


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _main(module: ModuleOp) -> func.FuncOp:
    from lamina.codegen.triton import host_function

    return host_function(module)


class TritonProgram(backends.Program):
    """A Program whose kernels can also be launched on device buffers directly
    (benchmarks time `launch` without the host<->device copies of `run`)."""

    launcher: Callable | None = None
    input_types: list = []
    output_types: list = []
    results: list = []

    def device_inputs(self, args: Sequence[np.ndarray]) -> list:
        if len(args) != len(self.input_types):
            raise ArgumentError(with_location(
                f"triton program takes {len(self.input_types)} arguments, got {len(args)}"))
        return [to_device(np.asarray(a), t) for a, t in zip(args, self.input_types, strict=True)]

    def device_outputs(self) -> list:
        return [_torch().empty((int(np.prod(t.get_shape())),), dtype=_torch_dtype(t),
                               device=device()) for t in self.output_types]

    def launch(self, ins: Sequence, outs: Sequence) -> None:
        assert self.launcher is not None
        self.launcher(*ins, *outs, torch=_torch(), device=device())

    def run_arrays(self, args: Sequence[np.ndarray]) -> list[np.ndarray]:
        global LAST_CALL
        LAST_CALL = (self, args)
        ins, outs = self.device_inputs(args), self.device_outputs()
        self.launch(ins, outs)
        return [to_host(o, _np_dtype(r), r.get_shape())
                for o, r in zip(outs, self.results, strict=True)]


LAST_CALL: tuple[TritonProgram, Sequence[np.ndarray]] | None = None  # for bench/gpu.py


def _require_packages() -> None:
    """The packages this backend drives; a missing one is named with what to install
    (instead of an ImportError from inside the generated kernel module)."""
    for package, role in (("triton", "generates and runs the kernels"),
                          ("torch", "holds the device buffers")):
        try:
            importlib.import_module(package)
        except ImportError as err:
            raise CompileError(with_location(
                f"triton backend: the {package!r} package cannot be imported ({err}); it "
                f"{role}. Install it (`pip install {package}`; a CUDA or ROCm GPU runs the "
                "kernels natively, otherwise Triton's interpreter runs them on the CPU), or "
                "choose another backend: lm.jit(fn, backend='c') or LAMINA_BACKEND=c"
            )) from None


class TritonBackend(backends.Backend):
    """hl -> loop (shared with C) -> tile -> Triton source; runs on GPU or interpreter."""

    name = "triton"
    pipeline = "triton-pipeline"

    def compile(self, module: ModuleOp, dump: Dump | None = None) -> backends.Program:
        _require_packages()
        from lamina.codegen.triton import generate
        from lamina.dialects import tile
        from lamina.passes.pipeline import run_pipeline

        results = list(_main(module).function_type.outputs.data)
        levels = run_pipeline(module, self.pipeline, dump)
        kernel_count = sum(isinstance(o, tile.LaunchOp) for o in module.walk())
        source = generate(module)
        if dump is not None:
            dump.write("source", source, ".py")
        arg_types = [a.type for a in _main(module).body.block.args]
        n_in = len(arg_types) - len(results)
        program = TritonProgram("triton", lambda args: program.run_arrays(args),
                                levels=levels, source=source, kernel_count=kernel_count)
        program.launcher = _load_source(source).launch
        program.input_types, program.output_types = arg_types[:n_in], arg_types[n_in:]
        program.results = results
        return program


def _torch_dtype(t: MemRefType):
    from lamina.codegen.triton import torch_type

    return getattr(_torch(), torch_type(t.element_type).split(".")[1])


def _np_dtype(t: TensorType) -> np.dtype:
    return dtypes._BY_IR[t.element_type].np_dtype

