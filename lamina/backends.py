"""`lm.backends`: the switches PyTorch scripts set (`backends.cudnn.benchmark = True`,
`backends.cuda.matmul.allow_tf32`) and the availability probes (`backends.mps`).
lamina has no cuDNN or MPS: the switches are kept (so reading them back gives what
was set) and change nothing; the probes answer False."""

from __future__ import annotations

from types import SimpleNamespace

__all__ = ["cuda", "cudnn", "mkldnn", "mps", "openmp"]


def _unavailable() -> bool:
    return False


cudnn = SimpleNamespace(enabled=True, benchmark=False, deterministic=False,
                        allow_tf32=True, is_available=_unavailable)
cuda = SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False,
                                              allow_fp16_reduced_precision_reduction=True),
                       is_built=_unavailable)
mps = SimpleNamespace(is_available=_unavailable, is_built=_unavailable)
mkldnn = SimpleNamespace(enabled=True, is_available=_unavailable)
openmp = SimpleNamespace(is_available=lambda: True)
