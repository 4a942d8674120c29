"""The nine `make bench` workloads in JAX (`jax.jit`, CPU): same shapes, same weights,
checked against the same float64 references. `build(key, workload)` returns a callable
on the workload's numpy inputs that blocks until its result is ready, or None when jax
is not installed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["available", "build"]


def available() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def _ready(fn: Callable) -> Callable:
    def call(*args):
        out = fn(*args)
        out.block_until_ready()
        return out

    return call


def _gelu(x, a, b):
    import jax

    return jax.nn.gelu(x * a + b, approximate=True)


def _softmax(x):
    import jax

    return jax.nn.softmax(x, axis=1)


def _layer_norm(x, w, b):
    import jax.numpy as jnp

    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    return (x - mu) * jnp.reciprocal(jnp.sqrt(var + 1e-5)) * w + b


def _simple(fn: Callable) -> Callable:
    import jax

    jitted = jax.jit(fn)
    return _ready(lambda *a: jitted(*a))


def _mlp_step(w) -> Callable:
    """SGD with momentum 0.9 (torch's form: buf = 0.9 buf + g; p -= lr buf), lr 1e-3; the
    parameters and momentum buffers are carried from step to step, as lamina's and torch's."""
    import jax
    import jax.numpy as jnp

    from bench import models

    params = [jnp.asarray(p) for p in models.mlp_params()]
    state = {"params": params, "bufs": None}

    def loss_fn(ps, x, y):
        h = x
        for i in range(3):
            h = h @ ps[2 * i].T + ps[2 * i + 1]
            if i < 2:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h, axis=1)
        return -jnp.take_along_axis(logp, y[:, None], axis=1).mean()

    @jax.jit
    def step(ps, bufs, x, y, first):
        loss, grads = jax.value_and_grad(loss_fn)(ps, x, y)
        bufs = [jnp.where(first, g, 0.9 * b + g) for b, g in zip(bufs, grads, strict=True)]
        ps = [p - 1e-3 * b for p, b in zip(ps, bufs, strict=True)]
        return loss, ps, bufs

    def call(x, y):
        first = state["bufs"] is None
        bufs = state["bufs"] or [jnp.zeros_like(p) for p in state["params"]]
        loss, state["params"], state["bufs"] = step(state["params"], bufs, x, y, first)
        loss.block_until_ready()
        return loss

    return call


def _cnn(w) -> Callable:
    import jax
    import jax.numpy as jnp
    from jax import lax

    from bench import models

    weights = [jnp.asarray(v) for v in models.cnn_weights()]

    def conv(x, w, b):
        y = lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y + b[None, :, None, None]

    def pool(x):
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def loss_fn(ws, x, y):
        w1, b1, w2, b2, w3, b3 = ws
        h = pool(jax.nn.relu(conv(x, w1, b1)))
        h = pool(jax.nn.relu(conv(h, w2, b2)))
        logits = h.reshape(h.shape[0], -1) @ w3.T + b3
        logp = jax.nn.log_softmax(logits, axis=1)
        return -jnp.take_along_axis(logp, y[:, None], axis=1).mean()

    fn = jax.jit(jax.value_and_grad(loss_fn))

    def call(x, y):
        loss, grads = fn(weights, x, y)
        jax.block_until_ready(grads)
        return loss

    return call


def _attention(w) -> Callable:
    import jax
    import jax.numpy as jnp

    from bench import models

    w_qkv, w_out = (jnp.asarray(v) for v in models.attention_weights())
    b, s, d, h = 8, 256, 256, 4

    @jax.jit
    def block(x):
        qkv = x @ w_qkv.T
        q, k, v = (qkv[..., i * d:(i + 1) * d].reshape(b, s, h, d // h) for i in range(3))
        o = jax.nn.dot_product_attention(q, k, v, is_causal=True).reshape(b, s, d)
        return x + o @ w_out.T

    return _ready(block)


_BUILDERS: dict[str, Callable] = {
    "gelu": lambda w: _simple(_gelu),
    "softmax": lambda w: _simple(_softmax),
    "layernorm": lambda w: _simple(_layer_norm),
    "matmul1024": lambda w: _simple(lambda a, b: a @ b),
    "matmul2048": lambda w: _simple(lambda a, b: a @ b),
    "sum": lambda w: _simple(lambda x: x.sum()),
    "mlp_step": _mlp_step,
    "cnn": _cnn,
    "attention": _attention,
}


def build(key: str, workload) -> Callable | None:
    if not available() or key not in _BUILDERS:
        return None
    import jax

    jax.config.update("jax_default_matmul_precision", "highest")
    fn = _BUILDERS[key](workload)
    return lambda *args: np.asarray(fn(*args))
