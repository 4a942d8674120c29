"""`nn.utils.parametrizations`: `weight_norm` and `spectral_norm` as parametrizations
(torch's current API; state_dict keys `parametrizations.weight.original0/1`, and
`parametrizations.weight.original` with the power-iteration buffers `..0._u/_v`)."""

from __future__ import annotations

from lamina.errors import ArgumentError, with_location
from lamina.frontend import linalg
from lamina.frontend import ops as O
from lamina.frontend.random import randn
from lamina.frontend.tensor import Tensor
from lamina.nn import functional as F
from lamina.nn.module import Module
from lamina.nn.utils.parametrize import register_parametrization

__all__ = ["spectral_norm", "weight_norm"]


def norm_except_dim(v: Tensor, dim: int | None) -> Tensor:
    """The 2-norm of `v` over every dim but `dim` (kept, size 1 elsewhere); over all
    elements when dim is None or -1 (torch's convention)."""
    if dim is None or dim == -1:
        return O.sqrt(O.sum(v * v))
    dim = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != dim)
    return O.sqrt(O.sum(v * v, dim=others, keepdim=True)) if others else O.abs(v)


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """w = g * v / ||v|| (norm over every dim but `dim`)."""
    return register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


def _as_matrix(weight: Tensor, dim: int) -> Tensor:
    if dim != 0:
        weight = O.permute(weight, dim, *(d for d in range(weight.ndim) if d != dim))
    return O.reshape(weight, weight.shape[0], -1)


class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12):
        super().__init__()
        if n_power_iterations <= 0:
            raise ArgumentError(with_location(
                f"spectral_norm: n_power_iterations must be positive, got {n_power_iterations}"))
        self.dim = dim % weight.ndim if weight.ndim else 0
        self.eps, self.n_power_iterations = eps, n_power_iterations
        if weight.ndim > 1:
            h, w = _as_matrix(weight, self.dim).shape
            self.register_buffer("_u", F.normalize(randn(h, dtype=weight.dtype), dim=0, eps=eps))
            self.register_buffer("_v", F.normalize(randn(w, dtype=weight.dtype), dim=0, eps=eps))
            self._power_method(_as_matrix(weight, self.dim), 15)

    def _power_method(self, weight_mat: Tensor, n: int) -> None:
        with O.no_grad():
            weight_mat = weight_mat.detach()
            for _ in range(n):
                self._u.copy_(F.normalize(linalg.mv(weight_mat, self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(linalg.mv(weight_mat.T, self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = _as_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = self._u.detach(), self._v.detach()
        sigma = O.sum(u * linalg.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """w / sigma(w), sigma the largest singular value estimated by power iteration
    (one step per training-mode forward; the estimates are buffers)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ArgumentError(with_location(f"spectral_norm: module has no tensor {name!r}"))
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    return register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
