"""ONNX interop: `load` an ONNX model as a compiled lamina function, run ONNX's
backend API on lamina (`lamina.onnx.backend`), `export` a traced lamina function.

    model = lamina.onnx.load("mlp.onnx")          # or a ModelProto
    (y,) = model(x)                                # lm.Tensors, graph.output order
    print(model.ir("hl"))                          # the imported program's hl IR
    lamina.onnx.export(fn, x, w, path="fn.onnx")   # and back
"""

from lamina.onnx.exporter import export
from lamina.onnx.importer import OnnxFunction, load
from lamina.onnx.node import UnsupportedOnnxError

__all__ = ["OnnxFunction", "UnsupportedOnnxError", "export", "load"]
