"""ONNX model -> a compiled lamina function.

The graph is converted node by node into lamina frontend calls while `lm.jit`
traces, so an imported model is an ordinary jitted program: hl IR, the same
passes, any backend. Values known at import time (initializers, Constant
nodes, shapes of static tensors) stay numpy arrays, so shape-computing
subgraphs (Shape -> Gather -> Concat -> Reshape) fold to constants instead of
becoming tensor code; whatever a tensor op needs becomes an `hl.constant`.

Graph inputs that feed an input ONNX requires to be static for lamina (a
Reshape's shape, a Slice's bounds, axes) are specialized on their value: the
program is traced once per distinct value, as `lm.jit` does for Python scalars.
"""

from __future__ import annotations

import inspect
import keyword
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx

from lamina.errors import ArgumentError, LaminaError
from lamina.frontend.jit import jit
from lamina.frontend.tensor import Tensor
from lamina.onnx import ops, ops_control, ops_nn, ops_rnn, ops_shape, ops_tensor  # noqa: F401
from lamina.onnx.node import (
    CONVERTERS,
    STATIC_INPUTS,
    Node,
    UnsupportedOnnxError,
    check_opset,
    tensor,
)
from lamina.onnx.types import lamina_dtype, numpy_dtype, to_lamina_array
from lamina.onnx.weights import BUFFER_MIN_ELEMENTS, fold_batch_norms, initializer_array

__all__ = ["OnnxFunction", "StaticArray", "load", "opset_of"]

# Ops folded with ONNX's reference evaluator when all their inputs are small
# integer arrays known at import time: the arithmetic of shape computations.
_FOLDABLE = {"Gather", "Concat", "Unsqueeze", "Squeeze", "Slice", "Cast", "Add", "Sub", "Mul",
             "Div", "Equal", "Where", "Identity", "Range", "Reshape", "ReduceProd", "Max",
             "Min", "Neg", "Abs", "Mod"}
_FOLD_LIMIT = 1024
_WEIGHT_MODES = ("buffers", "inputs", "constants")


class StaticArray:
    """A graph input specialized on its value: hashable, so `lm.jit` keys on it."""

    def __init__(self, array: np.ndarray):
        self.array = np.asarray(array)
        self._key = (self.array.dtype.str, self.array.shape, self.array.tobytes())

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StaticArray) and self._key == other._key


def opset_of(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return 1


class OnnxFunction:
    """An imported ONNX model. Call it with arrays in `graph.input` order (initializers
    excluded); it returns a tuple of `lm.Tensor`s in `graph.output` order.
    `.run(arrays)` returns numpy arrays of the element types the model declares;
    `.lower(*arrays)` / `.ir(level, *arrays)` show the compiled program.

    `weights` (see `lamina.onnx.weights`): "buffers" (the default) passes every float
    initializer of more than `BUFFER_MIN_ELEMENTS` elements to the compiled program as
    a buffer and bakes the small ones in; "inputs" passes every float initializer;
    "constants" bakes them all into the program (compile time grows with the
    parameter count). Inference BatchNormalizations after a Conv are folded into it."""

    def __init__(self, model: onnx.ModelProto, backend: str | None = None,
                 weights: str = "buffers", base_dir: str | None = None):
        if weights not in _WEIGHT_MODES:
            raise ArgumentError(f"weights must be one of {', '.join(map(repr, _WEIGHT_MODES))}, "
                              f"got {weights!r}")
        self.model = model
        self.weights = weights
        self.graph = model.graph
        self.opset = opset_of(model)
        check_opset(self.opset, self.graph)
        self.initializers = {t.name: initializer_array(t, base_dir)
                             for t in self.graph.initializer}
        self.inputs = [i for i in self.graph.input if i.name not in self.initializers]
        self.input_names = [i.name for i in self.inputs]
        self.output_names = [o.name for o in self.graph.output]
        self.output_types = _output_types(model)
        self.nodes = fold_batch_norms(list(self.graph.node), self.initializers,
                                      set(self.output_names))
        self.static_inputs = _static_input_names(self.nodes, set(self.input_names))
        # float initializers passed to the program on each call (the program stays small
        # and independent of their values); integer ones and those a converter needs
        # at import time (a Resize's scales) stay static arrays
        static = _static_input_names(self.nodes, set(self.initializers))
        least = {"inputs": 0, "buffers": BUFFER_MIN_ELEMENTS + 1}.get(weights)
        self._weight_tensors = {
            name: Tensor._wrap(a) for name, a in self.initializers.items()
            if least is not None and a.dtype.kind == "f" and a.size >= least
            and name not in static}
        for node in self.nodes:  # fail at load time, naming the first unsupported op
            if node.domain not in ("", "ai.onnx") or node.op_type not in CONVERTERS:
                raise Node(node, self.opset).unsupported()

        def main(*args: Any) -> tuple:  # backends look for func.func @main
            return self._body(*args)

        main.__signature__ = _signature(self.input_names)  # SSA names follow ONNX's
        self._jitted = jit(main, backend=backend)

    # ------------------------------------------------------------ calling

    def __call__(self, *arrays: Any) -> tuple:
        return tuple(self._jitted(*self._arguments(arrays)))

    def run(self, arrays: Sequence[Any]) -> list[np.ndarray]:
        outs = self(*arrays)
        results = []
        for out, elem in zip(outs, self.output_types, strict=True):
            array = np.asarray(out)
            results.append(array.astype(numpy_dtype(elem)) if elem else array)
        return results

    def lower(self, *arrays: Any, backend: str | None = None):
        return self._jitted.lower(*self._arguments(arrays or self._examples()), backend=backend)

    def ir(self, level: str = "hl", *arrays: Any) -> str:
        return self.lower(*arrays).ir(level)

    def _arguments(self, arrays: Sequence[Any]) -> list[Any]:
        if len(arrays) != len(self.input_names):
            raise LaminaError(f"ONNX model takes {len(self.input_names)} inputs "
                              f"({', '.join(self.input_names)}), got {len(arrays)}")
        args = []
        for name, a in zip(self.input_names, arrays, strict=True):
            a = to_lamina_array(np.asarray(a))
            args.append(StaticArray(a) if name in self.static_inputs else a)
        return args

    def _examples(self) -> list[np.ndarray]:
        out = []
        for info in self.inputs:
            t = info.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
            if None in dims or info.name in self.static_inputs:
                raise LaminaError(f"input '{info.name}' has no static shape or value; "
                                  "pass example arrays to .lower(*arrays)/.ir(level, *arrays)")
            out.append(np.zeros(dims, dtype=lamina_dtype(t.elem_type).np_dtype))
        return out

    # ------------------------------------------------------------ tracing

    def _body(self, *args: Any) -> tuple:
        env: dict[str, Any] = dict(self.initializers)
        env.update(self._weight_tensors)  # program inputs fed from these arrays on every call
        for name, a in zip(self.input_names, args, strict=True):
            env[name] = a.array if isinstance(a, StaticArray) else a
        for proto in self.nodes:
            node = Node(proto, self.opset, env, self)
            inputs = [env[i] if i else None for i in proto.input]
            outs = self._convert(node, inputs)
            outs = outs if isinstance(outs, tuple | list) else (outs,)
            for name, value in zip(proto.output, outs, strict=False):
                if name:
                    env[name] = value
        return tuple(tensor(env[name]) for name in self.output_names)

    def _convert(self, node: Node, inputs: list[Any]) -> Any:
        if _foldable(node, inputs):
            return _fold(node, inputs)
        try:
            return CONVERTERS[node.op_type](node, *inputs)
        except (UnsupportedOnnxError, NotImplementedError):
            raise
        except LaminaError as err:
            raise type(err)(f"{node.describe()}: {err}") from err


def _output_types(model: onnx.ModelProto) -> list[int]:
    """The element type of each graph output (inferred where the model leaves it out)."""
    types = [o.type.tensor_type.elem_type for o in model.graph.output]
    if all(types):
        return types
    try:
        inferred = onnx.shape_inference.infer_shapes(model).graph.output
    except Exception:  # inference is best effort: lamina's own dtypes are used then
        return types
    return [t or o.type.tensor_type.elem_type for t, o in zip(types, inferred, strict=True)]


def _signature(names: list[str]) -> inspect.Signature:
    params, seen = [], set()
    for name in names:
        ident = re.sub(r"\W", "_", name)
        ident = ident if ident and not ident[0].isdigit() and not keyword.iskeyword(ident) \
            else f"x_{ident}"
        while ident in seen:
            ident += "_"
        seen.add(ident)
        params.append(inspect.Parameter(ident, inspect.Parameter.POSITIONAL_ONLY))
    return inspect.Signature(params)


def _static_input_names(nodes: Sequence[onnx.NodeProto], inputs: set[str]) -> set[str]:
    names = set()
    for node in nodes:
        for i in STATIC_INPUTS.get(node.op_type, ()):
            if i < len(node.input) and node.input[i] in inputs:
                names.add(node.input[i])
    return names


def _foldable(node: Node, inputs: list[Any]) -> bool:
    present = [v for v in inputs if v is not None]
    return (node.op_type in _FOLDABLE and bool(present)
            and all(isinstance(v, np.ndarray) and v.dtype.kind in "iub"
                    and v.size <= _FOLD_LIMIT for v in present))


def _fold(node: Node, inputs: list[Any]) -> list[np.ndarray]:
    """Evaluate a shape-arithmetic node on constant inputs at import time."""
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    names = [f"in{i}" if v is not None else "" for i, v in enumerate(inputs)]
    proto = onnx.NodeProto()
    proto.CopyFrom(node.proto)
    del proto.input[:]
    proto.input.extend(names)
    infos = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(v.dtype),
                                           v.shape)
             for name, v in zip(names, inputs, strict=True) if name]
    outs = [helper.make_empty_tensor_value_info(o) for o in proto.output if o]
    graph = helper.make_graph([proto], "fold", infos, outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", node.opset)])
    feeds = {name: v for name, v in zip(names, inputs, strict=True) if name}
    return [to_lamina_array(np.asarray(r)) for r in ReferenceEvaluator(model).run(None, feeds)]


def load(model: str | os.PathLike | bytes | onnx.ModelProto, backend: str | None = None,
         weights: str = "buffers") -> OnnxFunction:
    """Import an ONNX model (a path, serialized bytes or a `ModelProto`).

    `backend` picks the lamina backend (default: lamina's default). `weights`:
    "buffers" (default) passes float initializers of more than
    `lamina.onnx.weights.BUFFER_MIN_ELEMENTS` elements to the compiled program as
    buffers (memory-mapped from a model's external data file) and bakes the small ones
    in; "inputs" passes all float initializers; "constants" bakes every initializer
    into the program as `hl.constant`s (slow to compile for large models)."""
    base_dir = None
    if isinstance(model, bytes):
        model = onnx.load_from_string(model)
    elif not isinstance(model, onnx.ModelProto):
        base_dir = os.path.dirname(os.path.abspath(model))
        model = onnx.load(model, load_external_data=False)
    return OnnxFunction(model, backend=backend, weights=weights, base_dir=base_dir)


