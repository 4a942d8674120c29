"""Op-table rows: the math ops of issue 14 (inverse and hyperbolic trigonometry, trunc,
fmod, copysign, shifts) and the composites written over existing ops."""

import numpy as np
import torch
from opcases import OpCase, f32

import lamina as lm


def unary(name, fn, oracle, torch_fn, inputs=None, ops=None, **kw):
    return OpCase(name, ops or (f"hl.{name}",), fn, lambda rng: [(inputs or f32(3, 5))(rng)],
                  oracle, torch_fn, **kw)


def binary(name, fn, oracle, torch_fn, inputs=None, ops=None, **kw):
    gen = inputs or (lambda rng: [f32(3, 5)(rng), f32(3, 5)(rng)])
    kw.setdefault("grad_args", (0, 1))
    return OpCase(name, ops or (f"hl.{name}",), fn, gen, oracle, torch_fn, **kw)


def ints(*shape, low=-20, high=20):
    return lambda rng: rng.integers(low, high, shape).astype(np.int32)


def unit(*shape):
    return f32(*shape, low=-0.9, high=0.9)


CASES = [
    unary("asin", lambda x: lm.asin(x), np.arcsin, torch.asin, inputs=unit(3, 5)),
    unary("acos", lambda x: x.acos(), np.arccos, torch.acos, inputs=unit(3, 5)),
    unary("sinh", lambda x: x.sinh(), np.sinh, torch.sinh),
    unary("cosh", lambda x: lm.cosh(x), np.cosh, torch.cosh),
    unary("asinh", lambda x: x.asinh(), np.arcsinh, torch.asinh, inputs=f32(3, 5, low=-9, high=9)),
    unary("acosh", lambda x: x.acosh(), np.arccosh, torch.acosh, inputs=f32(3, 5, low=1.1, high=9)),
    unary("atanh", lambda x: lm.atanh(x), np.arctanh, torch.atanh, inputs=unit(3, 5)),
    unary("trunc", lambda x: (x * 3).trunc(), lambda x: np.trunc(x * 3),
          lambda x: torch.trunc(x * 3)),
    binary("fmod", lambda a, b: lm.fmod(a * 3, b), lambda a, b: np.fmod(a * 3, b),
           lambda a, b: torch.fmod(a * 3, b), inputs=lambda rng: [f32(3, 5)(rng),
                                                                    f32(3, 5, low=0.5)(rng)],
           grad_args=(0,)),
    OpCase("fmod-int", ("hl.fmod",), lambda a, b: lm.fmod(a, b),
           lambda rng: [ints(4, 6)(rng), ints(4, 6, low=1, high=7)(rng) * np.int32(-1) ** rng.integers(0, 2, (4, 6)).astype(np.int32)],
           np.fmod, grad_args=()),
    binary("copysign", lambda a, b: lm.copysign(a, b), np.copysign, torch.copysign,
           grad_args=(0,)),
    OpCase("shl", ("hl.shl",), lambda a, b: a << b,
           lambda rng: [ints(4, 6)(rng), ints(4, 6, low=0, high=31)(rng)],
           lambda a, b: np.left_shift(a, b), grad_args=()),
    OpCase("shr", ("hl.shr",), lambda a, b: lm.bitwise_right_shift(a, b),
           lambda rng: [ints(4, 6, low=-1000, high=1000)(rng), ints(4, 6, low=0, high=31)(rng)],
           lambda a, b: np.right_shift(a, b), grad_args=()),
]
