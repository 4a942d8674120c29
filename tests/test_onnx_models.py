"""lamina.onnx on what real models use: the converters added for exported models
(Split, LRN, GatherND, ConvTranspose, Resize/Upsample, Einsum, InstanceNormalization,
LayerNormalization, LSTM/GRU/RNN, Attention, If/Loop/Scan) against onnxruntime on small
generated models, the opset range, and torchvision / GPT-2-shaped / LSTM models exported
by torch and compared with onnxruntime (relative error <= 1e-4; the large ones slow)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from onnx import numpy_helper as nh

import lamina.onnx as lo

F32, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _vi(name, elem=F32, shape=None):
    if shape is None:
        return helper.make_empty_tensor_value_info(name)
    return helper.make_tensor_value_info(name, elem, shape)


def _model(nodes, inputs, outputs, inits=None, opset=17):
    inits = [nh.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _ort(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _rel(got, want):
    scale = max(float(np.abs(want).max()), 1e-30) if want.size else 1.0
    return float(np.abs(got.astype(np.float64) - want).max()) / scale if want.size else 0.0


def _compare(model, feeds, want=None, backend="interp", tol=1e-5, **load):
    want = _ort(model, feeds) if want is None else want
    names = [i.name for i in model.graph.input if i.name in feeds]
    got = lo.load(model, backend=backend, **load).run([feeds[n] for n in names])
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        assert _rel(g, w) <= tol, _rel(g, w)


def _single(op, inputs, n_out=1, inits=None, opset=17, **attrs):
    """One node over graph inputs {name: array} and initializers."""
    names = list(inputs) + list(inits or {})
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, **attrs)
    infos = [_vi(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape) for k, v in inputs.items()]
    return _model([node], infos, [_vi(o) for o in outs], inits, opset)


X = _rand(2, 6, 5, 4)
W_CT = _rand(6, 2, 3, 3, seed=1)
D = _rand(2, 3, 4, 5, seed=2)

OPS = [
    ("Split-equal", dict(op="Split", inputs={"x": X}, n_out=3, axis=1)),
    ("Split-input", dict(op="Split", inputs={"x": X}, n_out=2, inits={"s": np.array([2, 4])},
                         axis=1)),
    ("Split-11-attr", dict(op="Split", inputs={"x": X}, n_out=2, opset=11, axis=1, split=[1, 5])),
    ("Split-18-num_outputs", dict(op="Split", inputs={"x": X}, n_out=4, opset=18, axis=1,
                                  num_outputs=4)),
    ("LRN", dict(op="LRN", inputs={"x": X}, size=3, alpha=1e-2, beta=0.75, bias=2.0)),
    ("InstanceNormalization", dict(op="InstanceNormalization", inputs={"x": X},
                                   inits={"s": _rand(6, seed=3), "b": _rand(6, seed=4)},
                                   epsilon=1e-3)),
    ("LayerNormalization", dict(op="LayerNormalization", inputs={"x": X},
                                inits={"s": _rand(5, 4, seed=3), "b": _rand(5, 4, seed=4)},
                                axis=2)),
    ("Einsum", dict(op="Einsum", inputs={"x": X, "w": _rand(6, 3)}, equation="bchw,cd->bdhw")),
    ("GatherND-batch", dict(op="GatherND", inputs={
        "d": D, "i": np.array([[[0, 1], [2, -1]], [[1, 0], [0, 3]]], np.int64)}, batch_dims=1)),
    ("GatherND-static", dict(op="GatherND", inputs={"d": D},
                             inits={"i": np.array([[0, 1, 2], [1, -1, 0]])})),
    ("ConvTranspose-stride", dict(op="ConvTranspose", inputs={"x": X},
                                  inits={"w": W_CT, "b": _rand(2)}, strides=[2, 2])),
    ("ConvTranspose-pads-output_padding", dict(
        op="ConvTranspose", inputs={"x": X}, inits={"w": W_CT}, strides=[2, 2],
        pads=[1, 0, 1, 2], output_padding=[1, 1])),
    ("ConvTranspose-output_shape", dict(op="ConvTranspose", inputs={"x": X}, inits={"w": W_CT},
                                        strides=[2, 1], output_shape=[10, 6])),
    ("ConvTranspose-group-dilation", dict(op="ConvTranspose", inputs={"x": X},
                                          inits={"w": W_CT}, group=2, dilations=[2, 1])),
    ("ConvTranspose-same_lower", dict(op="ConvTranspose", inputs={"x": X}, inits={"w": W_CT},
                                      strides=[2, 2], auto_pad="SAME_LOWER")),
    ("Upsample-9-nearest", dict(op="Upsample", inputs={"x": X}, opset=9, mode="nearest",
                                inits={"s": np.array([1, 1, 2, 3], np.float32)})),
    ("Upsample-9-linear", dict(op="Upsample", inputs={"x": X}, opset=9, mode="linear",
                               inits={"s": np.array([1, 1, 2, 3], np.float32)})),
    ("Resize-10", dict(op="Resize", inputs={"x": X}, opset=10, mode="nearest",
                       inits={"s": np.array([1, 1, 2, 0.5], np.float32)})),
    ("Slice-9-attributes", dict(op="Slice", inputs={"x": X}, opset=9, starts=[1, -3],
                                ends=[5, 100], axes=[1, 3])),
]

_RESIZE_SCALES = [[1, 1, 2, 3], [1, 1, 0.6, 1.7], [1, 1, 1.5, 0.5]]
for _mode, _extra in [("nearest", {"nearest_mode": "round_prefer_floor"}),
                      ("nearest", {"nearest_mode": "round_prefer_ceil"}),
                      ("nearest", {"nearest_mode": "floor"}), ("linear", {}),
                      ("cubic", {}), ("cubic", {"exclude_outside": 1})]:
    for _ct in ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                "half_pixel_symmetric"]:
        if _ct == "half_pixel_symmetric" and _extra.get("nearest_mode") == "floor":
            continue  # float32 ties round differently in onnxruntime (see the skip table)
        for _i, _s in enumerate(_RESIZE_SCALES):
            OPS.append((f"Resize-{_mode}-{_ct}-{'-'.join(map(str, _extra.values()))}-{_i}",
                        dict(op="Resize", inputs={"x": X[:1, :2]}, opset=19, mode=_mode,
                             coordinate_transformation_mode=_ct,
                             inits={"r": np.zeros(0, np.float32),
                                    "s": np.array(_s, np.float32)}, **_extra)))
OPS += [
    ("Resize-sizes", dict(op="Resize", inputs={"x": X[:1]}, opset=13, mode="linear",
                          inits={"r": np.zeros(0, np.float32), "s": np.zeros(0, np.float32),
                                 "z": np.array([1, 6, 9, 3])})),
    ("Resize-18-axes-not_larger", dict(op="Resize", inputs={"x": X[:1]}, opset=18, mode="linear",
                                       axes=[2, 3], keep_aspect_ratio_policy="not_larger",
                                       inits={"r": np.zeros(0, np.float32),
                                              "s": np.zeros(0, np.float32),
                                              "z": np.array([9, 9])})),
]


@pytest.mark.parametrize("case", [c for _, c in OPS], ids=[i for i, _ in OPS])
def test_op_matches_onnxruntime(case):
    case = dict(case)
    inputs = case.pop("inputs")
    model = _single(case.pop("op"), inputs, case.pop("n_out", 1), case.pop("inits", None),
                    case.pop("opset", 17), **case)
    _compare(model, inputs)


def test_lrn_even_size_follows_the_spec():
    """onnxruntime takes odd sizes only and ONNX's reference LRN loops over the batch axis,
    so an even size is checked against the spec's formula: channels c - floor((size-1)/2)
    .. c + ceil((size-1)/2)."""
    size, alpha, beta, bias = 4, 1e-3, 0.5, 1.0
    model = _single("LRN", {"x": X}, size=size, alpha=alpha, beta=beta)
    x = X.astype(np.float64)
    total = np.zeros_like(x)
    for c in range(x.shape[1]):
        lo, hi = max(0, c - (size - 1) // 2), min(x.shape[1], c + -(-(size - 1) // 2) + 1)
        total[:, c] = (x[:, lo:hi] ** 2).sum(axis=1)
    want = (x / (bias + alpha / size * total) ** beta).astype(np.float32)
    _compare(model, {"x": X}, want=[want])


# ---------------------------------------------------------------- recurrent ops


def _export(module, args, names, opset=17):
    from bench.tv import export_onnx

    return export_onnx(module, args, opset=opset, input_names=names)


class _LSTMWithState(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 6)

    def forward(self, x, h, c):
        return self.lstm(x, (h, c))


@pytest.mark.parametrize("make", [
    lambda: torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True),
    lambda: torch.nn.GRU(4, 6, bidirectional=True),
    lambda: torch.nn.GRU(4, 6, batch_first=True, num_layers=2),
    lambda: torch.nn.RNN(4, 6, nonlinearity="relu"),
    lambda: torch.nn.RNN(4, 6, bidirectional=True),
], ids=["lstm-2layer-bidir", "gru-bidir", "gru-batch_first", "rnn-relu", "rnn-tanh-bidir"])
def test_torch_recurrent_export_matches_onnxruntime(make):
    torch.manual_seed(0)
    x = torch.randn(5, 2, 4)
    model = _export(make(), (x,), ["x"])
    assert {"LSTM", "GRU", "RNN"} & {n.op_type for n in model.graph.node}
    _compare(model, {"x": x.numpy()})


def test_lstm_initial_states_match_onnxruntime():
    torch.manual_seed(0)
    args = (torch.randn(5, 2, 4), torch.randn(1, 2, 6), torch.randn(1, 2, 6))
    model = _export(_LSTMWithState(), args, ["x", "h", "c"])
    _compare(model, dict(zip(["x", "h", "c"], [a.numpy() for a in args], strict=True)))


def _rnn_node_model(op, hidden, inits, opset=14, inputs=("x",), outs=("Y", "Yh"), **attrs):
    names = list(inputs) + list(inits)
    node = helper.make_node(op, names, list(outs), hidden_size=hidden, **attrs)
    return _model([node], [_vi("x", F32, [5, 2, 4])], [_vi(o) for o in outs],
                  {k: v for k, v in inits.items() if k}, opset)


H = 3
LSTM_W = {"W": _rand(1, 4 * H, 4, seed=5), "R": _rand(1, 4 * H, H, seed=6),
          "B": _rand(1, 8 * H, seed=7), "": None}


@pytest.mark.parametrize("attrs", [
    dict(direction="reverse", clip=0.7),
    dict(activations=["HardSigmoid", "Tanh", "Relu"], activation_alpha=[0.3],
         activation_beta=[0.4]),
    dict(),
], ids=["reverse-clip", "activations", "peepholes"])
def test_lstm_attributes_match_onnxruntime(attrs):
    names = ["x", "W", "R", "B", "", "", "", "P"]
    node = helper.make_node("LSTM", names, ["Y", "Yh", "Yc"], hidden_size=H, **attrs)
    inits = {k: v for k, v in LSTM_W.items() if k}
    inits["P"] = _rand(1, 3 * H, seed=8)
    model = _model([node], [_vi("x", F32, [5, 2, 4])], [_vi(o) for o in ("Y", "Yh", "Yc")],
                   inits, 14)
    _compare(model, {"x": _rand(5, 2, 4, seed=9)})


@pytest.mark.parametrize("linear_before_reset", [0, 1])
def test_gru_linear_before_reset_matches_onnxruntime(linear_before_reset):
    inits = {"W": _rand(1, 3 * H, 4, seed=5), "R": _rand(1, 3 * H, H, seed=6),
             "B": _rand(1, 6 * H, seed=7)}
    node = helper.make_node("GRU", ["x", "W", "R", "B"], ["Y", "Yh"], hidden_size=H,
                            linear_before_reset=linear_before_reset)
    model = _model([node], [_vi("x", F32, [5, 2, 4])], [_vi("Y"), _vi("Yh")], inits, 14)
    _compare(model, {"x": _rand(5, 2, 4, seed=9)})


def test_recurrent_layout_1_is_layout_0_transposed():
    """onnxruntime refuses layout=1; lamina's result is the layout-0 result transposed."""
    inits = {k: v for k, v in LSTM_W.items() if k}
    x = _rand(5, 2, 4, seed=9)

    def model(layout, shape):
        node = helper.make_node("LSTM", ["x", "W", "R", "B"], ["Y", "Yh", "Yc"], hidden_size=H,
                                layout=layout)
        return _model([node], [_vi("x", F32, shape)], [_vi(o) for o in ("Y", "Yh", "Yc")],
                      inits, 14)

    y0, h0, c0 = _ort(model(0, [5, 2, 4]), {"x": x})
    _compare(model(1, [2, 5, 4]), {"x": x.transpose(1, 0, 2).copy()},
             want=[y0.transpose(2, 0, 1, 3), h0.transpose(1, 0, 2), c0.transpose(1, 0, 2)])


def test_sequence_lens_shorter_than_the_sequence_is_refused():
    inits = {k: v for k, v in LSTM_W.items() if k}
    inits["L"] = np.array([5, 3], np.int32)
    node = helper.make_node("LSTM", ["x", "W", "R", "B", "L"], ["Y"], hidden_size=H)
    model = _model([node], [_vi("x", F32, [5, 2, 4])], [_vi("Y")], inits, 14)
    with pytest.raises(lo.UnsupportedOnnxError, match="sequence_lens"):
        lo.load(model, backend="interp").run([_rand(5, 2, 4)])


# ---------------------------------------------------------------- attention


@pytest.mark.parametrize("attrs,mask", [
    (dict(q_num_heads=4, kv_num_heads=2), None),
    (dict(q_num_heads=4, kv_num_heads=2, is_causal=1, scale=0.3, softcap=2.0), None),
    (dict(q_num_heads=4, kv_num_heads=4), "bool"),
    (dict(q_num_heads=4, kv_num_heads=2), "float"),
], ids=["gqa", "causal-scale-softcap", "bool-mask", "additive-mask"])
def test_attention_23_matches_onnxruntime(attrs, mask):
    kv_dim = 4 * attrs["kv_num_heads"] // 2 if attrs["kv_num_heads"] == 2 else 8
    feeds = {"q": _rand(2, 5, 8), "k": _rand(2, 6, kv_dim, seed=1),
             "v": _rand(2, 6, kv_dim, seed=2)}
    if mask == "bool":
        feeds["m"] = _rand(5, 6, seed=3) > 0
    elif mask == "float":
        feeds["m"] = _rand(5, 6, seed=3)
    _compare(_single("Attention", feeds, opset=23, **attrs), feeds)


def test_attention_23_past_keys_and_causal_offset():
    feeds = {n: _rand(1, 2, 3, 4, seed=i) for i, n in enumerate(["q", "k", "v"])}
    feeds.update(pk=_rand(1, 2, 2, 4, seed=5), pv=_rand(1, 2, 2, 4, seed=6))
    node = helper.make_node("Attention", ["q", "k", "v", "", "pk", "pv"], ["y", "ck", "cv"],
                            is_causal=1)
    model = _model([node], [_vi(n, F32, a.shape) for n, a in feeds.items()],
                   [_vi(o) for o in ("y", "ck", "cv")], opset=23)
    _compare(model, feeds)


# ---------------------------------------------------------------- control flow


def _branch(name, op, out):
    return helper.make_graph([helper.make_node(op, ["x", "x"] if op == "Mul" else ["x"], [out])],
                             name, [], [_vi(out, F32, [3, 4])])


def test_if_on_a_shape_condition_converts_one_branch():
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["d0"], axis=0),
             helper.make_node("Equal", ["d0", "three"], ["c"]),
             helper.make_node("If", ["c"], ["y"], then_branch=_branch("t", "Mul", "t"),
                              else_branch=_branch("e", "Neg", "e"))]
    model = _model(nodes, [_vi("x", F32, [3, 4])], [_vi("y", F32, [3, 4])],
                   {"zero": np.array(0), "three": np.array(3)})
    _compare(model, {"x": _rand(3, 4)})
    hl = lo.load(model, backend="interp").ir("hl")
    assert "hl.neg" not in hl  # the else branch was never converted


@pytest.mark.parametrize("sign", [1, -1])
def test_if_on_a_computed_condition_selects(sign):
    nodes = [helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
             helper.make_node("Greater", ["total", "zf"], ["c"]),
             helper.make_node("If", ["c"], ["y"], then_branch=_branch("t", "Mul", "t"),
                              else_branch=_branch("e", "Neg", "e"))]
    model = _model(nodes, [_vi("x", F32, [3, 4])], [_vi("y", F32, [3, 4])],
                   {"zf": np.array(0, np.float32)})
    _compare(model, {"x": sign * np.abs(_rand(3, 4))})


def test_loop_with_a_static_trip_count_and_scan_outputs():
    body = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["fi"], to=F32),
         helper.make_node("Mul", ["acc", "x"], ["m"]), helper.make_node("Add", ["m", "fi"], ["a2"]),
         helper.make_node("Identity", ["cin"], ["cout"]), helper.make_node("Identity", ["a2"], ["sc"])],
        "body", [_vi("i", I64, []), _vi("cin", BOOL, []), _vi("acc", F32, [3, 4])],
        [_vi("cout", BOOL, []), _vi("a2", F32, [3, 4]), _vi("sc", F32, [3, 4])])
    node = helper.make_node("Loop", ["M", "", "a0"], ["final", "scans"], body=body)
    model = _model([node], [_vi("x", F32, [3, 4]), _vi("a0", F32, [3, 4])],
                   [_vi("final", F32, [3, 4]), _vi("scans", F32, [4, 3, 4])], {"M": np.array(4)})
    _compare(model, {"x": _rand(3, 4), "a0": _rand(3, 4, seed=1)})


def _negating_loop(trip_nodes):
    body = helper.make_graph([helper.make_node("Identity", ["cin"], ["cout"]),
                              helper.make_node("Neg", ["v"], ["v2"])], "body",
                             [_vi("i", I64, []), _vi("cin", BOOL, []), _vi("v", F32, [3])],
                             [_vi("cout", BOOL, []), _vi("v2", F32, [3])])
    nodes = trip_nodes + [helper.make_node("Loop", ["m", "", "x"], ["y"], body=body)]
    inputs = [_vi("x", F32, [3])] + ([] if trip_nodes else [_vi("m", I64, [])])
    return _model(nodes, inputs, [_vi("y", F32, [3])])


def test_loop_trip_count_from_a_graph_input_is_specialized():
    model = _negating_loop([])
    fn = lo.load(model, backend="interp")
    x = _rand(3)
    for m in (2, 3):
        np.testing.assert_array_equal(fn.run([x, np.array(m)])[0], x * (-1) ** m)


def test_loop_with_a_computed_trip_count_is_refused():
    model = _negating_loop([helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
                            helper.make_node("Cast", ["s"], ["m"], to=I64)])
    with pytest.raises(lo.UnsupportedOnnxError, match="trip count"):
        lo.load(model, backend="interp").run([_rand(3)])


def test_scan_with_axes_and_reversed_output():
    body = helper.make_graph([helper.make_node("Add", ["s", "e"], ["s2"]),
                              helper.make_node("Identity", ["s2"], ["o"])], "sb",
                             [_vi("s", F32, [3]), _vi("e", F32, [3])],
                             [_vi("s2", F32, [3]), _vi("o", F32, [3])])
    node = helper.make_node("Scan", ["s0", "x"], ["sf", "ys"], body=body, num_scan_inputs=1,
                            scan_input_axes=[1], scan_output_axes=[1],
                            scan_output_directions=[1])
    model = _model([node], [_vi("x", F32, [3, 4]), _vi("s0", F32, [3])],
                   [_vi("sf", F32, [3]), _vi("ys", F32, [3, 4])])
    _compare(model, {"x": _rand(3, 4), "s0": _rand(3, seed=1)})


# ---------------------------------------------------------------- opsets


def test_ops_defined_differently_before_opset_7_are_refused_at_load():
    model = _single("Add", {"a": _rand(3), "b": _rand(3)}, opset=6)
    with pytest.raises(lo.UnsupportedOnnxError, match=r"Add at opset 6 .*opset 7 and later"):
        lo.load(model, backend="interp")
    model = _single("Add", {"a": _rand(3), "b": _rand(3)}, opset=30)
    with pytest.raises(lo.UnsupportedOnnxError, match=r"opset 30 is not supported"):
        lo.load(model, backend="interp")


def test_ops_unchanged_since_opset_1_import_at_opset_1():
    _compare(_single("Not", {"x": _rand(3, 4) > 0}, opset=1), {"x": _rand(3, 4) > 0})


# ---------------------------------------------------------------- exported models


def _tv(name, **kw):
    from bench.tv import torchvision

    torch.manual_seed(0)
    return getattr(torchvision.models, name)(**kw)


def _check_torch_model(module, args, names, opset=17, backend="interp", tol=1e-4, **load):
    model = _export(module, args, names, opset=opset)
    feeds = {n: a.numpy() for n, a in zip(names, args, strict=True)}
    _compare(model, feeds, backend=backend, tol=tol, **load)
    return model


FAST_MODELS = [
    ("resnet18", {}, 64, 17), ("resnet18", {}, 64, 9), ("squeezenet1_0", {}, 64, 17),
    ("shufflenet_v2_x0_5", {}, 64, 17), ("shufflenet_v2_x0_5", {}, 64, 11),
    ("mobilenet_v2", {}, 64, 17),
]
SLOW_MODELS = [
    ("efficientnet_b0", {}, 224, 17), ("densenet121", {}, 224, 17),
    ("googlenet", {"aux_logits": False, "init_weights": True}, 224, 17),
    ("resnet50", {}, 224, 17), ("vgg19", {}, 224, 17), ("alexnet", {}, 224, 9),
    ("vit_b_16", {}, 224, 17), ("mobilenet_v2", {}, 224, 9),
]


@pytest.mark.parametrize("name,kw,size,opset", FAST_MODELS,
                         ids=[f"{m[0]}-opset{m[3]}" for m in FAST_MODELS])
def test_torchvision_model_small_input(name, kw, size, opset):
    _check_torch_model(_tv(name, **kw), (torch.randn(1, 3, size, size),), ["x"], opset=opset,
                       weights="inputs")


@pytest.mark.slow
@pytest.mark.parametrize("name,kw,size,opset", SLOW_MODELS,
                         ids=[f"{m[0]}-opset{m[3]}" for m in SLOW_MODELS])
def test_torchvision_model_imagenet_size(name, kw, size, opset):
    _check_torch_model(_tv(name, **kw), (torch.randn(1, 3, size, size),), ["x"], opset=opset,
                       weights="inputs")


@pytest.mark.slow
def test_resnet18_on_the_c_backend():
    _check_torch_model(_tv("resnet18"), (torch.randn(1, 3, 224, 224),), ["x"], backend="c",
                       weights="inputs")


def test_gpt2_shaped_decoder_uses_split_and_matches():
    from bench.zoo import GPT2

    torch.manual_seed(0)
    idx = torch.randint(0, 50, (2, 8))
    model = _check_torch_model(GPT2(50, 32, 4, 2, 16), (idx,), ["idx"], weights="inputs")
    assert "Split" in {n.op_type for n in model.graph.node}


@pytest.mark.slow
def test_gpt2_small_shaped_decoder_128_tokens():
    from bench.zoo import gpt2_small

    torch.manual_seed(0)
    _check_torch_model(gpt2_small(), (torch.randint(0, 50257, (1, 128)),), ["idx"],
                       weights="inputs")


def test_lstm_language_model_matches():
    from bench.zoo import LSTMLM

    torch.manual_seed(0)
    model = _check_torch_model(LSTMLM(40, 16, 24, 2), (torch.randint(0, 40, (7, 3)),), ["idx"],
                               weights="inputs")
    assert "LSTM" in {n.op_type for n in model.graph.node}
