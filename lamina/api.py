"""The public surface of `import lamina as lm`, gathered from the layers that own it.

`lamina/__init__.py` loads this module on the first use of any `lm.` attribute, so that
importing the compiler core (`lamina.dialects`, `lamina.passes`, `lamina-opt`) never
loads the frontend, the runtime or Triton.
"""

from __future__ import annotations

import gc as _gc

from lamina import autograd, knobs, nn, optim, utils  # noqa: F401
from lamina import frontend as _frontend  # noqa: F401  (installs the Tensor methods)
from lamina.dtypes import (
    DType,
    bfloat16,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)
from lamina.dtypes import bool_ as bool  # noqa: A001  (lm.bool, as torch.bool)
from lamina.errors import (
    ArgumentError,
    CompileError,
    DimError,
    DTypeError,
    GradientError,
    LaminaError,
    OutOfMemoryError,
    ShapeError,
    TraceError,
)
from lamina.frontend import (
    arrange,
    indexing,
    linalg,
    math_extra,
    ops,
    random,
    sampling,
    shape_extra,
    spellings,
)
from lamina.frontend import linalg_decomp as _linalg_decomp
from lamina.frontend import scan as _scan
from lamina.frontend import scatter as _scatter
from lamina.frontend import selection as _selection
from lamina.frontend import sorting as _sorting
from lamina.frontend import special as _special
from lamina.frontend.arrange import *  # noqa: F403
from lamina.frontend.autograd import backward, custom_vjp, grad, jvp, value_and_grad, vjp
from lamina.frontend.dynamic_dims import mark_dynamic
from lamina.frontend.indexing import *  # noqa: F403
from lamina.frontend.jit import Jitted, Lowered, jit
from lamina.frontend.lazy import realize
from lamina.frontend.linalg import *  # noqa: F403
from lamina.frontend.linalg_decomp import *  # noqa: F403
from lamina.frontend.math_extra import *  # noqa: F403
from lamina.frontend.ops import *  # noqa: F403
from lamina.frontend.random import *  # noqa: F403
from lamina.frontend.sampling import *  # noqa: F403
from lamina.frontend.scan import *  # noqa: F403
from lamina.frontend.scatter import *  # noqa: F403
from lamina.frontend.selection import *  # noqa: F403
from lamina.frontend.shape_extra import *  # noqa: F403
from lamina.frontend.sorting import *  # noqa: F403
from lamina.frontend.special import *  # noqa: F403
from lamina.frontend.spellings import *  # noqa: F403
from lamina.frontend.tensor import Device as device
from lamina.frontend.tensor import Tensor
from lamina.nn.compiled import compile  # noqa: A004  (torch.compile)
from lamina.serialization import load, save

# torch also exposes these functionals at the top level (`torch.dropout`, ...)
_FUNCTIONAL_AT_TOP = (
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "alpha_dropout", "batch_norm", "bilinear",
    "binary_cross_entropy_with_logits", "celu", "celu_", "channel_shuffle",
    "cosine_embedding_loss", "cosine_similarity", "ctc_loss", "dropout", "embedding_bag",
    "group_norm", "hardshrink", "hinge_embedding_loss", "instance_norm", "kl_div",
    "layer_norm", "margin_ranking_loss", "max_pool3d", "pairwise_distance", "pdist",
    "pixel_shuffle", "pixel_unshuffle", "poisson_nll_loss", "prelu", "relu_", "rms_norm",
    "rrelu", "rrelu_", "selu", "selu_", "threshold", "threshold_", "triplet_margin_loss",
)
globals().update({name: getattr(nn.functional, name) for name in _FUNCTIONAL_AT_TOP})

# torch's numpy-style keywords (axis=, keepdims=) on every method and function with a dim
from lamina.frontend.methods import accept_numpy_keywords as _accept_numpy_keywords  # noqa: E402

_accept_numpy_keywords(Tensor)
for _name in [*_FUNCTIONAL_AT_TOP, *ops.__all__, *linalg.__all__, *indexing.__all__,
              *math_extra.__all__, *shape_extra.__all__, *_scan.__all__, *_sorting.__all__,
              *_scatter.__all__, *_selection.__all__, *spellings.__all__, *arrange.__all__]:
    if callable(globals().get(_name)) and not isinstance(globals()[_name], type):
        globals()[_name] = ops.numpy_keywords(globals()[_name])

float = float32  # noqa: A001
double = float64
half = float16
long = int64

__all__ = [
    "ArgumentError", "CompileError", "autograd", "DType", "DTypeError", "DimError",
    "GradientError",
    "Jitted", "LaminaError", "Lowered", "OutOfMemoryError", "ShapeError", "Tensor", "TraceError",
    "backward", "bfloat16", "bool", "device", "custom_vjp", "double", "float", "float16", "float32",
    "float64", "grad", "half", "int8", "int16", "int32", "int64", "jit", "jvp", "long", "mark_dynamic",
    "load", "nn", "optim", "realize", "save", "uint8", "uint16", "uint32", "uint64", "utils",
    "value_and_grad", "compile",
    "vjp",
    *ops.__all__, *linalg.__all__, *indexing.__all__, *random.__all__,
    *math_extra.__all__, *shape_extra.__all__, *sampling.__all__, *_scan.__all__,
    *_sorting.__all__, *_scatter.__all__, *_selection.__all__, *spellings.__all__,
    *arrange.__all__, *_FUNCTIONAL_AT_TOP,
    *_linalg_decomp.__all__, *_special.__all__,
]

# Start-up: this import made ~55,000 objects that live as long as the process (xDSL's
# and lamina's dialects, op tables, the API). The collector's first full pass over them
# fell in a new process's first result (~30-90 ms); frozen, no pass ever walks them.
# (Objects the program made before importing lamina are frozen too: cycles among them,
# if they become garbage, stay. LAMINA_GC_FREEZE=0 turns this off.)
if knobs.gc_freeze():
    _gc.freeze()
