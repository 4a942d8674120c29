"""Frontend semantics against numpy and torch: broadcasting, type promotion, views,
reductions, pytrees through lm.jit, retracing, and the catalogue of user errors
(each names the op, the shapes and the line of this file that made the call)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina as lm

DTYPES = ["float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool"]


@pytest.fixture(autouse=True)
def _interp(monkeypatch):
    """Eager values run on the interpreter: semantics, not backends, are tested here."""
    monkeypatch.setenv("LAMINA_BACKEND", "interp")


def here(offset: int = 0) -> str:
    """`test_frontend.py:<line>` of the caller's line plus `offset`."""
    frame = inspect.currentframe().f_back
    return f"test_frontend.py:{frame.f_lineno + offset}"


def lt(name: str, shape=(2,)):
    return lm.zeros(*shape, dtype=getattr(lm, name))


def tt(name: str, shape=(2,)):
    return torch.zeros(*shape, dtype=getattr(torch, name))


# ---------------------------------------------------------------- broadcasting


SHAPES = [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((5,), ()),
          ((1,), (3, 1)), ((2, 3, 4), (2, 3, 4)), ((4, 1, 1), (1, 2, 3))]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_broadcasting_matches_numpy(sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    ta, tb = lm.tensor(a), lm.tensor(b)
    for got, want in [(ta + tb, a + b), (ta * tb, a * b), (ta - tb, a - b),
                      (lm.maximum(ta, tb), np.maximum(a, b)),
                      (lm.where(ta > tb, ta, tb), np.where(a > b, a, b))]:
        assert got.shape == want.shape
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=3),
       st.lists(st.booleans(), min_size=3, max_size=3), st.integers(0, 2))
def test_broadcasting_random_shapes(shape, ones, drop):
    sa = tuple(shape)
    sb = tuple(1 if o else n for n, o in zip(sa, ones, strict=False))[drop:]
    a, b = np.ones(sa, np.float32) * 2, np.arange(np.prod(sb), dtype=np.float32).reshape(sb)
    got = lm.jit(lambda x, y: x * y - y, backend="interp")(a, b)
    np.testing.assert_array_equal(np.asarray(got), a * b - b)


def test_broadcast_error_names_op_shapes_and_line():
    a, b = lm.zeros(2, 3), lm.zeros(4)
    with pytest.raises(lm.ShapeError) as info:
        a + b
    message = str(info.value)
    assert "add" in message and "[2, 3]" in message and "[4]" in message
    assert here(-3) in message
    with pytest.raises(lm.ShapeError, match=r"expand.*\[2, 3\].*\[4, 3\]"):
        a.expand(4, 3)


# ---------------------------------------------------------------- promotion


@pytest.mark.parametrize("a", DTYPES)
def test_promotion_matches_torch(a):
    for b in DTYPES:
        assert (lt(a) + lt(b)).dtype.name == str((tt(a) + tt(b)).dtype)[6:], (a, b)
        assert (lt(a) * lt(b)).dtype.name == str((tt(a) * tt(b)).dtype)[6:], (a, b)
    for scalar in (2, 2.5, True, -1):
        assert (lt(a) * scalar).dtype.name == str((tt(a) * scalar).dtype)[6:], (a, scalar)
        assert (scalar + lt(a)).dtype.name == str((scalar + tt(a)).dtype)[6:], (a, scalar)


def test_weak_scalars_keep_the_tensor_width():
    assert (lm.tensor(np.ones(3, np.float16)) * 2.0).dtype == lm.float16
    assert (lm.tensor(np.ones(3, np.int32)) + 2.5).dtype == lm.float32
    assert (lm.tensor(np.ones(3, np.int8)) + 1000).dtype == lm.int8
    assert (lm.tensor(np.ones(3, bool)) + 1).dtype == lm.int64


def test_mixed_dtype_values_match_torch():
    i = np.array([1, -2, 3], np.int32)
    f = np.array([0.5, 1.5, -2.0], np.float16)
    b = np.array([True, False, True])
    cases = [
        (lambda x, y, z: x + y, lambda x, y, z: x + y),
        (lambda x, y, z: x * z, lambda x, y, z: x * z),
        (lambda x, y, z: y / x, lambda x, y, z: y / x),
        (lambda x, y, z: x / 2, lambda x, y, z: x / 2),
        (lambda x, y, z: x // 2, lambda x, y, z: x // 2),
        (lambda x, y, z: -x % 2, lambda x, y, z: -x % 2),
        (lambda x, y, z: z + z, lambda x, y, z: z + z),
        (lambda x, y, z: y.to(lm.bfloat16) * 3, lambda x, y, z: y.to(torch.bfloat16) * 3),
    ]
    for fn, tfn in cases:
        got = fn(lm.tensor(i), lm.tensor(f), lm.tensor(b))
        want = tfn(torch.tensor(i), torch.tensor(f), torch.tensor(b))
        assert got.dtype.name == str(want.dtype)[6:]
        np.testing.assert_allclose(np.asarray(got).astype(np.float64),
                                   want.to(torch.float64).numpy(), rtol=1e-3)


def test_creation_defaults_follow_torch():
    assert lm.tensor([1, 2]).dtype == lm.int64
    assert lm.tensor([1.0]).dtype == lm.float32
    assert lm.tensor([True]).dtype == lm.bool
    assert lm.tensor(np.ones(2)).dtype == lm.float64  # numpy arrays keep their dtype
    assert lm.zeros(2, 3).dtype == lm.float32
    assert lm.arange(5).dtype == lm.int64 and lm.arange(0.0, 1.0, 0.25).dtype == lm.float32


# ---------------------------------------------------------------- views


X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

VIEWS = {
    "reshape-1": (lambda t: t.reshape(-1, 4), lambda t: t.reshape(-1, 4)),
    "reshape-tuple": (lambda t: t.reshape((4, 6)), lambda t: t.reshape((4, 6))),
    "view": (lambda t: t.view(6, -1), lambda t: t.view(6, -1)),
    "permute": (lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "permute-neg": (lambda t: t.permute(-1, 0, 1), lambda t: t.permute(-1, 0, 1)),
    "transpose": (lambda t: t.transpose(0, 2), lambda t: t.transpose(0, 2)),
    "transpose-neg": (lambda t: t.transpose(-1, -2), lambda t: t.transpose(-1, -2)),
    "unsqueeze": (lambda t: t.unsqueeze(1), lambda t: t.unsqueeze(1)),
    "unsqueeze-neg": (lambda t: t.unsqueeze(-1), lambda t: t.unsqueeze(-1)),
    "squeeze": (lambda t: t.unsqueeze(0).unsqueeze(3).squeeze(), lambda t: t.unsqueeze(0)
                .unsqueeze(3).squeeze()),
    "squeeze-dim": (lambda t: t.unsqueeze(0).squeeze(0), lambda t: t.unsqueeze(0).squeeze(0)),
    "squeeze-noop": (lambda t: t.squeeze(1), lambda t: t.squeeze(1)),
    "expand": (lambda t: t[:, :1].expand(2, 3, 4), lambda t: t[:, :1].expand(2, 3, 4)),
    "expand-neg1": (lambda t: t[:1].expand(5, -1, -1), lambda t: t[:1].expand(5, -1, -1)),
    "expand-new-dims": (lambda t: t.expand(3, 2, 3, 4), lambda t: t.expand(3, 2, 3, 4)),
    "flatten": (lambda t: t.flatten(), lambda t: t.flatten()),
    "flatten-range": (lambda t: t.flatten(1), lambda t: t.flatten(1)),
    "flatten-mid": (lambda t: t.flatten(0, 1), lambda t: t.flatten(0, 1)),
    "T": (lambda t: t.reshape(6, 4).T, lambda t: t.reshape(6, 4).T),
    "mT": (lambda t: t.mT, lambda t: t.mT),
}


@pytest.mark.parametrize("name", VIEWS)
def test_views_match_torch(name):
    fn, tfn = VIEWS[name]
    want = tfn(torch.tensor(X)).numpy()
    eager = fn(lm.tensor(X))
    assert eager.shape == want.shape
    np.testing.assert_array_equal(eager.numpy(), want)
    np.testing.assert_array_equal(np.asarray(lm.jit(fn, backend="interp")(X)), want)


# ---------------------------------------------------------------- reductions


REDUCTIONS = [
    ("sum", {}), ("sum", {"dim": 1}), ("sum", {"dim": -1, "keepdim": True}),
    ("sum", {"dim": (0, 2)}), ("sum", {"dim": (-1, 0), "keepdim": True}),
    ("mean", {}), ("mean", {"dim": -2}), ("mean", {"dim": (0, 1), "keepdim": True}),
    ("amax", {"dim": 1}), ("amax", {"dim": (0, -1), "keepdim": True}),
    ("amin", {"dim": -1}), ("prod", {"dim": 1}), ("prod", {"dim": 0, "keepdim": True}),
    ("argmax", {"dim": 2}), ("argmax", {"dim": -2, "keepdim": True}), ("argmin", {}),
    ("std", {"dim": 1}), ("var", {"dim": (0, 2), "keepdim": True}),
]


@pytest.mark.parametrize("name,kw", REDUCTIONS, ids=[f"{n}-{k}" for n, k in REDUCTIONS])
def test_reductions_match_torch(name, kw):
    x = np.random.default_rng(1).uniform(0.5, 1.5, (2, 3, 4)).astype(np.float32)
    got = getattr(lm.tensor(x), name)(**kw)
    want = getattr(torch.tensor(x), name)(**kw)
    assert got.shape == tuple(want.shape)
    assert got.dtype.name == str(want.dtype)[6:]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_max_with_dim_returns_values_and_indices():
    x = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)
    for fn in ("max", "min"):
        got = getattr(lm.tensor(x), fn)(dim=1)
        want = getattr(torch.tensor(x), fn)(dim=1)
        values, indices = got
        np.testing.assert_array_equal(values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(indices.numpy(), want.indices.numpy())
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        kept = getattr(lm.tensor(x), fn)(dim=-1, keepdim=True)
        assert kept.values.shape == (3, 1) and kept.indices.dtype == lm.int64
    assert lm.tensor(x).max().shape == ()
    np.testing.assert_array_equal(lm.max(lm.tensor(x), lm.tensor(-x)).numpy(),
                                  np.maximum(x, -x))


def test_integer_and_bool_sums_are_int64():
    assert lm.tensor(np.ones(3, np.int32)).sum().dtype == lm.int64
    assert lm.tensor(np.ones(3, bool)).sum().item() == 3


def test_dim_out_of_range_names_op_shape_and_line():
    t = lm.zeros(2, 3)
    with pytest.raises(IndexError) as info:
        t.sum(dim=2)
    assert "sum" in str(info.value) and "[2, 3]" in str(info.value)
    assert here(-2) in str(info.value)
    with pytest.raises(IndexError, match=r"transpose: dim 3.*\[2, 3\]"):
        t.transpose(0, 3)
    with pytest.raises(IndexError, match="unsqueeze: dim 4"):
        t.unsqueeze(4)
    with pytest.raises(IndexError, match=r"max: dim -3.*\[2, 3\]"):
        t.max(dim=-3)


def test_reshape_errors():
    t = lm.zeros(2, 3)
    with pytest.raises(lm.ShapeError) as info:
        t.reshape(7)
    assert "reshape" in str(info.value) and "[2, 3]" in str(info.value) and "[7]" in str(
        info.value)
    assert here(-3) in str(info.value)
    with pytest.raises(lm.ShapeError, match="only one dim may be -1"):
        t.reshape(-1, -1)
    with pytest.raises(lm.ShapeError, match=r"\[5, -1\]"):
        t.reshape(5, -1)
    with pytest.raises(lm.ShapeError, match="not a permutation"):
        t.permute(0, 0)


# ---------------------------------------------------------------- lm.jit: pytrees, retrace


def test_pytrees_in_and_out_of_jit():
    @lm.jit(backend="interp")
    def f(inputs, scale, flag, nothing):
        assert nothing is None and isinstance(scale, float) and isinstance(flag, bool)
        a, (b, c) = inputs["a"], inputs["bc"]
        out = a * scale + b if flag else a - c
        return {"out": out, "pair": [out.sum(), (c, None)], "static": scale}

    a, b, c = (np.full((2, 2), v, np.float32) for v in (1.0, 2.0, 3.0))
    res = f({"a": a, "bc": (b, c)}, 3.0, True, None)
    np.testing.assert_array_equal(np.asarray(res["out"]), a * 3 + b)
    np.testing.assert_array_equal(np.asarray(res["pair"][0]), (a * 3 + b).sum())
    np.testing.assert_array_equal(np.asarray(res["pair"][1][0]), c)
    assert res["pair"][1][1] is None and res["static"] == 3.0
    assert isinstance(res["pair"], list) and isinstance(res["pair"][1], tuple)
    res2 = f({"a": a, "bc": (b, c)}, 3.0, False, None)  # a static Python value retraces
    np.testing.assert_array_equal(np.asarray(res2["out"]), a - c)
    assert len(f._cache) == 2


def test_python_scalars_are_static_and_tensors_accepted():
    calls = []

    @lm.jit(backend="interp")
    def f(x, k):
        calls.append(k)
        return x * k

    x = np.ones(3, np.float32)
    f(x, 2)
    f(x, 2)
    f(x, 3)
    assert calls == [2, 3]  # traced once per value of k
    np.testing.assert_array_equal(np.asarray(f(lm.tensor(x), 3)), x * 3)  # a Tensor argument
    np.testing.assert_array_equal(np.asarray(f(x, 4)), x * 4)


def test_retrace_on_new_shapes_and_dtypes():
    traces = []

    @lm.jit(backend="interp", dynamic=False)  # every shape its own trace
    def f(x):
        traces.append(x.shape)
        return (x * 2).sum(dim=0)

    for shape in [(3, 4), (3, 4), (5, 4), (5, 2)]:
        x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
        np.testing.assert_array_equal(np.asarray(f(x)), (x * 2).sum(axis=0))
    f(np.ones((3, 4), np.float64))
    assert traces == [(3, 4), (5, 4), (5, 2), (3, 4)]


def test_python_if_on_traced_tensor_is_a_trace_error():
    def f(x):
        if x.sum() > 0:  # the line the error names
            return x
        return -x

    with pytest.raises(lm.TraceError) as info:
        lm.jit(f, backend="interp")(np.ones(3, np.float32))
    message = str(info.value)
    assert "lm.where" in message
    assert f"test_frontend.py:{f.__code__.co_firstlineno + 1}" in message
    with pytest.raises(lm.TraceError, match="item"):
        lm.jit(lambda x: x * x.sum().item(), backend="interp")(np.ones(3, np.float32))


def test_leaked_traced_tensor_is_a_trace_error():
    leaked = []
    lm.jit(lambda x: leaked.append(x * 2) or x, backend="interp")(np.ones(2, np.float32))
    with pytest.raises(lm.TraceError, match="after the trace ended"):
        (leaked[0] + 1).numpy()


def test_wrong_argument_kinds():
    with pytest.raises(lm.ArgumentError, match="set"):
        lm.jit(lambda x: x, backend="interp")({1, 2})
    with pytest.raises(TypeError):
        lm.tensor("abc")
    with pytest.raises(TypeError, match="floating-point"):
        lm.tensor([1, 2], requires_grad=True)


def test_matmul_shape_error_names_shapes_and_line():
    with pytest.raises(lm.ShapeError) as info:
        lm.zeros(2, 3) @ lm.zeros(2, 3)
    assert "matmul" in str(info.value) and "[2, 3]" in str(info.value)
    assert here(-2) in str(info.value)


def test_eager_is_lazy_and_realizes_on_demand():
    a = lm.tensor(np.arange(4, dtype=np.float32))
    b = (a * 2 + 1).exp().log()
    assert b.shape == (4,) and b.dtype == lm.float32
    np.testing.assert_allclose(np.asarray(b), np.arange(4) * 2 + 1, rtol=1e-6)
    assert b.tolist() == pytest.approx([1, 3, 5, 7])
    assert float(b.sum()) == pytest.approx(16)
    assert "tensor(" in repr(b)
