"""SGD with torch's update (momentum, dampening, Nesterov, weight decay, maximize)."""

from __future__ import annotations

from typing import Any

from lamina.errors import ArgumentError, with_location
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.optim.optimizer import Optimizer, ParamGroup, step_counter, zeros_like

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ArgumentError(with_location(
                f"SGD: lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, "
                f"{weight_decay}"))
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ArgumentError(with_location(
                "SGD: Nesterov momentum requires a momentum and zero dampening"))
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _init_state(self, p: Tensor, group: ParamGroup) -> dict[str, Tensor]:
        if group["momentum"] == 0:
            return {}
        state = {"momentum_buffer": zeros_like(p)}
        if group["dampening"] != 0:  # torch starts the buffer at the first gradient, undamped
            state["step"] = step_counter()
        return state

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: ParamGroup) -> None:
        dt = p.dtype
        d_p = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            d_p = d_p + p * group.hp("weight_decay", dt)
        if group["momentum"] != 0:
            momentum = group.hp("momentum", dt)
            buf = state["momentum_buffer"]
            new_buf = buf * momentum + d_p * (1 - group.hp("dampening")).to(dt)
            if "step" in state:
                new_buf = O.where(O.eq(state["step"], 0), d_p, new_buf)
                state["step"].copy_(state["step"] + 1)
            buf.copy_(new_buf)
            d_p = d_p + new_buf * momentum if group["nesterov"] else new_buf
        p.copy_(p - d_p * group.lr(dt))
