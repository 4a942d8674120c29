"""Traced hl -> an ONNX model.

`export(fn, *args, path=...)` traces `fn` on the example arguments
(`lamina.frontend.trace.trace`, the tracer `lm.jit` uses) and walks the body of its
`func.func`: the explicit array arguments
become graph inputs, tensors the function reads from its closure (module
parameters) become initializers, every hl op becomes one or a few ONNX nodes
(a table, `_RULES`, one row per hl op), and the returned values become graph
outputs. An hl op with no row raises `UnsupportedOnnxError` naming the op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from lamina import dtypes
from lamina.frontend.trace import trace
from lamina.onnx.node import UnsupportedOnnxError
from lamina.onnx.types import onnx_elem_type

__all__ = ["export"]


class _Writer:
    """The graph under construction: names for SSA values, nodes, initializers."""

    def __init__(self) -> None:
        self.names: dict[SSAValue, str] = {}
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def fresh(self, hint: str = "t") -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def name(self, value: SSAValue) -> str:
        if value not in self.names:
            self.names[value] = self.fresh(value.name_hint or "v")
        return self.names[value]

    def const(self, array: np.ndarray, hint: str = "c") -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def ints(self, values: Any) -> str:
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1), "ints")

    def node(self, op_type: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        out = out or self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out


def _shape(v: SSAValue) -> tuple[int, ...]:
    assert isinstance(v.type, TensorType)
    return tuple(int(d) for d in v.type.get_shape())


def _dtype(v: SSAValue) -> dtypes.DType:
    assert isinstance(v.type, TensorType)
    return dtypes.from_ir(v.type.element_type)


_SIMPLE = {
    "hl.add": "Add", "hl.sub": "Sub", "hl.mul": "Mul", "hl.pow": "Pow", "hl.max": "Max",
    "hl.min": "Min", "hl.neg": "Neg", "hl.abs": "Abs", "hl.sign": "Sign", "hl.exp": "Exp",
    "hl.log": "Log", "hl.sqrt": "Sqrt", "hl.tanh": "Tanh", "hl.sigmoid": "Sigmoid",
    "hl.erf": "Erf", "hl.sin": "Sin", "hl.cos": "Cos", "hl.floor": "Floor", "hl.ceil": "Ceil",
    "hl.round": "Round", "hl.not": "Not", "hl.stop_gradient": "Identity", "hl.eq": "Equal",
    "hl.lt": "Less", "hl.le": "LessOrEqual", "hl.gt": "Greater", "hl.ge": "GreaterOrEqual",
    "hl.select": "Where", "hl.matmul": "MatMul",
}
_LOGICAL = {"hl.and": ("And", "BitwiseAnd"), "hl.or": ("Or", "BitwiseOr"),
            "hl.xor": ("Xor", "BitwiseXor")}
_REDUCE = {"hl.reduce_sum": "ReduceSum", "hl.reduce_prod": "ReduceProd",
           "hl.reduce_max": "ReduceMax", "hl.reduce_min": "ReduceMin"}


def _sign_differs(w: _Writer, r: str, b: str, zero: str) -> str:
    """r != 0 and sign(r) != sign(b): where a truncating result needs a floor correction."""
    nonzero = w.node("Not", [w.node("Equal", [r, zero])])
    return w.node("And", [nonzero, w.node("Xor", [w.node("Less", [r, zero]),
                                                   w.node("Less", [b, zero])])])


def _div(w: _Writer, op: Operation, ins: list[str]) -> str:
    """Float: Div. Integer hl.div floors while ONNX Div truncates: q - (r != 0 and the
    signs of r and b differ), with r the truncated remainder."""
    dt = _dtype(op.results[0])
    if dt.is_floating_point:
        return w.node("Div", ins)
    zero, one = (w.const(np.asarray(v, dtype=dt.np_dtype), "k") for v in (0, 1))
    r = w.node("Mod", ins, fmod=1)
    fix = w.node("Where", [_sign_differs(w, r, ins[1], zero), one, zero])
    return w.node("Sub", [w.node("Div", ins), fix])


def _rem(w: _Writer, op: Operation, ins: list[str]) -> str:
    """Remainder with the divisor's sign: ONNX Mod (fmod=0) for integers; for floats
    C fmod plus the divisor where the signs differ."""
    dt = _dtype(op.results[0])
    if not dt.is_floating_point:
        return w.node("Mod", ins, fmod=0)
    zero = w.const(np.asarray(0, dtype=dt.np_dtype), "k")
    r = w.node("Mod", ins, fmod=1)
    return w.node("Where", [_sign_differs(w, r, ins[1], zero), w.node("Add", [r, ins[1]]), r])


def _pad(w: _Writer, op: Operation, ins: list[str]) -> str:
    if any(op.prop("interior")):
        raise _unmappable(op, "interior padding")
    value = np.asarray(op.prop("value"), dtype=_dtype(op.results[0]).np_dtype)
    pads = list(op.prop("low")) + list(op.prop("high"))
    return w.node("Pad", [ins[0], w.ints(pads), w.const(value, "pad_value")], mode="constant")


def _ne(w: _Writer, op: Operation, ins: list[str]) -> str:
    return w.node("Not", [w.node("Equal", ins)])


def _rsqrt(w: _Writer, op: Operation, ins: list[str]) -> str:
    return w.node("Reciprocal", [w.node("Sqrt", ins)])


def _cast(w: _Writer, op: Operation, ins: list[str]) -> str:
    return w.node("Cast", ins, to=onnx_elem_type(_dtype(op.results[0])))


def _materialized(w: _Writer, op: Operation, ins: list[str]) -> str:
    """splat / constant / iota: their value is known, so it becomes an initializer."""
    return w.const(op.reference(), "const")


def _broadcast_in_dim(w: _Writer, op: Operation, ins: list[str]) -> str:
    out_shape = _shape(op.results[0])
    dims = op.prop("dims")
    view = [1] * len(out_shape)
    for i, d in enumerate(dims):
        view[d] = _shape(op.operands[0])[i]
    x = w.node("Reshape", [ins[0], w.ints(view)])
    return w.node("Expand", [x, w.ints(out_shape)])


def _reshape(w: _Writer, op: Operation, ins: list[str]) -> str:
    return w.node("Reshape", [ins[0], w.ints(_shape(op.results[0]))])


def _transpose(w: _Writer, op: Operation, ins: list[str]) -> str:
    return w.node("Transpose", ins, perm=list(op.prop("perm")))


def _reduce(w: _Writer, op: Operation, ins: list[str]) -> str:
    return w.node(_REDUCE[op.name], [ins[0], w.ints(op.prop("dims"))], keepdims=0)


def _arg(w: _Writer, op: Operation, ins: list[str]) -> str:
    kind = "ArgMax" if op.name == "hl.argmax" else "ArgMin"
    return w.node(kind, ins, axis=op.prop("dim"), keepdims=0)


def _logical(w: _Writer, op: Operation, ins: list[str]) -> str:
    boolean, bitwise = _LOGICAL[op.name]
    return w.node(boolean if _dtype(op.results[0]) == dtypes.bool_ else bitwise, ins)


def _gather(w: _Writer, op: Operation, ins: list[str]) -> str:
    return w.node("Gather", ins, axis=op.prop("axis"))


def _slice(w: _Writer, op: Operation, ins: list[str]) -> str:
    start, stop, step = op.prop("start"), op.prop("stop"), op.prop("step")
    return w.node("Slice", [ins[0], w.ints(start), w.ints(stop),
                            w.ints(range(len(start))), w.ints(step)])


def _reverse(w: _Writer, op: Operation, ins: list[str]) -> str:
    dims = list(op.prop("dims"))
    big = np.iinfo(np.int64)
    return w.node("Slice", [ins[0], w.ints([-1] * len(dims)), w.ints([big.min] * len(dims)),
                            w.ints(dims), w.ints([-1] * len(dims))])


def _concat(w: _Writer, op: Operation, ins: list[str]) -> str:
    return w.node("Concat", ins, axis=op.prop("dim"))


def _conv(w: _Writer, op: Operation, ins: list[str]) -> str:
    if "input_dilation" in op.properties:
        raise _unmappable(op, "input_dilation (a transposed convolution)")
    pads = list(op.prop("padding"))
    return w.node("Conv", ins, strides=list(op.prop("stride")), dilations=list(op.prop("dilation")),
                  pads=pads[0::2] + pads[1::2], group=op.prop("groups"))


def _reduce_window(w: _Writer, op: Operation, ins: list[str]) -> str:
    window, strides = list(op.prop("window")), list(op.prop("strides"))
    pads = list(op.prop("padding"))
    dilation = list(op.prop("dilation")) if "dilation" in op.properties else [1] * len(window)
    if window[:2] != [1, 1] or strides[:2] != [1, 1] or any(pads[:4]) \
            or dilation[:2] != [1, 1] or "input_dilation" in op.properties:
        raise _unmappable(op, "a window over the batch or channel dims")
    attrs = dict(kernel_shape=window[2:], strides=strides[2:], pads=pads[4::2] + pads[5::2])
    if any(d != 1 for d in dilation):  # AveragePool has dilations from opset 19 only
        attrs["dilations"] = dilation[2:]
    if op.prop("kind") == "max":
        return w.node("MaxPool", ins, **attrs)
    # a window sum is an average over the window (padding counted) times its size
    mean = w.node("AveragePool", ins, count_include_pad=1, **attrs)
    size = np.asarray(np.prod(window), dtype=_dtype(op.results[0]).np_dtype)
    return w.node("Mul", [mean, w.const(size, "window_size")])


_RULES: dict[str, Callable[[_Writer, Operation, list[str]], str]] = {
    "hl.div": _div, "hl.rem": _rem, "hl.pad": _pad, "hl.ne": _ne, "hl.rsqrt": _rsqrt,
    "hl.cast": _cast,
    "hl.splat": _materialized, "hl.constant": _materialized, "hl.iota": _materialized,
    "hl.broadcast_in_dim": _broadcast_in_dim, "hl.reshape": _reshape,
    "hl.transpose": _transpose, "hl.argmax": _arg, "hl.argmin": _arg,
    "hl.gather": _gather, "hl.slice": _slice, "hl.reverse": _reverse, "hl.concat": _concat,
    "hl.conv": _conv, "hl.reduce_window": _reduce_window,
    **{name: _reduce for name in _REDUCE}, **{name: _logical for name in _LOGICAL},
}


def _unmappable(op: Operation, why: str = "") -> UnsupportedOnnxError:
    types = ", ".join(str(v.type) for v in op.operands) or "no operands"
    detail = f": {why}" if why else ""
    return UnsupportedOnnxError(f"lamina.onnx.export: hl op {op.name} ({types}) has no ONNX "
                                f"mapping{detail}")


def _convert(w: _Writer, op: Operation) -> None:
    ins = [w.name(v) for v in op.operands]
    rule = _RULES.get(op.name)
    if rule is not None:
        out = rule(w, op, ins)
    elif _SIMPLE.get(op.name):
        out = w.node(_SIMPLE[op.name], ins)
    else:
        raise _unmappable(op)
    w.names[op.results[0]] = out


def _value_info(name: str, v: SSAValue) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, onnx_elem_type(_dtype(v)), list(_shape(v)))


def export(fn: Callable, *args: Any, path: str | None = None, opset: int = 18,
           input_names: list[str] | None = None) -> onnx.ModelProto:
    """Trace `fn(*args)` and write it as ONNX (to `path` if given); returns the model."""
    traced = trace(fn, *args)
    body = traced.func
    block = body.body.block
    n_explicit = len(traced.inputs)
    w = _Writer()
    inputs = []
    for i, arg in enumerate(block.args):
        if i < n_explicit:
            name = input_names[i] if input_names else (arg.name_hint or f"input_{i}")
            w.names[arg] = name
            inputs.append(_value_info(name, arg))
        else:  # a closure tensor (a module parameter, say): its current value
            w.names[arg] = w.const(np.asarray(traced.captured[i - n_explicit]), "param")
    outputs = []
    for op in block.ops:
        if isinstance(op, func.ReturnOp):
            for j, v in enumerate(op.operands):
                name = f"output_{j}"
                w.node("Identity", [w.name(v)], out=name)
                outputs.append(_value_info(name, v))
        else:
            _convert(w, op)
    graph = helper.make_graph(w.nodes, body.sym_name.data, inputs, outputs, w.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="lamina")
    model.ir_version = min(model.ir_version, 10)
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, path)
    return model

