"""Indexing and data movement against numpy and torch: many index forms (eager and
jitted), assignment, joining/splitting, gathers, padding, and the error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina as lm
from lamina.dialects.hl.indexing import IndexOutOfRangeError


@pytest.fixture(autouse=True)
def _interpreter(monkeypatch):
    """Semantics run on the reference interpreter; compiled backends are held to it by
    the op table (tests/cases_indexing.py) and by the one backend test below."""
    monkeypatch.setenv("LAMINA_BACKEND", "interp")


X = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5) * 0.5 - 3.0

INDICES = [
    0, -1, (1, 2), (1, 2, -1), (slice(None), 1), (Ellipsis, 2), (Ellipsis, slice(1, 4)),
    (slice(None, None, 2), slice(None), slice(1, None, 3)), (None,), (0, None, slice(None), None),
    (Ellipsis, None), (slice(None, None, -1),), (slice(None), slice(None, None, -2)),
    (slice(3, 0, -1),), (1, slice(4, None, -3)), (slice(5, 10),), (slice(-10, 2),),
    ([1, 0, 1],), (slice(None), [2, 0]), (Ellipsis, [4, -5, 0]), ([0, 1], [2, 0]),
    ([[0], [1]], slice(None), [1, 3]), (1, [0, 2], [4, 1]), (slice(None), [0, 2], 3),
    ([0, 1], slice(None), 2), (None, [1], slice(None), 0), (np.array([[1, 0]]),),
    (X > 0,), (slice(None), np.array([True, False, True])), (0, X[0] < 0),
    (slice(0, 0),),
]


def _ids(values):
    return [str(i) for i in range(len(values))]


@pytest.mark.parametrize("index", INDICES, ids=_ids(INDICES))
def test_getitem_matches_numpy_eager_and_jit(index):
    want = X[index]
    eager = lm.tensor(X)[index].numpy()
    jitted = np.asarray(lm.jit(lambda x: x[index], backend="interp")(X))
    for got in (eager, jitted):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def _torch_accepts(index) -> bool:
    """torch has no negative slice steps."""
    items = index if isinstance(index, tuple) else (index,)
    return not any(isinstance(i, slice) and (i.step or 1) < 0 for i in items)


TORCH_INDICES = [i for i in INDICES if _torch_accepts(i)]


@pytest.mark.parametrize("index", TORCH_INDICES, ids=_ids(TORCH_INDICES))
def test_getitem_matches_torch(index):
    want = torch.tensor(X)[index].numpy()
    np.testing.assert_array_equal(lm.tensor(X)[index].numpy(), want)


def test_index_tensors_traced_and_negative():
    i = np.array([[2, -1], [0, 1]])
    f = lm.jit(lambda x, i: x[:, i], backend="interp")
    np.testing.assert_array_equal(np.asarray(f(X, i)), X[:, i])
    f2 = lm.jit(lambda x, i, j: x[i, 1, j], backend="interp")
    i, j = np.array([1, 0, -2]), np.array([[4], [0]])
    np.testing.assert_array_equal(np.asarray(f2(X, i, j)), X[i, 1, j])


_slice_part = st.one_of(st.none(), st.integers(-7, 7))


@st.composite
def basic_index(draw):
    items = []
    for n in X.shape:
        kind = draw(st.sampled_from(["int", "slice", "none-then-slice", "skip"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "skip":
            items.append(slice(None))
        else:
            if kind == "none-then-slice":
                items.append(None)
            step = draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
            items.append(slice(draw(_slice_part), draw(_slice_part), step))
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(items)))
        items = items[:cut] + [Ellipsis]
    return tuple(items)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(basic_index())
def test_basic_indexing_property(index):
    np.testing.assert_array_equal(lm.tensor(X)[index].numpy(), X[index])


SET_CASES = [
    ((slice(None), 1), 9.0), ((0, slice(None), slice(1, 4)), np.array([1.0, 2.0, 3.0], np.float32)),
    ((Ellipsis, slice(None, None, 2)), -1.0), ((slice(None, None, -1), 0), np.array([[7.0], [8.0]],
                                                                              np.float32)),
    (([1, 0], slice(None), [4, 0]), 5.0), ((slice(None), [2, 0]), np.ones((1, 5), np.float32)),
    ((X > 1,), 0.0), ((1, 2, 3), 4.0), ((None, 0, slice(1, 3)), 6.0),
]


@pytest.mark.parametrize("index,value", SET_CASES, ids=_ids(SET_CASES))
def test_setitem_matches_numpy(index, value):
    want = X.copy()
    want[index] = value

    def f(x):
        y = x * 1.0
        y[index] = value
        return y

    np.testing.assert_array_equal(np.asarray(lm.jit(f, backend="interp")(X)), want)
    eager = lm.tensor(X)
    eager[index] = value
    np.testing.assert_array_equal(eager.numpy(), want)


def test_setitem_bool_and_int_tensors():
    b = np.array([True, False, True, False])
    t = lm.tensor(b)
    t[1:3] = True
    np.testing.assert_array_equal(t.numpy(), [True, True, True, False])
    t[[0, 3]] = False
    np.testing.assert_array_equal(t.numpy(), [False, True, True, False])
    i = lm.tensor(np.arange(6, dtype=np.int32))
    i[::2] = -1
    np.testing.assert_array_equal(i.numpy(), [-1, 1, -1, 3, -1, 5])


def test_gradients_through_getitem_and_setitem_match_torch():
    def f(x, v):
        y = x[:, ::2, [0, 4]] * 2.0
        z = x * 1.0
        z[1, 1:] = v
        return (y.sum() + (z * z).sum())

    v = np.full((2, 5), 0.5, np.float32)
    gx, gv = lm.grad(f, argnums=(0, 1))(X, v)
    tx = torch.tensor(X, requires_grad=True)
    tv = torch.tensor(v, requires_grad=True)
    y = tx[:, ::2][:, :, [0, 4]] * 2.0
    z = tx * 1.0
    z[1, 1:] = tv
    (y.sum() + (z * z).sum()).backward()
    np.testing.assert_allclose(np.asarray(gx), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gv), tv.grad.numpy(), rtol=1e-6)


# ---------------------------------------------------------------- data movement vs torch

A = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
IDX = np.array([[[1, 0, 2, 2, 0]] * 4, [[0] * 5] * 4, [[2, 1, 0, 1, 2]] * 4])  # (3, 4, 5)

MOVES = [
    ("cat", lambda m, a: m.cat([a, a[:, :2]], dim=1)),
    ("cat-neg-dim", lambda m, a: m.cat([a, a * 2], -1)),
    ("stack", lambda m, a: m.stack([a, a + 1, a], dim=2)),
    ("stack-last", lambda m, a: m.stack([a, a], -1)),
    ("split-int", lambda m, a: m.split(a, 2, dim=2)),
    ("split-sections", lambda m, a: m.split(a, [1, 3], dim=1)),
    ("chunk", lambda m, a: m.chunk(a, 3, dim=1)),
    ("narrow", lambda m, a: m.narrow(a, 2, 1, 3)),
    ("select", lambda m, a: m.select(a, 1, -1)),
    ("unbind", lambda m, a: m.unbind(a, 0)),
    ("flip", lambda m, a: m.flip(a, (0, -1))),
    ("roll", lambda m, a: m.roll(a, (1, -2), (0, 2))),
    ("roll-flat", lambda m, a: m.roll(a, 7)),
    ("index_select", lambda m, a: m.index_select(a, 2, _idx(m, [4, 0, 0, 2]))),
    ("gather", lambda m, a: m.gather(a, 0, _idx(m, IDX))),
    ("gather-smaller", lambda m, a: m.gather(a, 2, _idx(m, IDX[:2, :3, :2]))),
    ("take_along_dim", lambda m, a: m.take_along_dim(a, _idx(m, IDX[:, :1, :]), dim=0)),
    ("take_along_dim-flat", lambda m, a: m.take_along_dim(a, _idx(m, [59, 0, 7]))),
    ("scatter_add", lambda m, a: m.scatter_add(a, 0, _idx(m, IDX[:2]), a[:2] * 3)),
    ("index_add", lambda m, a: a.index_add(1, _idx(m, [0, 0, 3]), a[:, :3] * 2)),
    ("tril", lambda m, a: m.tril(a, 1)),
    ("triu", lambda m, a: m.triu(a, -2)),
    ("pad", lambda m, a: _pad(m)(a, (1, 2, 0, 0, 2, 1), value=-1.0)),
    ("pad-crop", lambda m, a: _pad(m)(a, (-1, -2, 1, 0))),
]


def _idx(m, v):
    return m.tensor(np.asarray(v), dtype=m.int64)


def _pad(m):
    return TF.pad if m is torch else lm.pad


@pytest.mark.parametrize("name,fn", MOVES, ids=[n for n, _ in MOVES])
def test_data_movement_matches_torch(name, fn):
    want = fn(torch, torch.tensor(A))
    got = fn(lm, lm.tensor(A))
    if isinstance(want, tuple | list):
        assert len(got) == len(want)
    else:
        got, want = [got], [want]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6, atol=1e-6)


def test_embedding_and_one_hot():
    w = np.arange(12, dtype=np.float32).reshape(6, 2)
    i = np.array([[5, 0], [2, 2]], np.int32)
    np.testing.assert_array_equal(lm.embedding(i, lm.tensor(w)).numpy(), w[i])
    oh = lm.one_hot(lm.tensor(np.array([2, 0, 3])), 5)
    np.testing.assert_array_equal(oh.numpy(), TF.one_hot(torch.tensor([2, 0, 3]), 5).numpy())
    assert oh.dtype == lm.int64
    assert lm.one_hot(lm.tensor(np.array([1, 3]))).shape == (2, 4)


def test_jitted_data_movement_on_every_backend(backend):
    def f(a, i):
        parts = lm.split(a, 2, dim=2)
        return lm.cat([parts[-1], parts[0]], 2) + lm.gather(a, 1, i).sum()

    i = IDX[:, :2, :] % 4
    want = torch.cat([torch.tensor(A)[..., 4:], torch.tensor(A)[..., :2]], 2) \
        + torch.gather(torch.tensor(A), 1, torch.tensor(i)).sum()
    got = lm.jit(f, backend=backend)(A, i)
    np.testing.assert_allclose(np.asarray(got), want.numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- errors


def test_out_of_range_int_index_names_op_shape_and_line():
    with pytest.raises(IndexError) as info:
        lm.tensor(X)[0, 3]
    message = str(info.value)
    assert "getitem: index 3 is out of range for dim 1 of size 3" in message
    assert "[2, 3, 5]" in message and "test_indexing.py" in message
    assert isinstance(info.value, IndexOutOfRangeError)


def test_out_of_range_static_array_and_too_many_indices():
    with pytest.raises(IndexOutOfRangeError, match="index -4 is out of range for dim 1"):
        lm.tensor(X)[:, [0, -4]]
    with pytest.raises(IndexError, match="too many indices"):
        lm.tensor(X)[0, 0, 0, 0]


def test_interpreter_raises_for_out_of_range_index_tensor():
    f = lm.jit(lambda t, i: t.index_select(0, i), backend="interp")
    with pytest.raises(IndexOutOfRangeError) as info:
        f(A, np.array([0, 3]))
    message = str(info.value)
    assert "hl.gather: index 3 is out of range for axis 0 of size 3" in message
    assert "tensor<3x4x5xf32>" in message


def test_traced_bool_mask_is_a_clear_error():
    with pytest.raises(lm.TraceError, match="boolean mask of shape \\[2, 3, 5\\]"):
        lm.jit(lambda x: x[x > 0], backend="interp")(X)


def test_joining_errors():
    a = lm.tensor(A)
    with pytest.raises(lm.ShapeError, match=r"cat: shapes \[\[3, 4, 5\], \[3, 2, 5\]\] must "
                       r"agree except in dim 2") as info:
        lm.cat([a, a[:, :2]], dim=2)
    assert "test_indexing.py" in str(info.value)
    with pytest.raises(lm.ShapeError, match="stack: all tensors must have one shape"):
        lm.stack([a, a[0]])
    with pytest.raises(lm.ShapeError, match=r"split: sections \[1, 1\] do not add up to 4"):
        lm.split(a, [1, 1], dim=1)
    with pytest.raises(lm.ShapeError, match="gather: index of shape"):
        lm.gather(a, 0, lm.tensor(np.zeros((3, 5, 5), np.int64)))
    with pytest.raises(IndexError, match="gather: index 7 is out of range for dim 2"):
        lm.gather(a, 2, lm.tensor(np.full((3, 4, 5), 7)))
    with pytest.raises(lm.DTypeError, match="index_select: indices must be an integer"):
        lm.index_select(a, 0, lm.tensor(np.array([0.0])))
    with pytest.raises(lm.ArgumentError, match="only mode='constant'"):
        lm.pad(a, (1, 1), mode="reflect")


def test_narrow_integer_index_tensors():
    x = np.arange(300, dtype=np.float32)
    i = np.array([-1, 5, 2], dtype=np.int16)
    got = lm.jit(lambda x, i: x[i], backend="interp")(x, i)
    np.testing.assert_array_equal(np.asarray(got), x[i])


def test_eager_backward_through_indexing():
    x = lm.tensor(A, requires_grad=True)
    (x[1:, [0, 3]] * lm.flip(x, 0)[1:, [0, 3]]).sum().backward()
    t = torch.tensor(A, requires_grad=True)
    (t[1:, [0, 3]] * torch.flip(t, (0,))[1:, [0, 3]]).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(basic_index())
def test_basic_setitem_property(index):
    want = X.copy()
    want[index] = -9.0
    t = lm.tensor(X)
    t[index] = -9.0
    np.testing.assert_array_equal(t.numpy(), want)


def _op_names(fn, *args) -> list[str]:
    module = lm.jit(fn, backend="interp").trace(*args)
    return [op.name for op in module.walk() if op.name.startswith("hl.")]


def test_basic_indexing_is_one_slice():
    assert _op_names(lambda x: x[1:, ::2, 3], X) == ["hl.slice", "hl.reshape"]
    assert _op_names(lambda x: x[::-1, 1], X) == ["hl.slice", "hl.reverse", "hl.reshape"]
    # a new tensor (as torch's), through one identity reshape that canonicalize removes
    assert _op_names(lambda x: x[:, :], X) == ["hl.reshape"]
    names = _op_names(lambda x, i: x[:, i, 1:], X, np.array([0, 2]))
    assert names.count("hl.gather") == 1 and names.count("hl.slice") == 1


def test_eager_bool_mask_from_a_lazy_tensor():
    t = lm.tensor(X)
    np.testing.assert_array_equal(t[t > 0].numpy(), X[X > 0])
    t[t < 0] = 0.0
    np.testing.assert_array_equal(t.numpy(), np.maximum(X, 0))
