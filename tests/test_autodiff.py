"""Autodiff beyond single ops: second order, Hessian-vector products, vjp/jvp
consistency on random programs, custom_vjp, stop_gradient, has_aux, argnums, and
`loss.backward()` (inside lm.jit and eager) filling `.grad` as torch does.
Oracles: torch.autograd (create_graph for second order) and finite differences."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import torch

import lamina as lm
from lamina.frontend import ops as F

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _interp(monkeypatch):
    """Eager calls and transforms outside lm.jit run on the interpreter: this file tests
    autodiff, the backends are tested by the op tables."""
    monkeypatch.setenv("LAMINA_BACKEND", "interp")
X = RNG.standard_normal((4, 3))
W1 = RNG.standard_normal((3, 5)) * 0.7
W2 = RNG.standard_normal((5, 2)) * 0.7


def jit(fn):
    return lm.jit(fn, backend="interp")


def mlp_loss(w1, w2, x):
    """A tanh MLP with a squared loss; works on lamina and torch tensors alike."""
    h = (x @ w1).tanh()
    return ((h @ w2) ** 2).sum()


def fd_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += eps
        lo[i] -= eps
        g[i] = (f(hi) - f(lo)) / (2 * eps)
    return g


def torch_t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


# ---------------------------------------------------------------- second order


def _grad_norm(w1, w2, x):
    """||d loss / d w1||^2: a scalar that needs second derivatives to differentiate."""
    g = lm.grad(mlp_loss)(w1, w2, x)
    return (g * g).sum()


def test_grad_of_grad_matches_torch_create_graph():
    got = np.asarray(jit(lm.grad(_grad_norm, argnums=(0, 1)))(W1, W2, X)[1])
    tw1, tw2 = torch_t(W1, True), torch_t(W2, True)
    (g,) = torch.autograd.grad(mlp_loss(tw1, tw2, torch_t(X)), [tw1], create_graph=True)
    (want,) = torch.autograd.grad((g * g).sum(), [tw2])
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-9, atol=1e-10)


def test_grad_of_grad_matches_finite_differences():
    got = np.asarray(jit(lm.grad(_grad_norm))(W1, W2, X))
    value = jit(_grad_norm)
    want = fd_grad(lambda w: float(np.asarray(value(w, W2, X))), W1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_third_order_scalar():
    """d^3/dx^3 tanh(x) = -2 (1 - t^2)(1 - 3 t^2), t = tanh(x)."""
    d1 = lm.grad(lambda x: x.tanh().sum())
    d2 = lm.grad(lambda x: d1(x).sum())
    d3 = lm.grad(lambda x: d2(x).sum())
    x = np.linspace(-1.5, 1.5, 7)
    t = np.tanh(x)
    np.testing.assert_allclose(np.asarray(jit(d3)(x)), -2 * (1 - t**2) * (1 - 3 * t**2),
                               rtol=1e-10)


def test_hessian_vector_product():
    v = RNG.standard_normal(W1.shape)

    def hvp(w1, w2, x, v):
        return lm.grad(lambda w: (lm.grad(mlp_loss)(w, w2, x) * v).sum())(w1)

    got = np.asarray(jit(hvp)(W1, W2, X, v))
    _, want = torch.autograd.functional.hvp(
        lambda w: mlp_loss(w, torch_t(W2), torch_t(X)), torch_t(W1), torch_t(v))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-9, atol=1e-10)
    # and against finite differences of the gradient along v
    grad = jit(lm.grad(mlp_loss))
    eps = 1e-6
    fd = (np.asarray(grad(W1 + eps * v, W2, X)) - np.asarray(grad(W1 - eps * v, W2, X))) / (2 * eps)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- vjp / jvp


def _maximum(a, b):
    return torch.maximum(a, b) if isinstance(a, torch.Tensor) else lm.maximum(a, b)


UNARY = [lambda a: a.tanh(), lambda a: a.sin(), lambda a: a.exp() * 0.3,
         lambda a: a.sigmoid(), lambda a: (a * a + 1.0).sqrt(), lambda a: -a]
BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b * 0.5,
          lambda a, b: a / (b * b + 1.0), lambda a, b: _maximum(a, b * 0.9)]
REDUCE = [lambda a: a.sum(dim=0, keepdim=True).expand(*a.shape) * 0.2,
          lambda a: a.transpose(0, 1).reshape(a.shape) if a.shape[0] == a.shape[1] else a * 2,
          lambda a: a.mean(dim=1, keepdim=True) + a]


def random_program(seed: int):
    """A random straight-line program of two (3, 3) inputs and two outputs."""
    rng = np.random.default_rng(seed)
    steps = [(rng.integers(3), int(rng.integers(100)), int(rng.integers(100)))
             for _ in range(6)]

    def fn(x, y):
        vals = [x, y]
        for kind, i, j in steps:
            a, b = vals[i % len(vals)], vals[j % len(vals)]
            if kind == 0:
                vals.append(UNARY[i % len(UNARY)](a))
            elif kind == 1:
                vals.append(BINARY[j % len(BINARY)](a, b))
            else:
                vals.append(REDUCE[i % len(REDUCE)](a))
        return vals[-1], vals[-2] * vals[-3]

    return fn


@pytest.mark.parametrize("seed", range(8))
def test_vjp_and_jvp_are_transposes(seed):
    """<vjp(u), v> == <u, jvp(v)> for random programs, random u and v."""
    fn = random_program(seed)
    rng = np.random.default_rng(100 + seed)
    x, y = rng.uniform(-1, 1, (3, 3)), rng.uniform(-1, 1, (3, 3))
    u = (rng.standard_normal((3, 3)), rng.standard_normal((3, 3)))
    v = (rng.standard_normal((3, 3)), rng.standard_normal((3, 3)))
    out, vjp_fn = lm.vjp(fn, x, y)
    cts = [np.asarray(c) for c in vjp_fn(u)]
    primal_out, tangents = lm.jvp(fn, (x, y), v)
    tangents = [np.asarray(t) for t in tangents]
    lhs = sum(float((c * vi).sum()) for c, vi in zip(cts, v, strict=True))
    rhs = sum(float((ui * t).sum()) for ui, t in zip(u, tangents, strict=True))
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs)), (lhs, rhs)
    for o, p in zip(out, primal_out, strict=True):
        np.testing.assert_allclose(np.asarray(o), np.asarray(p), rtol=1e-12)
    # jvp against finite differences along v
    eps = 1e-6
    f = jit(fn)
    hi = f(x + eps * v[0], y + eps * v[1])
    lo = f(x - eps * v[0], y - eps * v[1])
    for t, a, b in zip(tangents, hi, lo, strict=True):
        np.testing.assert_allclose(t, (np.asarray(a) - np.asarray(b)) / (2 * eps),
                                   rtol=1e-5, atol=1e-6)


def test_vjp_matches_torch():
    """The random programs use method names torch shares: run them on torch too."""
    for seed in range(4):
        fn = random_program(seed)
        x, y = RNG.uniform(-1, 1, (3, 3)), RNG.uniform(-1, 1, (3, 3))
        u = (RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3)))
        _, vjp_fn = lm.vjp(fn, x, y)
        got = [np.asarray(c) for c in vjp_fn(u)]
        tx, ty = torch_t(x, True), torch_t(y, True)
        outs = fn(tx, ty)
        want = torch.autograd.grad(outs, [tx, ty], [torch_t(c) for c in u], allow_unused=True)
        for g, w in zip(got, want, strict=True):
            w = np.zeros((3, 3)) if w is None else w.numpy()
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_vjp_inside_jit_and_multiple_outputs():
    def f(x, y):
        return x.sin() * y, (x * y).sum()

    def both(x, y, ca, cb):
        out, vjp_fn = lm.vjp(f, x, y)
        return vjp_fn((ca, cb))

    x, y, ca = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    gx, gy = (np.asarray(g) for g in jit(both)(x, y, ca, np.float64(0.5)))
    np.testing.assert_allclose(gx, ca * np.cos(x) * y + 0.5 * y, rtol=1e-12)
    np.testing.assert_allclose(gy, ca * np.sin(x) + 0.5 * x, rtol=1e-12)


# ---------------------------------------------------------------- custom_vjp


@lm.custom_vjp
def clip_gradient(x):
    return x * 1.0


clip_gradient.defvjp(lambda x: (x * 1.0, None),
                     lambda residuals, ct: (ct.clamp(-0.1, 0.1),))


@lm.custom_vjp
def softplus(x):
    return (x.exp() + 1.0).log()


def _softplus_fwd(x):
    return softplus.fn(x), x.sigmoid()  # residual: the derivative


softplus.defvjp(_softplus_fwd, lambda s, ct: (ct * s,))


def test_custom_vjp_backward_is_used_in_jit_and_eager():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    f = lambda x: (clip_gradient(x) * 3.0).sum()
    np.testing.assert_allclose(np.asarray(jit(lm.grad(f))(x)), np.full_like(x, 0.1))
    np.testing.assert_allclose(np.asarray(lm.grad(f)(x)), np.full_like(x, 0.1))
    # the forward is the primal function's
    np.testing.assert_allclose(np.asarray(jit(f)(x)), 3 * x.sum(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(clip_gradient(lm.tensor(x))), x)


def test_custom_vjp_with_residuals_nested_in_grad():
    x = np.linspace(-2, 2, 5)
    g = jit(lm.grad(lambda x: softplus(x * 2.0).sum()))(x)
    np.testing.assert_allclose(np.asarray(g), 2 / (1 + np.exp(-2 * x)), rtol=1e-12)
    # the custom rule's own ops are differentiable: second derivative of softplus
    gg = jit(lm.grad(lambda x: lm.grad(lambda y: softplus(y).sum())(x).sum()))(x)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(np.asarray(gg), s * (1 - s), rtol=1e-10)


def test_custom_vjp_in_eager_backward():
    """Called eagerly on a tensor that requires grad, the custom rule (with a tensor
    residual) is what `.backward()` uses; a concrete tensor argument works too."""
    xs = np.linspace(-2, 2, 5).astype(np.float32)
    x = lm.tensor(xs, requires_grad=True)
    weight = lm.tensor(np.full(5, 3.0, np.float32))
    (softplus(x * 2.0) * weight).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 / (1 + np.exp(-2 * xs)), rtol=1e-5)
    y = lm.tensor(xs, requires_grad=True)
    (clip_gradient(y) * 3.0).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), np.full(5, 0.1, np.float32))
    np.testing.assert_allclose(softplus(lm.tensor(xs)).numpy(), np.log1p(np.exp(xs)), rtol=1e-5)


def test_custom_vjp_wrong_cotangent_count():
    @lm.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, None), lambda r, ct: (ct,))
    with pytest.raises(lm.GradientError, match="2 inputs"):
        jit(lm.grad(lambda x, y: f(x, y).sum()))(np.ones(3), np.ones(3))


# ---------------------------------------------------------------- stop_gradient, aux, argnums


def test_stop_gradient_and_detach():
    x = RNG.standard_normal(5)
    g1 = jit(lm.grad(lambda x: (lm.stop_gradient(x) * x).sum()))(x)
    g2 = jit(lm.grad(lambda x: (x.detach() * x).sum()))(x)
    np.testing.assert_allclose(np.asarray(g1), x)
    np.testing.assert_allclose(np.asarray(g2), x)
    g3 = jit(lm.grad(lambda x: lm.stop_gradient(x * x).sum() + x.sum()))(x)
    np.testing.assert_allclose(np.asarray(g3), np.ones(5))


def test_no_grad_cuts_the_gradient():
    def f(x):
        with lm.no_grad():
            y = x * x
        return (y * x).sum()

    x = RNG.standard_normal(4)
    np.testing.assert_allclose(np.asarray(jit(lm.grad(f))(x)), x * x)


def test_has_aux():
    def f(x):
        return (x * x).sum(), {"mean": x.mean(), "n": 3}

    x = RNG.standard_normal(4)
    g, aux = jit(lm.grad(f, has_aux=True))(x)
    np.testing.assert_allclose(np.asarray(g), 2 * x)
    np.testing.assert_allclose(np.asarray(aux["mean"]), x.mean())
    assert aux["n"] == 3
    (value, aux2), g2 = jit(lm.value_and_grad(f, has_aux=True))(x)
    np.testing.assert_allclose(np.asarray(value), (x * x).sum())
    np.testing.assert_allclose(np.asarray(g2), 2 * x)


def test_argnums_tuples_and_value_and_grad():
    f = lambda a, b, c: (a * b.exp() + c).sum()
    a, b, c = RNG.standard_normal(3), RNG.standard_normal(3), RNG.standard_normal(3)
    ga, gc = jit(lm.grad(f, argnums=(0, 2)))(a, b, c)
    np.testing.assert_allclose(np.asarray(ga), np.exp(b))
    np.testing.assert_allclose(np.asarray(gc), np.ones(3))
    (gb,) = jit(lm.grad(f, argnums=(1,)))(a, b, c)
    np.testing.assert_allclose(np.asarray(gb), a * np.exp(b))
    v, g = jit(lm.value_and_grad(f, argnums=1))(a, b, c)
    np.testing.assert_allclose(np.asarray(v), (a * np.exp(b) + c).sum())
    np.testing.assert_allclose(np.asarray(g), a * np.exp(b))


def test_grad_of_pytree_argument():
    params = {"w": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2)}
    x = RNG.standard_normal((4, 3))
    g = jit(lm.grad(lambda p, x: ((x @ p["w"] + p["b"]) ** 2).sum()))(params, x)
    tw, tb = torch_t(params["w"], True), torch_t(params["b"], True)
    ((torch_t(x) @ tw + tb) ** 2).sum().backward()
    np.testing.assert_allclose(np.asarray(g["w"]), tw.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(g["b"]), tb.grad.numpy(), rtol=1e-10)


def test_grad_errors_name_the_problem():
    with pytest.raises(lm.GradientError, match=r"scalar.*\n.*test_autodiff.py"):
        jit(lm.grad(lambda x: x * 2))(np.ones(3))
    with pytest.raises(lm.GradientError, match="floating-point"):
        jit(lm.grad(lambda n: n.sum()))(np.arange(3))
    with pytest.raises(lm.ArgumentError, match="argnums 2"):
        jit(lm.grad(lambda a, b: a.sum(), argnums=2))(np.ones(2), np.ones(2))


# ---------------------------------------------------------------- missing rule


class _OpaqueRule:
    """A test-only hl op with no gradient rule (declared lazily: it must not join hl.OPS)."""

    cls = None

    @classmethod
    def get(cls):
        if cls.cls is None:
            from xdsl.irdl import irdl_op_definition

            from lamina.dialects.hl.elementwise import UnaryOp

            @irdl_op_definition
            class OpaqueOp(UnaryOp):
                """Test only.  `%r = hl.test_opaque %x : tensor<4xf32>`"""

                name = "hl.test_opaque"

                def reference(self, x):
                    return x

            cls.cls = OpaqueOp
        return cls.cls


def test_missing_rule_names_op_types_and_line():
    op = _OpaqueRule.get()

    def f(x):
        return F.emit(op, x.exp()).sum()  # the line the error must point at

    line = f.__code__.co_firstlineno + 1
    with pytest.raises(lm.GradientError) as info:
        jit(lm.grad(f))(np.ones((2, 3), dtype=np.float32))
    message = str(info.value)
    assert "hl.test_opaque" in message
    assert "tensor<2x3xf32>" in message
    assert f"test_autodiff.py:{line}" in message


# ---------------------------------------------------------------- .backward()


def _torch_grad(x, w, times=1):
    tw = torch.tensor(w, requires_grad=True)
    for _ in range(times):
        ((torch.tensor(x) @ tw).tanh() ** 2).sum().backward()
    return tw.grad.numpy()


XF, WF = X.astype(np.float32), W1.astype(np.float32)


def test_backward_inside_jit_accumulates_like_torch():
    w = lm.tensor(WF, requires_grad=True)

    @lm.jit(backend="interp")
    def step(x):
        loss = ((x @ w).tanh() ** 2).sum()
        loss.backward()
        return loss

    assert w.grad is None
    step(XF)
    np.testing.assert_allclose(w.grad.numpy(), _torch_grad(XF, WF), rtol=1e-5, atol=1e-6)
    step(XF)  # .grad accumulates over calls, as torch's does over backward() calls
    np.testing.assert_allclose(w.grad.numpy(), _torch_grad(XF, WF, 2), rtol=1e-5, atol=1e-6)
    w.grad = None  # zero_grad(set_to_none=True)
    step(XF)
    np.testing.assert_allclose(w.grad.numpy(), _torch_grad(XF, WF), rtol=1e-5, atol=1e-6)


def test_two_backward_calls_in_one_jit():
    w = lm.tensor(WF, requires_grad=True)

    @lm.jit(backend="interp")
    def step(x):
        ((x @ w).tanh() ** 2).sum().backward()
        ((x @ w).tanh() ** 2).sum().backward()

    step(XF)
    np.testing.assert_allclose(w.grad.numpy(), _torch_grad(XF, WF, 2), rtol=1e-5, atol=1e-6)


def test_optimizer_zero_grad_sets_none():
    from lamina import optim

    w = lm.tensor(WF, requires_grad=True)
    ((lm.tensor(XF) @ w).tanh() ** 2).sum().backward()
    assert w.grad is not None
    optim.SGD([w], lr=0.1).zero_grad()
    assert w.grad is None


def test_eager_backward_accumulates_like_torch():
    w = lm.tensor(WF, requires_grad=True)
    loss = ((lm.tensor(XF) @ w).tanh() ** 2).sum()
    assert loss.requires_grad
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), _torch_grad(XF, WF), rtol=1e-5, atol=1e-6)
    ((lm.tensor(XF) @ w).tanh() ** 2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), _torch_grad(XF, WF, 2), rtol=1e-5, atol=1e-6)


def test_backward_errors():
    with pytest.raises(lm.GradientError, match="scalar"):
        lm.tensor(WF, requires_grad=True).exp().backward()
    with pytest.raises(lm.GradientError, match="does not require grad"):
        lm.tensor(WF).exp().sum().backward()


# ---------------------------------------------------------------- the pass, on IR


AUTODIFF_LIT = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "filecheck",
                                             "autodiff", "*.mlir")))


@pytest.mark.parametrize("path", AUTODIFF_LIT, ids=[os.path.basename(p) for p in AUTODIFF_LIT])
def test_autodiff_pass_on_lit_functions_matches_finite_differences(path):
    """`lamina-opt -p autodiff,canonicalize,cse`'s @f_vjp, run on the interpreter in
    float64: <f_vjp(x, d), v> equals the directional derivative of <f(x), d> along v."""
    from xdsl.dialects import func
    from xdsl.parser import Parser

    from lamina.passes import pipeline
    from lamina.runtime import interp

    text = "\n".join(ln for ln in open(path).read().splitlines() if not ln.startswith("//"))
    module = Parser(pipeline.context(), text.replace("f32>", "f64>")).parse_module()
    pipeline.run(module, "autodiff,canonicalize,cse")
    rng = np.random.default_rng(7)
    for fn in [op for op in module.ops if isinstance(op, func.FuncOp)
               and "autodiff" in op.attributes  # (stop_gradient is invisible to FD)
               and not any(o.name == "hl.stop_gradient" for o in op.walk())]:
        name = fn.sym_name.data
        ins = [a.type for a in fn.body.block.args]
        outs = list(fn.function_type.outputs)
        xs = [rng.uniform(-1, 1, t.get_shape()) if _is_float(t)
              else rng.integers(0, 3, t.get_shape()) for t in ins]
        ds = [rng.standard_normal(t.get_shape()) if _is_float(t)
              else np.zeros(t.get_shape(), np.int64) for t in outs]
        grads = interp.run_module(module, [*xs, *ds], name + "_vjp")[len(outs):]

        def objective(values, name=name, ds=ds):
            res = interp.run_module(module, values, name)
            return sum(float((np.asarray(r, np.float64) * d).sum())
                       for r, d in zip(res, ds, strict=True))

        for _ in range(2):
            vs = [rng.standard_normal(x.shape) if _is_float(t) else np.zeros_like(x)
                  for x, t in zip(xs, ins, strict=True)]
            eps = 1e-6
            hi = objective([x + eps * v if _is_float(t) else x for x, v, t in zip(xs, vs, ins,
                                                                                strict=True)])
            lo = objective([x - eps * v if _is_float(t) else x for x, v, t in zip(xs, vs, ins,
                                                                                strict=True)])
            fd = (hi - lo) / (2 * eps)
            got = sum(float((g * v).sum()) for g, v, t in zip(grads, vs, ins, strict=True)
                      if _is_float(t))
            assert got == pytest.approx(fd, rel=1e-5, abs=1e-6), f"@{name}"


def _is_float(t) -> bool:
    from lamina.dialects.hl.base import dtype_of

    return dtype_of(t).is_floating_point


# ---------------------------------------------------------------- clean backward IR


def ir_problems(module) -> list[str]:
    """What canonicalize/cse/dce should have removed from a gradient program."""
    from lamina.dialects import hl
    from lamina.dialects.hl.canonical import splat_value

    problems, seen = [], {}
    for op in module.walk():
        if not isinstance(op, hl.HlOp):
            continue
        key = (op.name, tuple(op.operands), tuple(op.properties.items()), op.out.type)
        if key in seen:
            problems.append(f"duplicate {op.name}")
        seen[key] = op
        if not op.out.uses:
            problems.append(f"dead {op.name}")
        if isinstance(op, hl.ReshapeOp | hl.BroadcastInDimOp | hl.CastOp) and \
                op.operands[0].type == op.out.type:
            problems.append(f"identity {op.name}")
        if isinstance(op, hl.AddOp | hl.SubOp) and any(splat_value(v) == 0 for v in
                                                        op.operands[1 if isinstance(op, hl.SubOp)
                                                                    else 0:]):
            problems.append("add of zero")
        if isinstance(op, hl.MulOp) and any(splat_value(v) == 1 for v in op.operands):
            problems.append("multiplication by one")
        if isinstance(op, hl.ReshapeOp | hl.TransposeOp) and isinstance(
                op.operands[0].owner, type(op)):
            problems.append(f"{op.name} chain")
    return problems


def _lowered_hl(fn, *args):
    from xdsl.parser import Parser

    from lamina.passes import pipeline

    text = lm.jit(fn).lower(*args, backend="interp").ir("hl")
    return Parser(pipeline.context(), text).parse_module()


def test_gradient_programs_are_clean():
    import lamina.nn.functional as NF
    from lamina.dialects import hl

    x, y = XF, np.array([0, 1, 2, 1])
    w1, w2 = WF, (W2 @ np.ones((2, 3))).astype(np.float32)

    def ce(w1, w2, x, y):
        return NF.cross_entropy((x @ w1).relu() @ w2, y)

    programs = {
        "mlp": (lm.value_and_grad(mlp_loss, argnums=(0, 1)), (w1, W2.astype(np.float32), x)),
        "cross-entropy": (lm.grad(ce, argnums=(0, 1)), (w1, w2, x, y)),
        "grad-of-grad": (lm.grad(_grad_norm, argnums=(0, 1)), (w1, W2.astype(np.float32), x)),
    }
    for name, (fn, args) in programs.items():
        module = _lowered_hl(fn, *args)
        assert ir_problems(module) == [], name
    # the forward of value_and_grad is computed once, and reused by the backward
    fn, args = programs["mlp"]
    module = _lowered_hl(fn, *args)
    assert sum(isinstance(op, hl.TanhOp) for op in module.walk()) == 1
    assert sum(isinstance(op, hl.MatmulOp) for op in module.walk()) == 2 + 3
