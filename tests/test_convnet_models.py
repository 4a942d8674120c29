"""Whole convnets (torchvision, random weights) exported with torch.onnx.export and run
by lamina's C backend against onnxruntime: ImageNet-size 7x7/2 stems, 3x3 convs past the
im2col budget (cut into bands), 1x1 and depthwise convs, folded BatchNorms. A small
CNN with BatchNorm runs in the fast suite; the full models are slow."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import lamina.onnx as lo  # noqa: E402

_LIB = None  # torchvision's C extension is a CUDA build here: its two op schemas first


def _torchvision():
    global _LIB
    if _LIB is None:
        _LIB = torch.library.Library("torchvision", "DEF")
        _LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _LIB.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    return pytest.importorskip("torchvision")


def _export(model, shape, path) -> np.ndarray:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    torch.onnx.export(model.eval(), (x,), str(path), opset_version=17, dynamo=False,
                      input_names=["x"], output_names=["y"])
    return x.numpy()


def _against_onnxruntime(path, x, tol=1e-4):
    got = lo.load(str(path), backend="c").run([x])[0]
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err <= tol, err


def test_small_cnn_with_batch_norm_matches_onnxruntime(tmp_path):
    """Conv+BN+ReLU (BN folded by the exporter in eval: kept unfolded here by
    training=TrainingMode.PRESERVE, folded at import), a depthwise conv, a 1x1 conv,
    a residual add and a global average pool."""
    torch.manual_seed(0)
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
                                      nn.ReLU())
            self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1, groups=16), nn.BatchNorm2d(16),
                                    nn.ReLU6())
            self.pw = nn.Conv2d(16, 16, 1)
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            h = self.stem(x)
            h = h + self.pw(self.dw(h))
            return self.head(h.mean((2, 3)))

    net = Net()
    for m in net.modules():  # statistics that make the folding matter
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    path = tmp_path / "net.onnx"
    x = torch.randn(2, 3, 32, 32)
    torch.onnx.export(net.eval(), (x,), str(path), opset_version=17, dynamo=False,
                      input_names=["x"], output_names=["y"], do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    f = lo.load(str(path), backend="c")
    assert not any(n.op_type == "BatchNormalization" for n in f.nodes)
    _against_onnxruntime(path, x.numpy())
    np.testing.assert_allclose(f.run([x.numpy()])[0], net(x).detach().numpy(), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_torchvision_model_matches_onnxruntime(tmp_path, name):
    tv = _torchvision()
    torch.manual_seed(0)
    path = tmp_path / f"{name}.onnx"
    x = _export(getattr(tv.models, name)(), (1, 3, 224, 224), path)
    _against_onnxruntime(path, x)
