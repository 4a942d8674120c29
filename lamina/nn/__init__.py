"""`lm.nn`: modules, parameters, layers and losses with PyTorch's names."""

from lamina.nn import activation as _activation_modules
from lamina.nn import functional, init
from lamina.nn import loss as _loss_modules
from lamina.nn import normalization as _norm_modules
from lamina.nn.activation import *  # noqa: F403
from lamina.nn.attention import MultiheadAttention
from lamina.nn.containers import ModuleDict, ModuleList, Sequential
from lamina.nn.layers import (
    GELU,
    AvgPool2d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from lamina.nn.loss import *  # noqa: F403
from lamina.nn.module import Module, Parameter
from lamina.nn.normalization import *  # noqa: F403

__all__ = [
    "GELU", "AvgPool2d", "Conv2d", "Dropout", "Embedding", "Flatten", "Identity", "LayerNorm",
    "Linear", "LogSoftmax", "MaxPool2d", "Module", "ModuleDict", "ModuleList",
    "MultiheadAttention", "Parameter", "ReLU", "Sequential", "SiLU", "Sigmoid", "Softmax",
    "Tanh", "functional", "init",
]
__all__ += _activation_modules.__all__
__all__ += _loss_modules.__all__
__all__ += _norm_modules.__all__
