"""Loss modules: thin wrappers over `lm.nn.functional` with torch's constructors."""

from __future__ import annotations

from typing import Any

from lamina.frontend.tensor import Tensor
from lamina.nn import functional as F
from lamina.nn.module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "L1Loss", "MSELoss", "NLLLoss"]


class _Loss(Module):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction
        self.register_buffer("weight", weight)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100,
                 reduction: str = "mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    def __init__(self, reduction: str = "mean"):
        super().__init__(None, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(MSELoss):
    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, self.reduction)


class BCELoss(_Loss):
    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean",
                 pos_weight: Tensor | None = None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


class _Reduced(_Loss):
    """A loss whose keyword arguments (besides `reduction`) go to its functional form."""

    fn: Any = None
    options: dict[str, Any] = {}

    def __init__(self, *args: Any, reduction: str = "mean", size_average: Any = None,
                 reduce: Any = None, **kwargs: Any):
        super().__init__(None, reduction)
        names = list(self.options)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}() takes at most {len(names)} positional "
                            f"arguments ({len(args)} given)")
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument "
                            f"{sorted(unknown)[0]!r}")
        values = {**self.options, **dict(zip(names, args, strict=False)), **kwargs}
        for name, value in values.items():
            if name == "weight":
                self.register_buffer("weight", value)
            else:
                setattr(self, name, value)

    def forward(self, *inputs: Tensor) -> Tensor:
        kwargs = {name: getattr(self, name) for name in self.options}
        return type(self).fn(*inputs, reduction=self.reduction, **kwargs)


def _reduced(name: str, fn: Any, **options: Any) -> type[_Loss]:
    return type(name, (_Reduced,), {"fn": staticmethod(fn), "options": options,
                                    "__doc__": fn.__doc__, "__module__": __name__})


SmoothL1Loss = _reduced("SmoothL1Loss", F.smooth_l1_loss, beta=1.0)
HuberLoss = _reduced("HuberLoss", F.huber_loss, delta=1.0)
KLDivLoss = _reduced("KLDivLoss", F.kl_div, log_target=False)
PoissonNLLLoss = _reduced("PoissonNLLLoss", F.poisson_nll_loss, log_input=True, full=False,
                          eps=1e-8)
GaussianNLLLoss = _reduced("GaussianNLLLoss", F.gaussian_nll_loss, full=False, eps=1e-6)
CosineEmbeddingLoss = _reduced("CosineEmbeddingLoss", F.cosine_embedding_loss, margin=0.0)
MarginRankingLoss = _reduced("MarginRankingLoss", F.margin_ranking_loss, margin=0.0)
HingeEmbeddingLoss = _reduced("HingeEmbeddingLoss", F.hinge_embedding_loss, margin=1.0)
SoftMarginLoss = _reduced("SoftMarginLoss", F.soft_margin_loss)
TripletMarginLoss = _reduced("TripletMarginLoss", F.triplet_margin_loss, margin=1.0, p=2.0,
                             eps=1e-6, swap=False)
MultiLabelSoftMarginLoss = _reduced("MultiLabelSoftMarginLoss", F.multilabel_soft_margin_loss,
                                    weight=None)
MultiMarginLoss = _reduced("MultiMarginLoss", F.multi_margin_loss, p=1, margin=1.0, weight=None)
CTCLoss = _reduced("CTCLoss", F.ctc_loss, blank=0, zero_infinity=False)


class CosineSimilarity(Module):
    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


__all__ += [
    "CTCLoss", "CosineEmbeddingLoss", "CosineSimilarity", "GaussianNLLLoss", "HingeEmbeddingLoss",
    "HuberLoss", "KLDivLoss", "MarginRankingLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss",
    "PairwiseDistance", "PoissonNLLLoss", "SmoothL1Loss", "SoftMarginLoss", "TripletMarginLoss",
]
