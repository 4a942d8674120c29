"""ONNX -> lamina converters for the recurrent ops LSTM, GRU and RNN.

ONNX's gate orders (LSTM i, o, f, c; GRU z, r, h), weights `W [dirs, gates*H, in]`,
`R [dirs, gates*H, H]`, `B [dirs, 2*gates*H]` (input then recurrent biases), initial
states, LSTM peepholes `P`, `clip`, the activations attributes, `direction` forward /
reverse / bidirectional and `layout` 0 and 1. The input projection of every step is one
matmul; the time loop is unrolled at import (the sequence length is static), as
`lamina.nn.LSTM` does. `sequence_lens` is accepted when it is static and every row has
the full length (what exporters emit); shorter rows are refused."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lamina.frontend import movement, ops
from lamina.frontend.tensor import Tensor
from lamina.onnx import prims
from lamina.onnx.node import Node, converter, static, tensor

__all__: list[str] = []  # importing registers the converters in `node.CONVERTERS`

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                        "RNN": ["Tanh"]}


def _activation(n: Node, name: str, alpha: float | None, beta: float | None
                ) -> Callable[[Tensor], Tensor]:
    """The ONNX RNN activation functions (the spec's list), alpha/beta where they take them."""
    name = name if isinstance(name, str) else name.decode()
    low = name.lower()
    if low == "sigmoid":
        return ops.sigmoid
    if low == "tanh":
        return ops.tanh
    if low == "relu":
        return ops.relu
    if low == "affine":
        return lambda x: ops.add(ops.mul(x, alpha if alpha is not None else 1.0),
                                 beta if beta is not None else 0.0)
    if low == "leakyrelu":
        a = alpha if alpha is not None else 0.01
        return lambda x: ops.where(ops.ge(x, 0), x, ops.mul(x, a))
    if low == "thresholdedrelu":
        a = alpha if alpha is not None else 1.0
        return lambda x: ops.where(ops.gt(x, a), x, ops.mul(x, 0.0))
    if low == "scaledtanh":
        a, b = (alpha if alpha is not None else 1.0), (beta if beta is not None else 1.0)
        return lambda x: ops.mul(ops.tanh(ops.mul(x, b)), a)
    if low == "hardsigmoid":
        a, b = (alpha if alpha is not None else 0.2), (beta if beta is not None else 0.5)
        return lambda x: ops.clamp(ops.add(ops.mul(x, a), b), 0.0, 1.0)
    if low == "elu":
        a = alpha if alpha is not None else 1.0
        return lambda x: ops.where(ops.ge(x, 0), x, ops.mul(ops.sub(ops.exp(x), 1.0), a))
    if low == "softsign":
        return lambda x: ops.div(x, ops.add(ops.abs(x), 1.0))
    if low == "softplus":
        return lambda x: ops.log(ops.add(ops.exp(x), 1.0))
    raise n.unsupported(f"activation {name}")


def _activations(n: Node, dirs: int) -> list[list[Callable]]:
    """Per direction, the cell's activation functions (f, g[, h])."""
    default = _DEFAULT_ACTIVATIONS[n.op_type]
    names = list(n.attr("activations") or default * dirs)
    alphas = list(n.attr("activation_alpha") or [])
    betas = list(n.attr("activation_beta") or [])
    per = len(default)
    if len(names) == per and dirs == 2:
        names = names * 2
    if len(names) != per * dirs:
        raise n.unsupported(f"{len(names)} activations for {dirs} direction(s)")
    fns = []
    for i, name in enumerate(names):
        fns.append(_activation(n, name, alphas[i] if i < len(alphas) else None,
                               betas[i] if i < len(betas) else None))
    return [fns[d * per:(d + 1) * per] for d in range(dirs)]


def _pick(v: Tensor | None, d: int) -> Tensor | None:
    return None if v is None else v[d]


@converter("LSTM", "GRU", "RNN", static=(4,))
def recurrent(n: Node, x, w, r, b=None, seq_lens=None, h0=None, c0=None, p=None):
    kind = n.op_type
    if n.attr("input_forget", 0):
        raise n.unsupported("input_forget=1")
    x, w, r = tensor(x), tensor(w), tensor(r)
    layout = int(n.attr("layout", 0))
    if layout:  # [batch, seq, in] -> [seq, batch, in]
        x = x.permute(1, 0, 2)
        h0 = None if h0 is None else tensor(h0).permute(1, 0, 2)
        c0 = None if c0 is None else tensor(c0).permute(1, 0, 2)
    seq, batch = x.shape[0], x.shape[1]
    if seq_lens is not None:
        lens = static(seq_lens, n, "sequence_lens").reshape(-1)
        if np.any(lens != seq):
            raise n.unsupported("sequence_lens shorter than the sequence (only full-length "
                                "rows are imported)")
    direction = n.attr("direction", "forward")
    dirs = 2 if direction == "bidirectional" else 1
    hidden = int(n.attr("hidden_size") or r.shape[-1])
    gates = _GATES[kind]
    clip = n.attr("clip")
    acts = _activations(n, dirs)
    b = None if b is None else tensor(b)
    h0 = None if h0 is None else tensor(h0)
    c0 = None if c0 is None else tensor(c0)
    p = None if p is None else tensor(p)
    ys, hs, cs = [], [], []
    for d in range(dirs):
        reverse = direction == "reverse" or d == 1
        wd, rd = w[d], r[d]
        bd = _pick(b, d)
        wb, rb = (None, None) if bd is None else (bd[:gates * hidden], bd[gates * hidden:])
        h = h0[d] if h0 is not None else ops.zeros((batch, hidden), dtype=x.dtype)
        c = c0[d] if c0 is not None else ops.zeros((batch, hidden), dtype=x.dtype)
        # every step's input projection at once: [seq, batch, gates*H]
        xw = prims.matmul(x, wd.T)
        if wb is not None and kind != "GRU":
            xw = ops.add(xw, ops.add(wb, rb))
        elif wb is not None:
            xw = ops.add(xw, wb)
        steps = range(seq - 1, -1, -1) if reverse else range(seq)
        outs: list[Tensor] = [None] * seq  # type: ignore[list-item]
        for t in steps:
            if kind == "LSTM":
                h, c = _lstm_step(xw[t], h, c, rd, _pick(p, d), clip, acts[d], hidden)
            elif kind == "GRU":
                h = _gru_step(xw[t], h, rd, rb, clip, acts[d], hidden,
                              bool(n.attr("linear_before_reset", 0)))
            else:
                pre = _clip(ops.add(xw[t], prims.matmul(h, rd.T)), clip)
                h = acts[d][0](pre)
            outs[t] = h
        ys.append(movement.stack(outs, 0))
        hs.append(h)
        cs.append(c)
    y = movement.stack(ys, 1)  # [seq, dirs, batch, H]
    y_h = movement.stack(hs, 0)  # [dirs, batch, H]
    y_c = movement.stack(cs, 0)
    if layout:
        y = y.permute(2, 0, 1, 3)
        y_h = y_h.permute(1, 0, 2)
        y_c = y_c.permute(1, 0, 2)
    results = (y, y_h, y_c) if kind == "LSTM" else (y, y_h)
    return results[: n.n_outputs]


def _clip(x: Tensor, clip: float | None) -> Tensor:
    return x if clip is None else ops.clamp(x, -clip, clip)


def _lstm_step(xw: Tensor, h: Tensor, c: Tensor, r: Tensor, p: Tensor | None,
               clip: float | None, acts: list[Callable], hidden: int) -> tuple[Tensor, Tensor]:
    f_act, g_act, h_act = acts
    pre = ops.add(xw, prims.matmul(h, r.T))
    i, o, f, g = (pre[:, k * hidden:(k + 1) * hidden] for k in range(4))
    if p is not None:
        pi, po, pf = p[:hidden], p[hidden:2 * hidden], p[2 * hidden:]
        i = ops.add(i, ops.mul(c, pi))
        f = ops.add(f, ops.mul(c, pf))
    i, f, g = f_act(_clip(i, clip)), f_act(_clip(f, clip)), g_act(_clip(g, clip))
    c = ops.add(ops.mul(f, c), ops.mul(i, g))
    if p is not None:
        o = ops.add(o, ops.mul(c, po))
    o = f_act(_clip(o, clip))
    return ops.mul(o, h_act(c)), c


def _gru_step(xw: Tensor, h: Tensor, r: Tensor, rb: Tensor | None, clip: float | None,
              acts: list[Callable], hidden: int, linear_before_reset: bool) -> Tensor:
    f_act, g_act = acts
    xz, xr, xh = (xw[:, k * hidden:(k + 1) * hidden] for k in range(3))
    rz_w, rr_w, rh_w = (r[k * hidden:(k + 1) * hidden] for k in range(3))
    rbz, rbr, rbh = (None, None, None) if rb is None else \
        (rb[:hidden], rb[hidden:2 * hidden], rb[2 * hidden:])

    def rec(v: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        out = prims.matmul(v, weight.T)
        return out if bias is None else ops.add(out, bias)

    z = f_act(_clip(ops.add(xz, rec(h, rz_w, rbz)), clip))
    rg = f_act(_clip(ops.add(xr, rec(h, rr_w, rbr)), clip))
    if linear_before_reset:
        hh = ops.add(xh, ops.mul(rg, rec(h, rh_w, rbh)))
    else:
        hh = ops.add(xh, rec(ops.mul(rg, h), rh_w, rbh))
    hh = g_act(_clip(hh, clip))
    return ops.add(ops.mul(ops.sub(1.0, z), hh), ops.mul(z, h))
