"""The CPU benchmark workloads: one function per workload returning a `Workload`.

Each workload gives the same computation four ways — lamina (jitted), numpy,
torch eager and torch.compile — plus a float64 reference that every contender is
checked against before it is timed, and the bytes moved / flops done that turn a
time into a fraction of the machine's limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Workload:
    name: str
    inputs: list[np.ndarray]
    lamina: Callable  # built lazily: returns a callable on numpy inputs
    numpy: Callable | None
    torch: Callable  # a function of torch tensors (eager; torch.compile wraps it)
    reference: Callable  # float64 numpy
    bytes_moved: float = 0.0  # minimal bytes read + written
    flops: float = 0.0
    rtol: float = 2e-3
    bound: str = "memory"  # "memory" (read+write), "read" (read-only) or "compute"


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _gelu_tanh_np(x, a, b):
    y = x * a + b
    return 0.5 * y * (1.0 + np.tanh(0.7978845608028654 * (y + 0.044715 * y ** 3)))


def gelu_chain() -> Workload:
    import torch

    import lamina as lm

    n = 16 * 1024 * 1024
    x = _rng().standard_normal(n, dtype=np.float32)
    a = np.float32(1.3)
    b = np.float32(0.1)
    a_arr, b_arr = np.full(1, a), np.full(1, b)

    def lam():
        import lamina.nn.functional as F

        return lm.jit(lambda x, a, b: F.gelu(x * a + b, approximate="tanh"))

    return Workload(
        "gelu_tanh(x*a+b), 16M", [x, a_arr, b_arr], lam,
        lambda x, a, b: _gelu_tanh_np(x, a, b),
        lambda x, a, b: torch.nn.functional.gelu(x * a + b, approximate="tanh"),
        lambda x, a, b: _gelu_tanh_np(x.astype(np.float64), float(a[0]), float(b[0])),
        bytes_moved=8.0 * n, flops=20.0 * n,
    )


def _softmax_np(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax() -> Workload:
    import torch

    import lamina as lm

    x = _rng().standard_normal((4096, 4096), dtype=np.float32)

    def lam():
        import lamina.nn.functional as F

        return lm.jit(lambda x: F.softmax(x, dim=1))

    return Workload("row softmax 4096x4096", [x], lam, _softmax_np,
                    lambda x: torch.softmax(x, dim=1),
                    lambda x: _softmax_np(x.astype(np.float64)), bytes_moved=8.0 * x.size)


def _layer_norm_np(x, w, b, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def layer_norm() -> Workload:
    import torch

    import lamina as lm

    rng = _rng()
    x = rng.standard_normal((8192, 1024), dtype=np.float32)
    w = rng.standard_normal(1024, dtype=np.float32)
    b = rng.standard_normal(1024, dtype=np.float32)

    def lam():
        import lamina.nn.functional as F

        return lm.jit(lambda x, w, b: F.layer_norm(x, (1024,), w, b))

    return Workload(
        "layer norm 8192x1024", [x, w, b], lam, _layer_norm_np,
        lambda x, w, b: torch.nn.functional.layer_norm(x, (1024,), w, b),
        lambda x, w, b: _layer_norm_np(*(v.astype(np.float64) for v in (x, w, b))),
        bytes_moved=8.0 * x.size,
    )


def matmul(n: int) -> Workload:
    import lamina as lm

    rng = _rng()
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    return Workload(
        f"matmul {n}^3", [a, b], lambda: lm.jit(lambda a, b: a @ b), np.matmul,
        lambda a, b: a @ b, lambda a, b: a.astype(np.float64) @ b.astype(np.float64),
        flops=2.0 * n ** 3, bytes_moved=12.0 * n * n, bound="compute",
    )


def big_sum() -> Workload:
    import lamina as lm

    x = _rng().standard_normal(64 * 1024 * 1024, dtype=np.float32)
    return Workload("sum of 64M", [x], lambda: lm.jit(lambda x: x.sum()), np.sum,
                    lambda x: x.sum(), lambda x: x.astype(np.float64).sum(),
                    bytes_moved=4.0 * x.size, rtol=1e-3, bound="read")


ALL: dict[str, Callable[[], Workload]] = {
    "gelu": gelu_chain,
    "softmax": softmax,
    "layernorm": layer_norm,
    "matmul1024": lambda: matmul(1024),
    "matmul2048": lambda: matmul(2048),
    "sum": big_sum,
}


def _models() -> dict[str, Callable[[], Workload]]:
    from bench import models

    return {"mlp_step": models.mlp_train_step, "cnn": models.cnn_fwd_bwd,
            "attention": models.attention_block}


ALL.update(_models())
