"""RMSprop, Adagrad and Adadelta with torch's update formulas.

As in `adam.py`, every hyperparameter is an input of the program (`ParamGroup.hp`),
so a schedule changing lr, alpha, rho or lr_decay never retraces a jitted step."""

from __future__ import annotations

from typing import Any

from lamina import dtypes
from lamina.errors import ArgumentError, with_location
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.optim.optimizer import Optimizer, ParamGroup, full_like, step_counter, zeros_like

__all__ = ["Adadelta", "Adagrad", "RMSprop"]


def _check(name: str, **values: float) -> None:
    bad = {k: v for k, v in values.items() if v < 0}
    if bad:
        raise ArgumentError(with_location(f"{name}: invalid hyperparameters {bad}"))


def _grad(p: Tensor, grad: Tensor, group: ParamGroup) -> Tensor:
    """maximize and L2 weight decay, as torch applies them first."""
    if group["maximize"]:
        grad = -grad
    if group["weight_decay"] != 0:
        grad = grad + p * group.hp("weight_decay", p.dtype)
    return grad


class RMSprop(Optimizer):
    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False):
        _check("RMSprop", lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
               momentum=momentum)
        super().__init__(params, dict(
            lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
            weight_decay=weight_decay, capturable=capturable, foreach=foreach,
            maximize=maximize, differentiable=differentiable))

    def _init_state(self, p: Tensor, group: ParamGroup) -> dict[str, Tensor]:
        state = {"step": step_counter(), "square_avg": zeros_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = zeros_like(p)
        return state

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: ParamGroup) -> None:
        dt = p.dtype
        grad = _grad(p, grad, group)
        state["step"].copy_(state["step"] + 1)
        alpha = group.hp("alpha")
        square_avg = state["square_avg"]
        square_avg.copy_(square_avg * alpha.to(dt) + grad * grad * (1 - alpha).to(dt))
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg.copy_(grad_avg + (grad - grad_avg) * (1 - alpha).to(dt))
            avg = O.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = O.sqrt(square_avg)
        avg = avg + group.hp("eps", dt)
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf.copy_(buf * group.hp("momentum", dt) + grad / avg)
            p.copy_(p - buf * group.lr(dt))
        else:
            p.copy_(p - grad / avg * group.lr(dt))


class Adagrad(Optimizer):
    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        _check("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
               initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, dict(
            lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, foreach=foreach,
            maximize=maximize, differentiable=differentiable, fused=fused))

    def _init_state(self, p: Tensor, group: ParamGroup) -> dict[str, Tensor]:
        return {"step": step_counter(),
                "sum": full_like(p, group["initial_accumulator_value"])}

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: ParamGroup) -> None:
        dt = p.dtype
        step = state["step"] + 1
        state["step"].copy_(step)
        grad = _grad(p, grad, group)
        clr = group.hp("lr") / (1 + (step.to(dtypes.float64) - 1) * group.hp("lr_decay"))
        state["sum"].copy_(state["sum"] + grad * grad)
        std = O.sqrt(state["sum"]) + group.hp("eps", dt)
        p.copy_(p - grad / std * clr.to(dt))


class Adadelta(Optimizer):
    def __init__(self, params: Any, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False):
        _check("Adadelta", lr=lr, eps=eps, weight_decay=weight_decay)
        if not 0.0 <= rho <= 1.0:
            raise ArgumentError(with_location(f"Adadelta: invalid rho value: {rho}"))
        super().__init__(params, dict(
            lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
            capturable=capturable, foreach=foreach, differentiable=differentiable))

    def _init_state(self, p: Tensor, group: ParamGroup) -> dict[str, Tensor]:
        return {"step": step_counter(), "square_avg": zeros_like(p),
                "acc_delta": zeros_like(p)}

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: ParamGroup) -> None:
        dt = p.dtype
        state["step"].copy_(state["step"] + 1)
        grad = _grad(p, grad, group)
        rho, eps = group.hp("rho"), group.hp("eps", dt)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg.copy_(square_avg * rho.to(dt) + grad * grad * (1 - rho).to(dt))
        delta = O.sqrt(acc_delta + eps) / O.sqrt(square_avg + eps) * grad
        acc_delta.copy_(acc_delta * rho.to(dt) + delta * delta * (1 - rho).to(dt))
        p.copy_(p - delta * group.lr(dt))
