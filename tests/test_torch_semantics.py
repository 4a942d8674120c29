"""torch's semantics, checked against torch itself (the oracle): one regression test per
row of issue 14's wrong-answer table and per crash it lists, then torch's type
promotion, its advanced-indexing placement rule, fresh results, and the unsigned
dtypes on every backend. The exception *types* are in test_torch_exceptions.py."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import compiled_backends

import lamina as lm
import lamina.nn.functional as F
from lamina import dtypes

BACKENDS = compiled_backends()
RNG = np.random.default_rng(14)


def _np(x) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _same(got, want, atol: float = 1e-6) -> None:
    """Same dtype, shape and values (NaNs equal)."""
    g, w = _np(got), _np(want)
    assert str(w.dtype) == str(g.dtype), (g.dtype, w.dtype)
    assert g.shape == w.shape, (g.shape, w.shape)
    np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), atol=atol, rtol=1e-6)


def _dtype_name(dt) -> str:
    return dt.name if isinstance(dt, dtypes.DType) else str(dt).removeprefix("torch.")


def _grads(fn, *arrays, lib):
    """fn's output and the gradient of sum(out * w) for each array input."""
    if lib is torch:
        xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    else:
        xs = [lm.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    w = np.linspace(0.5, 1.5, max(int(np.prod(out.shape)), 1)).reshape(out.shape)
    w = w.astype(_np(out).dtype) if lib is lm else torch.tensor(w, dtype=out.dtype)
    (out * (w if lib is torch else lm.tensor(w))).sum().backward()
    return out, [x.grad for x in xs]


# ---------------------------------------------------------------- the wrong-answer table


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_any_of_floats_and_dim_tuples(backend):
    x = np.array([[0.5, -1.5, 2.0], [0.0, np.nan, 3.0]], np.float32)
    for op in ("all", "any"):
        for dim in (None, 0, 1, (0, 1), ()):
            kw = {} if dim is None else {"dim": dim}
            want = getattr(torch.from_numpy(x), op)(**kw)
            got = lm.jit(lambda t, op=op, kw=kw: getattr(t, op)(**kw), backend=backend)(x)
            _same(got, want)
    empty = np.ones((1, 0, 3, 0, 5), np.float32)
    for op, dim in itertools.product(("all", "any"), ((1, 3), (0, 2), 1, (), None)):
        kw = {} if dim is None else {"dim": dim}
        _same(getattr(lm.tensor(empty), op)(**kw), getattr(torch.from_numpy(empty), op)(**kw))
    u = np.array([[1, 0], [3, 4]], np.uint8)  # torch answers uint8 for uint8 input
    _same(lm.tensor(u).all(1), torch.from_numpy(u).all(1))
    _same(lm.tensor(u).any(), torch.from_numpy(u).any())


def test_index_fill_repeated_index_does_not_accumulate():
    x = RNG.standard_normal((3, 5))
    index = [2, 1, 4, 2, 2]
    for dim in (-1, 1):
        want = torch.from_numpy(x).index_fill(dim, torch.tensor(index), -8.478)
        _same(lm.tensor(x).index_fill(dim, lm.tensor(index), -8.478), want)
    want = torch.from_numpy(x).index_fill(0, torch.tensor([-1, 0, 0]), torch.tensor(2.5))
    _same(lm.index_fill(lm.tensor(x), 0, lm.tensor([-1, 0, 0]), lm.tensor(2.5)), want)
    _, (gl,) = _grads(lambda t: t.index_fill(1, (torch if isinstance(t, torch.Tensor) else lm)
                                             .tensor(index), 0.0), x, lib=lm)
    _, (gt,) = _grads(lambda t: t.index_fill(1, torch.tensor(index), 0.0), x, lib=torch)
    _same(gl, gt)


def test_var_std_follow_torchs_overloads():
    x = RNG.standard_normal((4, 5)).astype(np.float32)
    calls = [((False,), {}), ((True,), {}), ((0,), {}), ((1, False), {}), ((1, False, True), {}),
             ((0, True, True), {}), (((0, 1),), {"keepdim": True}), ((1,), {"correction": 0}),
             ((None,), {"correction": 2}), ((1,), {"unbiased": False, "keepdim": True}), ((), {})]
    for op in ("var", "std"):
        for args, kw in calls:
            want = getattr(torch, op)(torch.from_numpy(x), *args, **kw)
            _same(getattr(lm, op)(lm.tensor(x), *args, **kw), want, atol=1e-5)
            _same(getattr(lm.tensor(x), op)(*args, **kw), want, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_prod_gradient_is_exact_at_zeros(backend):
    rows = np.array([[0, 2, 3, 5], [0, 2, 0, 5], [1, 2, 3, 4], [0, 0, 0, 0],
                     [2, 0.5, 4, 0.25]], np.float32)

    def fn(x):
        return x.prod(1)

    got = lm.jit(lm.grad(lambda x: (fn(x) * lm.tensor([1.0, 2, 3, 4, 5])).sum()),
                 backend=backend)(rows)
    x = torch.from_numpy(rows.astype(np.float64)).requires_grad_()
    (fn(x) * torch.tensor([1.0, 2, 3, 4, 5], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(np.asarray(got), x.grad.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(got)[0], [30, 0, 0, 0])
    np.testing.assert_array_equal(np.asarray(got)[1], [0, 0, 0, 0])
    # the product overflows, torch's prod / x_i is inf / x_i: the exclusive products are not
    big = np.array([[1e20, 1e20, 1e-20, 1.0]], np.float32)
    got = lm.jit(lm.grad(lambda x: x.prod()), backend=backend)(big)
    np.testing.assert_allclose(np.asarray(got)[0, :2], [1.0, 1.0], rtol=1e-6)


def test_prod_gradient_over_several_dims_and_keepdim():
    x = RNG.uniform(-2, 2, (3, 4, 2))
    x[0, 1, 1] = 0.0
    x[2, 0, 0] = x[2, 3, 0] = 0.0
    for kw in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}):
        out, (gl,) = _grads(lambda t, kw=kw: t.prod(**kw), x, lib=lm)
        want, (gt,) = _grads(lambda t, kw=kw: t.prod(**kw), x, lib=torch)
        _same(out, want, atol=1e-9)
        _same(gl, gt, atol=1e-9)


def test_pow_gradients_at_zero_and_negative_bases():
    a = np.array([0.0, 0.0, 0.0, 0.0, -2.0, -2.0, 2.0, 3.0])
    b = np.array([0.0, -1.0, 2.0, 0.5, 1.5, 2.0, 0.0, -0.5])
    out, gl = _grads(lambda x, y: x ** y, a, b, lib=lm)
    want, gt = _grads(lambda x, y: x ** y, a, b, lib=torch)
    _same(out, want)
    for g, w in zip(gl, gt, strict=True):
        _same(g, w)
    for scalar in (0.0, 2.0, 0.5, -1.0, 3.0):  # tensor ** number
        _, (gl,) = _grads(lambda x, s=scalar: x ** s, a, lib=lm)
        _, (gt,) = _grads(lambda x, s=scalar: x ** s, a, lib=torch)
        _same(gl, gt)
    for base in (0.0, -2.0, 2.0):  # number ** tensor
        _, (gl,) = _grads(lambda y, s=base: s ** y, b, lib=lm)
        _, (gt,) = _grads(lambda y, s=base: s ** y, b, lib=torch)
        _same(gl, gt)


def test_clamp_gradient_on_the_bounds():
    x = np.array([-3.0, -2.5, 0.0, 1.5, 2.0, np.nan])
    for lo, hi in ((-2.5, 1.5), (-2.5, None), (None, 1.5), (1.5, -2.5), (np.nan, 1.0)):
        for op in ("clip", "clamp"):
            out, (gl,) = _grads(lambda t, op=op, lo=lo, hi=hi: getattr(t, op)(lo, hi), x, lib=lm)
            want, (gt,) = _grads(lambda t, op=op, lo=lo, hi=hi: getattr(t, op)(lo, hi), x,
                                 lib=torch)
            _same(out, want)
            _same(gl, gt)
    lo, hi = np.array([-1.0, 0.0, 1.0, 2.0, 0.0, 0.5]), np.array([1.0, 0.0, 1.5, 1.0, 0.0, 1.0])
    out, gl = _grads(lambda t, a, b: t.clamp(a, b), x, lo, hi, lib=lm)
    want, gt = _grads(lambda t, a, b: t.clamp(a, b), x, lo, hi, lib=torch)
    _same(out, want)
    for g, w in zip(gl, gt, strict=True):
        _same(g, w)
    _same(lm.tensor([1, 5], dtype=lm.int32).clamp(0.5), torch.tensor([1, 5], dtype=torch.int32)
          .clamp(0.5))


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "float32", "float64"])
def test_linspace_and_arange_follow_torchs_conversion_rules(dtype):
    for start, end, steps in [(5, 10, 3), (0, 10, 4), (-5, 10, 7), (-5.5, 10.7, 6), (3, 1, 5),
                              (0.1, 0.9, 9), (2, 2, 1), (0, 1, 0), (-3.7, -1.2, 2)]:
        if dtype == "uint8" and min(start, end) < 0:
            continue
        want = torch.linspace(start, end, steps, dtype=getattr(torch, dtype))
        _same(lm.linspace(start, end, steps, dtype=dtype), want)
    for args in [(5,), (0.5, 5, 1.3), (-2.5, 5, 1.5), (1, 10, 3), (10, 1, -3), (0.0, 1.0, 0.1),
                 (3, 3), (-7, -1, 2.5)]:
        if dtype == "uint8" and min(args) < 0:
            continue
        try:
            want = torch.arange(*args, dtype=getattr(torch, dtype))
        except (RuntimeError, ValueError) as err:  # int64 with a float step truncated to 0
            with pytest.raises(type(err)):
                lm.arange(*args, dtype=dtype)
            continue
        _same(lm.arange(*args, dtype=dtype), want)
    for args in [(5,), (0.5, 5), (1, 10, 3), (0.0, 1.0, 0.1)]:  # the default dtypes
        _same(lm.arange(*args), torch.arange(*args))
        _same(lm.linspace(args[0], 7, 5), torch.linspace(args[0], 7, 5))


def test_int_tensor_to_a_float_power_is_float():
    i = np.array([1, 2, 3], np.int32)
    for b in (2.0, 0.5, 2, 3, True):
        want = torch.from_numpy(i) ** b
        _same(lm.tensor(i) ** b, want)
        _same(lm.pow(lm.tensor(i), b), want)
    _same(2.0 ** lm.tensor(i), 2.0 ** torch.from_numpy(i))
    _same(2 ** lm.tensor(i), 2 ** torch.from_numpy(i))
    _same(lm.tensor(i) ** lm.tensor(2.0, dtype=lm.float64),
          torch.from_numpy(i) ** torch.tensor(2.0, dtype=torch.float64))


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_pow_is_exact_and_wraps_as_torch(backend):
    a = np.array([3, -3, 7, 2, 5, 0, -1, 1, 2, -1, 0, 4], np.int64)
    b = np.array([39, 39, 22, 63, 30, 0, 7, 100, -1, -3, -2, -2], np.int64)
    f = lm.jit(lambda a, b: a ** b, backend=backend)
    _same(f(a, b), torch.from_numpy(a) ** torch.from_numpy(b))
    for dt in ("int32", "int16", "uint8"):
        x, y = a.astype(dt), np.abs(b).astype(dt)
        _same(f(x, y), torch.from_numpy(x) ** torch.from_numpy(y))
    _same(lm.jit(lambda a: a ** 39, backend=backend)(a), torch.from_numpy(a) ** 39)


def test_zero_dim_ops_return_new_tensors_with_their_own_graph():
    ops = {
        "sum": lambda t: t.sum(), "mean": lambda t: t.mean(), "prod": lambda t: t.prod(),
        "amax": lambda t: t.amax(), "amin": lambda t: t.amin(), "max-dim": lambda t: t.max(0)[0],
        "reshape": lambda t: t.reshape(()), "view": lambda t: t.view(()), "permute": lambda t: t.permute(),
        "expand": lambda t: t.expand(()), "squeeze": lambda t: t.squeeze(), "flip": lambda t: t.flip(0),
        "transpose": lambda t: t.transpose(0, -1), "t": lambda t: t.t(), "sum-dim0": lambda t: t.sum(0),
        "logsumexp": lambda t: t.logsumexp(0), "getitem": lambda t: t[...],
        "broadcast_to": lambda t: lm.broadcast_to(t, ()), "pow1": lambda t: t ** 1,
        "roll": lambda t: t.roll(1), "clone": lambda t: t.clone(), "cat": lambda t: lm.cat([t[None]]),
    }
    for name, fn in ops.items():
        x = lm.tensor(3.0, requires_grad=True)
        y = fn(x)
        assert y is not x, name
        (y * 2.0).sum().backward()
        assert x.grad is not None and float(x.grad) == 2.0, (name, x.grad)
    m = lm.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    for fn in (lambda t: t.reshape(2, 3), lambda t: t.permute(0, 1), lambda t: t.expand(2, 3),
               lambda t: t.squeeze(), lambda t: t.sum(dim=[]) * 0 + t, lambda t: t[:, :],
               lambda t: lm.narrow(t, 0, 0, 2), lambda t: lm.split(t, 2)[0]):
        assert fn(m) is not m
    # torch itself hands back `self` here: so does lamina
    assert m.flatten(1, 1) is m and m.to(lm.float32) is m and m.float() is m and +m is m


def test_factories_reject_negative_sizes_as_torch():
    for fn in (lambda lib: lib.eye(-3, 3), lambda lib: lib.eye(3, -1), lambda lib: lib.full((-3,), 2),
               lambda lib: lib.zeros(2, -1), lambda lib: lib.ones(-1), lambda lib: lib.empty(-2)):
        with pytest.raises(RuntimeError):
            fn(torch)
        with pytest.raises(RuntimeError) as info:
            fn(lm)
        assert isinstance(info.value, lm.LaminaError)


@pytest.mark.parametrize("name", ["uint16", "uint32", "uint64"])
def test_unsigned_dtypes_are_kept(name):
    a = np.array([1, 2, np.iinfo(name).max], name)
    t = lm.tensor(a)
    assert t.dtype.name == name == _dtype_name(torch.from_numpy(a).dtype)
    assert np.asarray(t).dtype == a.dtype
    # the legacy constructor converts to the default float dtype, as torch.Tensor(a)
    assert lm.Tensor(a).dtype.name == _dtype_name(torch.Tensor(a).dtype) == "float32"
    assert (t + 1).dtype.name == name and (t * 2).dtype.name == name  # weak scalars
    assert (t + 1.5).dtype == lm.float32 and t.sum().dtype == lm.int64
    assert lm.tensor([1, 2], dtype=name).dtype.name == name == lm.tensor(a).to(name).dtype.name
    with pytest.raises(RuntimeError):  # torch: "Promotion for uint16, uint32, uint64 ..."
        t + lm.tensor(np.array([1, 1, 1], np.int64))
    np.testing.assert_array_equal(np.asarray(lm.jit(lambda x: x)(a)), a)


_UNSIGNED_OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "floordiv": lambda a, b: a // b, "rem": lambda a, b: a % b, "max": lambda a, b: lm.maximum(a, b),
    "lt-eq": lambda a, b: (a < b) | (a == b), "bits": lambda a, b: (a & b) ^ (a | 5),
    "reduce": lambda a, b: lm.stack([a.amax(), a.amin(), b.argmax().to(b.dtype),
                                     b.argmin().to(b.dtype)]),
    "reduce-dim": lambda a, b: lm.stack([a, b]).amax(0) + lm.stack([a, b]).amin(0),
    "sum": lambda a, b: a.sum() + b.to(lm.int64), "scalars": lambda a, b: a * -1 + (b - 3),
    "casts": lambda a, b: (a.to(lm.float64) * 0.5).to(a.dtype) + b.to(lm.int8).to(a.dtype),
    "select": lambda a, b: lm.where(a < b, a, b)[lm.tensor([5, 0, 3])],
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["uint16", "uint32", "uint64"])
def test_unsigned_dtypes_compile_on_every_backend(backend, name):
    """The interpreter (numpy's wrapping semantics) is the spec the backends must match,
    at the edges of each type's range."""
    top = np.iinfo(name).max
    a = np.array([0, 1, 7, top, top - 3, (top >> 1) + 1], name)
    b = np.array([3, 0, 7, 2, top, 5], name)
    fns = list(_UNSIGNED_OPS.values())
    program = lm.jit(lambda a, b: tuple(f(a, b) for f in fns), backend=backend)
    spec = lm.jit(lambda a, b: tuple(f(a, b) for f in fns), backend="interp")
    with np.errstate(all="ignore"):
        want = spec(a, b)
    for op, g, w in zip(_UNSIGNED_OPS, program(a, b), want, strict=True):
        assert np.asarray(g).dtype == np.asarray(w).dtype, op
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w), err_msg=op)
    with np.errstate(all="ignore"):  # the spec wraps around as numpy does
        np.testing.assert_array_equal(np.asarray(want[0]), a + b)
        np.testing.assert_array_equal(np.asarray(want[1]), a - b)
        np.testing.assert_array_equal(np.asarray(want[8]), [top, 0, 4, 1])


# ---------------------------------------------------------------- advanced indexing

_X = RNG.standard_normal((2, 5, 6, 5, 3, 4)).astype(np.float32)


def _idx(lib, v):
    return (torch.tensor if lib is torch else lm.tensor)(v)


INDICES = {
    "issue-14": lambda m: (1, slice(None), slice(3, 11, 2), _idx(m, [3, 0, 4]), slice(0, 2)),
    "int-slice-adv": lambda m: (1, slice(None), _idx(m, [3, 0, 4])),
    "adv-int-adv": lambda m: (_idx(m, [0, 1, 1]), 1, _idx(m, [2, 0, 1])),
    "adv-slice-adv": lambda m: (_idx(m, [0, 1, 1]), slice(None), _idx(m, [2, 0, 1])),
    "slice-adv-int": lambda m: (slice(None), _idx(m, [3, 0, 4]), slice(None), 1),
    "slice-adv-slice-int": lambda m: (slice(None), _idx(m, [3, 0]), slice(1, 4), 2),
    "adv-int-between": lambda m: (slice(None), _idx(m, [1, 2]), 0, _idx(m, [1, 0])),
    "adv-None-adv": lambda m: (_idx(m, [0, 1]), None, _idx(m, [1, 2])),
    "None-int-adv-None": lambda m: (None, 1, _idx(m, [0, 2]), None),
    "ellipsis-adv-int": lambda m: (Ellipsis, _idx(m, [0, 2]), 1),
    "int-ellipsis-adv": lambda m: (0, Ellipsis, _idx(m, [0, 2]), slice(None)),
    "2d-adv-separated": lambda m: (_idx(m, [[1, 0], [0, 1]]), slice(None), slice(None),
                                   _idx(m, [[1, 0], [2, 1]])),
    "broadcast-adv": lambda m: (_idx(m, [[0], [1]]), slice(None), _idx(m, [0, 2, 4])),
    "bool-scalars": lambda m: (slice(None), True, 1, False),
    "adv-bool": lambda m: (_idx(m, [1, 0]), True),
    "0d-int-tensors": lambda m: (_idx(m, [1, 0]), _idx(m, 3), _idx(m, [1, 2])),
    "0d-bool-tensor": lambda m: (_idx(m, True),),
    "lists-negative": lambda m: ([1, 0], slice(None), [4, -1]),
    "mask-int": lambda m: (1, _idx(m, [True, False, True, False, True])),
    "mask-slice-int": lambda m: (slice(None), _idx(m, [True, False, True, False, True]),
                                 slice(None), 2),
    "all-ints": lambda m: (1, 2, 3, 4, 2, 3),
    "empty-list": lambda m: ([],),
    "step-slices": lambda m: (slice(None, None, 2), slice(1, None, 3), 0, _idx(m, [4, 4])),
}


@pytest.mark.parametrize("name", list(INDICES))
def test_advanced_indexing_places_dims_as_torch(name):
    want = torch.from_numpy(_X)[INDICES[name](torch)]
    got = lm.tensor(_X)[INDICES[name](lm)]
    _same(got, want)


def test_advanced_indexing_under_jit_and_setitem():
    i = np.array([3, 0, 4])
    got = lm.jit(lambda x, i: x[1, :, 3:11:2, i, 0:2], backend="interp")(_X, i)
    _same(got, torch.from_numpy(_X)[1, :, 3:11:2, torch.from_numpy(i), 0:2])
    got = lm.jit(lambda x, k: x[:, k, 1:], backend="interp")(_X[0, 0, 0], np.int64(2))
    _same(got, torch.from_numpy(_X[0, 0, 0])[:, 2, 1:])
    for index in ((0, slice(None), [1, 1, 2]), ([0, 1, 0], 2), (slice(None), [True, False, True,
                                                                     False, True])):
        x, t = lm.tensor(_X[0, 0]), torch.from_numpy(_X[0, 0].copy())
        v = np.arange(np.prod(t[index].shape), dtype=np.float32).reshape(t[index].shape)
        x[index] = lm.tensor(v)
        t[index] = torch.from_numpy(v)
        _same(x, t)  # a repeated position keeps the last value, as torch's CPU does


# ---------------------------------------------------------------- type promotion

_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
           "float32", "float64"]


def _operand(lib, dt: str, kind: str):
    if kind == "scalar":
        return {"bool": True, "int64": 3, "float32": 2.5}[dt]
    shape = (2,) if kind == "dims" else ()
    if lib is torch:
        return torch.ones(shape, dtype=getattr(torch, dt))
    return lm.ones(*shape, dtype=dt)


def test_result_types_match_torch():
    """Every pair of dtypes, as tensors with dims, 0-d tensors and Python numbers."""
    kinds = [(dt, k) for dt in _DTYPES for k in ("dims", "zero")] + \
        [(dt, "scalar") for dt in ("bool", "int64", "float32")]
    checked = 0
    for (da, ka), (db, kb) in itertools.product(kinds, kinds):
        if ka == kb == "scalar":
            continue
        ta, tb = _operand(torch, da, ka), _operand(torch, db, kb)
        la, lb = _operand(lm, da, ka), _operand(lm, db, kb)
        want = _dtype_name(torch.result_type(ta, tb))
        assert _dtype_name(lm.add(la, lb).dtype) == want, (da, ka, db, kb)
        assert _dtype_name(lm.where(lm.tensor(True), la, lb).dtype) == want, (da, ka, db, kb)
        checked += 1
    assert checked > 400


def test_result_dtypes_of_ops_match_torch():
    cases = {
        "true-div-int": lambda m, t: t(3, "int32") / t(2, "int32"),
        "floordiv-int-float": lambda m, t: m.floor_divide(t(3, "int32"), 1.5),
        "remainder-int-float": lambda m, t: m.remainder(t(3, "int32"), 1.5),
        "bool-add": lambda m, t: t(1, "bool") + t(1, "bool"),
        "bool-mul-int": lambda m, t: t(1, "bool") * 2,
        "bool-add-float": lambda m, t: t(1, "bool") + 1.5,
        "uint8-int8": lambda m, t: t(1, "uint8") + t(1, "int8"),
        "uint8-neg-scalar": lambda m, t: t(1, "uint8") + -1,
        "uint8-overflow-scalar": lambda m, t: t(1, "uint8") + 300,
        "int8-overflow-scalar": lambda m, t: t(1, "int8") + 1000,
        "int-eq-float-scalar": lambda m, t: t(2, "int32") == 2.5,
        "uint8-eq-minus-one": lambda m, t: t(255, "uint8") == -1,
        "sum-bool": lambda m, t: t(1, "bool").sum(),
        "sum-uint8": lambda m, t: t(200, "uint8").sum(),
        "prod-int32": lambda m, t: t(3, "int32").prod(),
        "sum-dtype": lambda m, t: t(2.5, "float32").sum(dtype=m.int32),
        "mean-dtype": lambda m, t: t(2, "int64").mean(dtype=m.float64),
        "sqrt-int": lambda m, t: m.sqrt(t(4, "int64")),
        "exp-bool": lambda m, t: m.exp(t(1, "bool")),
        "sigmoid-f16": lambda m, t: m.sigmoid(t(1, "float16")),
        "logsumexp-int": lambda m, t: m.logsumexp(t(1, "int64"), 0),
        "argmax": lambda m, t: t(1.5, "float64").argmax(),
        "abs-int8": lambda m, t: t(-3, "int8").abs(),
        "where-scalars": lambda m, t: m.where(t(1, "bool"), 1, 2.5),
        "where-int-scalars": lambda m, t: m.where(t(1, "bool"), 1, 2),
        "clamp-int-float": lambda m, t: m.clamp(t(3, "int32"), 0.5, 2),
        "maximum-mixed": lambda m, t: m.maximum(t(1, "int32"), t(1, "float16")),
        "full-bool": lambda m, t: m.full((2,), True),
        "full-int": lambda m, t: m.full((2,), 3),
        "full-float": lambda m, t: m.full((2,), 3.5),
        "arange-int": lambda m, t: m.arange(3),
        "arange-float": lambda m, t: m.arange(0.5, 3),
        "linspace": lambda m, t: m.linspace(1, 3, 3),
        "zero-dim-f64-with-int": lambda m, t: t(2, "int32") * m.tensor(2.0, dtype=m.float64),
        "zero-dim-i64-with-i16": lambda m, t: t(2, "int16") * m.tensor(2),
        "pow-int-zero-dim-float": lambda m, t: t(2, "int32") ** m.tensor(0.5),
    }
    def tensor(v, dt, m):
        return m.tensor([v], dtype=getattr(m, dt) if m is torch else dt)

    for name, fn in cases.items():
        want = fn(torch, lambda v, dt: tensor(v, dt, torch))
        got = fn(lm, lambda v, dt: tensor(v, dt, lm))
        assert _dtype_name(got.dtype) == _dtype_name(want.dtype), name
        _same(got, want, atol=1e-3)


# ---------------------------------------------------------------- crashes that were


@pytest.mark.parametrize("backend", BACKENDS)
def test_cat_of_empty_tensors(backend):
    pieces = [np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32)]
    out = lm.jit(lambda a, b: lm.cat([a, b]), backend=backend)(*pieces)
    assert np.asarray(out).shape == (0, 3)
    legacy = [np.zeros((0,), np.float32), np.ones((2, 3), np.float32)]  # torch skips 1-D empties
    _same(lm.cat([lm.tensor(a) for a in legacy]), torch.cat([torch.from_numpy(a) for a in legacy]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_matmul_of_empty_operands(backend):
    for sa, sb in [((0,), (0,)), ((3, 0), (0,)), ((0,), (0, 4)), ((2, 3, 0), (2, 0, 4)),
                   ((2, 0, 3), (3, 4)), ((0, 3), (3, 2))]:
        a, b = np.ones(sa, np.float32), np.ones(sb, np.float32)
        _same(lm.jit(lambda a, b: a @ b, backend=backend)(a, b),
              torch.from_numpy(a) @ torch.from_numpy(b))


def test_zero_dim_transpose_gather_scatter_narrow():
    s = np.float32(2.0)
    _same(lm.jit(lambda x: x.transpose(0, -1) * 2.0)(s), torch.tensor(2.0).transpose(0, -1) * 2)
    _same(lm.gather(lm.tensor(2.0), 0, lm.tensor(0)), torch.gather(torch.tensor(2.0), 0,
                                                                   torch.tensor(0)))
    _same(lm.gather(lm.tensor(2.0), 0, lm.tensor([0, 0])),
          torch.gather(torch.tensor(2.0), 0, torch.tensor([0, 0])))
    _same(lm.scatter_add(lm.tensor(2.0), 0, lm.tensor([0, 0]), lm.tensor([1.0, 2.0])),
          torch.scatter_add(torch.tensor(2.0), 0, torch.tensor([0, 0]), torch.tensor([1.0, 2.0])))
    x = np.arange(10.0, dtype=np.float32).reshape(2, 5)
    want = torch.narrow(torch.from_numpy(x), 1, torch.tensor(1), 2)
    _same(lm.narrow(lm.tensor(x), 1, lm.tensor(1), 2), want)
    _same(lm.jit(lambda x, s: lm.narrow(x, 1, s, 2), backend="interp")(x, np.int64(1)), want)
    _same(lm.jit(lambda x, s: x.narrow(-1, s, 3), backend="interp")(x, np.int64(-3)),
          torch.from_numpy(x).narrow(-1, -3, 3))


def test_normalize_for_every_p():
    x = RNG.standard_normal((3, 4)).astype(np.float64)
    x[1] = 0.0
    x[2, 1] = 0.0
    for p in (0, 1, 2, 3, 0.5, -1.5, float("inf"), float("-inf")):
        out, (gl,) = _grads(lambda t, p=p: F.normalize(t, p=p), x, lib=lm)
        want, (gt,) = _grads(lambda t, p=p: torch.nn.functional.normalize(t, p=p), x, lib=torch)
        _same(out, want, atol=1e-9)
        _same(gl, gt, atol=1e-6)


def test_argument_forms_torch_accepts():
    assert lm.broadcast_shapes((5, 1), 5) == tuple(torch.broadcast_shapes((5, 1), 5))
    assert lm.broadcast_shapes(3, (2, 1)) == tuple(torch.broadcast_shapes(3, (2, 1)))
    x = lm.ones(3)
    assert x.to("cpu", torch.float64, True, True).dtype == lm.float64
    assert x.to("cpu", lm.int32).dtype == lm.int32
    assert x.to(torch.device("cpu"), dtype=torch.float16).dtype == lm.float16
    assert x.to(lm.zeros(1, dtype=lm.int64)).dtype == lm.int64
    assert x.to(torch.float64, copy=True).dtype == lm.float64
    assert x.to("cpu") is x and x.to("cpu", copy=True) is not x
    with pytest.raises(TypeError):  # torch: TypeError for a dtype that is no dtype
        x.sum(dtype="")


def test_triton_imported_before_lamina():
    """torch/triton users import triton first: its own @triton.jit functions (tl.sum, ...)
    must still run in the interpreter (they were made before TRITON_INTERPRET was set)."""
    if "triton" not in BACKENDS:
        pytest.skip("no triton backend")
    program = textwrap.dedent("""
        import triton
        import numpy as np
        import lamina as lm
        import lamina.nn.functional as F
        x = np.random.default_rng(0).random((4, 8)).astype(np.float32)
        f = lm.jit(lambda x: (F.softmax(x, -1), x.amax(1), x.argmax(1), x.prod(1)),
                   backend="triton")
        s, m, a, p = (np.asarray(v) for v in f(x))
        assert np.allclose(s.sum(1), 1) and np.allclose(m, x.max(1))
        assert (a == x.argmax(1)).all() and np.allclose(p, x.prod(1))
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


@pytest.mark.parametrize("backend", ["interp", "c", "triton"])
def test_fuzzer_found_sign_of_zero_nan_gradient_and_var_of_one(backend):
    """Found by the differential fuzzer: -0.0 + 0.0 is +0.0 (the canonicalizer folded
    x + 0.0 to x); maximum/minimum pass the gradient to both operands where one is NaN
    (torch's rule); var of one element is NaN even where C contracts into an fma."""
    neg_zero = np.array([-0.0, 1.0], np.float32)
    got = np.asarray(lm.jit(lambda x: x + 0.0, backend=backend)(neg_zero))
    assert not np.signbit(got[0])
    assert np.signbit(np.asarray(lm.jit(lambda x: x - 0.0, backend=backend)(neg_zero))[0])
    a = np.array([np.nan, 1.0, 0.5, 0.3], np.float32)
    b = np.array([0.5, 0.5, 0.5, 0.7], np.float32)
    for name in ("maximum", "minimum"):
        got = lm.jit(lm.grad(lambda x, y, f=getattr(lm, name): f(x, y).sum(), argnums=(0, 1)),
                     backend=backend)(a, b)
        ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        getattr(torch, name)(ta, tb).sum().backward()
        np.testing.assert_array_equal(np.asarray(got[0]), ta.grad.numpy())
        np.testing.assert_array_equal(np.asarray(got[1]), tb.grad.numpy())
    x = np.array([[-2.4585752, 2.093585]], np.float32)
    got = np.asarray(lm.jit(lambda t: ((t * t).var(0), (t * t).std(0)), backend=backend)(x))
    assert np.isnan(got).all()


@pytest.mark.parametrize("backend", ["interp", "c", "triton"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_remainder_by_a_constant(backend, dtype):
    """x % -1.5 (a splat divisor): Triton's interpreter refused the xor of the sign tests
    (fuzzer seeds 5002, 5062, 5136)."""
    x = np.array([0.3, -2.0, 5.0, -0.0, 0.0, 1.5], dtype)
    got = np.asarray(lm.jit(lambda t: t % -1.5, backend=backend)(x))
    want = (torch.tensor(x) % -1.5).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("backend", ["interp", "c", "triton"])
def test_logical_ops_of_a_broadcast_float(backend):
    """logical_or/and/xor of a (1,)-shaped float with a vector (fuzzer seed 5208: Triton's
    interpreter refused `|` of int1 blocks when one came from a scalar comparison)."""
    x = np.array([1.3, 0.0, np.nan], np.float32)
    for y in (np.array([0.0], np.float32), np.array([0.5], np.float32)):
        for name in ("logical_or", "logical_and", "logical_xor"):
            got = lm.jit(lambda a, b, f=getattr(lm, name): f(a, b), backend=backend)(y, x)
            want = getattr(torch, name)(torch.tensor(y), torch.tensor(x))
            np.testing.assert_array_equal(np.asarray(got), want.numpy())


def test_squeeze_of_no_dims_and_masked_fill_dtype():
    """OpInfo's remaining semantics rows: squeeze(x, ()) squeezes nothing; masked_fill
    keeps self's dtype (the value is cast, as torch)."""
    x = np.ones((1, 1, 1, 1), np.float32)
    assert lm.tensor(x).squeeze(()).shape == tuple(torch.tensor(x).squeeze(()).shape)
    cases = [(np.array([True, False]), 10), (np.array([1, 2]), 2.7), (np.array([1.0, 2.0]), 5)]
    for data, value in cases:
        mask = np.array([True, False])
        got = lm.tensor(data).masked_fill(lm.tensor(mask), value)
        want = torch.tensor(data).masked_fill(torch.tensor(mask), value)
        assert got.dtype.name == str(want.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(np.asarray(got), want.numpy())


@pytest.mark.parametrize("backend", ["eager", "interp", "c", "triton"])
def test_take_along_dim_wraps_negative_indices(backend):
    x = np.arange(25, dtype=np.float32).reshape(5, 5)
    idx = np.array([[-5, -1], [-2, 0], [3, -3], [1, 1], [-4, 2]])
    fn = lambda a, b: lm.take_along_dim(a, b, 1)
    got = fn(lm.tensor(x), lm.tensor(idx)) if backend == "eager" else \
        lm.jit(fn, backend=backend)(x, idx)
    want = torch.take_along_dim(torch.tensor(x), torch.tensor(idx), 1)
    np.testing.assert_array_equal(np.asarray(got), want.numpy())
