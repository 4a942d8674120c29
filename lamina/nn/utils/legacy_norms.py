"""torch's older `nn.utils.weight_norm` / `spectral_norm` (forward pre-hooks; state_dict
keys `weight_g`/`weight_v` and `weight_orig`/`weight_u`/`weight_v`), still common in
published models. The parametrization forms are in `nn.utils.parametrizations`."""

from __future__ import annotations

from lamina.errors import ArgumentError, with_location
from lamina.frontend import linalg
from lamina.frontend import ops as O
from lamina.frontend.random import randn
from lamina.frontend.tensor import Tensor
from lamina.nn import functional as F
from lamina.nn.module import Module, Parameter
from lamina.nn.utils.parametrizations import _as_matrix, norm_except_dim

__all__ = ["remove_spectral_norm", "remove_weight_norm", "spectral_norm", "weight_norm"]


class _WeightNormHook:
    def __init__(self, name: str, dim: int | None):
        self.name, self.dim = name, -1 if dim is None else dim

    def compute(self, module: Module) -> Tensor:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, self.dim))

    def __call__(self, module: Module, inputs: tuple) -> None:
        setattr(module, self.name, self.compute(module))


class _SpectralNormHook:
    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float):
        self.name, self.n, self.dim, self.eps = name, n_power_iterations, dim, eps

    def compute(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = _as_matrix(weight, self.dim)
        if do_power_iteration:
            with O.no_grad():
                detached = weight_mat.detach()
                for _ in range(self.n):
                    v.copy_(F.normalize(linalg.mv(detached.T, u), dim=0, eps=self.eps))
                    u.copy_(F.normalize(linalg.mv(detached, v), dim=0, eps=self.eps))
        u, v = u.detach(), v.detach()
        return weight / O.sum(u * linalg.mv(weight_mat, v))

    def __call__(self, module: Module, inputs: tuple) -> None:
        setattr(module, self.name, self.compute(module, module.training))


def _find(module: Module, kind: type, name: str):
    hooks = module.__dict__.get("_hooks", {}).get("pre", {})
    for key, (hook, _) in list(hooks.items()):
        if isinstance(hook, kind) and hook.name == name:
            return hooks, key, hook
    raise ArgumentError(with_location(f"{kind.__name__[1:-4]} of {name!r} not found in {module}"))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    hook = _WeightNormHook(name, dim)
    weight = getattr(module, name)
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, hook.dim).detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    setattr(module, name, hook.compute(module))
    module.register_forward_pre_hook(hook)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    hooks, key, hook = _find(module, _WeightNormHook, name)
    with O.no_grad():
        weight = hook.compute(module)
    delattr(module, name + "_g")
    delattr(module, name + "_v")
    module.__dict__.pop(name, None)
    setattr(module, name, Parameter(weight.detach()))
    del hooks[key]
    return module


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    weight = getattr(module, name)
    hook = _SpectralNormHook(name, n_power_iterations, dim % weight.ndim, eps)
    h, w = _as_matrix(weight, hook.dim).shape
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    module.register_buffer(name + "_u", F.normalize(randn(h, dtype=weight.dtype), dim=0, eps=eps))
    module.register_buffer(name + "_v", F.normalize(randn(w, dtype=weight.dtype), dim=0, eps=eps))
    setattr(module, name, weight.detach())
    module.register_forward_pre_hook(hook)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    hooks, key, hook = _find(module, _SpectralNormHook, name)
    with O.no_grad():
        weight = hook.compute(module, do_power_iteration=False)
    for suffix in ("_orig", "_u", "_v"):
        delattr(module, name + suffix)
    module.__dict__.pop(name, None)
    setattr(module, name, Parameter(weight.detach()))
    del hooks[key]
    return module
