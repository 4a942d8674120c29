"""The exception *types* lamina raises for common mistakes, against torch's: for each row
torch raises some builtin exception class, and lamina must raise an instance of that
class (so that a ported `except RuntimeError:` or `except IndexError:` still catches
it) which is also a `lm.LaminaError` (naming the op and the user's line: the messages
are tested in test_error_catalogue.py). A row where torch raises nothing must not
raise in lamina either."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF

import lamina as lm
import lamina.nn.functional as LF


def _torch_ones(*shape, dtype="float32"):
    return torch.ones(shape, dtype=getattr(torch, dtype))


def _lamina_ones(*shape, dtype="float32"):
    return lm.ones(*shape, dtype=dtype)


# each row: fn(m, F, t): m is torch or lamina, F its nn.functional, t(*shape, dtype=) ones
MISTAKES = {
 "add shapes": lambda m, F, t: t(2,3)+t(4,3),
 "matmul": lambda m, F, t: t(2,3)@t(4,5),
 "matmul 1d": lambda m, F, t: t(3)@t(4),
 "bmm batch": lambda m, F, t: m.matmul(t(2,3,4), t(3,4,5)),
 "linear": lambda m, F, t: m.nn.Linear(4,2)(t(2,3)),
 "conv channels": lambda m, F, t: F.conv2d(t(1,3,5,5), t(2,4,3,3)),
 "conv kernel too big": lambda m, F, t: F.conv2d(t(1,3,2,2), t(2,3,3,3)),
 "reshape": lambda m, F, t: t(2,3).reshape(4,2),
 "reshape -1 -1": lambda m, F, t: t(6).reshape(-1,-1),
 "reshape -3": lambda m, F, t: t(6).reshape(-3, 2),
 "view": lambda m, F, t: t(6).view(4),
 "cat shapes": lambda m, F, t: m.cat([t(2,3), t(2,4)]),
 "cat empty list": lambda m, F, t: m.cat([]),
 "cat ranks": lambda m, F, t: m.cat([t(2,3), t(3, 3, 1)]),
 "cat 0-d": lambda m, F, t: m.cat([t(), t()]),
 "stack shapes": lambda m, F, t: m.stack([t(3), t(4)]),
 "gather shape": lambda m, F, t: m.gather(t(2,3), 1, t(3,3, dtype="int64")),
 "gather float index": lambda m, F, t: m.gather(t(2,3), 1, t(2,3)),
 "gather out of range": lambda m, F, t: m.gather(t(2,3), 1, t(2,3, dtype="int64") * 5),
 "index_select float": lambda m, F, t: m.index_select(t(3), 0, t(2)),
 "index_select out of range": lambda m, F, t: m.index_select(t(3), 0, t(1, dtype="int64") * 5),
 "expand": lambda m, F, t: t(2,3).expand(4,3),
 "expand fewer dims": lambda m, F, t: t(2,3).expand(3),
 "broadcast_to": lambda m, F, t: m.broadcast_to(t(3), (4,)),
 "broadcast_shapes": lambda m, F, t: m.broadcast_shapes((2,), (3,)),
 "where shapes": lambda m, F, t: m.where(t(3, dtype="bool"), t(3), t(4)),
 "mse shapes": lambda m, F, t: F.mse_loss(t(2,3), t(4,3)),
 "layer_norm shape": lambda m, F, t: F.layer_norm(t(2,3), (4,)),
 "permute repeated": lambda m, F, t: t(2,3).permute(0,0),
 "permute count": lambda m, F, t: t(2,3).permute(0),
 "permute out of range": lambda m, F, t: t(2,3).permute(0,2),
 "sum dim": lambda m, F, t: t(2,3).sum(dim=5),
 "amax negative dim": lambda m, F, t: t(2,3).amax(dim=-3),
 "softmax dim": lambda m, F, t: F.softmax(t(2,3), dim=2),
 "transpose dim": lambda m, F, t: t(2,3).transpose(0,2),
 "unsqueeze dim": lambda m, F, t: t(2,3).unsqueeze(4),
 "squeeze dim": lambda m, F, t: t(2,3).squeeze(3),
 "flatten dim": lambda m, F, t: t(2,3).flatten(0, 3),
 "cat dim": lambda m, F, t: m.cat([t(2,3), t(2,3)], dim=2),
 "flip dim": lambda m, F, t: m.flip(t(3), (1,)),
 "unbind dim": lambda m, F, t: m.unbind(t(2,3), 2),
 "logsumexp dim": lambda m, F, t: m.logsumexp(t(2,3), 2),
 "std dim": lambda m, F, t: t(2,3).std(dim=3),
 "repeated reduction dim": lambda m, F, t: t(2,3).sum(dim=(0,0)),
 "index out of range": lambda m, F, t: t(2,3)[5],
 "negative index out of range": lambda m, F, t: t(2,3)[:, -4],
 "too many indices": lambda m, F, t: t(2,3)[0,0,0],
 "float index": lambda m, F, t: t(2,3)[1.5],
 "index tensor out of range": lambda m, F, t: t(2,3)[m.tensor([0,7])],
 "float index tensor": lambda m, F, t: t(2,3)[t(2)],
 "select out of range": lambda m, F, t: m.select(t(2,3), 1, 5),
 "narrow out of range start": lambda m, F, t: m.narrow(t(5), 0, 7, 1),
 "narrow too long": lambda m, F, t: m.narrow(t(5), 0, 3, 4),
 "bitwise float": lambda m, F, t: t(3) & t(3),
 "invert float": lambda m, F, t: ~t(3),
 "int negative power": lambda m, F, t: t(2, dtype="int64")**-1,
 "sub bool": lambda m, F, t: t(3, dtype="bool")-t(3, dtype="bool"),
 "neg bool": lambda m, F, t: -t(3, dtype="bool"),
 "matmul bool": lambda m, F, t: t(2,2, dtype="bool")@t(2,2, dtype="bool"),
 "str operand": lambda m, F, t: t(3)+"hello",
 "mean of int": lambda m, F, t: t(3, dtype="int64").mean(),
 "mean int dtype": lambda m, F, t: t(2,3).mean(dtype=m.int64),
 "var of int": lambda m, F, t: t(3, dtype="int64").var(),
 "requires_grad int": lambda m, F, t: m.ones(3, dtype=m.int64, requires_grad=True),
 "sum dtype string": lambda m, F, t: t(3).sum(dtype=""),
 "sum float dim": lambda m, F, t: t(2,3).sum(dim=1.5),
 "zeros of a string": lambda m, F, t: m.zeros("a"),
 "full of a string": lambda m, F, t: m.full((2,), "a"),
 "to a bad dtype": lambda m, F, t: t(3).to("float99"),
 "item of many": lambda m, F, t: t(3).item(),
 "float of many": lambda m, F, t: float(t(3)),
 "bool of many": lambda m, F, t: bool(t(3)),
 "len of 0-d": lambda m, F, t: len(t()),
 "backward no grad": lambda m, F, t: t(3).sum().backward(),
 "split bad sections": lambda m, F, t: m.split(t(5), [2,2]),
 "chunk 0": lambda m, F, t: m.chunk(t(5), 0),
 "roll mismatch": lambda m, F, t: m.roll(t(3), (1,2), (0,)),
 "tril 1-d": lambda m, F, t: m.tril(t(3)),
 "pad odd": lambda m, F, t: F.pad(t(3), (1,)),
 "arange step 0": lambda m, F, t: m.arange(0, 5, 0),
 "arange wrong sign": lambda m, F, t: m.arange(5, 0),
 "linspace negative steps": lambda m, F, t: m.linspace(0, 1, -1),
 "full negative": lambda m, F, t: m.full((-3,), 2),
 "zeros negative": lambda m, F, t: m.zeros(-1),
 "eye negative": lambda m, F, t: m.eye(-3),
 "randn negative": lambda m, F, t: m.randn(-2),
 "one_hot negative": lambda m, F, t: F.one_hot(m.tensor([-1])),
 "one_hot float": lambda m, F, t: F.one_hot(m.tensor([1.0])),
 "one_hot too few classes": lambda m, F, t: F.one_hot(m.tensor([3]), 2),
 "cross_entropy batch": lambda m, F, t: F.cross_entropy(t(2,3), t(3, dtype="int64")),
 "cross_entropy float 1-d target": lambda m, F, t: F.cross_entropy(t(2,3), t(2)),
 "embedding float indices": lambda m, F, t: F.embedding(t(2), t(3,4)),
 "embedding out of range": lambda m, F, t: F.embedding(m.tensor([5]), t(3,4)),
 "dropout p": lambda m, F, t: F.dropout(t(3), p=1.5),
 "where float cond": lambda m, F, t: m.where(t(3), t(3), t(3)),
 "argmax empty": lambda m, F, t: m.argmax(m.ones(0)),
 "max dim empty": lambda m, F, t: m.ones(0,3).max(0),
 "amax empty": lambda m, F, t: m.ones(0).amax(),
 "clamp no bounds": lambda m, F, t: m.clamp(t(3)),
 "div rounding mode": lambda m, F, t: m.div(t(3), 2, rounding_mode="bogus"),
 "take_along_dim ranks": lambda m, F, t: m.take_along_dim(t(2,3), t(3, dtype="int64"), 1),
 "scatter_add shape": lambda m, F, t: m.scatter_add(t(2,3), 1, t(3,3, dtype="int64"), t(3,3)),
 "index_fill int32 index": lambda m, F, t: t(3).index_fill(0, m.tensor([0], dtype=m.int32), 1.0),
 "tensor ragged": lambda m, F, t: m.tensor([[1,2],[3]]),
 "uint32 promotion": lambda m, F, t: t(3, dtype="uint32") + t(3, dtype="int64"),
 "softmax of int": lambda m, F, t: F.softmax(t(3, dtype="int64"), 0),
 "max_pool kernel too big": lambda m, F, t: F.max_pool2d(t(1,1,2,2), 3),
 "sdpa shapes": lambda m, F, t: F.scaled_dot_product_attention(t(2,3,4), t(2,5,6), t(2,5,6)),
 "conv groups": lambda m, F, t: F.conv2d(t(1,4,5,5), t(2,3,3,3), groups=2),
 "t of 3-d": lambda m, F, t: t(2,3,4).t(),
 "flatten start after end": lambda m, F, t: t(2,3,4).flatten(2, 0),
 "select of 0-d": lambda m, F, t: m.select(t(), 0, 0),
 "unsqueeze negative": lambda m, F, t: t(2,3).unsqueeze(-4),
}


def _raised(fn) -> BaseException | None:
    try:
        fn()
    except Exception as err:  # noqa: BLE001  (any class: comparing them is the point)
        return err
    return None


@pytest.mark.parametrize("name", list(MISTAKES))
def test_lamina_raises_what_torch_raises(name):
    fn = MISTAKES[name]
    want = _raised(lambda: fn(torch, TF, _torch_ones))
    got = _raised(lambda: fn(lm, LF, _lamina_ones))
    if want is None:
        assert got is None, f"torch accepts this; lamina raised {got!r}"
        return
    assert got is not None, f"torch raises {type(want).__name__}: {want}; lamina raised nothing"
    assert isinstance(got, type(want)), (
        f"torch raises {type(want).__name__}, lamina {type(got).__mro__}: {got}")
    assert isinstance(got, lm.LaminaError), type(got)


def test_the_table_is_large():
    assert len(MISTAKES) >= 100
    raising = sum(_raised(lambda f=f: f(torch, TF, _torch_ones)) is not None
                  for f in MISTAKES.values())
    assert raising >= 100
