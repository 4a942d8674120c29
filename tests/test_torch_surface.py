"""torch's everyday spellings and composites (lamina/frontend/spellings.py, arrange.py,
the generated in-place methods and Tensor metadata) against torch itself: values, dtypes,
shapes, gradients, and the exception class torch raises."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina as lm

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((4, 2)).astype(np.float32)
V = RNG.standard_normal(5).astype(np.float32)
W = RNG.standard_normal(5).astype(np.float32)
NAN = np.array([[1.0, np.nan, 3.0, -2.0], [np.nan, np.nan, np.nan, np.nan],
                [0.5, -0.0, 0.0, 7.0]], np.float32)
INTS = np.array([[3, -1, 0], [7, 2, -5]], np.int64)
C3 = RNG.standard_normal((2, 3, 4)).astype(np.float32)
SQ = RNG.standard_normal((4, 4)).astype(np.float32)


def _run(m, fn, *arrays):
    return fn(m, *[m.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays])


# (id, fn(m, *tensors) with m = torch or lamina, arrays)
CASES = [
    ("diff", lambda m, x: m.diff(x), (A,)),
    ("diff_n2_dim0", lambda m, x: m.diff(x, n=2, dim=0), (A,)),
    ("diff_prepend", lambda m, x: m.diff(x, dim=1, prepend=x[:, :1], append=x), (A,)),
    ("diff_bool", lambda m, x: m.diff(x > 0), (A,)),
    ("kron", lambda m, x, y: m.kron(x, y), (A, B)),
    ("kron_rank", lambda m, x, y: m.kron(x, y), (V, A)),
    ("rot90", lambda m, x: m.rot90(x), (C3,)),
    ("rot90_k2", lambda m, x: m.rot90(x, 2, [1, 2]), (C3,)),
    ("rot90_k3", lambda m, x: m.rot90(x, -1, [0, 2]), (C3,)),
    ("fliplr", lambda m, x: m.fliplr(x), (A,)),
    ("flipud", lambda m, x: m.flipud(x), (A,)),
    ("ravel", lambda m, x: x.t().ravel(), (A,)),
    ("tensordot_int", lambda m, x, y: m.tensordot(x, y, 1), (A, B)),
    ("tensordot_lists", lambda m, x, y: m.tensordot(x, y, ([1, 0], [0, 1])), (C3, C3.transpose(1, 0, 2).copy())),
    ("inner", lambda m, x, y: m.inner(x, y), (A, A)),
    ("vdot", lambda m, x, y: m.vdot(x, y), (V, W)),
    ("ger", lambda m, x, y: x.ger(y), (V, W)),
    ("dist", lambda m, x, y: m.dist(x, y, 3), (V, W)),
    ("cov", lambda m, x: m.cov(x), (A,)),
    ("cov_weights", lambda m, x: m.cov(x, correction=0, fweights=m.tensor([1, 2, 1, 3]),
                                       aweights=m.tensor([0.5, 1.0, 2.0, 1.0])), (A,)),
    ("corrcoef", lambda m, x: m.corrcoef(x), (A,)),
    ("hstack", lambda m, x: m.hstack([x, x]), (A,)),
    ("hstack_1d", lambda m, x: m.hstack([x, x]), (V,)),
    ("vstack", lambda m, x: m.vstack([x, x]), (V,)),
    ("dstack", lambda m, x: m.dstack([x, x]), (A,)),
    ("column_stack", lambda m, x, y: m.column_stack([x, y]), (V, W)),
    ("atleast_3d", lambda m, x: m.atleast_3d(x), (A,)),
    ("atleast_2d_tuple", lambda m, x, y: m.atleast_2d((x, y[0])), (V, W)),
    ("block_diag", lambda m, x, y, z: m.block_diag(x, y, z), (A, B, V)),
    ("cartesian_prod", lambda m, x, y: m.cartesian_prod(x[:3], y[:2]), (V, W)),
    ("combinations", lambda m, x: m.combinations(x, 3), (V,)),
    ("combinations_repl", lambda m, x: m.combinations(x[:3], 2, with_replacement=True), (V,)),
    ("tensor_split_n", lambda m, x: m.tensor_split(x, 3, dim=1), (A,)),
    ("tensor_split_idx", lambda m, x: m.tensor_split(x, [1, -1, 7], dim=1), (A,)),
    ("hsplit", lambda m, x: m.hsplit(x, 2), (A,)),
    ("vsplit", lambda m, x: m.vsplit(x, [1]), (A,)),
    ("dsplit", lambda m, x: m.dsplit(x, 2), (C3,)),
    ("select_scatter", lambda m, x, y: m.select_scatter(x, y[:4], 0, 1), (A, V)),
    ("slice_scatter", lambda m, x: m.slice_scatter(x, x[:, ::2] * 2, 1, 0, None, 2), (A,)),
    ("diagonal_scatter", lambda m, x, y: m.diagonal_scatter(x, y[:3], 1), (A, V)),
    ("diagonal_scatter_neg", lambda m, x, y: m.diagonal_scatter(x, y[:2], -1), (A, V)),
    ("renorm", lambda m, x: m.renorm(x, 2, 0, 1.0), (A,)),
    ("trapezoid", lambda m, x: m.trapezoid(x), (A,)),
    ("trapezoid_x", lambda m, x, y: m.trapezoid(x[:, :4], m.cumsum(y[:4].abs(), 0)), (A, V)),
    ("cumulative_trapezoid", lambda m, x: m.cumulative_trapezoid(x, dx=0.5, dim=0), (A,)),
    ("logspace", lambda m: m.logspace(-2, 3, 7, base=2.0), ()),
    ("isin", lambda m, x: m.isin(x, m.tensor([0, 7, -5])), (INTS,)),
    ("isin_invert", lambda m, x: m.isin(x, m.tensor([3]), invert=True), (INTS,)),
    ("diagflat", lambda m, x: m.diagflat(x, -2), (A,)),
    ("unravel_index", lambda m: m.unravel_index(m.tensor([0, 5, 11, 23]), (2, 3, 4)), ()),
    ("signbit", lambda m, x: m.signbit(x), (NAN,)),
    ("signbit_int", lambda m, x: m.signbit(x), (INTS,)),
    ("heaviside", lambda m, x: m.heaviside(x, m.tensor([0.5])), (NAN,)),
    ("fmax", lambda m, x, y: m.fmax(x, y), (NAN, NAN[::-1].copy())),
    ("fmin", lambda m, x, y: m.fmin(x, y), (NAN, NAN[::-1].copy())),
    ("fmax_int", lambda m, x: m.fmax(x, m.tensor(1)), (INTS,)),
    ("logit", lambda m, x: m.logit(m.sigmoid(x)), (A,)),
    ("logit_eps", lambda m, x: m.logit(m.sigmoid(x * 9), eps=0.01), (A,)),
    ("ldexp", lambda m, x, y: m.ldexp(x, y), (A, INTS[:1, :1].repeat(4, 1)[:, :1].reshape(1, 1))),
    ("float_power", lambda m, x: m.float_power(x.abs(), 2.5), (A,)),
    ("float_power_int", lambda m, x: m.float_power(x, 2), (INTS,)),
    ("nansum", lambda m, x: m.nansum(x, 1), (NAN,)),
    ("nanmean", lambda m, x: m.nanmean(x, 0, keepdim=True), (NAN,)),
    ("quantile", lambda m, x: m.quantile(x, 0.37), (A,)),
    ("quantile_dim", lambda m, x: m.quantile(x, m.tensor([0.0, 0.25, 1.0]), dim=1, keepdim=True), (A,)),
    ("quantile_nan", lambda m, x: m.quantile(x, 0.5, dim=1), (NAN,)),
    ("nanquantile", lambda m, x: m.nanquantile(x, 0.5, dim=1), (NAN,)),
    *[(f"quantile_{mode}", lambda m, x, mode=mode: m.quantile(x, 0.4, dim=0, interpolation=mode), (A,))
      for mode in ("lower", "higher", "midpoint", "nearest")],
    ("subtract_alpha", lambda m, x, y: m.subtract(x, y, alpha=2), (A, A[::-1].copy())),
    ("rsub", lambda m, x: m.rsub(x, 1.5, alpha=3), (A,)),
    ("clamp_min", lambda m, x: m.clamp_min(x, 0.1), (A,)),
    ("greater", lambda m, x: x.greater(0.2), (A,)),
    ("arctan2", lambda m, x, y: x.arctan2(y), (A, A[::-1].copy())),
    ("result_type", lambda m, x: m.zeros(1, dtype=m.result_type(x, 2.5)), (INTS,)),
    ("promote_types", lambda m: m.zeros(1, dtype=m.promote_types(m.int32, m.float16)), ()),
    ("empty_like_shape", lambda m, x: m.empty_like(x).shape, (A,)),
    ("scalar_tensor", lambda m: m.scalar_tensor(3), ()),
    ("clone_detach", lambda m, x: m.detach(m.clone(x)), (A,)),
]


def _compare(ours, theirs) -> None:
    if isinstance(theirs, torch.Size):
        assert tuple(ours) == tuple(theirs)
        return
    if isinstance(theirs, tuple | list):
        assert isinstance(ours, tuple | list) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            _compare(o, t)
        return
    expected = theirs.detach().numpy()
    got = ours.numpy()
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert str(ours.dtype).replace("lamina.", "") == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6, equal_nan=True)


@pytest.mark.parametrize("fn, arrays", [pytest.param(f, a, id=i) for i, f, a in CASES])
def test_matches_torch(fn, arrays):
    _compare(_run(lm, fn, *arrays), _run(torch, fn, *arrays))


JIT_CASES = ("diff_prepend", "kron", "rot90_k3", "tensordot_lists", "cov_weights", "corrcoef",
             "block_diag", "tensor_split_idx", "diagonal_scatter", "quantile_dim",
             "nanquantile", "heaviside", "fmax", "signbit", "trapezoid_x", "isin")


@pytest.mark.parametrize("backend", ["c", "triton"])
@pytest.mark.parametrize("case", JIT_CASES)
def test_compiles(case, backend):
    _, fn, arrays = next(c for c in CASES if c[0] == case)
    jitted = lm.jit(lambda *xs: fn(lm, *xs), backend=backend)
    _compare(jitted(*[lm.tensor(a) for a in arrays]), _run(torch, fn, *arrays))


GRAD_CASES = ("diff_prepend", "kron", "tensordot_lists", "cov", "corrcoef", "quantile_dim",
              "renorm", "trapezoid", "logit", "float_power", "diagonal_scatter", "inner")


@pytest.mark.parametrize("case", GRAD_CASES)
def test_gradients_match_torch(case):
    _, fn, arrays = next(c for c in CASES if c[0] == case)
    ours = [lm.tensor(a, requires_grad=True) if a.dtype.kind == "f" else lm.tensor(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out_l, out_t = fn(lm, *ours), fn(torch, *theirs)
    (out_l * out_l).sum().backward()
    (out_t * out_t).sum().backward()
    for o, t in zip(ours, theirs, strict=True):
        if t.grad is not None:
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- generated in-place methods

INPLACE = [("abs_", ()), ("sin_", ()), ("clamp_min_", (0.0,)), ("sigmoid_", ()),
           ("floor_divide_", (0.7,)), ("tril_", (1,)), ("arctan2_", (torch.tensor(0.5),)), ("logit_", ()),
           ("round_", ()), ("heaviside_", (torch.tensor(0.5),)), ("square_", ())]


@pytest.mark.parametrize("name, args", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_variants(name, args):
    x_t = torch.tensor(np.abs(A) / 4 if name == "logit_" else A)
    x_l = lm.tensor(x_t.numpy())
    largs = [lm.tensor(a.numpy()) if isinstance(a, torch.Tensor) else a for a in args]
    assert getattr(x_l, name)(*largs) is x_l
    getattr(x_t, name)(*args)
    np.testing.assert_allclose(x_l.numpy(), x_t.numpy(), rtol=1e-6, atol=1e-6)


def test_inplace_variant_of_a_view_writes_the_base():
    base = lm.tensor(A.copy())
    base[0].neg_()
    expected = A.copy()
    expected[0] *= -1
    np.testing.assert_array_equal(base.numpy(), expected)


def test_inplace_refuses_a_float_result_into_ints_as_torch():
    with pytest.raises(RuntimeError):
        torch.tensor(INTS).sin_()
    with pytest.raises(RuntimeError):
        lm.tensor(INTS).sin_()


# ---------------------------------------------------------------- metadata and dtype queries


def test_tensor_queries_match_torch():
    for arr in (A, INTS, INTS.astype(np.uint8), A > 0):
        t, ours = torch.tensor(arr), lm.tensor(arr)
        assert ours.is_floating_point() == t.is_floating_point()
        assert lm.is_floating_point(ours) == torch.is_floating_point(t)
        assert ours.is_signed() == t.is_signed()
        assert ours.is_complex() is False
        assert ours.ndimension() == t.ndimension()
    assert lm.is_same_size(lm.tensor(A), lm.tensor(A * 2))
    assert lm.is_nonzero(lm.tensor([2.0])) and not lm.is_nonzero(lm.tensor(0))
    with pytest.raises(RuntimeError):
        lm.is_nonzero(lm.tensor(A))


def test_finfo_iinfo_match_torch():
    for ours, theirs in ((lm.float32, torch.float32), (lm.float16, torch.float16),
                         (lm.float64, torch.float64), (lm.bfloat16, torch.bfloat16)):
        f, g = lm.finfo(ours), torch.finfo(theirs)
        assert (f.bits, f.eps, f.max, f.min, f.tiny, f.resolution) == \
            (g.bits, g.eps, g.max, g.min, g.tiny, g.resolution)
    for ours, theirs in ((lm.int8, torch.int8), (lm.uint8, torch.uint8), (lm.int64, torch.int64)):
        i, j = lm.iinfo(ours), torch.iinfo(theirs)
        assert (i.bits, i.max, i.min) == (j.bits, j.max, j.min)
    assert lm.finfo().eps == torch.finfo().eps
    with pytest.raises(TypeError):
        lm.finfo(lm.int32)
    with pytest.raises(TypeError):
        lm.iinfo(lm.float32)
    assert lm.can_cast(lm.int32, lm.float32) and not lm.can_cast(lm.float32, lm.int64)


@pytest.mark.parametrize("call, exc", [
    (lambda m: m.diff(m.tensor(1.0)), RuntimeError),
    (lambda m: m.rot90(m.ones(3)), RuntimeError),
    (lambda m: m.quantile(m.ones(3), 1.5), RuntimeError),
    (lambda m: m.quantile(m.ones(3, dtype=m.int64), 0.5), RuntimeError),
    (lambda m: m.nanmean(m.ones(3, dtype=m.int64)), RuntimeError),
    (lambda m: m.tensordot(m.ones(2, 3), m.ones(2, 3), 1), RuntimeError),
    (lambda m: m.vsplit(m.ones(3), 1), RuntimeError),
    (lambda m: m.hsplit(m.ones(3, 5), 2), RuntimeError),
    (lambda m: m.block_diag(m.ones(1, 1, 1)), RuntimeError),
    (lambda m: m.heaviside(m.ones(2), m.ones(2, dtype=m.float64)), RuntimeError),
])
def test_errors_are_torchs_class(call, exc):
    with pytest.raises(exc):
        call(torch)
    with pytest.raises(exc):
        call(lm)


def test_retain_grad_keeps_a_non_leaf_gradient():
    x_t = torch.tensor(A, requires_grad=True)
    y_t = x_t.sin() * 2
    y_t.retain_grad()
    (y_t ** 2).sum().backward()
    x_l = lm.tensor(A, requires_grad=True)
    y_l = x_l.sin() * 2
    y_l.retain_grad()
    assert y_l.retains_grad and not x_l.retains_grad
    (y_l ** 2).sum().backward()
    np.testing.assert_allclose(y_l.grad.numpy(), y_t.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x_l.grad.numpy(), x_t.grad.numpy(), rtol=1e-5)


def test_tensor_metadata_matches_a_contiguous_torch_tensor():
    for arr in (A, C3, INTS.astype(np.int8), np.float64(2.5)):
        t, ours = torch.tensor(arr), lm.tensor(arr)
        assert ours.stride() == t.stride() and ours.element_size() == t.element_size()
        assert (ours.itemsize, ours.nbytes, ours.storage_offset()) == \
            (t.itemsize, t.nbytes, t.storage_offset())
        assert ours.is_contiguous() and ours.is_cpu and ours.get_device() == t.get_device()
        assert not (ours.is_sparse or ours.is_quantized or ours.is_meta or ours.is_conj())
    assert lm.tensor(C3).stride(-2) == torch.tensor(C3).stride(-2)
    x, xt = lm.tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    assert x.grad_fn is None and (x * 2).grad_fn is not None and (xt * 2).grad_fn is not None
    assert (x.detach() * 2).grad_fn is None
    np.testing.assert_array_equal(lm.tensor(A).H.numpy(), torch.tensor(A).H.numpy())
    with pytest.raises(RuntimeError):
        lm.tensor(A).imag  # noqa: B018


@pytest.mark.parametrize("shape, wrap", [((5, 3), True), ((5, 3), False), ((3, 5), True),
                                         ((3, 3, 3), False)])
def test_fill_diagonal_matches_torch(shape, wrap):
    t = torch.zeros(shape)
    t.fill_diagonal_(4.5, wrap=wrap)
    ours = lm.zeros(shape)
    assert ours.fill_diagonal_(4.5, wrap=wrap) is ours
    np.testing.assert_array_equal(ours.numpy(), t.numpy())


def test_sum_to_size_matches_torch():
    t, ours = torch.tensor(C3), lm.tensor(C3)
    for size in ((3, 1), (1, 3, 4), (2, 1, 1), (4,)):
        np.testing.assert_allclose(ours.sum_to_size(size).numpy(),
                                   t.sum_to_size(size).numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError):
        ours.sum_to_size(5)


def test_in_place_samplers_have_the_right_distribution():
    lm.manual_seed(0)
    n = 20000
    assert abs(float(lm.zeros(n).exponential_(2.0).mean()) - 0.5) < 0.02
    ints = lm.zeros(n, dtype=lm.int64).random_(3, 7)
    assert sorted(ints.unique().tolist()) == [3, 4, 5, 6]
    geo = lm.zeros(n).geometric_(0.25)
    assert float(geo.min()) >= 1 and abs(float(geo.mean()) - 4.0) < 0.15
    assert abs(float(lm.zeros(n).log_normal_(0.0, 0.5).log().std()) - 0.5) < 0.02
    assert abs(float(lm.zeros(n).cauchy_().median())) < 0.05
    with pytest.raises(RuntimeError):
        lm.zeros(3, dtype=lm.int64).exponential_()


@pytest.mark.parametrize("data", [np.float64(2.5), [np.float64(2.5), 1.0], [1.0, np.float64(2.5)],
                                  [np.float32(2.5)], np.int32(3), [np.int32(3)], 2.5, [[1.0]],
                                  [np.array([1.0]), np.array([2.0])]])
def test_tensor_keeps_numpy_scalar_dtypes_as_torch(data):
    assert str(lm.tensor(data).dtype).split(".")[1] == str(torch.tensor(data).dtype).split(".")[1]


@pytest.mark.parametrize("name, args", [("t_", ()), ("transpose_", (0, 1)), ("squeeze_", (1,)),
                                        ("unsqueeze_", (0,)), ("swapdims_", (1, 0))])
def test_shape_changing_inplace_ops(name, args):
    arr = A[:, :1] if name == "squeeze_" else A
    t, ours = torch.tensor(arr, requires_grad=True), lm.tensor(arr, requires_grad=True)
    t2, ours2 = t * 1, ours * 1
    assert getattr(ours2, name)(*args) is ours2
    getattr(t2, name)(*args)
    assert ours2.shape == tuple(t2.shape)
    np.testing.assert_array_equal(ours2.numpy(), t2.detach().numpy())
    (ours2 * lm.tensor(np.arange(ours2.numel(), dtype=np.float32).reshape(ours2.shape))).sum().backward()
    (t2 * torch.arange(t2.numel(), dtype=torch.float32).reshape(t2.shape)).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), t.grad.numpy())


def test_shape_changing_inplace_on_a_caller_tensor_in_a_trace_is_refused():
    x = lm.tensor(A)
    with pytest.raises(lm.TraceError):
        lm.jit(lambda: x.t_())()


# ---------------------------------------------------------------- gradients at special values
# (NaN inputs are left out: torch's own gradient there depends on the SIMD lane)
SPECIAL = np.concatenate([np.linspace(-4, 4, 81), [0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 25.0,
                                                   np.inf, -np.inf, 1e-30, 50.0, -50.0]]
                         ).astype(np.float32)


@pytest.mark.parametrize("name", ["acosh", "expm1", "elu", "selu", "celu", "hardtanh", "relu6",
                                  "hardswish", "hardsigmoid", "softplus", "silu", "mish"])
def test_values_and_gradients_at_special_points_match_torch(name):
    ours = getattr(lm, name, None) or getattr(lm.nn.functional, name)
    theirs = getattr(torch, name, None) or getattr(torch.nn.functional, name)
    t, x = torch.tensor(SPECIAL, requires_grad=True), lm.tensor(SPECIAL, requires_grad=True)
    yt, yl = theirs(t), ours(x)
    yt.sum().backward()
    yl.sum().backward()
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- found by a peer op suite

@pytest.mark.parametrize("call", [
    lambda m, x: x.cumsum(axis=0), lambda m, x: m.cumsum(x, axis=1), lambda m, x: x.cummax(axis=0)[0],
    lambda m, x: x.log_softmax(axis=1), lambda m, x: x.sum(axis=1, keepdims=True),
    lambda m, x: x.unsqueeze(axis=1), lambda m, x: m.cat([x, x], axis=1), lambda m, x: x.argmax(axis=0),
    lambda m, x: x.logcumsumexp(axis=1), lambda m, x: x.std(axis=0, keepdims=True),
    lambda m, x: x.flip(dims=(0,)), lambda m, x: x.softmax(axis=0),
])
def test_numpy_style_axis_keywords_as_torch(call):
    _compare(call(lm, lm.tensor(A)), call(torch, torch.tensor(A)))


@pytest.mark.parametrize("correction, dim", [(3, 0), (5, 0), (4, 1), (1, (0, 1))])
def test_var_std_past_the_sample_size_match_torch(correction, dim):
    for op in ("var", "std"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: degrees of freedom <= 0
            theirs = getattr(torch.tensor(A[:3, :4]), op)(dim=dim, correction=correction)
        _compare(getattr(lm.tensor(A[:3, :4]), op)(dim=dim, correction=correction), theirs)
        _compare(lm.jit(lambda a, op=op: getattr(a, op)(dim=dim, correction=correction))(
            lm.tensor(A[:3, :4])), theirs)


@pytest.mark.parametrize("equation, shapes", [
    ("->", [()]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("iij->j", [(3, 3, 2)]),
    ("bii->b", [(2, 4, 4)]), ("ij,jj->i", [(2, 3), (3, 3)]), ("iji->j", [(3, 2, 3)]),
    ("iii->i", [(3, 3, 3)]), ("...ii->...i", [(2, 3, 3)]),
])
def test_einsum_diagonals_and_scalars_match_torch(equation, shapes):
    arrays = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    ours = [lm.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_l, out_t = lm.einsum(equation, *ours), torch.einsum(equation, *theirs)
    _compare(out_l, out_t)
    (out_l * out_l).sum().backward()
    (out_t * out_t).sum().backward()
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_sdpa_grouped_query_and_causal_with_mask_match_torch():
    q = RNG.standard_normal((2, 8, 5, 6)).astype(np.float32)
    kv = RNG.standard_normal((2, 2, 5, 6)).astype(np.float32)
    mask = RNG.standard_normal((2, 8, 5, 5)).astype(np.float32)
    for m_args in ((q, kv, kv, {"enable_gqa": True}),
                   (q, q, q, {"is_causal": True, "attn_mask": mask})):
        *arrays, kw = m_args
        ours = lm.nn.functional.scaled_dot_product_attention(
            *[lm.tensor(a) for a in arrays],
            **{k: lm.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
        theirs = torch.nn.functional.scaled_dot_product_attention(
            *[torch.tensor(a) for a in arrays],
            **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
        _compare(ours, theirs)
    with pytest.raises(RuntimeError):
        lm.nn.functional.scaled_dot_product_attention(
            lm.tensor(q), lm.tensor(kv[:, :1].repeat(3, 1)), lm.tensor(kv[:, :1].repeat(3, 1)),
            enable_gqa=True)


@pytest.mark.parametrize("call, exc", [
    (lambda m: m.ones(3, 3).diagonal(dim1=0, dim2=0), RuntimeError),
    (lambda m: m.linspace(1, 2, -1), RuntimeError),
    (lambda m: m.linspace(5, 10, 3, dtype=m.bool), NotImplementedError),
    (lambda m: m.zeros(3, 4).half().scatter(1, m.zeros(3, 4, dtype=m.int64), m.ones(3, 4)), RuntimeError),
    (lambda m: m.zeros(3, 4).scatter_add(1, m.zeros(3, 4, dtype=m.int64), m.ones(3, 4, dtype=m.float64)), RuntimeError),
    (lambda m: m.zeros(3, 4).scatter_reduce(0, m.zeros(3, 4, dtype=m.int64), m.ones(3, 4), "INVALID"), RuntimeError),
    (lambda m: m.zeros(3, 4).half().scatter_reduce(0, m.zeros(3, 4, dtype=m.int64), m.ones(3, 4), "sum"), RuntimeError),
])
def test_more_errors_are_torchs_class(call, exc):
    with pytest.raises(exc):
        call(torch)
    with pytest.raises(exc):
        call(lm)


# ---------------------------------------------------------------- found by the fuzz campaign

TIES = np.array([[1.0, 1.0, 0.0], [np.nan, 2.0, np.nan], [0.0, 0.0, 0.0]], np.float32)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_along_a_dim_send_the_gradient_to_the_picked_index(op, keepdim):
    """Ties and NaNs: torch's max(dim) backward scatters into its indices (amax would
    share the gradient among ties, and NaN-poison the row)."""
    grads = []
    for m in (torch, lm):
        x = m.tensor(TIES, requires_grad=True)
        values, indices = getattr(x, op)(1, keepdim=keepdim)
        assert not indices.requires_grad
        (values * m.tensor([[1.0], [2.0], [3.0]] if keepdim else [1.0, 2.0, 3.0])).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])
    jitted = lm.jit(lm.grad(lambda x: (getattr(x, op)(1, keepdim=keepdim)[0] ** 2).sum()))
    t = torch.tensor(TIES, requires_grad=True)
    (getattr(t, op)(1, keepdim=keepdim)[0] ** 2).sum().backward()
    np.testing.assert_array_equal(jitted(lm.tensor(TIES)).numpy(), t.grad.numpy())


def test_integer_results_never_require_grad():
    x = lm.tensor(A, requires_grad=True)
    for out in (x.argmax(1), x > 0, x.to(lm.int64), x.round().long(), lm.isnan(x)):
        assert not out.requires_grad and out.is_leaf


@pytest.mark.parametrize("shape, index, value, ok", [
    ((4,), "mask", np.int64(3), True),          # masked_fill: converts
    ((4,), "mask", np.array([3], np.int64), True),
    ((), "mask0", np.int64(3), False),           # 0-d x: index_put
    ((4,), "mask", np.array([3, 4], np.int64), False),
    ((4,), "list", np.int64(3), False),
    ((4,), "int", np.int64(3), True),            # basic indexing: copy_ converts
    ((2, 3), "mixed", np.float64(3.0), False),
])
def test_setitem_of_another_dtype_follows_torch(shape, index, value, ok):
    def run(m):
        x = m.zeros(shape)
        idx = {"mask": m.tensor([True, False, True, False]), "mask0": m.tensor(True),
               "list": [0, 1], "int": 1, "mixed": (0, [0, 1])}[index]
        x[idx] = m.tensor(value)
        return x
    if ok:
        _compare(run(lm), run(torch))
    else:
        with pytest.raises(RuntimeError):
            run(torch)
        with pytest.raises(RuntimeError):
            run(lm)


def test_product_and_sampling_methods():
    a, b = V, W
    _compare(lm.tensor(a).dot(lm.tensor(b)), torch.tensor(a).dot(torch.tensor(b)))
    _compare(lm.tensor(A).mv(lm.tensor(A[0])), torch.tensor(A).mv(torch.tensor(A[0])))
    _compare(lm.tensor(a).outer(lm.tensor(b)), torch.tensor(a).outer(torch.tensor(b)))
    assert lm.zeros(5).bernoulli().tolist() == [0.0] * 5
    assert lm.zeros(5).bernoulli(1.0).tolist() == [1.0] * 5
    assert lm.full((5,), 1.0).bernoulli().tolist() == [1.0] * 5


@pytest.mark.parametrize("dtype, value", [("uint8", -1.5), ("uint8", 255.9), ("int8", 128),
                                          ("int32", 2**31), ("bool", 5), ("float16", 1e6),
                                          ("uint8", float("nan")), ("uint8", 255),
                                          ("int8", -128.7), ("float16", float("inf"))])
def test_masked_fill_checks_the_value_fits_as_torch(dtype, value):
    """Fuzz seed 90096: torch refuses a fill value outside the dtype's range."""
    def run(m):
        return m.zeros(2, dtype=getattr(m, dtype)).masked_fill(m.tensor([True, False]), value)
    try:
        theirs = run(torch)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            run(lm)
    else:
        _compare(run(lm), theirs)


@pytest.mark.parametrize("backend", ["c", "triton", "interp"])
def test_round_keeps_the_sign_of_zero(backend):
    """Fuzz seed 90039: Triton's fallback rint rounded -0.365 to +0.0."""
    x = np.array([-0.365, 0.4, -0.5, 2.5, -1.6, -0.0], np.float64)
    with np.errstate(divide="ignore"):
        expected = 1.0 / torch.round(torch.tensor(x)).numpy()
    got = lm.jit(lambda a: lm.round(a).reciprocal(), backend=backend)(lm.tensor(x))
    np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.parametrize("value, index", [(5.0, [0]), (True, 0), (2, [0, 0])])
def test_index_select_of_a_0d_tensor(value, index):
    """Fuzz seed 91114: a 0-d tensor counts as one element (a 0-d index as a 1-element
    one), and the result is 0-d for a 1-element index, as torch."""
    def run(m):
        return m.tensor(value).index_select(0, m.tensor(index))
    try:
        theirs = run(torch)
    except (RuntimeError, IndexError) as err:
        with pytest.raises(type(err)):
            run(lm)
    else:
        _compare(run(lm), theirs)


def test_pow_exponent_gradient_at_a_zero_base_times_an_infinite_cotangent():
    """Fuzz seed 90923: torch multiplies the cotangent by the (zeroed) factor at 0^b,
    b >= 0, so an infinite cotangent gives NaN there."""
    x = np.array([[0.039, -0.209, -0.758, 0.0]], np.float32)
    grads = []
    for m in (torch, lm):
        t = m.tensor(x, requires_grad=True)
        m.log2(0 ** t).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])
