"""Model workloads of the CPU benchmark: an MLP training step, a small CNN
forward+backward and an attention block forward, each the same model with the
same weights in lamina and torch (numpy: a hand-written version where one is
reasonable)."""

from __future__ import annotations

import numpy as np

from bench.workloads import Workload


def _weights(rng, *shape, fan_in):
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


_MLP_SIZES = [(784, 512), (512, 512), (512, 10)]


def _mlp_data():
    rng = np.random.default_rng(0)
    params = []
    for fi, fo in _MLP_SIZES:
        params += [_weights(rng, fo, fi, fan_in=fi), _weights(rng, fo, fan_in=fi)]
    x = rng.standard_normal((256, 784), dtype=np.float32)
    y = rng.integers(0, 10, 256)
    return params, x, y


def mlp_params() -> list[np.ndarray]:
    """The MLP step's initial weights and biases (what every contender starts from)."""
    return _mlp_data()[0]


def mlp_train_step() -> Workload:
    """B 256, 784-512-512-10, cross entropy, SGD with momentum: one step's loss."""
    import torch

    import lamina as lm
    import lamina.nn as nn

    sizes = _MLP_SIZES
    params, x, y = _mlp_data()

    def lam():
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                              nn.Linear(512, 10))
        model.load_state_dict({k: v for k, v in zip(model.state_dict(), params, strict=True)})
        opt = lm.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        @lm.jit
        def step(x, y):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return step

    def torch_step_factory():
        model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                    torch.nn.Linear(512, 512), torch.nn.ReLU(),
                                    torch.nn.Linear(512, 10))
        with torch.no_grad():
            for p, v in zip(model.parameters(), params, strict=True):
                p.copy_(torch.from_numpy(v))
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        def step(x, y):
            with torch.enable_grad():
                loss = torch.nn.functional.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
            return loss.detach()

        return step

    torch_step = torch_step_factory()

    def reference(x, y):  # the first step's loss, in float64
        h = x.astype(np.float64)
        for i in range(3):
            h = h @ params[2 * i].T.astype(np.float64) + params[2 * i + 1]
            if i < 2:
                h = np.maximum(h, 0)
        h = h - h.max(axis=1, keepdims=True)
        logp = h - np.log(np.exp(h).sum(axis=1, keepdims=True))
        return -logp[np.arange(len(y)), y].mean()

    flops = 6.0 * 256 * sum(fi * fo for fi, fo in sizes)
    return Workload("MLP train step (B256 784-512-512-10, SGD momentum)", [x, y], lam, None,
                    torch_step, reference, flops=flops, bound="compute", rtol=5e-2)


def _cnn_data():
    rng = np.random.default_rng(0)
    w1, b1 = _weights(rng, 8, 1, 3, 3, fan_in=9), _weights(rng, 8, fan_in=9)
    w2, b2 = _weights(rng, 16, 8, 3, 3, fan_in=72), _weights(rng, 16, fan_in=72)
    w3, b3 = _weights(rng, 10, 16 * 7 * 7, fan_in=784), _weights(rng, 10, fan_in=784)
    x = rng.standard_normal((32, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    return [w1, b1, w2, b2, w3, b3], x, y


def cnn_weights() -> list[np.ndarray]:
    return _cnn_data()[0]


def cnn_fwd_bwd() -> Workload:
    """B 32, 1x28x28, conv3x3(8) relu pool conv3x3(16) relu pool linear(10): loss + grads."""
    import torch

    import lamina as lm
    import lamina.nn.functional as F

    weights, x, y = _cnn_data()

    def forward(F, conv, pool, x, y, w1, b1, w2, b2, w3, b3):
        h = pool(F.relu(conv(x, w1, b1, padding=1)), 2)
        h = pool(F.relu(conv(h, w2, b2, padding=1)), 2)
        return F.cross_entropy(F.linear(h.reshape(h.shape[0], -1), w3, b3), y)

    def lam():
        loss_and_grads = lm.value_and_grad(
            lambda ws, x, y: forward(F, F.conv2d, F.max_pool2d, x, y, *ws))
        # the gradients are outputs too: returning only the loss let dead-code
        # elimination drop the whole backward pass (torch computes it)
        jitted = lm.jit(lambda x, y, *ws: loss_and_grads(list(ws), x, y))
        return lambda x, y: jitted(x, y, *weights)[0]

    def torch_fn(x, y):
        ws = [torch.from_numpy(w).requires_grad_() for w in weights]
        with torch.enable_grad():
            tf = torch.nn.functional
            loss = forward(tf, tf.conv2d, tf.max_pool2d, x, y, *ws)
            loss.backward()
        return loss.detach()

    def reference(x, y):
        t = [torch.from_numpy(v.astype(np.float64)) for v in (x, *weights)]
        tf = torch.nn.functional
        return forward(tf, tf.conv2d, tf.max_pool2d, t[0], torch.from_numpy(y), *t[1:]).item()

    flops = 3 * 2.0 * 32 * (8 * 9 * 28 * 28 + 16 * 72 * 14 * 14 + 10 * 784)
    return Workload("small CNN fwd+bwd (B32 28x28)", [x, y], lam, None, torch_fn, reference,
                    flops=flops, bound="compute", rtol=1e-3)


def _attention_data():
    rng = np.random.default_rng(0)
    d = 256
    x = rng.standard_normal((8, 256, d), dtype=np.float32)
    return x, _weights(rng, 3 * d, d, fan_in=d), _weights(rng, d, d, fan_in=d)


def attention_weights() -> list[np.ndarray]:
    return list(_attention_data()[1:])


def attention_block() -> Workload:
    """B 8, S 256, D 256, 4 heads: x + out_proj(softmax(QK^T/sqrt(d)) V), causal."""
    import torch

    import lamina as lm
    import lamina.nn.functional as F

    b, s, d, h = 8, 256, 256, 4
    x, w_qkv, w_out = _attention_data()

    def block(F, x, w_qkv, w_out, sdpa):
        qkv = F.linear(x, w_qkv)
        q, k, v = (qkv[..., i * d:(i + 1) * d].reshape(b, s, h, d // h).transpose(1, 2)
                   for i in range(3))
        o = sdpa(q, k, v, is_causal=True).transpose(1, 2).reshape(b, s, d)
        return x + F.linear(o, w_out)

    def lam():
        jitted = lm.jit(lambda x, wq, wo: block(F, x, wq, wo, F.scaled_dot_product_attention))
        return lambda x: jitted(x, w_qkv, w_out)

    def torch_fn(x):
        tf = torch.nn.functional
        return block(tf, x, torch.from_numpy(w_qkv), torch.from_numpy(w_out),
                     tf.scaled_dot_product_attention)

    def reference(x):
        tf = torch.nn.functional
        t = [torch.from_numpy(v.astype(np.float64)) for v in (x, w_qkv, w_out)]
        return block(tf, t[0], t[1], t[2], tf.scaled_dot_product_attention).numpy()

    flops = 2.0 * b * s * d * 4 * d + 4.0 * b * s * s * d
    return Workload("attention block fwd (B8 S256 D256 4 heads)", [x], lam, None, torch_fn,
                    reference, flops=flops, bound="compute", rtol=1e-3)
