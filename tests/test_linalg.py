"""matmul, convolution and pooling: forward against torch.nn.functional, gradients
against torch.autograd and central finite differences (float64, interpreter),
second derivatives against torch's double backward, and the error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina as lm
from lamina.errors import ArgumentError, DTypeError, ShapeError

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")
rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def run(fn, *args):
    return np.asarray(lm.jit(fn, backend="interp")(*args))


def torch_run(fn, *args):
    return fn(*(torch.tensor(a) for a in args)).detach().numpy()


def grads(fn, args, argnums):
    """lamina gradients of sum(fn(*args) * weight), on the interpreter."""
    weight = rng.uniform(0.5, 1.5, np.shape(run(fn, *args)))

    def loss(*xs):
        return (fn(*xs) * weight).sum()

    got = lm.jit(lm.grad(loss, argnums=argnums), backend="interp")(*args)
    got = [np.asarray(g) for g in (got if isinstance(got, tuple) else (got,))]
    return got, weight


def torch_grads(torch_fn, args, argnums, weight):
    ts = [torch.tensor(a, requires_grad=i in argnums) for i, a in enumerate(args)]
    (torch_fn(*ts) * torch.tensor(weight)).sum().backward()
    return [ts[i].grad.numpy() for i in argnums]


def finite_differences(fn, args, argnums, weight, eps=1e-6):
    loss = lm.jit(lambda *xs: (fn(*xs) * weight).sum(), backend="interp")
    out = []
    for i in argnums:
        g = np.zeros_like(args[i])
        for j in np.ndindex(args[i].shape):
            vals = []
            for step in (eps, -eps):
                shifted = list(args)
                shifted[i] = args[i].copy()
                shifted[i][j] += step
                vals.append(float(np.asarray(loss(*shifted))))
            g[j] = (vals[0] - vals[1]) / (2 * eps)
        out.append(g)
    return out


def check_grads(fn, torch_fn, args, argnums, fd=True):
    got, weight = grads(fn, args, argnums)
    for g, want in zip(got, torch_grads(torch_fn, args, argnums, weight), strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-9)
    if fd:
        for g, want in zip(got, finite_differences(fn, args, argnums, weight), strict=True):
            np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- matmul


MATMUL_SHAPES = [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
                 ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4,)),
                 ((4,), (2, 4, 3)), ((1, 3, 4), (2, 4, 5))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=str)
def test_matmul_forward_and_grads(sa, sb):
    a, b = randn(*sa), randn(*sb)
    np.testing.assert_allclose(run(lambda a, b: a @ b, a, b), np.matmul(a, b), rtol=1e-12)
    check_grads(lambda a, b: lm.matmul(a, b), torch.matmul, [a, b], (0, 1), fd=len(sa) < 4)


@st.composite
def _matmul_shapes(draw):
    """Operand shapes torch.matmul accepts: 1-D or batched, batch dims broadcasting."""
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    a_batch = [draw(st.sampled_from([b, 1])) for b in batch]
    b_batch = [draw(st.sampled_from([b, 1])) for b in batch][draw(st.integers(0, len(batch))):]
    sa = [k] if draw(st.booleans()) else [*a_batch, m, k]
    sb = [k] if draw(st.booleans()) else [*b_batch, k, n]
    return tuple(sa), tuple(sb)


@settings(max_examples=30, deadline=None)
@given(_matmul_shapes())
def test_matmul_property_against_numpy(shapes):
    sa, sb = shapes
    a, b = randn(*sa), randn(*sb)
    np.testing.assert_allclose(run(lambda a, b: a @ b, a, b), np.matmul(a, b), rtol=1e-12,
                               atol=1e-12)


def test_matmul_promotes_dtypes_and_integers():
    a, b = randn(3, 4, dtype=np.float32), randn(4, 2)
    out = lm.jit(lambda a, b: a @ b, backend="interp")(a, b)
    assert out.dtype == lm.float64
    i, j = rng.integers(-5, 5, (3, 4)), rng.integers(-5, 5, (4, 2)).astype(np.int32)
    out = lm.jit(lambda a, b: lm.matmul(a, b), backend="interp")(i, j)
    assert out.dtype == lm.int64
    np.testing.assert_array_equal(np.asarray(out), i @ j)


def test_matmul_family():
    a, b, v = randn(3, 4), randn(4, 5), randn(4)
    x, y = randn(2, 3, 4), randn(2, 4, 5)
    np.testing.assert_allclose(run(lm.mm, a, b), a @ b)
    np.testing.assert_allclose(run(lm.bmm, x, y), x @ y)
    np.testing.assert_allclose(run(lm.mv, a, v), a @ v)
    np.testing.assert_allclose(run(lm.dot, v, v), v @ v)
    np.testing.assert_allclose(run(lm.outer, v, b[0]), np.outer(v, b[0]))
    w, bias = randn(5, 4), randn(5)
    np.testing.assert_allclose(run(lm.linear, x, w, bias), torch_run(TF.linear, x, w, bias))
    np.testing.assert_allclose(run(lambda x, w: x.matmul(w), a, b), a @ b)


def test_matmul_eager_and_ir():
    a, b = randn(3, 4, dtype=np.float32), randn(4, 2, dtype=np.float32)
    np.testing.assert_allclose((lm.tensor(a) @ lm.tensor(b)).numpy(), a @ b, rtol=1e-5)
    hl = lm.jit(lambda a, b: a @ b).lower(a, b, backend="interp").ir("hl")
    assert "hl.matmul" in hl


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]), ("i,i->", [(4,), (4,)]), ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]), ("ijk->j", [(2, 3, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("ab,cd->", [(2, 3), (4, 5)]),
    ("Ab,bC->AC", [(2, 3), (3, 4)]), ("i...,i...", [(3, 2), (3, 2)]),
    ("ij,ij->i", [(3, 4), (1, 4)]), ("bij,bjk->ik", [(2, 3, 4), (2, 4, 5)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_against_torch(equation, shapes):
    args = [randn(*s) for s in shapes]
    got = run(lambda *xs: lm.einsum(equation, *xs), *args)
    want = torch.einsum(equation, *(torch.tensor(a) for a in args)).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    check_grads(lambda *xs: lm.einsum(equation, *xs),
                lambda *xs: torch.einsum(equation, *xs), args, tuple(range(len(args))),
                fd=False)


def test_einsum_lowers_to_matmul():
    a, b = randn(2, 3, 4), randn(2, 4, 5)
    ir = lm.jit(lambda a, b: lm.einsum("bij,bjk->bik", a, b)).lower(
        a, b, backend="interp").ir("hl")
    assert ir.count("hl.matmul") == 1


# ---------------------------------------------------------------- conv


CONV2D = [  # x shape, w shape, kwargs
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((1, 2, 8, 8), (3, 2, 3, 3), dict(stride=2, padding=1)),
    ((1, 2, 9, 7), (2, 2, 2, 3), dict(stride=(3, 2), padding=(2, 0))),
    ((2, 4, 6, 6), (4, 2, 3, 3), dict(dilation=2, padding=1, groups=2)),
    ((1, 4, 7, 7), (4, 1, 3, 3), dict(groups=4, stride=2)),
    ((1, 2, 7, 8), (3, 2, 4, 3), dict(padding="same", dilation=(1, 2))),
    ((1, 2, 5, 5), (3, 2, 5, 5), dict(padding="valid")),
    ((1, 6, 10, 9), (4, 3, 3, 2), dict(stride=3, padding=(2, 1), dilation=(2, 3), groups=2)),
]


@pytest.mark.parametrize("sx,sw,kw", CONV2D, ids=[str(c[2]) for c in CONV2D])
def test_conv2d_forward_and_grads(sx, sw, kw):
    x, w, b = randn(*sx), randn(*sw), randn(sw[0])

    def fn(x, w, b):
        return lm.conv2d(x, w, b, **kw)

    def torch_fn(x, w, b):
        return TF.conv2d(x, w, b, **kw)

    np.testing.assert_allclose(run(fn, x, w, b), torch_run(torch_fn, x, w, b), rtol=1e-10,
                               atol=1e-12)
    check_grads(fn, torch_fn, [x, w, b], (0, 1, 2), fd=sx[2] * sx[3] < 50)


def test_conv2d_random_geometries_against_torch():
    """Gradients for many stride/padding/dilation/group combinations, including strides
    that leave input rows uncovered (the hi-padding trim of the weight gradient)."""
    geo = np.random.default_rng(7)
    for _ in range(12):
        groups = int(geo.integers(1, 3))
        c, o = groups * int(geo.integers(1, 3)), groups * int(geo.integers(1, 3))
        k = tuple(int(v) for v in geo.integers(1, 4, 2))
        stride = tuple(int(v) for v in geo.integers(1, 4, 2))
        dilation = tuple(int(v) for v in geo.integers(1, 3, 2))
        padding = tuple(int(geo.integers(0, 3)) for _ in range(2))
        size = tuple(int(d * (kk - 1) + 1 + geo.integers(0, 5)) for d, kk in zip(dilation, k,
                                                                              strict=True))
        kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        x, w = randn(2, c, *size), randn(o, c // groups, *k)
        check_grads(lambda x, w, kw=kw: lm.conv2d(x, w, **kw),
                    lambda x, w, kw=kw: TF.conv2d(x, w, **kw), [x, w], (0, 1), fd=False)


def test_conv1d_conv3d_and_unbatched():
    x, w = randn(2, 3, 9), randn(4, 3, 3)
    check_grads(lambda x, w: lm.conv1d(x, w, stride=2, padding=1),
                lambda x, w: TF.conv1d(x, w, stride=2, padding=1), [x, w], (0, 1))
    x, w = randn(1, 2, 4, 5, 4), randn(3, 2, 2, 3, 2)
    check_grads(lambda x, w: lm.conv3d(x, w, padding=(1, 0, 1), stride=(1, 2, 1)),
                lambda x, w: TF.conv3d(x, w, padding=(1, 0, 1), stride=(1, 2, 1)), [x, w],
                (0, 1), fd=False)
    x, w = randn(3, 6, 6), randn(2, 3, 3, 3)
    np.testing.assert_allclose(run(lambda x, w: lm.conv2d(x, w, padding=1), x, w),
                               torch_run(lambda x, w: TF.conv2d(x, w, padding=1), x, w))


CONV_T = [  # x shape, w shape, kwargs
    ((2, 4, 5, 5), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((1, 4, 4, 3), (4, 1, 2, 3), dict(stride=(3, 2), groups=2, dilation=2)),
    ((1, 2, 5, 5), (2, 3, 3, 3), dict(padding=2)),
    ((3, 5, 5), (3, 2, 2, 2), dict(stride=2)),
]


@pytest.mark.parametrize("sx,sw,kw", CONV_T, ids=[str(c[2]) for c in CONV_T])
def test_conv_transpose2d_forward_and_grads(sx, sw, kw):
    x, w, b = randn(*sx), randn(*sw), randn(sw[1] * kw.get("groups", 1))

    def fn(x, w, b):
        return lm.conv_transpose2d(x, w, b, **kw)

    def torch_fn(x, w, b):
        return TF.conv_transpose2d(x, w, b, **kw)

    np.testing.assert_allclose(run(fn, x, w, b), torch_run(torch_fn, x, w, b), rtol=1e-10,
                               atol=1e-12)
    check_grads(fn, torch_fn, [x, w, b], (0, 1, 2), fd=len(sx) == 3)


def test_conv_transpose1d():
    x, w = randn(2, 3, 6), randn(3, 2, 3)
    check_grads(lambda x, w: lm.conv_transpose1d(x, w, stride=2, padding=1),
                lambda x, w: TF.conv_transpose1d(x, w, stride=2, padding=1), [x, w], (0, 1))


def test_conv2d_second_derivative_against_torch():
    """grad of (grad wrt x . v) wrt w: the backward convs are differentiated again, which
    uses conv's input_dilation (stride 2 here)."""
    x, w, v = randn(1, 2, 7, 7), randn(3, 2, 3, 3), randn(1, 2, 7, 7)

    def inner(x, w):
        return lm.grad(lambda x: (lm.conv2d(x, w, stride=2, padding=1) ** 2).sum())(x)

    got = lm.jit(lm.grad(lambda x, w: (inner(x, w) * v).sum(), argnums=(0, 1)),
                 backend="interp")(x, w)
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    (gx,) = torch.autograd.grad((TF.conv2d(tx, tw, stride=2, padding=1) ** 2).sum(), tx,
                                create_graph=True)
    (gx * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(np.asarray(got[0]), tx.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.asarray(got[1]), tw.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_conv_ir_is_one_hl_conv():
    x, w = randn(1, 2, 5, 5, dtype=np.float32), randn(3, 2, 3, 3, dtype=np.float32)
    ir = lm.jit(lambda x, w: lm.conv2d(x, w, stride=2)).lower(x, w, backend="interp").ir("hl")
    assert ir.count("hl.conv") == 1 and "stride=[2, 2]" in ir


# ---------------------------------------------------------------- pooling


POOLS = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 1, 1, 1, False), ((2, 3), (2, 1), (1, 0),
                                                                       1, False),
    (3, 2, 1, 1, True), (2, 2, 0, 1, True), (2, 1, 0, 2, False), (3, 3, 1, 2, True),
]


@pytest.mark.parametrize("k,s,p,d,ceil", POOLS, ids=str)
def test_max_pool2d_forward_and_grads(k, s, p, d, ceil):
    x = randn(2, 2, 9, 8)

    def fn(x):
        return lm.max_pool2d(x, k, s, p, d, ceil)

    def torch_fn(x):
        return TF.max_pool2d(x, k, s, p, d, ceil)

    np.testing.assert_allclose(run(fn, x), torch_run(torch_fn, x))
    check_grads(fn, torch_fn, [x], (0,), fd=False)
    check_grads(fn, torch_fn, [randn(1, 1, 9, 8)], (0,))


@pytest.mark.parametrize("k,s,p,d,ceil", [c for c in POOLS if c[3] == 1], ids=str)
@pytest.mark.parametrize("include_pad", [True, False])
def test_avg_pool2d_forward_and_grads(k, s, p, d, ceil, include_pad):
    x = randn(2, 2, 9, 8)

    def fn(x):
        return lm.avg_pool2d(x, k, s, p, ceil, include_pad)

    def torch_fn(x):
        return TF.avg_pool2d(x, k, s, p, ceil, include_pad)

    np.testing.assert_allclose(run(fn, x), torch_run(torch_fn, x), rtol=1e-12)
    check_grads(fn, torch_fn, [x], (0,), fd=False)
    check_grads(fn, torch_fn, [randn(1, 1, 9, 8)], (0,))


def test_pool_variants():
    x = randn(2, 3, 11)
    np.testing.assert_allclose(run(lambda x: lm.max_pool1d(x, 3, 2, 1), x),
                               torch_run(lambda x: TF.max_pool1d(x, 3, 2, 1), x))
    np.testing.assert_allclose(run(lambda x: lm.avg_pool1d(x, 4, 3, 2, True, False), x),
                               torch_run(lambda x: TF.avg_pool1d(x, 4, 3, 2, True, False), x))
    x = randn(3, 7, 7)  # unbatched
    np.testing.assert_allclose(run(lambda x: lm.max_pool2d(x, 2), x),
                               torch_run(lambda x: TF.max_pool2d(x, 2), x))
    np.testing.assert_allclose(
        run(lambda x: lm.avg_pool2d(x, 3, 2, 1, divisor_override=5), x),
        torch_run(lambda x: TF.avg_pool2d(x, 3, 2, 1, divisor_override=5), x))
    for size in [(3, 2), 4, (7, 1), (None, 3)]:
        x = randn(2, 3, 7, 5)
        check_grads(lambda x, size=size: lm.adaptive_avg_pool2d(x, size),
                    lambda x, size=size: TF.adaptive_avg_pool2d(x, size), [x], (0,), fd=False)


def test_max_pool_ties_go_to_the_first_maximum():
    x = np.ones((1, 1, 4, 4))
    got, weight = grads(lambda x: lm.max_pool2d(x, 2, 1), [x], (0,))
    want = torch_grads(lambda x: TF.max_pool2d(x, 2, 1), [x], (0,), weight)
    np.testing.assert_array_equal(got[0], want[0])


def test_max_pool_second_derivative_against_torch():
    """grad-of-grad through max pooling uses select_and_gather and select_and_scatter_add."""
    x, v = randn(1, 2, 7, 7), randn(1, 2, 7, 7)

    def inner(x):
        return lm.grad(lambda x: (lm.max_pool2d(x, 3, 2, 1) ** 2).sum())(x)

    got = lm.jit(lm.grad(lambda x: (inner(x) * v).sum()), backend="interp")(x)
    tx = torch.tensor(x, requires_grad=True)
    (gx,) = torch.autograd.grad((TF.max_pool2d(tx, 3, 2, 1) ** 2).sum(), tx, create_graph=True)
    (gx * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(np.asarray(got), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_avg_pool_second_derivative_against_torch():
    x, v = randn(1, 2, 7, 7), randn(1, 2, 7, 7)

    def inner(x):
        return lm.grad(lambda x: (lm.avg_pool2d(x, 3, 2, 1) ** 3).sum())(x)

    got = lm.jit(lm.grad(lambda x: (inner(x) * v).sum()), backend="interp")(x)
    tx = torch.tensor(x, requires_grad=True)
    (gx,) = torch.autograd.grad((TF.avg_pool2d(tx, 3, 2, 1) ** 3).sum(), tx, create_graph=True)
    (gx * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(np.asarray(got), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_half_precision_forward():
    x, w = randn(1, 2, 6, 6, dtype=np.float16), randn(3, 2, 3, 3, dtype=np.float16)
    out = lm.jit(lambda x, w: lm.max_pool2d(lm.conv2d(x, w, padding=1), 2),
                 backend="interp")(x, w)
    assert out.dtype == lm.float16
    want = TF.max_pool2d(TF.conv2d(torch.tensor(x, dtype=torch.float32),
                                   torch.tensor(w, dtype=torch.float32), padding=1), 2)
    np.testing.assert_allclose(np.asarray(out).astype(np.float32), want.numpy(), rtol=2e-2,
                               atol=2e-2)


# ---------------------------------------------------------------- errors


def _raises(kind, fn, *args, words=()):
    with pytest.raises(kind) as info:
        lm.jit(fn, backend="interp")(*args)
    message = str(info.value)
    assert "test_linalg.py:" in message, message
    for word in words:
        assert word in message, (word, message)


def test_matmul_errors_name_op_shapes_and_line():
    _raises(ShapeError, lambda a, b: a @ b, randn(3, 4), randn(5, 6),
            words=("matmul", "[3, 4]", "[5, 6]"))
    _raises(ShapeError, lambda a, b: lm.matmul(a, b), randn(2, 3, 4), randn(3, 4, 5),
            words=("matmul", "[2]", "[3]"))
    _raises(ShapeError, lambda a, b: lm.mm(a, b), randn(2, 3, 4), randn(4, 5),
            words=("mm", "2-D", "[2, 3, 4]"))
    _raises(ShapeError, lambda a, b: lm.bmm(a, b), randn(2, 3, 4), randn(3, 4, 5),
            words=("bmm", "batch"))
    _raises(ShapeError, lambda x, w: lm.linear(x, w), randn(3, 4), randn(5, 6),
            words=("linear", "[3, 4]", "[5, 6]"))
    _raises(DTypeError, lambda a, b: a @ b, np.ones((2, 2), bool), np.ones((2, 2), bool),
            words=("matmul", "bool"))


def test_einsum_errors():
    _raises(ArgumentError, lambda a, b: lm.einsum("ij,jk->ik", a), randn(2, 3), randn(3, 4),
            words=("einsum", "2 operand specs for 1 operands"))
    _raises(ArgumentError, lambda a: lm.einsum("ijk->i", a), randn(2, 3),
            words=("einsum", "'ijk'", "[2, 3]"))
    _raises(ShapeError, lambda a: lm.einsum("ii->i", a), randn(3, 4),
            words=("einsum", "'i'", "repeated", "3 and 4"))
    _raises(ShapeError, lambda a, b: lm.einsum("ij,jk->ik", a, b), randn(2, 3), randn(4, 5),
            words=("einsum", "'j'", "3 and 4"))


def test_conv_errors_name_op_shapes_and_line():
    _raises(ShapeError, lambda x, w: lm.conv2d(x, w), randn(1, 3, 5, 5), randn(4, 2, 3, 3),
            words=("conv2d", "[4, 2, 3, 3]", "[1, 3, 5, 5]", "input channels"))
    _raises(ShapeError, lambda x, w: lm.conv2d(x, w, groups=2), randn(1, 3, 5, 5),
            randn(4, 1, 3, 3), words=("conv2d", "groups=2"))
    _raises(ShapeError, lambda x, w: lm.conv2d(x, w), randn(1, 2, 2, 2), randn(4, 2, 3, 3),
            words=("conv2d", "larger than the padded input"))
    _raises(ShapeError, lambda x, w: lm.conv2d(x, w), randn(5, 5), randn(4, 2, 3, 3),
            words=("conv2d", "[5, 5]"))
    _raises(ShapeError, lambda x, w, b: lm.conv2d(x, w, b), randn(1, 2, 5, 5),
            randn(4, 2, 3, 3), randn(3), words=("conv2d", "bias", "[3]"))
    _raises(ArgumentError, lambda x, w: lm.conv2d(x, w, padding="full"), randn(1, 2, 5, 5),
            randn(4, 2, 3, 3), words=("conv2d", "'full'"))
    _raises(ArgumentError, lambda x, w: lm.conv2d(x, w, stride=2, padding="same"),
            randn(1, 2, 5, 5), randn(4, 2, 3, 3), words=("conv2d", "same", "stride"))
    _raises(ArgumentError, lambda x, w: lm.conv2d(x, w, stride=(1, 2, 3)), randn(1, 2, 5, 5),
            randn(4, 2, 3, 3), words=("conv2d", "stride"))
    _raises(DTypeError, lambda x, w: lm.conv2d(x, w), np.ones((1, 2, 5, 5), np.int32),
            np.ones((4, 2, 3, 3), np.int32), words=("conv2d", "floating-point", "int32"))


def test_conv_transpose_errors():
    _raises(ShapeError, lambda x, w: lm.conv_transpose2d(x, w), randn(1, 3, 5, 5),
            randn(4, 2, 3, 3), words=("conv_transpose2d", "[4, 2, 3, 3]", "[1, 3, 5, 5]"))
    _raises(ArgumentError, lambda x, w: lm.conv_transpose2d(x, w, output_padding=1),
            randn(1, 4, 5, 5), randn(4, 2, 3, 3), words=("conv_transpose2d", "output_padding"))


def test_pool_errors_name_op_shapes_and_line():
    _raises(ShapeError, lambda x: lm.max_pool2d(x, 3, padding=2), randn(1, 1, 6, 6),
            words=("max_pool2d", "half of the kernel"))
    _raises(ShapeError, lambda x: lm.avg_pool2d(x, 5), randn(1, 1, 3, 3),
            words=("avg_pool2d", "[1, 1, 3, 3]"))
    _raises(ShapeError, lambda x: lm.max_pool2d(x, 2), randn(6, 6),
            words=("max_pool2d", "[6, 6]"))
    _raises(DTypeError, lambda x: lm.avg_pool2d(x, 2), np.ones((1, 1, 4, 4), np.int64),
            words=("avg_pool2d", "int64"))
    _raises(ArgumentError, lambda x: lm.nn.functional.adaptive_max_pool2d(x, 2, return_indices=True),
            randn(1, 1, 4, 4), words=("adaptive_max_pool2d", "return_indices"))


# ---------------------------------------------------------------- window ops, all properties


def _window_props(geo, rank):
    window = tuple(int(v) for v in geo.integers(1, 4, rank))
    props = {"window": window, "strides": tuple(int(v) for v in geo.integers(1, 3, rank)),
             "padding": tuple(int(v) for v in geo.integers(-1, 3, 2 * rank)),
             "dilation": tuple(int(v) for v in geo.integers(1, 3, rank)),
             "input_dilation": tuple(int(v) for v in geo.integers(1, 3, rank))}
    return props


def _brute_windows(x, props):
    """{output index: [(operand index or None, value)] in window order}: the definition
    of the window geometry, one element at a time."""
    rank = x.ndim
    lo = props["padding"][0::2]
    out = []
    for d in range(rank):
        padded = (x.shape[d] - 1) * props["input_dilation"][d] + 1 + lo[d] + \
            props["padding"][2 * d + 1]
        out.append((padded - props["dilation"][d] * (props["window"][d] - 1) - 1)
                   // props["strides"][d] + 1)
    found = {}
    if min(out) < 1:
        return found, tuple(out)
    for o in np.ndindex(*out):
        items = []
        for k in np.ndindex(*props["window"]):
            idx = []
            for d in range(rank):
                p = o[d] * props["strides"][d] + k[d] * props["dilation"][d] - lo[d]
                q, r = divmod(p, props["input_dilation"][d])
                idx.append(q if r == 0 and 0 <= q < x.shape[d] else None)
            real = None if None in idx else tuple(idx)
            items.append((real, x[real] if real is not None else None))
        found[o] = items
    return found, tuple(out)


def test_window_ops_match_a_brute_force_definition():
    """reduce_window / select_and_scatter_add / select_and_gather with random windows,
    strides, dilations, input dilations and negative padding, against the definition."""
    from xdsl.dialects.builtin import f64
    from xdsl.ir import Block

    from lamina.dialects import hl
    from lamina.dialects.hl.base import tensor_type

    geo = np.random.default_rng(3)
    checked = 0
    while checked < 25:
        rank = int(geo.integers(1, 3))
        x = geo.standard_normal(tuple(int(v) for v in geo.integers(2, 6, rank)))
        props = _window_props(geo, rank)
        found, out = _brute_windows(x, props)
        if not all(n >= 1 for n in out):
            continue
        checked += 1
        block = Block(arg_types=[tensor_type(f64, x.shape), tensor_type(f64, out)])
        xv, sv = block.args
        want_max = np.array([max((v for _, v in it if v is not None), default=-np.inf)
                             for it in found.values()]).reshape(out)
        want_sum = np.array([sum(v for _, v in it if v is not None)
                             for it in found.values()]).reshape(out)
        for kind, want in (("max", want_max), ("sum", want_sum)):
            op = hl.ReduceWindowOp.build(xv, kind=kind, **props)
            np.testing.assert_allclose(op.reference(x), want, rtol=1e-12)
        src, v = geo.standard_normal(out), geo.standard_normal(x.shape)
        scattered, gathered = np.zeros(x.shape), np.zeros(out)
        for o, items in found.items():
            values = [val if val is not None else -np.inf for _, val in items]
            at = items[int(np.argmax(values))][0]  # the first maximum (padding is -inf)
            if at is not None:
                scattered[at] += src[o]
                gathered[o] = v[at]
        op = hl.SelectAndScatterAddOp.build(xv, sv, **props)
        np.testing.assert_allclose(op.reference(x, src), scattered, rtol=1e-12)
        op = hl.SelectAndGatherOp.build(xv, xv, **props)
        np.testing.assert_allclose(op.reference(x, v), gathered, rtol=1e-12)


def test_conv_input_dilation_and_negative_padding_match_explicit_padding():
    """hl.conv's input_dilation and negative (cropping) padding, against torch.conv2d
    on an input dilated and padded/cropped by hand."""
    from xdsl.dialects.builtin import f64
    from xdsl.ir import Block

    from lamina.dialects import hl
    from lamina.dialects.hl.base import tensor_type

    geo = np.random.default_rng(5)
    for _ in range(10):
        idil = tuple(int(v) for v in geo.integers(1, 4, 2))
        padding = tuple(int(v) for v in geo.integers(-2, 3, 4))
        x, w = geo.standard_normal((2, 2, 5, 4)), geo.standard_normal((3, 2, 2, 2))
        dilated = np.zeros((2, 2, 4 * idil[0] + 1, 3 * idil[1] + 1))
        dilated[:, :, ::idil[0], ::idil[1]] = x
        explicit = torch.tensor(dilated)
        explicit = TF.pad(explicit, (padding[2], padding[3], padding[0], padding[1]))
        if min(explicit.shape[2:]) < 2:
            continue
        block = Block(arg_types=[tensor_type(f64, x.shape), tensor_type(f64, w.shape)])
        op = hl.ConvOp.build(*block.args, stride=(1, 1), padding=padding, dilation=(1, 1),
                             groups=1, input_dilation=idil)
        want = TF.conv2d(explicit, torch.tensor(w)).numpy()
        np.testing.assert_allclose(op.reference(x, w), want, rtol=1e-12, atol=1e-12)


def test_gradient_programs_are_plain_hl():
    """The backward of conv is two convs (input: stride-dilated cotangent with the flipped
    kernel; weight: input with cotangent), the backward of max pooling a scatter."""
    x, w = np.ones((1, 2, 6, 6), np.float32), np.ones((3, 2, 3, 3), np.float32)

    def loss(x, w):
        return lm.max_pool2d(lm.conv2d(x, w, stride=2, padding=1), 2).sum()

    ir = lm.jit(lm.grad(loss, argnums=(0, 1))).lower(x, w, backend="interp").ir("hl")
    assert ir.count("hl.conv ") == 3, ir
    assert "input_dilation=[2, 2]" in ir and "hl.reverse" in ir
    assert ir.count("hl.select_and_scatter_add") == 1
