"""ONNX -> lamina converters for neural-network ops: MatMul, Gemm, activations,
softmax, normalizations, convolution and pooling."""

from __future__ import annotations

import math

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor
from lamina.onnx import prims
from lamina.onnx.node import Node, axis_of, converter, tensor

__all__: list[str] = []  # importing registers the converters in `node.CONVERTERS`

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


def _geometry(n: Node, x: Tensor, kernel: list[int]) -> dict:
    """strides, dilations and (lo, hi) pads per spatial dim, auto_pad resolved."""
    nd = x.ndim - 2
    strides = list(n.attr("strides") or [1] * nd)
    dilations = list(n.attr("dilations") or [1] * nd)
    auto_pad = n.attr("auto_pad", "NOTSET")
    if auto_pad in ("NOTSET", "VALID"):
        pads = list(n.attr("pads") or [0] * (2 * nd)) if auto_pad == "NOTSET" else [0] * 2 * nd
        lo, hi = pads[:nd], pads[nd:]
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        lo, hi = [], []
        for size, k, s, d in zip(x.shape[2:], kernel, strides, dilations, strict=True):
            total = max(0, (-(-size // s) - 1) * s + d * (k - 1) + 1 - size)
            small = total // 2
            lo.append(small if auto_pad == "SAME_UPPER" else total - small)
            hi.append(total - lo[-1])
    else:
        raise n.unsupported(f"auto_pad={auto_pad}")
    return dict(strides=strides, dilations=dilations, lo=lo, hi=hi)


def _interleave(lo: list[int], hi: list[int]) -> tuple[int, ...]:
    return tuple(p for pair in zip(lo, hi, strict=True) for p in pair)


@converter("Conv")
def conv(n: Node, x, w, b=None):
    x, w = tensor(x), tensor(w)
    g = _geometry(n, x, list(w.shape[2:]))
    y = ops.emit(hl.ConvOp, x, w, stride=tuple(g["strides"]),
                 padding=_interleave(g["lo"], g["hi"]), dilation=tuple(g["dilations"]),
                 groups=int(n.attr("group", 1)))
    if b is not None:
        y = ops.add(y, _channel_view(tensor(b), y.ndim))
    return y


def _ceil_mode_hi(sizes, kernel, g) -> list[int]:
    """The end padding that makes the windows reach ceil((n - extent) / stride) + 1
    outputs; a last window that would start in the end padding is dropped."""
    his = []
    for size, k, s, d, lo, hi in zip(sizes, kernel, g["strides"], g["dilations"], g["lo"],
                                     g["hi"], strict=True):
        extent = d * (k - 1) + 1
        out = -(-(size + lo + hi - extent) // s) + 1
        if (out - 1) * s >= size + lo:
            out -= 1
        his.append(max(hi, (out - 1) * s + extent - size - lo))
    return his


@converter("MaxPool", "AveragePool")
def pool(n: Node, x):
    x = tensor(x)
    if n.n_outputs > 1:
        raise n.unsupported("the Indices output")
    if n.attr("storage_order", 0):
        raise n.unsupported("storage_order=1")
    kernel = list(n.attr("kernel_shape"))
    g = _geometry(n, x, kernel)
    explicit_hi = list(g["hi"])
    if n.attr("ceil_mode", 0):
        g["hi"] = _ceil_mode_hi(x.shape[2:], kernel, g)
    props = dict(window=(1, 1, *kernel), strides=(1, 1, *g["strides"]),
                 padding=(0, 0, 0, 0, *_interleave(g["lo"], g["hi"])))
    if any(d != 1 for d in g["dilations"]):
        props["dilation"] = (1, 1, *g["dilations"])
    if n.op_type == "MaxPool":
        return ops.emit(hl.ReduceWindowOp, x, kind="max", **props)
    total = ops.emit(hl.ReduceWindowOp, x, kind="sum", **props)
    counts = np.ones((), dtype=np.float64)
    for size, k, s, d, lo, hi, out in zip(x.shape[2:], kernel, g["strides"], g["dilations"],
                                          g["lo"], explicit_hi, total.shape[2:], strict=True):
        # the taps of each window inside the input (or inside the explicit padding)
        first, end = (-lo, size + hi) if n.attr("count_include_pad", 0) else (0, size)
        taps = np.arange(out)[:, None] * s - lo + np.arange(k)[None, :] * d
        per = ((taps >= first) & (taps < end)).sum(axis=1).astype(np.float64)
        counts = np.multiply.outer(counts, per)
    return ops.div(total, ops.constant(counts.astype(x.dtype.np_dtype)))


# ---------------------------------------------------------------- attention (opset 23)


@converter("Attention")
def attention(n: Node, q, k, v, mask=None, past_k=None, past_v=None, *rest):
    """ONNX Attention-23: 3-D ([B, S, heads*D], with q/kv_num_heads) or 4-D ([B, heads, S,
    D]) inputs, grouped KV heads, bool or additive masks, is_causal, scale, softcap,
    past/present keys and values."""
    if n.attr("qk_matmul_output_mode", 0) or n.n_outputs > 3:
        raise n.unsupported("the qk_matmul output")
    if any(r is not None for r in rest):
        raise n.unsupported("the nonpad_kv_seqlen input")
    q, k, v = tensor(q), tensor(k), tensor(v)
    three_d = q.ndim == 3
    if three_d:
        hq, hkv = int(n.attr("q_num_heads")), int(n.attr("kv_num_heads"))
        b = q.shape[0]
        q = q.reshape((b, q.shape[1], hq, q.shape[2] // hq)).permute(0, 2, 1, 3)
        k = k.reshape((b, k.shape[1], hkv, k.shape[2] // hkv)).permute(0, 2, 1, 3)
        v = v.reshape((b, v.shape[1], hkv, v.shape[2] // hkv)).permute(0, 2, 1, 3)
    if past_k is not None:
        k = prims.cat([tensor(past_k), k], 2)
        v = prims.cat([tensor(past_v), v], 2)
    past = 0 if past_k is None else tensor(past_k).shape[2]
    present_k, present_v = k, v
    hq, hkv = q.shape[1], k.shape[1]
    if hq != hkv:  # grouped-query attention: each KV head serves hq / hkv query heads
        rep = hq // hkv
        k = ops.broadcast_to(k.reshape((k.shape[0], hkv, 1) + tuple(k.shape[2:])),
                             (k.shape[0], hkv, rep) + tuple(k.shape[2:]))
        k = k.reshape((k.shape[0], hq) + tuple(k.shape[3:]))
        v = ops.broadcast_to(v.reshape((v.shape[0], hkv, 1) + tuple(v.shape[2:])),
                             (v.shape[0], hkv, rep) + tuple(v.shape[2:]))
        v = v.reshape((v.shape[0], hq) + tuple(v.shape[3:]))
    scale = n.attr("scale")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = ops.mul(prims.matmul(q, k.permute(0, 1, 3, 2)), scale)
    softcap = n.attr("softcap", 0.0)
    if softcap:
        scores = ops.mul(ops.tanh(ops.div(scores, softcap)), softcap)
    sq, skv = scores.shape[-2], scores.shape[-1]
    if mask is not None:
        m = tensor(mask)
        if m.dtype == dtypes.bool_:
            scores = ops.where(m, scores, float("-inf"))
        else:
            scores = ops.add(scores, m.to(scores.dtype))
    if n.attr("is_causal", 0):  # query i sees the past and the new keys up to i
        allowed = np.tril(np.ones((sq, skv), dtype=bool), k=past)
        scores = ops.where(ops.constant(allowed), scores, float("-inf"))
    y = prims.matmul(_softmax(scores, scores.ndim - 1, False), v)
    if three_d:
        y = y.permute(0, 2, 1, 3).reshape((y.shape[0], y.shape[2], y.shape[1] * y.shape[3]))
    return (y, present_k, present_v)[: n.n_outputs]
