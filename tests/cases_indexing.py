"""Op-table rows: slice, pad, concat, reverse, gather, scatter_add, scatter (through the indexing
frontend) and random (through an explicit seed input)."""

import numpy as np
import torch
import torch.nn.functional as TF
from opcases import OpCase, f32

import lamina as lm
from lamina.dialects import hl
from lamina.dialects.hl.base import tensor_type
from lamina.dialects.hl.random import sample
from lamina.frontend.ops import emit


def idx(*shape, high, dtype=np.int64):
    return lambda rng: rng.integers(0, high, shape).astype(dtype)


def _np_pad_interior(x, low, high, interior, value):
    full = [lo + hi + n + (n - 1) * i for n, lo, hi, i in zip(x.shape, low, high, interior, strict=True)]
    out = np.full(full, value, dtype=x.dtype)
    out[tuple(slice(lo, lo + (n - 1) * (i + 1) + 1, i + 1)
              for n, lo, i in zip(x.shape, low, interior, strict=True))] = x
    return out


def _np_index_add(x, dim, index, src):
    out = x.copy()
    np.add.at(np.moveaxis(out, dim, 0), index, np.moveaxis(src, dim, 0))
    return out


def _np_scatter_add(x, index, src):  # dim=1 of a 2-D tensor
    out = x.copy()
    rows = np.broadcast_to(np.arange(index.shape[0])[:, None], index.shape)
    np.add.at(out, (rows, index), src[:index.shape[0], :index.shape[1]])
    return out


def _np_setitem(x):
    y = x.copy()
    y[1:, ::2] = 7.0
    y[0, -1] = -3.0
    return y


def _lm_setitem(x):
    y = x * 1.0
    y[1:, ::2] = 7.0
    y[0, -1] = -3.0
    return y


def _torch_setitem(x):
    y = x * 1.0
    y[1:, ::2] = 7.0
    y[0, -1] = -3.0
    return y


def _setitem_tensor(x, v):
    y = x * 1.0
    y[:, 1:3] = v
    return y


def _setitem_advanced(x, v):
    y = x * 1.0
    y[[2, 0], 1:] = v
    return y


def _np_setitem_advanced(x, v):
    y = x.copy()
    y[[2, 0], 1:] = v
    return y


def _setitem_repeated(x, v):  # a repeated row: the last of its values stays
    y = x * 1.0
    y[[2, 0, 2], 1:] = v
    return y


def _torch_setitem_repeated(x, v):  # the same function, its overwritten value left out
    y = x * 1.0
    y[[0, 2], 1:] = v[1:]
    return y


def _np_setitem_repeated(x, v):
    y = x.copy()
    y[[2, 0, 2], 1:] = v
    return y


def _random(dist, dtype):
    """A row drawing from an explicit seed input; the oracle is the numpy spec of the hash
    (itself checked against a plain-Python implementation in test_random.py)."""

    def fn(seed):
        return emit(hl.RandomOp, seed, result_type=tensor_type(dtype.ir_type, (5, 7)), dist=dist)

    def oracle(seed):
        return sample(int(seed), (5, 7), dist, dtype).astype(dtype.np_dtype)

    def seed(rng):
        return [np.array(rng.integers(-2**40, 2**40), dtype=np.int64)]

    return OpCase(f"random-{dist}-{dtype.name}", ("hl.random",), fn, seed, oracle,
                  grad_args=(), atol=1e-5)


CASES = [
    OpCase("slice", ("hl.slice",), lambda x: x[1:, ::2], lambda rng: [f32(4, 7)(rng)],
           lambda x: x[1:, ::2], lambda x: x[1:, ::2]),
    OpCase("slice-int-none", ("hl.slice", "hl.reshape"), lambda x: x[None, 2, 1:-1],
           lambda rng: [f32(4, 7)(rng)], lambda x: x[None, 2, 1:-1], lambda x: x[None, 2, 1:-1]),
    OpCase("narrow-split", ("hl.slice", "hl.concat"),
           lambda x: lm.cat(lm.chunk(x, 3, dim=1)[::-1], dim=1) + x.narrow(1, 0, 7),
           lambda rng: [f32(3, 7)(rng)],
           lambda x: np.concatenate(np.array_split(x, [3, 6], axis=1)[::-1], axis=1) + x,
           lambda x: torch.cat(torch.chunk(x, 3, dim=1)[::-1], dim=1) + x.narrow(1, 0, 7)),
    OpCase("reverse", ("hl.reverse",), lambda x: x.flip((0, 2)), lambda rng: [f32(2, 3, 4)(rng)],
           lambda x: x[::-1, :, ::-1], lambda x: torch.flip(x, (0, 2))),
    OpCase("slice-negative-step", ("hl.slice", "hl.reverse"), lambda x: x[::-2, 1],
           lambda rng: [f32(7, 3)(rng)], lambda x: x[::-2, 1],
           lambda x: torch.flip(x, (0,))[::2, 1]),
    OpCase("pad", ("hl.pad",), lambda x: lm.pad(x, (1, 2, 0, 1), value=0.5),
           lambda rng: [f32(3, 4)(rng)],
           lambda x: np.pad(x, ((0, 1), (1, 2)), constant_values=0.5),
           lambda x: TF.pad(x, (1, 2, 0, 1), value=0.5)),
    OpCase("pad-crop", ("hl.pad",), lambda x: lm.pad(x, (-1, 2, 1, -2)),
           lambda rng: [f32(4, 5)(rng)], lambda x: np.pad(x, ((1, 0), (0, 2)))[:-2, 1:],
           lambda x: TF.pad(x, (-1, 2, 1, -2))),
    OpCase("pad-interior", ("hl.pad",),
           lambda x: emit(hl.PadOp, x, low=(1, 0), high=(0, 2), interior=(2, 1), value=-1.0),
           lambda rng: [f32(3, 4)(rng)],
           lambda x: _np_pad_interior(x, (1, 0), (0, 2), (2, 1), -1.0)),
    OpCase("concat", ("hl.concat",), lambda a, b: lm.cat([a, b, a], dim=1),
           lambda rng: [f32(3, 2)(rng), f32(3, 4)(rng)],
           lambda a, b: np.concatenate([a, b, a], axis=1),
           lambda a, b: torch.cat([a, b, a], dim=1), grad_args=(0, 1)),
    OpCase("stack", ("hl.concat", "hl.reshape"), lambda a, b: lm.stack([a, b], dim=1),
           lambda rng: [f32(3, 4)(rng), f32(3, 4)(rng)], lambda a, b: np.stack([a, b], axis=1),
           lambda a, b: torch.stack([a, b], dim=1), grad_args=(0, 1)),
    OpCase("roll", ("hl.slice", "hl.concat"), lambda x: x.roll(2, 1),
           lambda rng: [f32(3, 5)(rng)], lambda x: np.roll(x, 2, 1), lambda x: x.roll(2, 1)),
    OpCase("gather", ("hl.gather",), lambda x, i: x.index_select(0, i),
           lambda rng: [f32(6, 3)(rng), idx(8, high=6)(rng)], lambda x, i: x[i],
           lambda x, i: x.index_select(0, i)),
    OpCase("gather-embedding", ("hl.gather",), lambda w, i: lm.embedding(i, w),
           lambda rng: [f32(10, 4)(rng), idx(2, 3, high=10, dtype=np.int32)(rng)],
           lambda w, i: w[i], lambda w, i: TF.embedding(i.long(), w)),
    OpCase("getitem-advanced", ("hl.gather",), lambda x, i, j: x[i, :, j],
           lambda rng: [f32(4, 3, 5)(rng), idx(2, 3, high=4)(rng), idx(3, high=5)(rng)],
           lambda x, i, j: x[i, :, j], lambda x, i, j: x[i, :, j]),
    OpCase("getitem-mask", ("hl.gather",), lambda x: x[np.arange(12).reshape(3, 4) % 3 == 0],
           lambda rng: [f32(3, 4)(rng)], lambda x: x[np.arange(12).reshape(3, 4) % 3 == 0],
           lambda x: x[torch.arange(12).reshape(3, 4) % 3 == 0]),
    OpCase("take_along", ("hl.gather", "hl.iota"), lambda x, i: lm.gather(x, 1, i),
           lambda rng: [f32(3, 5)(rng), idx(3, 4, high=5)(rng)],
           lambda x, i: np.take_along_axis(x, i, 1), lambda x, i: torch.gather(x, 1, i)),
    OpCase("scatter_add-index_add", ("hl.scatter_add",),
           lambda x, i, s: x.index_add(0, i, s),
           lambda rng: [f32(5, 3)(rng), idx(7, high=5)(rng), f32(7, 3)(rng)],
           lambda x, i, s: _np_index_add(x, 0, i, s),
           lambda x, i, s: x.index_add(0, i, s), grad_args=(0, 2)),
    OpCase("scatter_add-along", ("hl.scatter_add", "hl.iota"),
           lambda x, i, s: lm.scatter_add(x, 1, i, s),
           lambda rng: [f32(3, 5)(rng), idx(3, 4, high=5)(rng), f32(3, 4)(rng)],
           _np_scatter_add, lambda x, i, s: torch.scatter_add(x, 1, i, s), grad_args=(0, 2)),
    OpCase("setitem", ("hl.pad", "hl.select"), _lm_setitem, lambda rng: [f32(3, 5)(rng)],
           _np_setitem, _torch_setitem),
    OpCase("setitem-tensor", ("hl.pad", "hl.select"), _setitem_tensor,
           lambda rng: [f32(3, 5)(rng), f32(3, 1)(rng)],
           lambda x, v: np.concatenate([x[:, :1], np.broadcast_to(v, (3, 2)), x[:, 3:]], 1),
           _setitem_tensor, grad_args=(0, 1)),
    OpCase("setitem-advanced", ("hl.scatter_add", "hl.select"), _setitem_advanced,
           lambda rng: [f32(4, 3)(rng), f32(2, 2)(rng)], _np_setitem_advanced,
           _setitem_advanced, grad_args=(0, 1)),
    OpCase("setitem-repeated", ("hl.scatter", "hl.scatter_add", "hl.select"), _setitem_repeated,
           lambda rng: [f32(4, 3)(rng), f32(3, 2)(rng)], _np_setitem_repeated,
           _torch_setitem_repeated, grad_args=(0, 1)),
    OpCase("one_hot", ("hl.iota", "hl.eq"), lambda i: lm.one_hot(i, 6),
           lambda rng: [idx(4, 2, high=6)(rng)], lambda i: np.eye(6, dtype=np.int64)[i],
           grad_args=()),
    OpCase("tril-triu", ("hl.iota", "hl.select"), lambda x: lm.tril(x, -1) + lm.triu(x, 2),
           lambda rng: [f32(2, 4, 5)(rng)], lambda x: np.tril(x, -1) + np.triu(x, 2),
           lambda x: torch.tril(x, -1) + torch.triu(x, 2)),
    *[_random(dist, dt) for dist, dt in [("uniform", lm.float32), ("uniform", lm.float16),
                                         ("normal", lm.float32), ("bits", lm.int64)]],
]
