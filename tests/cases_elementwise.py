"""Op-table rows: elementwise, comparison, select, cast, reductions, shapes, creation."""

import math

import numpy as np
import torch
from opcases import OpCase, f32, positive

import lamina as lm

_erf = np.vectorize(math.erf)


def unary(name, fn, oracle, torch_fn, inputs=None, **kw):
    return OpCase(name, (f"hl.{name}",), fn, lambda rng: [(inputs or f32(3, 5))(rng)], oracle,
                  torch_fn, **kw)


def binary(name, fn, oracle, torch_fn, inputs=None, **kw):
    gen = inputs or (lambda rng: [f32(3, 5)(rng), f32(3, 5)(rng)])
    kw.setdefault("grad_args", (0, 1))
    return OpCase(name, (f"hl.{name}",), fn, gen, oracle, torch_fn, **kw)


def ints(*shape, low=-20, high=20):
    return lambda rng: rng.integers(low, high, shape).astype(np.int32)


def nonzero_ints(*shape):
    return lambda rng: np.where((v := rng.integers(-9, 9, shape)) == 0, 3, v).astype(np.int32)


CASES = [
    unary("neg", lambda x: -x, np.negative, torch.neg),
    unary("abs", lambda x: x.abs(), np.abs, torch.abs),
    unary("sign", lambda x: x.sign(), np.sign, torch.sign),
    unary("exp", lambda x: x.exp(), np.exp, torch.exp),
    unary("log", lambda x: x.log(), np.log, torch.log, inputs=positive(3, 5)),
    unary("sqrt", lambda x: x.sqrt(), np.sqrt, torch.sqrt, inputs=positive(3, 5)),
    unary("rsqrt", lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), torch.rsqrt,
          inputs=positive(3, 5)),
    unary("tanh", lambda x: x.tanh(), np.tanh, torch.tanh),
    unary("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), torch.sigmoid),
    unary("erf", lambda x: lm.erf(x), _erf, torch.erf),
    unary("sin", lambda x: x.sin(), np.sin, torch.sin),
    unary("cos", lambda x: x.cos(), np.cos, torch.cos),
    unary("atan", lambda x: lm.atan(x * 3), lambda x: np.arctan(x * 3), lambda x: torch.atan(x * 3)),
    binary("atan2", lambda a, b: lm.atan2(a, b), np.arctan2, torch.atan2),
    unary("floor", lambda x: x.floor(), np.floor, torch.floor),
    unary("ceil", lambda x: x.ceil(), np.ceil, torch.ceil),
    unary("round", lambda x: x.round(), np.round, torch.round),
    OpCase("not", ("hl.not",), lambda x: ~(x > 0), lambda rng: [f32(3, 5)(rng)],
           lambda x: ~(x > 0), grad_args=()),
    OpCase("stop_gradient", ("hl.stop_gradient",), lambda x: lm.stop_gradient(x) * x,
           lambda rng: [f32(3, 5)(rng)], lambda x: x * x, lambda x: x.detach() * x),
    binary("add", lambda a, b: a + b, np.add, torch.add),
    binary("sub", lambda a, b: a - b, np.subtract, torch.sub),
    binary("mul", lambda a, b: a * b, np.multiply, torch.mul),
    binary("div", lambda a, b: a / b, np.divide, torch.div,
           inputs=lambda rng: [f32(3, 5)(rng), positive(3, 5)(rng)]),
    OpCase("div-int-floor", ("hl.div",), lambda a, b: a // b,
           lambda rng: [ints(4, 6)(rng), nonzero_ints(4, 6)(rng)], np.floor_divide, grad_args=()),
    binary("rem", lambda a, b: a % b, np.remainder, torch.remainder,
           inputs=lambda rng: [f32(3, 5)(rng), positive(3, 5)(rng)], grad_args=(0,)),
    OpCase("rem-int", ("hl.rem",), lambda a, b: a % b,
           lambda rng: [ints(4, 6)(rng), nonzero_ints(4, 6)(rng)], np.remainder, grad_args=()),
    binary("pow", lambda a, b: a ** b, np.power, torch.pow,
           inputs=lambda rng: [positive(3, 5)(rng), f32(3, 5)(rng)]),
    binary("max", lambda a, b: lm.maximum(a, b), np.maximum, torch.maximum),
    binary("min", lambda a, b: lm.minimum(a, b), np.minimum, torch.minimum),
    OpCase("and", ("hl.and",), lambda a, b: (a > 0) & (b > 0), lambda rng: [f32(3, 5)(rng),
           f32(3, 5)(rng)], lambda a, b: (a > 0) & (b > 0), grad_args=()),
    OpCase("or", ("hl.or",), lambda a, b: (a > 0) | (b > 0), lambda rng: [f32(3, 5)(rng),
           f32(3, 5)(rng)], lambda a, b: (a > 0) | (b > 0), grad_args=()),
    OpCase("xor", ("hl.xor",), lambda a, b: (a > 0) ^ (b > 0), lambda rng: [f32(3, 5)(rng),
           f32(3, 5)(rng)], lambda a, b: (a > 0) ^ (b > 0), grad_args=()),
    *[OpCase(f"cmp-{n}", (f"hl.{n}",), fn, lambda rng: [ints(4, 5, low=-3, high=3)(rng)
          .astype(np.float32), ints(4, 5, low=-3, high=3)(rng).astype(np.float32)], fn,
             grad_args=())
      for n, fn in [("eq", lambda a, b: a == b), ("ne", lambda a, b: a != b),
                    ("lt", lambda a, b: a < b), ("le", lambda a, b: a <= b),
                    ("gt", lambda a, b: a > b), ("ge", lambda a, b: a >= b)]],
    OpCase("select", ("hl.select",), lambda c, a, b: lm.where(c > 0, a, b),
           lambda rng: [f32(3, 5)(rng), f32(3, 5)(rng), f32(3, 5)(rng)],
           lambda c, a, b: np.where(c > 0, a, b), lambda c, a, b: torch.where(c > 0, a, b),
           grad_args=(1, 2)),
    OpCase("cast-f32-i32", ("hl.cast",), lambda x: (x * 3).to(lm.int32),
           lambda rng: [f32(3, 5)(rng)], lambda x: np.trunc(x * 3).astype(np.int32),
           grad_args=()),
    OpCase("cast-f32-f64", ("hl.cast",), lambda x: x.to(lm.float64) * 2,
           lambda rng: [f32(3, 5)(rng)], lambda x: x.astype(np.float64) * 2,
           lambda x: x.to(torch.float64) * 2),
    OpCase("reduce_sum", ("hl.reduce_sum",), lambda x: x.sum(dim=1),
           lambda rng: [f32(4, 6, 3)(rng)], lambda x: x.sum(axis=1), lambda x: x.sum(dim=1)),
    OpCase("reduce_sum-all", ("hl.reduce_sum",), lambda x: x.sum(),
           lambda rng: [f32(4, 6)(rng)], lambda x: x.sum(), lambda x: x.sum(), rtol=1e-4),
    OpCase("mean-keepdim", ("hl.reduce_sum", "hl.div"), lambda x: x.mean(dim=(0, 2), keepdim=True),
           lambda rng: [f32(4, 6, 3)(rng)], lambda x: x.mean(axis=(0, 2), keepdims=True),
           lambda x: x.mean(dim=(0, 2), keepdim=True)),
    OpCase("reduce_prod", ("hl.reduce_prod",), lambda x: x.prod(dim=0),
           lambda rng: [positive(3, 4)(rng)], lambda x: x.prod(axis=0), lambda x: x.prod(dim=0)),
    OpCase("reduce_max", ("hl.reduce_max",), lambda x: x.amax(dim=1),
           lambda rng: [f32(4, 6)(rng)], lambda x: x.max(axis=1), lambda x: x.amax(dim=1)),
    OpCase("reduce_min", ("hl.reduce_min",), lambda x: x.amin(dim=(0, 1)),
           lambda rng: [f32(4, 6, 2)(rng)], lambda x: x.min(axis=(0, 1)),
           lambda x: x.amin(dim=(0, 1))),
    OpCase("argmax", ("hl.argmax",), lambda x: x.argmax(dim=1),
           lambda rng: [f32(4, 6)(rng)], lambda x: x.argmax(axis=1), grad_args=()),
    OpCase("argmin", ("hl.argmin",), lambda x: x.argmin(dim=0),
           lambda rng: [f32(4, 6)(rng)], lambda x: x.argmin(axis=0), grad_args=()),
    OpCase("broadcast", ("hl.broadcast_in_dim",), lambda a, b: a + b,
           lambda rng: [f32(4, 1, 3)(rng), f32(5, 1)(rng)], lambda a, b: a + b,
           lambda a, b: a + b, grad_args=(0, 1)),
    OpCase("reshape", ("hl.reshape",), lambda x: x.reshape(3, -1) * 2,
           lambda rng: [f32(2, 3, 4)(rng)], lambda x: x.reshape(3, -1) * 2,
           lambda x: x.reshape(3, -1) * 2),
    OpCase("transpose", ("hl.transpose",), lambda x: x.permute(2, 0, 1) * 2,
           lambda rng: [f32(2, 3, 4)(rng)], lambda x: x.transpose(2, 0, 1) * 2,
           lambda x: x.permute(2, 0, 1) * 2),
    OpCase("splat", ("hl.splat",), lambda x: x * 2.5 + 1,
           lambda rng: [f32(3)(rng)], lambda x: x * 2.5 + 1, lambda x: x * 2.5 + 1),
    OpCase("iota", ("hl.iota",), lambda x: x + lm.arange(5),
           lambda rng: [f32(3, 5)(rng)], lambda x: x + np.arange(5), lambda x: x + torch.arange(5)),
    OpCase("constant", ("hl.constant",), lambda x: x * lm.constant(np.arange(5.0, dtype=np.float32)),
           lambda rng: [f32(3, 5)(rng)], lambda x: x * np.arange(5.0),
           lambda x: x * torch.arange(5.0)),
]
