"""lamina.onnx.weights: initializers passed as buffers (never C text), memory-mapped
external data, and Conv -> BatchNormalization folded at import."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import lamina.onnx as lo

F32 = TensorProto.FLOAT


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _conv_bn(seed=0, bias=True):
    """Conv(3 -> 24, 3x3) -> BatchNormalization -> Relu, constant statistics."""
    w, b = _rand(24, 3, 3, 3, seed=seed), _rand(24, seed=seed + 1)
    gamma, beta, mean = _rand(24, seed=seed + 2), _rand(24, seed=seed + 3), _rand(24, seed=seed + 4)
    var = np.abs(_rand(24, seed=seed + 5)) + 0.1
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(w, "w"), (gamma, "g"), (beta, "be"), (mean, "m"), (var, "v")]]
    conv_in = ["x", "w"]
    if bias:
        inits.append(numpy_helper.from_array(b, "b"))
        conv_in.append("b")
    nodes = [helper.make_node("Conv", conv_in, ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["n"],
                              epsilon=1e-3),
             helper.make_node("Relu", ["n"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F32, [2, 3, 6, 6])],
                              [helper.make_tensor_value_info("y", F32, [2, 24, 6, 6])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("bias", [True, False])
def test_batch_norm_folded_into_conv(bias):
    model = _conv_bn(bias=bias)
    f = lo.load(model, backend="c")
    assert [n.op_type for n in f.nodes] == ["Conv", "Relu"]
    x = _rand(2, 3, 6, 6, seed=9)
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    np.testing.assert_allclose(f.run([x])[0], want, rtol=1e-4, atol=1e-5)


def test_batch_norm_not_folded_when_conv_output_is_used_twice():
    model = _conv_bn()
    model.graph.output.append(helper.make_tensor_value_info("c", F32, [2, 24, 6, 6]))
    f = lo.load(model, backend="interp")
    assert [n.op_type for n in f.nodes] == ["Conv", "BatchNormalization", "Relu"]
    x = _rand(2, 3, 6, 6, seed=9)
    for got, want in zip(f.run([x]), ReferenceEvaluator(model).run(None, {"x": x}), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_weights_are_buffers_not_source():
    """The C source holds no weight: two models differing only in their weights compile
    to the same source, and each runs with its own weights."""
    x = _rand(2, 3, 6, 6, seed=9)
    sources, outs = [], []
    for seed in (0, 10):
        model = _conv_bn(seed=seed)
        f = lo.load(model, backend="c")
        sources.append(f.lower(x).source())
        outs.append(f.run([x])[0])
        want = ReferenceEvaluator(model).run(None, {"x": x})[0]
        np.testing.assert_allclose(outs[-1], want, rtol=1e-4, atol=1e-5)
    assert sources[0] == sources[1]
    assert not np.allclose(outs[0], outs[1])
    constants = lo.load(_conv_bn(), backend="c", weights="constants").lower(x).source()
    assert len(constants) > len(sources[0])


def test_external_data_is_memory_mapped(tmp_path):
    model = _conv_bn()
    x = _rand(2, 3, 6, 6, seed=9)
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    path = tmp_path / "m.onnx"  # onnx.save moves the model's data out to m.data
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location="m.data", size_threshold=0)
    f = lo.load(str(path), backend="c")
    assert isinstance(f.initializers["w"], np.memmap)
    np.testing.assert_allclose(f.run([x])[0], want, rtol=1e-4, atol=1e-5)


def test_unknown_weights_mode_is_refused():
    with pytest.raises(ValueError, match="weights must be one of"):
        lo.load(_conv_bn(), weights="baked")
