"""Adam and AdamW with torch's update formulas (bias correction, amsgrad, maximize).

The step count is a float32 tensor in the state, so the bias corrections
1 - βᵗ are computed by the program from the current count: a jitted step
compiles once and stays right at every step."""

from __future__ import annotations

import math
from typing import Any

from lamina import dtypes
from lamina.errors import ArgumentError, with_location
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.optim.optimizer import Optimizer, step_counter, zeros_like

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    _decoupled = False

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 *, maximize: bool = False):
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ArgumentError(with_location(
                f"{type(self).__name__}: invalid hyperparameters lr={lr}, betas={betas}, "
                f"eps={eps}, weight_decay={weight_decay}"))
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Tensor]:
        state = {"step": step_counter(), "exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_like(p)
        return state

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: dict[str, Any]) -> None:
        lr, (beta1, beta2), wd = group.lr_tensor, group["betas"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd != 0 and self._decoupled:
            p.copy_(p * (1 - lr * wd).to(p.dtype))
        elif wd != 0:
            grad = grad + p * wd
        step = state["step"] + 1
        state["step"].copy_(step)
        exp_avg = state["exp_avg"]
        exp_avg.copy_(exp_avg + (grad - exp_avg) * (1 - beta1))
        exp_avg_sq = state["exp_avg_sq"]
        exp_avg_sq.copy_(exp_avg_sq * beta2 + grad * grad * (1 - beta2))
        second = exp_avg_sq
        if group["amsgrad"]:
            state["max_exp_avg_sq"].copy_(O.maximum(state["max_exp_avg_sq"], exp_avg_sq))
            second = state["max_exp_avg_sq"]
        # 1 - βᵗ as exp(t·log β) from the step tensor, in float64 as torch computes it on
        # the host (in float32, 1 - 0.999¹ would lose 4 of its 7 digits)
        t = step.to(dtypes.float64)
        bias1 = 1 - O.exp(t * math.log(beta1)) if beta1 > 0 else O.ones_like(t)
        bias2 = 1 - O.exp(t * math.log(beta2)) if beta2 > 0 else O.ones_like(t)
        denom = O.sqrt(second) / O.sqrt(bias2).to(p.dtype) + group["eps"]
        p.copy_(p - exp_avg / denom * (lr / bias1).to(p.dtype))


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p·(1 - lr·λ) before the Adam update."""

    _decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
