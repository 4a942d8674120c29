"""`lm.special`: torch.special's functions that lamina has, with torch's names (the
implementations live in `lamina.frontend.special`, `ops` and `math_extra`)."""

from __future__ import annotations

from typing import Any

from lamina.frontend import math_extra, ops
from lamina.frontend import special as S
from lamina.frontend.tensor import Tensor

__all__ = [
    "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
    "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit",
    "logsumexp", "modified_bessel_i0", "modified_bessel_i1", "multigammaln", "ndtr", "ndtri",
    "polygamma", "psi", "round", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy",
]

digamma = psi = S.digamma
gammaln = S.lgamma
polygamma = S.polygamma
erfc = S.erfc
erfcx = S.erfcx
erfinv = S.erfinv
i0 = S.i0
i0e = S.i0e
i1 = S.i1
i1e = S.i1e
modified_bessel_i0 = S.i0
modified_bessel_i1 = S.i1
spherical_bessel_j0 = S.spherical_bessel_j0
entr = S.entr
ndtr = S.ndtr
ndtri = S.ndtri
log_ndtr = S.log_ndtr
xlog1py = S.xlog1py
logit = S.logit
sinc = S.sinc
erf = ops.erf
exp2 = ops.exp2
expm1 = ops.expm1
log1p = ops.log1p
expit = ops.sigmoid
xlogy = math_extra.xlogy


def multigammaln(input: Tensor, p: int) -> Tensor:
    return S.mvlgamma(input, p)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    return ops.round(input, decimals=decimals)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    return ops.logsumexp(input, dim, keepdim)


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return math_extra.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return math_extra.log_softmax(input, dim, dtype)


def __dir__() -> list[str]:
    return sorted(__all__)
