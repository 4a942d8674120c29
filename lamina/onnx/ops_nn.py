"""ONNX -> lamina converters for neural-network ops: MatMul, Gemm, activations,
softmax, normalizations, convolution and pooling."""

from __future__ import annotations

import math

import numpy as np

from lamina import dtypes
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor
from lamina.onnx import prims
from lamina.onnx.node import Node, axis_of, converter, tensor

# ---------------------------------------------------------------- linear algebra


@converter("MatMul")
def matmul(n: Node, a, b):
    return prims.matmul(tensor(a), tensor(b))


@converter("Gemm")
def gemm(n: Node, a, b, c=None):
    a, b = tensor(a), tensor(b)
    a = a.T if n.attr("transA", 0) else a
    b = b.T if n.attr("transB", 0) else b
    out = prims.matmul(a, b)
    alpha, beta = n.attr("alpha", 1.0), n.attr("beta", 1.0)
    if alpha != 1.0:
        out = ops.mul(out, alpha)
    if c is not None:
        c = tensor(c)
        out = ops.add(out, c if beta == 1.0 else ops.mul(c, beta))
    return out


# ---------------------------------------------------------------- activations


@converter("Relu")
def relu(n: Node, x):
    return ops.relu(tensor(x))


@converter("LeakyRelu")
def leaky_relu(n: Node, x):
    x = tensor(x)
    return ops.where(ops.ge(x, 0), x, ops.mul(x, n.attr("alpha", 0.01)))


@converter("Gelu")
def gelu(n: Node, x):
    x = tensor(x)
    if n.attr("approximate", "none") == "tanh":
        inner = ops.mul(ops.add(x, ops.mul(ops.mul(ops.mul(x, x), x), 0.044715)),
                        math.sqrt(2.0 / math.pi))
        return ops.mul(ops.mul(x, 0.5), ops.add(ops.tanh(inner), 1.0))
    return ops.mul(ops.mul(x, 0.5), ops.add(ops.erf(ops.mul(x, 1.0 / math.sqrt(2.0))), 1.0))


@converter("Softmax", "LogSoftmax")
def softmax(n: Node, x):
    x = tensor(x)
    if n.opset >= 13:
        return _softmax(x, axis_of(n.attr("axis", -1), x.ndim), n.op_type == "LogSoftmax")
    axis = axis_of(n.attr("axis", 1), x.ndim)  # before 13: over the flattened trailing dims
    flat = x.reshape((int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:]))))
    return _softmax(flat, 1, n.op_type == "LogSoftmax").reshape(x.shape)


def _softmax(x: Tensor, axis: int, log: bool) -> Tensor:
    shifted = ops.sub(x, ops.amax(x, dim=axis, keepdim=True))
    e = ops.exp(shifted)
    total = ops.sum(e, dim=axis, keepdim=True)
    return ops.sub(shifted, ops.log(total)) if log else ops.div(e, total)


# ---------------------------------------------------------------- normalization


def _channel_view(v: Tensor, rank: int) -> Tensor:
    return v.reshape((1, v.shape[0]) + (1,) * (rank - 2)) if rank > 1 else v


@converter("BatchNormalization")
def batch_norm(n: Node, x, scale, bias, mean, var):
    if n.attr("training_mode", 0) or n.n_outputs > 1:
        raise n.unsupported("training mode (only inference is imported)")
    x = tensor(x)
    scale, bias, mean, var = (_channel_view(tensor(v).to(x.dtype), x.ndim)
                              for v in (scale, bias, mean, var))
    inv = ops.rsqrt(ops.add(var, n.attr("epsilon", 1e-5)))
    return ops.add(ops.mul(ops.mul(ops.sub(x, mean), inv), scale), bias)


@converter("LayerNormalization")
def layer_norm(n: Node, x, scale, bias=None):
    x = tensor(x)
    axis = axis_of(n.attr("axis", -1), x.ndim)
    dims = tuple(range(axis, x.ndim))
    stash = dtypes.float32 if n.attr("stash_type", 1) == 1 else x.dtype
    xs = x.to(stash) if x.dtype != stash else x
    mean = ops.mean(xs, dim=dims, keepdim=True)
    centered = ops.sub(xs, mean)
    var = ops.mean(ops.mul(centered, centered), dim=dims, keepdim=True)
    inv_std = ops.rsqrt(ops.add(var, n.attr("epsilon", 1e-5)))
    y = ops.mul(centered, inv_std).to(x.dtype)
    y = ops.mul(y, tensor(scale))
    if bias is not None:
        y = ops.add(y, tensor(bias))
    return (y, mean, inv_std)[: n.n_outputs]


# ---------------------------------------------------------------- convolution and pooling


@converter("GlobalAveragePool", "GlobalMaxPool")
def global_pool(n: Node, x):
    x = tensor(x)
    dims = tuple(range(2, x.ndim))
    fn = ops.mean if n.op_type == "GlobalAveragePool" else ops.amax
    return fn(x, dim=dims, keepdim=True)


def _pads(n: Node, spatial: int) -> list[int]:
    auto_pad = n.attr("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID"):
        raise n.unsupported(f"auto_pad={auto_pad}")
    pads = n.attr("pads") or [0] * (2 * spatial)
    return list(pads)


def _geometry(n: Node, spatial: int) -> dict:
    return dict(strides=list(n.attr("strides") or [1] * spatial),
                dilations=list(n.attr("dilations") or [1] * spatial),
                pads=_pads(n, spatial))


@converter("Conv")
def conv(n: Node, x, w, b=None):
    x, w = tensor(x), tensor(w)
    geo = _geometry(n, x.ndim - 2)
    fn = prims.landed("frontend.linalg", "conv")
    if fn is None:
        raise n.unsupported("lamina's convolution (lamina.frontend.linalg.conv) is missing")
    return fn(x, w, None if b is None else tensor(b), stride=geo["strides"],
              padding=geo["pads"], dilation=geo["dilations"], groups=n.attr("group", 1))


@converter("MaxPool", "AveragePool")
def pool(n: Node, x):
    x = tensor(x)
    if n.n_outputs > 1:
        raise n.unsupported("the Indices output")
    if n.attr("ceil_mode", 0):
        raise n.unsupported("ceil_mode=1")
    if n.attr("storage_order", 0):
        raise n.unsupported("storage_order=1")
    geo = _geometry(n, x.ndim - 2)
    kernel = list(n.attr("kernel_shape"))
    if n.op_type == "MaxPool":
        fn = prims.landed("frontend.linalg", "max_pool")
        if fn is None:
            raise n.unsupported("lamina's max_pool is missing")
        return fn(x, kernel, stride=geo["strides"], padding=geo["pads"],
                  dilation=geo["dilations"])
    fn = prims.landed("frontend.linalg", "avg_pool")
    if fn is None:
        raise n.unsupported("lamina's avg_pool is missing")
    return fn(x, kernel, stride=geo["strides"], padding=geo["pads"],
              count_include_pad=bool(n.attr("count_include_pad", 0)))

