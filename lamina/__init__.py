"""lamina: a PyTorch-style tensor library compiled through an MLIR-style stack.

    import lamina as lm

    @lm.jit
    def predict(x, w, b):
        return lm.nn.functional.relu(x @ w + b)
"""

from lamina import dtypes as _dtypes
from lamina import xdsl_patches as _xdsl_patches
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
)
from lamina.dtypes import bool_ as bool  # noqa: A001  (lm.bool, as torch.bool)
from lamina.errors import (
    ArgumentError,
    CompileError,
    DimError,
    DTypeError,
    GradientError,
    LaminaError,
    ShapeError,
    TraceError,
)
from lamina.frontend.tensor import Tensor, _install_methods

_install_methods()

from lamina.frontend.autograd import backward, custom_vjp, grad, jvp, value_and_grad, vjp  # noqa: E402
from lamina.frontend.jit import Jitted, Lowered, jit  # noqa: E402
from lamina.frontend.lazy import realize  # noqa: E402
from lamina.frontend.ops import *  # noqa: E402,F403
from lamina.frontend.ops import (  # noqa: E402
    abs,
    all,
    any,
    max,
    min,
    no_grad,
    pow,
    round,
    stop_gradient,
    sum,
    tensor,
)
from lamina.runtime import backends as _backends  # noqa: E402

float = float32  # noqa: A001
double = float64
half = float16
long = int64

__version__ = "0.1.0"


# Modules that extend the top-level API export their public names in `__all__`.
_API_MODULES = ("lamina.frontend.linalg", "lamina.frontend.indexing", "lamina.frontend.random")
# Modules imported for their side effects: backends and passes that register themselves.
_PLUGIN_MODULES = ("lamina.nn", "lamina.optim", "lamina.runtime.c_backend",
                   "lamina.runtime.triton_backend", "lamina.passes.lower_hl_to_loop")


def _load_optional_modules() -> None:
    import importlib

    for name in _API_MODULES + _PLUGIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        if name in _API_MODULES:
            globals().update({n: getattr(module, n) for n in getattr(module, "__all__", ())})


_load_optional_modules()
