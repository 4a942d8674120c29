"""The Adam family with torch's update formulas: Adam, AdamW, Adamax, NAdam, RAdam.

Every hyperparameter is a 0-d float64 tensor of the group (`ParamGroup.hp`) and the
step count a float32 tensor of the state, so the bias corrections 1 - βᵗ are
computed by the program from the current count and the current β: a jitted step
compiles once and stays right at every step, whatever a schedule changes. Scalars
torch computes on the host in double are computed here in float64, then converted
to the parameters' dtype where torch's kernels would convert them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, with_location
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.optim.optimizer import Optimizer, ParamGroup, step_counter, zeros_like

__all__ = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam"]

_TORCH_FLAGS = ("foreach", "capturable", "differentiable", "fused")


def _check(name: str, lr: float, betas: Any, eps: float, weight_decay: float) -> None:
    if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
        raise ArgumentError(with_location(
            f"{name}: invalid hyperparameters lr={lr}, betas={betas}, eps={eps}, "
            f"weight_decay={weight_decay}"))


def _power(base: Tensor, t: Tensor) -> Tensor:
    """baseᵗ for 0-d float64 tensors, base in [0, 1) (0ᵗ = 0 for t > 0)."""
    return O.exp(t * O.log(base))


def _step(state: dict[str, Tensor]) -> Tensor:
    """Advance the step count; the new count in float64 (torch's host arithmetic)."""
    step = state["step"] + 1
    state["step"].copy_(step)
    return step.to(dtypes.float64)


def _decay(p: Tensor, grad: Tensor, group: ParamGroup, decoupled: bool) -> Tensor:
    """Weight decay: L2 (grad + λ·p) or decoupled (p ← p·(1 - lr·λ), AdamW)."""
    if group["maximize"]:
        grad = -grad
    if group["weight_decay"] == 0:
        return grad
    wd = group.hp("weight_decay")
    if decoupled:
        p.copy_(p * (1 - group.hp("lr") * wd).to(p.dtype))
        return grad
    return grad + p * wd.to(p.dtype)


def _lerp(avg: Tensor, grad: Tensor, beta: Tensor) -> Tensor:
    """avg.lerp_(grad, 1 - β) as torch's lerp computes it for weights below 0.5."""
    return avg + (grad - avg) * (1 - beta).to(avg.dtype)


def _moments(exp_avg: Tensor, exp_avg_sq: Tensor, grad: Tensor, group: ParamGroup) -> None:
    beta1, beta2 = group.hp("betas")
    exp_avg.copy_(_lerp(exp_avg, grad, beta1))
    exp_avg_sq.copy_(exp_avg_sq * beta2.to(grad.dtype) + grad * grad * (1 - beta2).to(grad.dtype))


class Adam(Optimizer):
    _decoupled = False

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False):
        _check(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable, fused=fused,
            decoupled_weight_decay=decoupled_weight_decay or self._decoupled))

    def _init_state(self, p: Tensor, group: ParamGroup) -> dict[str, Tensor]:
        state = {"step": step_counter(), "exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_like(p)
        return state

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: ParamGroup) -> None:
        grad = _decay(p, grad, group, group["decoupled_weight_decay"])
        t = _step(state)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _moments(exp_avg, exp_avg_sq, grad, group)
        second = exp_avg_sq
        if group["amsgrad"]:
            state["max_exp_avg_sq"].copy_(O.maximum(state["max_exp_avg_sq"], exp_avg_sq))
            second = state["max_exp_avg_sq"]
        beta1, beta2 = group.hp("betas")
        bias1, bias2 = 1 - _power(beta1, t), 1 - _power(beta2, t)
        denom = O.sqrt(second) / O.sqrt(bias2).to(p.dtype) + group.hp("eps", p.dtype)
        p.copy_(p - exp_avg / denom * (group.hp("lr") / bias1).to(p.dtype))


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p·(1 - lr·λ) before the Adam update."""

    _decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 *, maximize: bool = False, foreach: bool | None = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         foreach=foreach, capturable=capturable,
                         differentiable=differentiable, fused=fused)


class Adamax(Optimizer):
    """Adam with the infinity norm: u ← max(β₂·u, |g| + ε), p ← p - lr/(1 - β₁ᵗ)·m/u."""

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, foreach: bool | None = None,
                 *, maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False):
        _check("Adamax", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _init_state(self, p: Tensor, group: ParamGroup) -> dict[str, Tensor]:
        return {"step": step_counter(), "exp_avg": zeros_like(p), "exp_inf": zeros_like(p)}

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: ParamGroup) -> None:
        t = _step(state)
        grad = _decay(p, grad, group, decoupled=False)
        beta1, beta2 = group.hp("betas")
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        exp_avg.copy_(_lerp(exp_avg, grad, beta1))
        exp_inf.copy_(O.maximum(exp_inf * beta2.to(p.dtype),
                                O.abs(grad) + group.hp("eps", p.dtype)))
        clr = group.hp("lr") / (1 - _power(beta1, t))
        p.copy_(p - exp_avg / exp_inf * clr.to(p.dtype))


class NAdam(Optimizer):
    """Adam with Nesterov momentum and torch's momentum-decay schedule μₜ."""

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        _check("NAdam", lr, betas, eps, weight_decay)
        if momentum_decay < 0:
            raise ArgumentError(with_location(
                f"NAdam: invalid momentum_decay {momentum_decay}"))
        super().__init__(params, dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
            momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable))

    def _init_state(self, p: Tensor, group: ParamGroup) -> dict[str, Tensor]:
        return {"step": step_counter(), "mu_product": Tensor._wrap(np.ones((), np.float32)),
                "exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)}

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: ParamGroup) -> None:
        dt, f64 = p.dtype, dtypes.float64
        grad = _decay(p, grad, group, group["decoupled_weight_decay"])
        t = _step(state)
        beta1, beta2 = group.hp("betas")
        lr, decay = group.hp("lr"), group.hp("momentum_decay") * math.log(0.96)
        bias2 = 1 - _power(beta2, t)
        mu = beta1 * (1 - 0.5 * O.exp(t * decay))
        mu_next = beta1 * (1 - 0.5 * O.exp((t + 1) * decay))
        mu_product = state["mu_product"]
        mu_product.copy_(mu_product * mu.to(mu_product.dtype))  # torch's float32 product
        product = mu_product.to(f64)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _moments(exp_avg, exp_avg_sq, grad, group)
        denom = O.sqrt(exp_avg_sq / bias2.to(dt)) + group.hp("eps", dt)
        p.copy_(p + grad / denom * (-lr * (1 - mu) / (1 - product)).to(dt))
        p.copy_(p + exp_avg / denom * (-lr * mu_next / (1 - product * mu_next)).to(dt))


class RAdam(Optimizer):
    """Rectified Adam: the adaptive step only once the variance is tractable (ρₜ > 5)."""

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        _check("RAdam", lr, betas, eps, weight_decay)
        super().__init__(params, dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize,
            foreach=foreach, capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def _init_state(self, p: Tensor, group: ParamGroup) -> dict[str, Tensor]:
        return {"step": step_counter(), "exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)}

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: ParamGroup) -> None:
        dt = p.dtype
        grad = _decay(p, grad, group, group["decoupled_weight_decay"])
        t = _step(state)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _moments(exp_avg, exp_avg_sq, grad, group)
        beta1, beta2 = group.hp("betas")
        lr = group.hp("lr", dt)
        bias1, power2 = 1 - _power(beta1, t), _power(beta2, t)
        bias2 = 1 - power2
        corrected = exp_avg / bias1.to(dt)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * power2 / bias2
        # NaN below ρₜ = 4, where the rectified branch is not taken
        rect = O.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                      / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        adaptive = O.sqrt(bias2).to(dt) / (O.sqrt(exp_avg_sq) + group.hp("eps", dt))
        update = O.where(O.gt(rho_t, 5.0), corrected * lr * adaptive * rect.to(dt),
                         corrected * lr)
        p.copy_(p - update)
