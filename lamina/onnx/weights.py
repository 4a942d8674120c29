"""ONNX initializers as data: read without copies, folded at import, passed as buffers.

Weights are data, never program text: a float initializer of more than
`BUFFER_MIN_ELEMENTS` elements is held by the imported function as a tensor that the
traced program captures, so `lm.jit` passes it to the compiled program as a buffer on
every call (a pointer, no copy). Compile time, the C source and the compiler's memory
are then independent of the parameter count, and the compiled program is independent
of the weights' values: two models of one architecture share one library, and a cache
hit cannot run with other weights (they are never in the library). Small initializers
(scalars, short vectors) stay `hl.constant`s, so that `x ** 2.0` or `x / 8.0` still fold.

Initializers stored in an external data file are memory-mapped (read-only, pages read
on first use); inline ones are views of the model's bytes.

`fold_batch_norms` folds `Conv -> BatchNormalization` pairs (inference, constant
statistics) into one Conv with scaled weights and a shifted bias, once at import.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import external_data_helper, helper, numpy_helper

from lamina.onnx.types import to_lamina_array

__all__ = ["BUFFER_MIN_ELEMENTS", "fold_batch_norms", "initializer_array"]

BUFFER_MIN_ELEMENTS = 16


def initializer_array(proto: onnx.TensorProto, base_dir: str | None) -> np.ndarray:
    """The initializer's values: memory-mapped from its external data file (when the
    model was loaded from a path), else a view of its raw bytes."""
    if base_dir is not None and external_data_helper.uses_external_data(proto):
        info = {e.key: e.value for e in proto.external_data}
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(proto.data_type))
        path = os.path.join(base_dir, info["location"])
        offset = int(info.get("offset", 0))
        shape = tuple(int(d) for d in proto.dims)
        if dtype.kind in "fiub" and dtype.isnative:
            array = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
            converted = to_lamina_array(array)  # a view, unless the dtype must change
            return array if converted.dtype == array.dtype else converted
    return to_lamina_array(numpy_helper.to_array(proto, base_dir or ""))


def fold_batch_norms(nodes: list[onnx.NodeProto], arrays: dict[str, np.ndarray],
                     outputs: set[str]) -> list[onnx.NodeProto]:
    """`nodes` with each inference BatchNormalization that follows a Conv with constant
    weights (and whose statistics are constants) folded into that Conv:
    `w' = w * s`, `b' = (b - mean) * s + beta` with `s = gamma / sqrt(var + eps)`,
    computed in float64. The folded weights are added to `arrays` under fresh names
    (and the outputs of Identity nodes of initializers, under their names)."""
    for node in nodes:  # exporters share equal parameters through Identity nodes
        if node.op_type == "Identity" and node.input[0] in arrays:
            arrays.setdefault(node.output[0], arrays[node.input[0]])
    users: dict[str, int] = {}
    for node in nodes:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    producer = {out: node for node in nodes for out in node.output}
    folded: dict[int, onnx.NodeProto] = {}  # id(Conv) -> its replacement
    dropped: set[int] = set()
    for bn in nodes:
        conv = producer.get(bn.input[0]) if bn.input else None
        if (bn.op_type != "BatchNormalization" or conv is None or conv.op_type != "Conv"
                or len(bn.output) != 1 or _attr(bn, "training_mode", 0)
                or users.get(conv.output[0]) != 1 or conv.output[0] in outputs
                or id(conv) in folded):
            continue
        params = [arrays.get(name) for name in bn.input[1:5]]
        w = arrays.get(conv.input[1])
        b = arrays.get(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else None
        if w is None or any(p is None for p in params) or w.dtype.kind != "f" \
                or (len(conv.input) > 2 and conv.input[2] and b is None):
            continue
        gamma, beta, mean, var = (np.asarray(p, np.float64).reshape(-1) for p in params)
        scale = gamma / np.sqrt(var + _attr(bn, "epsilon", 1e-5))
        if scale.shape[0] != w.shape[0]:
            continue
        bias = np.zeros(w.shape[0]) if b is None else np.asarray(b, np.float64)
        new_w = (w.astype(np.float64) * scale.reshape(-1, *[1] * (w.ndim - 1))).astype(w.dtype)
        new_b = ((bias - mean) * scale + beta).astype(w.dtype)
        w_name, b_name = f"{bn.output[0]}::folded_w", f"{bn.output[0]}::folded_b"
        arrays[w_name], arrays[b_name] = new_w, new_b
        replacement = onnx.NodeProto()
        replacement.CopyFrom(conv)
        del replacement.input[:], replacement.output[:]
        replacement.input.extend([conv.input[0], w_name, b_name])
        replacement.output.append(bn.output[0])
        folded[id(conv)] = replacement
        dropped.add(id(bn))
    return [folded.get(id(n), n) for n in nodes if id(n) not in dropped]


def _attr(node: onnx.NodeProto, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default
