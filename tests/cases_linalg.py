"""Op-table rows: matmul, convolution, pooling and the max-pool gradient ops.

The numpy oracles below are written independently of the ops' `reference`
methods (plain loops over windows), so a row checks the op, not itself."""

import numpy as np
import torch
import torch.nn.functional as TF
from opcases import OpCase, f32

import lamina as lm

# ---------------------------------------------------------------- numpy oracles


def np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    s = (stride, stride) if isinstance(stride, int) else stride
    d = (dilation, dilation) if isinstance(dilation, int) else dilation
    if padding == "same":
        total = [d[i] * (w.shape[2 + i] - 1) for i in range(2)]
        pads = [(t // 2, t - t // 2) for t in total]
    else:
        p = (padding, padding) if isinstance(padding, int) else padding
        pads = [(p[0], p[0]), (p[1], p[1])]
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0), *pads])
    n, c, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    oh = (hp - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (wp - d[1] * (kw - 1) - 1) // s[1] + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        g = oc // og
        xs = xp[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * d[0]:i * d[0] + (oh - 1) * s[0] + 1:s[0],
                           j * d[1]:j * d[1] + (ow - 1) * s[1] + 1:s[1]]
                out[:, oc] += np.einsum("nchw,c->nhw", patch, w[oc, :, i, j])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def np_conv_transpose2d(x, w, stride, padding, output_padding):
    """Each input element scatters `x * w` into the output, as the definition says."""
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    oh = (h - 1) * stride - 2 * padding + kh + output_padding
    ow = (wd - 1) * stride - 2 * padding + kw + output_padding
    full = np.zeros((n, o, oh + 2 * padding + kh, ow + 2 * padding + kw))
    for i in range(h):
        for j in range(wd):
            contrib = np.einsum("nc,cokl->nokl", x[:, :, i, j], w)
            full[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += contrib
    return full[:, :, padding:padding + oh, padding:padding + ow]


def _pool_size(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def np_pool2d(x, kind, k, s=None, p=0, d=1, ceil_mode=False, count_include_pad=True):
    """Max or average pooling over the last two dims, one window at a time."""
    s = s or k
    n_h, n_w = x.shape[-2:]
    oh = _pool_size(n_h, k, s, p, d, ceil_mode)
    ow = _pool_size(n_w, k, s, p, d, ceil_mode)
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = [i * s - p + a * d for a in range(k)]
            cols = [j * s - p + b * d for b in range(k)]
            inside = [(r, c) for r in rows for c in cols if 0 <= r < n_h and 0 <= c < n_w]
            vals = np.stack([x[..., r, c] for r, c in inside], axis=-1)
            if kind == "max":
                out[..., i, j] = vals.max(axis=-1)
                continue
            if count_include_pad:  # padding counts, the ceil-mode overhang does not
                h_end, w_end = min(i * s - p + k, n_h + p), min(j * s - p + k, n_w + p)
                count = (h_end - (i * s - p)) * (w_end - (j * s - p))
            else:
                count = len(inside)
            out[..., i, j] = vals.sum(axis=-1) / count
    return out


def _first_max_positions(x, k, s, p):
    """{(n, c, i, j): (row, col)} of the first maximum of each window (padding = -inf)."""
    n_h, n_w = x.shape[-2:]
    oh, ow = _pool_size(n_h, k, s, p, 1, False), _pool_size(n_w, k, s, p, 1, False)
    found = {}
    for idx in np.ndindex(*x.shape[:-2], oh, ow):
        *lead, i, j = idx
        best, at = -np.inf, None
        for a in range(k):
            for b in range(k):
                r, c = i * s - p + a, j * s - p + b
                if 0 <= r < n_h and 0 <= c < n_w and (at is None or x[(*lead, r, c)] > best):
                    best, at = x[(*lead, r, c)], (r, c)
        found[idx] = at
    return found, (oh, ow)


def np_max_pool_backward(x, ct, k, s, p):
    """The gradient of max pooling: each cotangent goes to the first max of its window."""
    grad = np.zeros(x.shape)
    for (*lead, i, j), (r, c) in _first_max_positions(x, k, s, p)[0].items():
        grad[(*lead, r, c)] += ct[(*lead, i, j)]
    return grad


def np_max_pool_gather(x, v, k, s, p):
    """v read at the first max of each window of x (the transpose of the above)."""
    found, (oh, ow) = _first_max_positions(x, k, s, p)
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for (*lead, i, j), (r, c) in found.items():
        out[(*lead, i, j)] = v[(*lead, r, c)]
    return out


def np_adaptive_avg_pool2d(x, out):
    oh, ow = out
    h, w = x.shape[-2:]
    res = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
            c0, c1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            res[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
    return res


# ---------------------------------------------------------------- lamina programs


def max_pool_backward(x, ct):
    """d(max_pool2d(x, 3, 2, 1)) . ct with respect to x: one hl.select_and_scatter_add."""
    _, pullback = lm.vjp(lambda x: lm.max_pool2d(x, 3, 2, 1), x)
    return pullback(ct)[0]


def max_pool_gather(x, ct, v):
    """The gradient of `sum(max_pool_backward(x, ct) * v)` in ct: one hl.select_and_gather."""
    return lm.grad(lambda ct: (max_pool_backward(x, ct) * v).sum())(ct)


def torch_max_pool_backward(x, ct):
    x = x.detach().requires_grad_(True)
    out = TF.max_pool2d(x, 3, 2, 1)
    return torch.autograd.grad(out, x, ct, create_graph=True)[0]


def torch_max_pool_gather(x, ct, v):
    ct = ct.detach().requires_grad_(True)
    return torch.autograd.grad((torch_max_pool_backward(x, ct) * v).sum(), ct,
                               create_graph=True)[0]


# ---------------------------------------------------------------- rows


def _matmul_row(name, sa, sb, **kw):
    return OpCase(name, ("hl.matmul",), lambda a, b: a @ b,
                  lambda rng: [f32(*sa)(rng), f32(*sb)(rng)], np.matmul, torch.matmul,
                  grad_args=(0, 1), rtol=1e-5, atol=1e-5, **kw)


def _conv_row(name, sx, sw, bias=False, **conv):
    gen = (lambda rng: [f32(*sx)(rng), f32(*sw)(rng), f32(sw[0])(rng)]) if bias else \
        (lambda rng: [f32(*sx)(rng), f32(*sw)(rng)])
    return OpCase(name, ("hl.conv",), lambda *a: lm.conv2d(*a, **conv), gen,
                  lambda *a: np_conv2d(*a, **conv), lambda *a: TF.conv2d(*a, **conv),
                  grad_args=(0, 1, 2) if bias else (0, 1), rtol=1e-4, atol=1e-5)


def _pool_row(name, kind, shape, k, s=None, p=0, d=1, ceil_mode=False, cip=True):
    if kind == "max":
        def fn(x):
            return lm.max_pool2d(x, k, s, p, d, ceil_mode)

        def torch_fn(x):
            return TF.max_pool2d(x, k, s, p, d, ceil_mode)
    else:
        def fn(x):
            return lm.avg_pool2d(x, k, s, p, ceil_mode, cip)

        def torch_fn(x):
            return TF.avg_pool2d(x, k, s, p, ceil_mode, cip)
    return OpCase(name, ("hl.reduce_window",), fn, lambda rng: [f32(*shape)(rng)],
                  lambda x: np_pool2d(x, kind, k, s, p, d, ceil_mode, cip), torch_fn,
                  rtol=1e-5, atol=1e-6)


CASES = [
    _matmul_row("matmul", (4, 6), (6, 5)),
    _matmul_row("matmul-batched", (3, 4, 6), (3, 6, 5)),
    _matmul_row("matmul-broadcast-batch", (2, 1, 4, 6), (3, 6, 5)),
    _matmul_row("matmul-vector-matrix", (6,), (6, 5)),
    _matmul_row("matmul-matrix-vector", (4, 6), (6,)),
    _matmul_row("matmul-dot", (7,), (7,)),
    OpCase("linear", ("hl.matmul",), lambda x, w, b: lm.linear(x, w, b),
           lambda rng: [f32(3, 6)(rng), f32(5, 6)(rng), f32(5)(rng)],
           lambda x, w, b: x @ w.T + b, TF.linear, grad_args=(0, 1, 2), atol=1e-5),
    _conv_row("conv2d", (2, 3, 6, 6), (4, 3, 3, 3), padding=1),
    _conv_row("conv2d-stride-padding", (1, 2, 7, 7), (3, 2, 3, 3), stride=2, padding=1),
    _conv_row("conv2d-dilation", (1, 2, 7, 6), (2, 2, 3, 2), dilation=2, padding=(2, 1)),
    _conv_row("conv2d-groups-bias", (2, 4, 5, 5), (6, 2, 3, 3), bias=True, groups=2),
    _conv_row("conv2d-depthwise-stride", (1, 3, 6, 5), (3, 1, 2, 2), stride=(2, 1), groups=3),
    _conv_row("conv2d-same", (1, 2, 6, 6), (2, 2, 4, 4), padding="same"),
    _conv_row("conv2d-all", (1, 4, 9, 8), (4, 2, 3, 2), bias=True, stride=2, padding=(1, 2),
              dilation=(2, 1), groups=2),
    OpCase("conv_transpose2d", ("hl.conv", "hl.reverse"),
           lambda x, w: lm.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
           lambda rng: [f32(2, 3, 4, 4)(rng), f32(3, 2, 3, 3)(rng)],
           lambda x, w: np_conv_transpose2d(x, w, 2, 1, 1),
           lambda x, w: TF.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
           grad_args=(0, 1), rtol=1e-4, atol=1e-5),
    _pool_row("max_pool2d", "max", (2, 3, 6, 6), 2),
    _pool_row("max_pool2d-overlap-padding", "max", (2, 2, 7, 7), 3, 2, 1),
    _pool_row("max_pool2d-ceil-dilation", "max", (1, 2, 8, 7), 2, 2, 1, 2, ceil_mode=True),
    _pool_row("avg_pool2d", "avg", (2, 3, 6, 6), 2),
    _pool_row("avg_pool2d-padding", "avg", (2, 2, 7, 7), 3, 2, 1),
    _pool_row("avg_pool2d-exclude-pad-ceil", "avg", (1, 2, 8, 7), 3, 2, 1, ceil_mode=True,
              cip=False),
    _pool_row("avg_pool2d-include-pad-ceil", "avg", (1, 2, 6, 7), 3, 2, 1, ceil_mode=True),
    OpCase("adaptive_avg_pool2d", ("hl.matmul", "hl.constant"),
           lambda x: lm.adaptive_avg_pool2d(x, (3, 2)), lambda rng: [f32(2, 3, 7, 5)(rng)],
           lambda x: np_adaptive_avg_pool2d(x, (3, 2)),
           lambda x: TF.adaptive_avg_pool2d(x, (3, 2)), atol=1e-5),
    OpCase("select_and_scatter_add", ("hl.select_and_scatter_add",), max_pool_backward,
           lambda rng: [f32(1, 2, 7, 7)(rng), f32(1, 2, 4, 4)(rng)],
           lambda x, ct: np_max_pool_backward(x, ct, 3, 2, 1), torch_max_pool_backward,
           grad_args=(1,)),
    OpCase("select_and_gather", ("hl.select_and_gather",), max_pool_gather,
           lambda rng: [f32(1, 2, 7, 7)(rng), f32(1, 2, 4, 4)(rng), f32(1, 2, 7, 7)(rng)],
           lambda x, ct, v: np_max_pool_gather(x, v, 3, 2, 1), torch_max_pool_gather,
           grad_args=(2,)),
]
