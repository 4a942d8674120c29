"""lamina as an ONNX backend (`onnx.backend.base.Backend`).

    import lamina.onnx.backend as backend
    rep = backend.prepare(model)            # device "CPU"; lamina's default backend
    outputs = rep.run([x])                  # numpy arrays, graph.output order
    backend.run_model(model, [x], backend="interp")

Which lamina backend compiles the model: the `backend=` keyword of
`prepare`/`run_model`/`run_node`, else the class's `lamina_backend`
(`backend_for("c")` makes such a class, for `onnx.backend.test.BackendTest`),
else lamina's default (`LAMINA_BACKEND`, then triton with a GPU, then c).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper
from onnx.backend.base import Backend, BackendRep, Device, DeviceType, namedtupledict

from lamina.onnx.importer import OnnxFunction

__all__ = [
    "LaminaBackend", "LaminaRep", "backend_for", "is_compatible", "prepare", "run_model",
    "run_node", "supports_device",
]


class LaminaRep(BackendRep):
    """A prepared model: `run(inputs)` with a list, a dict by name, or one array."""

    def __init__(self, function: OnnxFunction):
        self.function = function

    def run(self, inputs: Any, **kwargs: Any) -> tuple[Any, ...]:
        names = self.function.input_names
        if isinstance(inputs, dict):
            inputs = [inputs[name] for name in names]
        elif isinstance(inputs, np.ndarray):
            inputs = [inputs]
        outputs = self.function.run(list(inputs))
        return namedtupledict("Outputs", self.function.output_names)(*outputs)


class LaminaBackend(Backend):
    """`onnx.backend.base.Backend` over lamina; see the module docstring."""

    lamina_backend: str | None = None

    @classmethod
    def _lamina_backend(cls, kwargs: dict[str, Any]) -> str | None:
        return kwargs.pop("backend", None) or cls.lamina_backend

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> LaminaRep:
        backend = cls._lamina_backend(kwargs)
        super().prepare(model, device, **kwargs)
        return LaminaRep(OnnxFunction(model, backend=backend))

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU",
                  **kwargs: Any) -> tuple[Any, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs: Any, device: str = "CPU",
                 outputs_info: Sequence[tuple[np.dtype, tuple[int, ...]]] | None = None,
                 **kwargs: Any) -> tuple[Any, ...]:
        """Run one node on `inputs` (one array per non-empty `node.input`)."""
        backend = cls._lamina_backend(kwargs)
        opset = int(kwargs.pop("opset_version", onnx.defs.onnx_opset_version()))
        names = [name for name in node.input if name]
        arrays = [np.asarray(a) for a in inputs]
        infos = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(a.dtype),
                                               a.shape)
                 for name, a in zip(names, arrays, strict=True)]
        outs = []
        for i, name in enumerate(o for o in node.output if o):
            if outputs_info and i < len(outputs_info):
                dtype, shape = outputs_info[i]
                outs.append(helper.make_tensor_value_info(
                    name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape))
            else:
                outs.append(helper.make_empty_tensor_value_info(name))
        graph = helper.make_graph([node], f"{node.op_type}_node", infos, outs)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        return LaminaRep(OnnxFunction(model, backend=backend)).run(arrays)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        kind = Device(device).type
        if kind == DeviceType.CPU:
            return True
        from lamina.runtime import devices

        return kind == DeviceType.CUDA and devices.gpu_available()


def backend_for(name: str) -> type[LaminaBackend]:
    """A `LaminaBackend` class that compiles with lamina backend `name`."""
    return type(f"LaminaBackend_{name}", (LaminaBackend,), {"lamina_backend": name})


prepare = LaminaBackend.prepare
run_model = LaminaBackend.run_model
run_node = LaminaBackend.run_node
supports_device = LaminaBackend.supports_device
is_compatible = LaminaBackend.is_compatible
