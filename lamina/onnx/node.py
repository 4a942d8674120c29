"""What a converter sees of an ONNX node, and the converter registry.

A converter receives the node (`Node`: op type, attributes with defaults,
opset) and its input values, and returns its output values. A value is a
lamina `Tensor` (traced) or a numpy array (known at import time: initializers,
constants, shapes of static tensors). Converters ask for what they need with
`tensor(v)` or `static(v)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import helper

from lamina import dtypes
from lamina.errors import LaminaError
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor

__all__ = [
    "CONVERTERS", "MAX_OPSET", "MIN_OPSET", "Node", "STATIC_INPUTS", "UnsupportedOnnxError",
    "axis_of", "check_opset", "converter", "ints", "static", "tensor",
]

Value = Tensor | np.ndarray
Converter = Callable[..., Any]


class UnsupportedOnnxError(LaminaError, NotImplementedError):
    """An ONNX op, attribute or type lamina does not import."""


@dataclass
class Node:
    proto: onnx.NodeProto
    opset: int
    # the values visible to the node by name, and the importing `OnnxFunction`: what the
    # control-flow converters (If, Loop, Scan) need to run their subgraphs
    scope: dict[str, Any] | None = None
    function: Any = None

    @property
    def op_type(self) -> str:
        return self.proto.op_type

    @property
    def n_outputs(self) -> int:
        return len(self.proto.output)

    def attr(self, name: str, default: Any = None) -> Any:
        for a in self.proto.attribute:
            if a.name == name:
                value = helper.get_attribute_value(a)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def describe(self) -> str:
        label = f" '{self.proto.name}'" if self.proto.name else ""
        return f"ONNX op {self.op_type}{label} (opset {self.opset})"

    def unsupported(self, what: str = "") -> UnsupportedOnnxError:
        detail = f": {what}" if what else ""
        return UnsupportedOnnxError(
            f"unsupported ONNX op {self.op_type} (opset {self.opset}){detail} "
            f"in node '{self.proto.name or self.proto.output[0]}'")


# The default-domain opsets lamina imports: up to the installed onnx package's latest.
# Ops are converted in their definitions of opset 7 and later (the attribute forms of
# opsets 7-12 that later became inputs included: Split, Slice, Squeeze/Unsqueeze,
# reductions, Pad, Clip, Upsample, Resize-10). A node whose op was defined differently
# before opset 7 (the legacy `broadcast`/`axis` attributes of binary ops, Reshape's
# `shape` attribute, BatchNormalization's `spatial`, Cast's string `to`, ...) is refused
# at load; ops unchanged since opset 1 (Not, Shape, ...) import at any opset.
MIN_OPSET, MAX_OPSET = 7, onnx.defs.onnx_opset_version()


def check_opset(opset: int, graph: onnx.GraphProto | None = None) -> None:
    """Refuse a model whose opset, or whose nodes' op definitions, lamina does not import."""
    if not 1 <= opset <= MAX_OPSET:
        raise UnsupportedOnnxError(
            f"ONNX opset {opset} is not supported: lamina imports default-domain opsets up to "
            f"{MAX_OPSET}")
    if opset >= MIN_OPSET or graph is None:
        return
    for proto in graph.node:
        if proto.domain not in ("", "ai.onnx"):
            continue
        try:
            old = onnx.defs.get_schema(proto.op_type, opset).since_version
            modern = onnx.defs.get_schema(proto.op_type, MIN_OPSET).since_version
        except onnx.defs.SchemaError:
            continue  # unknown ops are named by the converter lookup
        if old != modern:
            raise UnsupportedOnnxError(
                f"ONNX op {proto.op_type} at opset {opset} (its definition of opset {old}) is "
                f"not supported in node '{proto.name or proto.output[0]}': lamina imports op "
                f"definitions of opset {MIN_OPSET} and later (convert the model, e.g. with "
                "onnx.version_converter.convert_version)")


CONVERTERS: dict[str, Converter] = {}
# Input positions that must be known at import time (shapes, axes, slice bounds):
# a graph input feeding one is specialized on its value (see importer).
STATIC_INPUTS: dict[str, tuple[int, ...]] = {}


def converter(*op_types: str, static: tuple[int, ...] = ()) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        for op_type in op_types:
            CONVERTERS[op_type] = fn
            if static:
                STATIC_INPUTS[op_type] = static
        return fn

    return register


def tensor(v: Value | None) -> Tensor:
    """A lamina tensor for a value; static arrays become `hl.constant`s."""
    if v is None or isinstance(v, Tensor):
        return v  # type: ignore[return-value]
    return ops.constant(v, dtype=dtypes.from_numpy(np.asarray(v).dtype))


def static(v: Value, node: Node, what: str) -> np.ndarray:
    if isinstance(v, Tensor):
        raise node.unsupported(f"{what} must be known at import time (a constant or "
                               "an initializer), got a computed tensor")
    return np.asarray(v)


def ints(v: Value | None, node: Node, what: str) -> list[int] | None:
    return None if v is None else [int(i) for i in static(v, node, what).reshape(-1)]


def axis_of(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis
