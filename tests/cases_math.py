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


def flat(*ts):
    """Several results as one 1-D tensor (a row's program has one output)."""
    return lm.cat([t.reshape(-1) for t in ts])


def np_flat(*xs):
    return np.concatenate([np.reshape(x, -1) for x in xs])


def torch_flat(*ts):
    return torch.cat([t.reshape(-1) for t in ts])


def _np_vector_norm(x, p, axis):
    if p == np.inf:
        return np.abs(x).max(axis)
    return (np.abs(x) ** p).sum(axis) ** (1 / p)


def _np_diag_embed(x, offset):
    n = x.shape[-1] + abs(offset)
    out = np.zeros(x.shape[:-1] + (n, n), x.dtype)
    for i in range(x.shape[-1]):
        r, c = (i, i + offset) if offset >= 0 else (i - offset, i)
        out[..., r, c] = x[..., i]
    return out


def _np_sinc(x):
    return np.sinc(x)


def _np_logaddexp(a, b):
    return np.logaddexp(a, b)


def _special(rng):
    v = f32(3, 5)(rng)
    v[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    return v


def _pairs(*shapes):
    return lambda rng: [f32(*s)(rng) for s in shapes]


# composites (no hl op of their own: `ops` names the ones they are written with)
CASES += [
    unary("frac", lambda x: lm.frac(x * 3), lambda x: np.modf(x * 3)[0],
          lambda x: torch.frac(x * 3), ops=("hl.trunc", "hl.sub")),
    OpCase("lerp", ("hl.select",), lambda a, b, w: lm.lerp(a, b, w), _pairs((3, 5), (3, 5), (5,)),
           lambda a, b, w: a + w * (b - a), torch.lerp, grad_args=(0, 1, 2)),
    binary("hypot", lambda a, b: lm.hypot(a, b), np.hypot, torch.hypot, ops=("hl.sqrt",)),
    binary("logaddexp", lambda a, b: lm.logaddexp(a, b), np.logaddexp, torch.logaddexp,
           ops=("hl.exp", "hl.log")),
    binary("logaddexp2", lambda a, b: lm.logaddexp2(a, b), np.logaddexp2, torch.logaddexp2,
           ops=("hl.exp", "hl.log")),
    binary("xlogy", lambda a, b: lm.xlogy(lm.relu(a), b.abs() + 0.1),
           lambda a, b: np.maximum(a, 0) * np.log(np.abs(b) + 0.1),
           lambda a, b: torch.xlogy(torch.relu(a), b.abs() + 0.1), ops=("hl.log", "hl.select")),
    unary("sinc", lambda x: lm.sinc(x), _np_sinc, torch.sinc, ops=("hl.sin",)),
    unary("deg2rad", lambda x: lm.deg2rad(x) + x.rad2deg(), lambda x: np.deg2rad(x) + np.rad2deg(x),
          lambda x: torch.deg2rad(x) + x.rad2deg(), ops=("hl.mul",)),
    OpCase("is-predicates", ("hl.ne", "hl.eq", "hl.lt"),
           lambda x: lm.stack([lm.isnan(x), lm.isinf(x), x.isfinite(), lm.isposinf(x), lm.isneginf(x)]),
           lambda rng: [_special(rng)],
           lambda x: np.stack([np.isnan(x), np.isinf(x), np.isfinite(x), np.isposinf(x), np.isneginf(x)]),
           grad_args=()),
    # (NaN where x < 0: replaced, with a zero gradient there)
    unary("nan_to_num", lambda x: lm.nan_to_num(lm.log(x), 1.5, posinf=9.0),
          lambda x: np.nan_to_num(np.log(x), nan=1.5, posinf=9.0),
          lambda x: torch.nan_to_num(torch.log(x), 1.5, posinf=9.0), ops=("hl.select",)),
    OpCase("isclose", ("hl.le",), lambda a, b: lm.isclose(a, a + b * 1e-5, rtol=1e-4),
           _pairs((3, 5), (3, 5)), lambda a, b: np.isclose(a, a + b * 1e-5, rtol=1e-4),
           grad_args=()),
    unary("softmax", lambda x: lm.softmax(x, 1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True),
          lambda x: torch.softmax(x, 1), ops=("hl.exp", "hl.reduce_max")),
    unary("log_softmax", lambda x: x.log_softmax(0),
          lambda x: x - np.log(np.exp(x).sum(0, keepdims=True)),
          lambda x: x.log_softmax(0), ops=("hl.exp", "hl.log")),
    OpCase("addmm", ("hl.matmul",), lambda c, a, b: lm.addmm(c, a, b, beta=0.5, alpha=2.0),
           _pairs((3, 5), (3, 4), (4, 5)), lambda c, a, b: 0.5 * c + 2.0 * a @ b,
           lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=2.0), grad_args=(0, 1, 2)),
    OpCase("baddbmm", ("hl.matmul",), lambda c, a, b: lm.baddbmm(c, a, b) + lm.addbmm(c[0], a, b),
           _pairs((2, 3, 5), (2, 3, 4), (2, 4, 5)),
           lambda c, a, b: c + a @ b + c[0] + (a @ b).sum(0),
           lambda c, a, b: torch.baddbmm(c, a, b) + torch.addbmm(c[0], a, b), grad_args=(0, 1, 2)),
    OpCase("addmv-addr", ("hl.matmul", "hl.mul"),
           lambda c, a, v: lm.addmv(c[:, 0], a, v[:, 0])[:, None] + lm.addr(c, a[:, 0], v[0], beta=2.0),
           _pairs((3, 4), (3, 4), (4, 4)),
           lambda c, a, v: (c[:, 0] + a @ v[:, 0])[:, None] + 2.0 * c + np.outer(a[:, 0], v[0]),
           lambda c, a, v: torch.addmv(c[:, 0], a, v[:, 0])[:, None] + torch.addr(c, a[:, 0], v[0], beta=2.0),
           grad_args=(0, 1, 2)),
    OpCase("addcmul-addcdiv", ("hl.mul", "hl.div"),
           lambda c, a, b: lm.addcmul(c, a, b, value=0.5) + c.addcdiv(a, b.abs() + 1, value=2),
           _pairs((3, 5), (3, 5), (5,)),
           lambda c, a, b: c + 0.5 * a * b + c + 2 * a / (np.abs(b) + 1),
           lambda c, a, b: torch.addcmul(c, a, b, value=0.5) + c.addcdiv(a, b.abs() + 1, value=2),
           grad_args=(0, 1, 2)),
    OpCase("var_mean", ("hl.reduce_sum",), lambda x: flat(*lm.var_mean(x, 1), *lm.std_mean(x, correction=0)),
           lambda rng: [f32(3, 5)(rng)],
           lambda x: np_flat(x.var(1, ddof=1), x.mean(1), x.std(), x.mean()),
           lambda x: torch_flat(*torch.var_mean(x, 1), *torch.std_mean(x, correction=0))),
    OpCase("count_nonzero-aminmax", ("hl.reduce_min", "hl.reduce_max"),
           lambda x: flat(lm.count_nonzero(lm.relu(x), 0).float(), *lm.aminmax(x, dim=1)),
           lambda rng: [f32(3, 5)(rng)],
           lambda x: np_flat(np.count_nonzero(np.maximum(x, 0), 0), x.min(1), x.max(1)),
           lambda x: torch_flat(torch.count_nonzero(torch.relu(x), 0).float(), *torch.aminmax(x, dim=1))),
    OpCase("cross", ("hl.mul", "hl.sub"), lambda a, b: lm.cross(a, b) + lm.linalg.cross(a, b),
           _pairs((4, 3), (4, 3)), lambda a, b: 2 * np.cross(a, b),
           lambda a, b: torch.cross(a, b, dim=1) + torch.linalg.cross(a, b), grad_args=(0, 1)),
    OpCase("vector_norm", ("hl.sqrt", "hl.pow", "hl.reduce_max"),
           lambda x: flat(lm.linalg.vector_norm(x, dim=1), lm.norm(x, 3.0, 0),
                      lm.linalg.vector_norm(x, float("inf"))),
           lambda rng: [f32(3, 5)(rng)],
           lambda x: np_flat(_np_vector_norm(x, 2, 1), _np_vector_norm(x, 3.0, 0),
                      _np_vector_norm(x, np.inf, None)),
           lambda x: torch_flat(torch.linalg.vector_norm(x, dim=1), torch.norm(x, 3.0, 0),
                      torch.linalg.vector_norm(x, float("inf")))),
    OpCase("matrix_norm", ("hl.reduce_sum", "hl.reduce_max"),
           lambda x: lm.linalg.matrix_norm(x) + lm.linalg.matrix_norm(x, 1) + lm.linalg.norm(x, -np.inf),
           lambda rng: [f32(3, 5)(rng)],
           lambda x: np.linalg.norm(x) + np.linalg.norm(x, 1) + np.linalg.norm(x, -np.inf),
           lambda x: torch.linalg.matrix_norm(x) + torch.linalg.matrix_norm(x, 1)
           + torch.linalg.norm(x, -np.inf)),
    OpCase("cdist", ("hl.sqrt",), lambda a, b: lm.cdist(a, b) + lm.cdist(a, b, p=1.0),
           _pairs((4, 3), (5, 3)),
           lambda a, b: _np_vector_norm(a[:, None] - b[None], 2, -1)
           + np.abs(a[:, None] - b[None]).sum(-1),
           lambda a, b: torch.cdist(a, b) + torch.cdist(a, b, p=1.0), grad_args=(0, 1)),
    OpCase("diagonal-trace", ("hl.reshape", "hl.slice"),
           lambda x: flat(lm.diagonal(x, 1, 2, 0), lm.trace(x[0]), lm.diag(x[1], -1)),
           lambda rng: [f32(2, 3, 4)(rng)],
           lambda x: np_flat(np.diagonal(x, 1, 2, 0), np.trace(x[0]), np.diag(x[1], -1)),
           lambda x: torch_flat(torch.diagonal(x, 1, 2, 0), torch.trace(x[0]), torch.diag(x[1], -1))),
    OpCase("diag_embed", ("hl.concatenate", "hl.reshape"),
           lambda x: flat(lm.diag_embed(x, 1), lm.diag(x[0], -2)), lambda rng: [f32(2, 3)(rng)],
           lambda x: np_flat(_np_diag_embed(x, 1), np.diag(x[0], -2)),
           lambda x: torch_flat(torch.diag_embed(x, 1), torch.diag(x[0], -2))),
    OpCase("movedim-unflatten", ("hl.transpose", "hl.reshape"),
           lambda x: lm.movedim(x, 0, -1).unflatten(0, (-1, 1)), lambda rng: [f32(2, 3, 4)(rng)],
           lambda x: np.moveaxis(x, 0, -1).reshape(3, 1, 4, 2),
           lambda x: torch.movedim(x, 0, -1).unflatten(0, (-1, 1))),
    OpCase("unfold", ("hl.gather",), lambda x: x.unfold(1, 2, 2) * 2, lambda rng: [f32(3, 5)(rng)],
           lambda x: np.stack([x[:, 0:2], x[:, 2:4]], 1) * 2, lambda x: x.unfold(1, 2, 2) * 2),
    OpCase("meshgrid-broadcast", ("hl.broadcast_in_dim",),
           lambda a, b: lm.stack([*lm.meshgrid(a, b, indexing="xy"), *lm.broadcast_tensors(a, b[:, None])]),
           _pairs((3,), (4,)),
           lambda a, b: np.stack([*np.meshgrid(a, b, indexing="xy"), *np.broadcast_arrays(a, b[:, None])]),
           lambda a, b: torch.stack([*torch.meshgrid(a, b, indexing="xy"),
                                      *torch.broadcast_tensors(a, b[:, None])]), grad_args=(0, 1)),
    OpCase("repeat-tile", ("hl.broadcast_in_dim", "hl.reshape"),
           lambda x: flat(x.repeat(2, 1, 3), lm.tile(x, (2,))), lambda rng: [f32(2, 3)(rng)],
           lambda x: np_flat(np.tile(x, (2, 1, 3)), np.tile(x, (2,))),
           lambda x: torch_flat(x.repeat(2, 1, 3), torch.tile(x, (2,)))),
    unary("round-decimals", lambda x: lm.round(x * 10, decimals=1) + (x * 100).round(decimals=-1),
          lambda x: np.round(x * 10, 1) + np.round(x * 100, -1),
          lambda x: torch.round(x * 10, decimals=1) + (x * 100).round(decimals=-1),
          ops=("hl.round",), grad_args=()),
]
