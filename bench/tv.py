"""torchvision on this CPU-only machine: its C extension is a CUDA build that cannot
load, so the two op schemas it registers fake kernels for are defined first (the
`Library` object is kept alive here), then `torchvision` imports and its model
builders work (random weights; nothing is downloaded).

    from bench.tv import torchvision
    model = torchvision.models.resnet18()
"""

from __future__ import annotations

import torch

__all__ = ["export_onnx", "torchvision"]


def _import():
    try:
        import torchvision as tv  # works where the extension loads
        return tv
    except Exception:  # noqa: BLE001 - the CUDA extension's failure, whatever its type
        pass
    global _LIB
    _LIB = torch.library.Library("torchvision", "DEF")
    _LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIB.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import torchvision as tv

    return tv


_LIB = None
torchvision = _import()


def export_onnx(model: torch.nn.Module, args: tuple, opset: int = 17,
                input_names: list[str] | None = None):
    """`torch.onnx.export` (the TorchScript exporter: onnxscript is not installed) to an
    in-memory `onnx.ModelProto`."""
    import io
    import warnings

    import onnx

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), args, buf, dynamo=False, opset_version=opset,
                          input_names=input_names, do_constant_folding=True)
    return onnx.load_from_string(buf.getvalue())
