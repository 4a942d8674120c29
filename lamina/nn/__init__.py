"""`lm.nn`: modules, parameters, layers and losses with PyTorch's names."""

from lamina.nn import activation as _activation_modules
from lamina.nn import conv as _conv_modules
from lamina.nn import functional, init, utils
from lamina.nn import lazy_modules as _lazy_modules
from lamina.nn import loss as _loss_modules
from lamina.nn import normalization as _norm_modules
from lamina.nn import pooling as _pooling_modules
from lamina.nn import reshaping as _reshaping_modules
from lamina.nn import rnn as _rnn_modules
from lamina.nn import sparse as _sparse_modules
from lamina.nn import transformer as _transformer_modules
from lamina.nn.activation import *  # noqa: F403
from lamina.nn.attention import MultiheadAttention
from lamina.nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from lamina.nn.conv import *  # noqa: F403
from lamina.nn.layers import (
    GELU,
    AlphaDropout,
    Bilinear,
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from lamina.nn.lazy_modules import *  # noqa: F403
from lamina.nn.loss import *  # noqa: F403
from lamina.nn.module import Module, Parameter
from lamina.nn.normalization import *  # noqa: F403
from lamina.nn.pooling import *  # noqa: F403
from lamina.nn.reshaping import *  # noqa: F403
from lamina.nn.rnn import *  # noqa: F403
from lamina.nn.sparse import *  # noqa: F403
from lamina.nn.transformer import *  # noqa: F403

__all__ = [
    "GELU", "Dropout", "Embedding", "Flatten", "Identity", "LayerNorm",
    "Linear", "LogSoftmax", "Module", "ModuleDict", "ModuleList",
    "MultiheadAttention", "Parameter", "ParameterDict", "ParameterList", "AlphaDropout",
    "Bilinear", "Dropout1d", "Dropout2d", "Dropout3d", "ReLU", "Sequential", "SiLU", "Sigmoid", "Softmax",
    "Tanh", "functional", "init", "utils",
]
__all__ += _activation_modules.__all__
__all__ += _loss_modules.__all__
__all__ += _norm_modules.__all__
__all__ += _conv_modules.__all__
__all__ += _pooling_modules.__all__
__all__ += _reshaping_modules.__all__
__all__ += _transformer_modules.__all__
__all__ += _rnn_modules.__all__
__all__ += _sparse_modules.__all__
__all__ += _lazy_modules.__all__
