"""lamina.onnx: import (per op, against onnx.reference.ReferenceEvaluator), dtypes,
shape folding, errors, the backend API, export and the export -> load round trip."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import lamina as lm
import lamina.nn as nn
import lamina.nn.functional as F
import lamina.onnx as lo
from lamina.onnx import backend as onnx_backend

F32, I64 = TensorProto.FLOAT, TensorProto.INT64


def _model(nodes, inputs, outputs, inits=(), opset=18):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if all(o.type.HasField("tensor_type") for o in model.graph.output):
        onnx.checker.check_model(model)
    return model


def _vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def _check(model, feeds, backend="interp", rtol=1e-5, atol=1e-6, **load_options):
    """Run the model on lamina and on ONNX's reference evaluator; compare."""
    want = ReferenceEvaluator(model).run(None, feeds)
    got = lo.load(model, backend=backend, **load_options).run([feeds[i.name] for i in model.graph.input
                                               if i.name in feeds])
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def _rand(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- per-op import

X = _rand(2, 3, 4)
Y = _rand(2, 3, 4, seed=1)
POS = np.abs(X) + 0.5

# (id, op, attrs, inputs {name: array}, extra initializers {name: array}, opset)
UNARY = ["Neg", "Abs", "Exp", "Tanh", "Sigmoid", "Relu", "Erf"]
CASES = [(op, op, {}, {"x": X}, {}, 13) for op in UNARY] + [
    ("Log", "Log", {}, {"x": POS}, {}, 13),
    ("Sqrt", "Sqrt", {}, {"x": POS}, {}, 13),
    ("Pow", "Pow", {}, {"x": POS, "y": Y}, {}, 15),
    ("LeakyRelu", "LeakyRelu", {"alpha": 0.2}, {"x": X}, {}, 16),
    ("Gelu", "Gelu", {}, {"x": X}, {}, 20),
    ("Gelu-tanh", "Gelu", {"approximate": "tanh"}, {"x": X}, {}, 20),
    ("Softmax", "Softmax", {"axis": 1}, {"x": X}, {}, 13),
    ("LogSoftmax", "LogSoftmax", {}, {"x": X}, {}, 13),
    ("ReduceSum", "ReduceSum", {"keepdims": 0}, {"x": X}, {"axes": np.array([0, 2])}, 13),
    ("ReduceMean-13", "ReduceMean", {"axes": [1]}, {"x": X}, {}, 13),
    ("ReduceMean-18", "ReduceMean", {}, {"x": X}, {"axes": np.array([-1])}, 18),
    ("ReduceMax-13", "ReduceMax", {"axes": [0], "keepdims": 0}, {"x": X}, {}, 13),
    ("ReduceMin-21", "ReduceMin", {}, {"x": X}, {"axes": np.array([2])}, 21),
    ("ReduceMax-all", "ReduceMax", {}, {"x": X}, {}, 18),
    ("MatMul", "MatMul", {}, {"x": X, "w": _rand(4, 5)}, {}, 13),
    ("Gemm", "Gemm", {"transB": 1, "alpha": 0.5, "beta": 2.0},
     {"a": _rand(3, 4), "b": _rand(5, 4)}, {"c": _rand(5)}, 13),
    ("Conv", "Conv", {"pads": [1, 0, 1, 2], "strides": [2, 1], "group": 1},
     {"x": _rand(1, 2, 6, 5)}, {"w": _rand(3, 2, 3, 3), "b": _rand(3)}, 13),
    ("MaxPool", "MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]},
     {"x": _rand(1, 2, 6, 5)}, {}, 13),
    ("AveragePool", "AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
     {"x": _rand(1, 2, 6, 5)}, {}, 19),
    ("GlobalAveragePool", "GlobalAveragePool", {}, {"x": _rand(2, 3, 4, 5)}, {}, 13),
    ("BatchNormalization", "BatchNormalization", {"epsilon": 1e-3}, {"x": _rand(2, 3, 4)},
     {"s": _rand(3), "b": _rand(3), "m": _rand(3), "v": np.abs(_rand(3)) + 0.1}, 15),
    ("LayerNormalization", "LayerNormalization", {"axis": -2}, {"x": X},
     {"s": _rand(3, 4), "b": _rand(3, 4)}, 17),
    ("Transpose", "Transpose", {"perm": [2, 0, 1]}, {"x": X}, {}, 13),
    ("Reshape", "Reshape", {}, {"x": X}, {"shape": np.array([0, -1])}, 14),
    ("Flatten", "Flatten", {"axis": 2}, {"x": X}, {}, 13),
    ("Concat", "Concat", {"axis": 1}, {"x": X, "y": Y}, {}, 13),
    ("Slice", "Slice", {}, {"x": X}, {"s": np.array([1, -1]), "e": np.array([3, -5]),
                                      "a": np.array([1, 2]), "st": np.array([1, -2])}, 13),
    ("Gather", "Gather", {"axis": 1}, {"x": X}, {"i": np.array([[2, -1], [0, 0]])}, 13),
    ("Where", "Where", {}, {"c": X > 0, "x": X, "y": Y}, {}, 16),
    ("Equal", "Equal", {}, {"x": np.array([1, 2, 3]), "y": np.array([1, 0, 3])}, {}, 19),
    ("Less", "Less", {}, {"x": X, "y": Y}, {}, 13),
    ("Greater", "Greater", {}, {"x": X, "y": Y}, {}, 13),
    ("Cast", "Cast", {"to": TensorProto.INT32}, {"x": X * 10}, {}, 19),
    ("Expand", "Expand", {}, {"x": _rand(3, 1)}, {"shape": np.array([2, 1, 4])}, 13),
    ("Unsqueeze", "Unsqueeze", {}, {"x": X}, {"axes": np.array([0, -1])}, 13),
    ("Squeeze", "Squeeze", {}, {"x": _rand(1, 3, 1)}, {"axes": np.array([2])}, 13),
    ("Clip", "Clip", {}, {"x": X}, {"lo": np.array(-0.5, np.float32),
                                    "hi": np.array(0.7, np.float32)}, 13),
    ("Max", "Max", {}, {"x": X, "y": Y, "z": _rand(4, seed=3)}, {}, 13),
    ("Min", "Min", {}, {"x": X, "y": Y}, {}, 13),
    ("Identity", "Identity", {}, {"x": X}, {}, 13),
    ("Dropout", "Dropout", {}, {"x": X}, {}, 13),
    ("Div", "Div", {}, {"x": X, "y": POS}, {}, 14),
    ("Sub", "Sub", {}, {"x": X, "y": _rand(4)}, {}, 14),
    ("Add", "Add", {}, {"x": X, "y": Y}, {}, 14),
    ("Mul", "Mul", {}, {"x": X, "y": Y}, {}, 14),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_import_op(case):
    _, op, attrs, feeds, inits, opset = case
    names = list(feeds) + list(inits)
    node = helper.make_node(op, names, ["out"], **attrs)
    inputs = [_vi(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape) for n, a in feeds.items()]
    init_protos = [numpy_helper.from_array(a, n) for n, a in inits.items()]
    model = _model([node], inputs, [helper.make_empty_tensor_value_info("out")], init_protos,
                   opset)
    _check(model, feeds)


def test_softmax_before_opset_13_flattens_trailing_dims():
    """Softmax-11 normalizes over all dims from `axis` on (the spec's 2-D coercion;
    onnx.reference applies the opset-13 rule here, so numpy is the oracle)."""
    model = _model([helper.make_node("Softmax", ["x"], ["y"], axis=1)], [_vi("x", F32, X.shape)],
                   [_vi("y", F32, X.shape)], opset=11)
    flat = np.exp(X.reshape(2, 12))
    want = (flat / flat.sum(1, keepdims=True)).reshape(X.shape)
    np.testing.assert_allclose(lo.load(model, backend="interp").run([X])[0], want, rtol=1e-5)


@pytest.mark.parametrize("elem", [TensorProto.INT8, TensorProto.INT16, TensorProto.INT32,
                                  TensorProto.INT64, TensorProto.UINT8, TensorProto.UINT16,
                                  TensorProto.UINT32, TensorProto.UINT64, TensorProto.FLOAT16,
                                  TensorProto.DOUBLE])
@pytest.mark.parametrize("op", ["Add", "Mul", "Max", "Div", "Greater"])
def test_import_dtypes(elem, op):
    """Every ONNX integer type and f16/f64; unsigned 16/32/64 ride in int32/int64."""
    dt = helper.tensor_dtype_to_np_dtype(elem)
    rng = np.random.default_rng(0)
    hi = 100 if np.dtype(dt).kind in "iu" else 1
    x = rng.integers(1, hi, (3, 4)).astype(dt) if hi > 1 else rng.random((3, 4)).astype(dt)
    y = rng.integers(1, hi, (4,)).astype(dt) if hi > 1 else rng.random((4,)).astype(dt) + 1
    if np.dtype(dt).kind == "i":
        x = x - dt.type(50)
    model = _model([helper.make_node(op, ["x", "y"], ["z"])],
                   [_vi("x", elem, [3, 4]), _vi("y", elem, [4])],
                   [helper.make_empty_tensor_value_info("z")], opset=14)
    _check(model, {"x": x, "y": y}, rtol=1e-3)


def test_uint64_keeps_its_bits():
    big = np.array([2**64 - 1, 2**63 + 5, 7], dtype=np.uint64)
    model = _model([helper.make_node("Identity", ["x"], ["y"])],
                   [_vi("x", TensorProto.UINT64, [3])], [_vi("y", TensorProto.UINT64, [3])])
    (out,) = lo.load(model, backend="interp").run([big])
    assert out.dtype == np.uint64 and np.array_equal(out, big)


def test_bool_ops():
    a, b = np.array([True, False, True]), np.array([False, False, True])
    model = _model([helper.make_node("And", ["a", "b"], ["c"]),
                    helper.make_node("Not", ["c"], ["d"])],
                   [_vi("a", TensorProto.BOOL, [3]), _vi("b", TensorProto.BOOL, [3])],
                   [_vi("d", TensorProto.BOOL, [3])])
    _check(model, {"a": a, "b": b})


@pytest.mark.parametrize("opset", range(13, 22))
def test_opsets_13_to_21(opset):
    """Ops whose inputs/attributes moved between opsets (axes as attribute or input)."""
    axes = numpy_helper.from_array(np.array([1]), "axes")
    mean = helper.make_node("ReduceMean", ["u", "axes"] if opset >= 18 else ["u"], ["m"],
                            **({} if opset >= 18 else {"axes": [1]}))
    nodes = [helper.make_node("Unsqueeze", ["x", "axes"], ["u"]), mean,
             helper.make_node("Squeeze", ["m", "axes"], ["q"]),
             helper.make_node("Softmax", ["q"], ["s"]),
             helper.make_node("Clip", ["s", "lo", "hi"], ["c"]),
             helper.make_node("ReduceSum", ["c", "axes"], ["y"], keepdims=0)]
    inits = [axes, numpy_helper.from_array(np.array(0.1, np.float32), "lo"),
             numpy_helper.from_array(np.array(0.3, np.float32), "hi")]
    model = _model(nodes, [_vi("x", F32, [3, 5])], [_vi("y", F32, [3])], inits, opset)
    _check(model, {"x": _rand(3, 5)})


def test_shape_errors_name_the_onnx_node():
    model = _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")],
                   [_vi("x", F32, [2, 3]), _vi("w", F32, [4, 5])],
                   [helper.make_empty_tensor_value_info("y")])
    with pytest.raises(lm.ShapeError, match="ONNX op MatMul 'proj'"):
        lo.load(model, backend="interp").run([_rand(2, 3), _rand(4, 5)])


# ---------------------------------------------------------------- graphs


def test_shape_subgraph_folds_and_initializers_are_constants():
    """Shape -> Gather -> Concat -> Reshape folds at import time; with
    weights="constants" weights are constants, by default (buffers) program inputs."""
    w = _rand(4, 6)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]),
             helper.make_node("Shape", ["h"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Concat", ["n", "three", "minus1"], ["target"], axis=0),
             helper.make_node("Reshape", ["h", "target"], ["y"])]
    inits = [numpy_helper.from_array(w, "w"),
             numpy_helper.from_array(np.array([0]), "zero"),
             numpy_helper.from_array(np.array([3]), "three"),
             numpy_helper.from_array(np.array([-1]), "minus1")]
    model = _model(nodes, [_vi("x", F32, [5, 4])], [_vi("y", F32, [5, 3, 2])], inits)
    x = _rand(5, 4)
    _check(model, {"x": x})
    fn = lo.load(model, backend="interp", weights="constants")
    ir = fn.ir("hl")
    assert "hl.constant" in ir and "hl.gather" not in ir and "hl.concat" not in ir
    assert "func.func @main(%x: tensor<5x4xf32>)" in ir
    ir = lo.load(model, backend="interp").ir("hl")
    assert "hl.constant" not in ir and "func.func @main(%x: tensor<5x4xf32>, %0: tensor<4x6xf32>)" in ir
    (y,) = fn(x)
    assert isinstance(y, lm.Tensor) and y.shape == (5, 3, 2)


def test_reshape_shape_from_graph_input_is_specialized():
    """A graph input used as a Reshape shape is read as a value: one trace per value."""
    model = _model([helper.make_node("Reshape", ["x", "s"], ["y"])],
                   [_vi("x", F32, [2, 6]), _vi("s", I64, [2])],
                   [helper.make_empty_tensor_value_info("y")])
    fn = lo.load(model, backend="interp")
    x = _rand(2, 6)
    assert fn.run([x, np.array([3, 4])])[0].shape == (3, 4)
    assert fn.run([x, np.array([4, -1])])[0].shape == (4, 3)


def test_unsupported_op_names_op_opset_and_node():
    model = _model([helper.make_node("Hardmax", ["x"], ["y"], name="hm")],
                   [_vi("x", F32, [2, 3])], [_vi("y", F32, [2, 3])], opset=13)
    with pytest.raises(lo.UnsupportedOnnxError, match=r"unsupported ONNX op Hardmax \(opset 13\)"
                       r".*'hm'"):
        lo.load(model)


def test_unsupported_attribute_is_named():
    model = _model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                                     training_mode=1)],
                   [_vi(n, F32, [3]) for n in "sbmv"][:0] + [_vi("x", F32, [2, 3])],
                   [helper.make_empty_tensor_value_info("y")],
                   [numpy_helper.from_array(_rand(3), n) for n in "sbmv"], opset=15)
    with pytest.raises(lo.UnsupportedOnnxError, match="BatchNormalization.*training mode"):
        lo.load(model, backend="interp").run([_rand(2, 3)])


def test_load_from_path_and_bytes(tmp_path):
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", F32, [3])],
                   [_vi("y", F32, [3])])
    path = tmp_path / "relu.onnx"
    onnx.save(model, path)
    x = np.array([-1.0, 0.5, 2.0], np.float32)
    for source in (str(path), model.SerializeToString()):
        np.testing.assert_array_equal(lo.load(source, backend="interp").run([x])[0],
                                      np.maximum(x, 0))


# ---------------------------------------------------------------- backend API


def test_backend_run_node_and_run_model():
    node = helper.make_node("Softmax", ["x"], ["y"], axis=0)
    x = _rand(3, 2)
    (y,) = onnx_backend.run_node(node, [x], backend="interp")
    np.testing.assert_allclose(y, np.exp(x) / np.exp(x).sum(0), rtol=1e-5)
    model = _model([node], [_vi("x", F32, [3, 2])], [_vi("y", F32, [3, 2])])
    out = onnx_backend.run_model(model, {"x": x}, backend="interp")
    np.testing.assert_allclose(out.y, y)
    assert onnx_backend.supports_device("CPU")


@pytest.mark.parametrize("weights", ["constants", "inputs"])
def test_mlp_model_on_registered_backend(backend, weights):
    """Every registered lamina backend, weights baked in or passed as program inputs."""
    _check(_mlp_model(), {"x": _rand(5, 4)}, backend=backend, rtol=1e-4, weights=weights)


def _mlp_model():
    w1, w2 = _rand(4, 8), _rand(8, 3)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["o"]),
             helper.make_node("Softmax", ["o"], ["y"], axis=-1)]
    return _model(nodes, [_vi("x", F32, [5, 4])], [_vi("y", F32, [5, 3])],
                  [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])


# ---------------------------------------------------------------- export


def _mlp():
    lm.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


def test_export_mlp_round_trip(tmp_path):
    model = _mlp()
    x = _rand(6, 4)
    path = str(tmp_path / "mlp.onnx")
    proto = lo.export(lambda x: F.log_softmax(model(x), dim=-1), x, path=path)
    onnx.checker.check_model(onnx.load(path))
    want = np.asarray(F.log_softmax(model(lm.tensor(x)), dim=-1))
    ref = ReferenceEvaluator(proto).run(None, {proto.graph.input[0].name: x})[0]
    np.testing.assert_allclose(ref, want, rtol=1e-5, atol=1e-6)
    assert len(proto.graph.initializer) >= 4  # the parameters travel as initializers
    got = lo.load(path, backend="interp").run([_rand(6, 4, seed=5)])[0]
    again = np.asarray(F.log_softmax(model(lm.tensor(_rand(6, 4, seed=5))), dim=-1))
    np.testing.assert_allclose(got, again, rtol=1e-5, atol=1e-6)


def test_export_conv_pool_and_indexing():
    w = _rand(4, 2, 3, 3)

    def fn(x, idx):
        y = F.max_pool2d(F.conv2d(x, w, padding=1, stride=2), 2)
        z = lm.cat([y, -y], dim=1)[:, 1:7:2]
        return lm.index_select(z.flatten(1), 1, idx), z.argmax(dim=1), F.avg_pool2d(x, 2)

    x, idx = _rand(2, 2, 8, 8), np.array([3, 0, 5])
    proto = lo.export(fn, x, idx)
    ref = ReferenceEvaluator(proto).run(None, dict(zip([i.name for i in proto.graph.input],
                                                       [x, idx], strict=True)))
    want = lm.jit(fn, backend="interp")(x, idx)
    for r, w_ in zip(ref, want, strict=True):
        np.testing.assert_allclose(r, np.asarray(w_), rtol=1e-5, atol=1e-5)


def test_export_integer_floor_division_and_remainder():
    def fn(a, b, x, y):
        return a // b, a % b, x % y, lm.pad(x, (1, 2), value=0.5)

    rng = np.random.default_rng(0)
    a, b = rng.integers(-20, 20, 12), rng.choice([-7, -3, 2, 5], 12)
    x, y = _rand(12) * 5, np.where(rng.random(12) > 0.5, 1.5, -2.5).astype(np.float32)
    proto = lo.export(fn, a, b, x, y)
    names = [i.name for i in proto.graph.input]
    ref = ReferenceEvaluator(proto).run(None, dict(zip(names, [a, b, x, y], strict=True)))
    want = [np.floor_divide(a, b), np.remainder(a, b), np.remainder(x, y),
            np.pad(x, (1, 2), constant_values=0.5)]
    for r, w in zip(ref, want, strict=True):
        np.testing.assert_allclose(r, w, rtol=1e-5, atol=1e-5)


def test_export_unmappable_op_is_named():
    with pytest.raises(lo.UnsupportedOnnxError, match="hl op hl.random .*no ONNX mapping"):
        lo.export(lambda x: x + lm.rand(3), np.ones(3, np.float32))


def test_export_elementwise_and_reductions_round_trip():
    def fn(x, y, k):
        a = lm.where(x > y, lm.exp(x), -y).to(lm.float64)
        b = (x.abs() + 1).rsqrt() * lm.sigmoid(y) - lm.tanh(x) ** 2
        c = lm.maximum(x, y).sum(dim=1, keepdim=True) / x.amax(dim=0) + lm.erf(x).mean()
        return a, b + c, (k * 3 + 1) % 5, (x <= y) | (x != y), k.argmax(dim=0)

    x, y, k = _rand(3, 4), _rand(3, 4, seed=2), np.arange(12).reshape(3, 4)
    proto = lo.export(fn, x, y, k)
    names = [i.name for i in proto.graph.input]
    ref = ReferenceEvaluator(proto).run(None, dict(zip(names, [x, y, k], strict=True)))
    want = lm.jit(fn, backend="interp")(x, y, k)
    back = lo.load(proto, backend="interp").run([x, y, k])
    for r, w, b in zip(ref, want, back, strict=True):
        assert r.dtype == np.asarray(w).dtype == b.dtype
        np.testing.assert_allclose(r, np.asarray(w), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b, np.asarray(w), rtol=1e-5, atol=1e-6)


def test_export_module_directly(tmp_path):
    model = _mlp()
    x = _rand(2, 4)
    proto = lo.export(model, x, path=str(tmp_path / "m.onnx"))
    got = ReferenceEvaluator(proto).run(None, {proto.graph.input[0].name: x})[0]
    np.testing.assert_allclose(got, np.asarray(lm.jit(model, backend="interp")(x)), rtol=1e-5,
                               atol=1e-6)
