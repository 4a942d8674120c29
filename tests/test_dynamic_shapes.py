"""Symbolic dims (issue 18, points 1-2; docs/dynamic_shapes.md): a jitted program
compiles once for every size of its batch or sequence dim, with the results of the
program compiled for each shape; guards send the sizes it cannot serve to a static
program, and the reasons are logged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina as lm
import lamina.nn as nn
import lamina.nn.functional as F
from lamina.errors import ShapeError
from lamina.runtime import backends, dynamic

pytestmark = pytest.mark.skipif("c" not in backends.available(),
                                reason="symbolic programs are compiled by the C backend")


@pytest.fixture(autouse=True)
def _auto_dynamic(monkeypatch):
    """These tests exercise torch's default policy (LAMINA_AUTO_DYNAMIC=1; off by
    default: see lamina/knobs.py)."""
    monkeypatch.setenv("LAMINA_AUTO_DYNAMIC", "1")


def test_default_compiles_each_shape_without_the_knob(monkeypatch):
    monkeypatch.delenv("LAMINA_AUTO_DYNAMIC")
    jf = lm.jit(lambda x: (x * 2).sum(0), backend="c")
    for n in (3, 5, 7):
        np.testing.assert_array_equal(jf(np.ones((n, 2), np.float32)).numpy(), [2.0 * n] * 2)
    assert jf.stats["symbolic"] == 0



def _mlp_step(seed: int = 0):
    lm.manual_seed(seed)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 5))
    opt = lm.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, step


def test_an_mlp_training_step_compiles_once_for_every_batch_size():
    """The default policy: the second call with a new batch size compiles a symbolic
    program; every later size runs it (size 1 runs a static one), with the values of
    the program compiled for that shape."""
    m_dyn, step_dyn = _mlp_step()
    m_st, step_st = _mlp_step()
    dyn, static = lm.jit(step_dyn, backend="c"), lm.jit(step_st, backend="c", dynamic=False)
    rng = np.random.default_rng(0)
    for b in (1, 8, 9, 37):  # a first call at size 1 (broadcasts simplified) is no model
        x = rng.standard_normal((b, 16)).astype(np.float32)
        y = rng.integers(0, 5, (b,))
        np.testing.assert_allclose(dyn(x, y).item(), static(x, y).item(), rtol=1e-6)
        for p, q in zip(m_dyn.parameters(), m_st.parameters(), strict=True):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5,
                                       atol=1e-7)
    assert dyn.stats == {"static": 1, "symbolic": 1}  # batch 1, then the symbolic one
    assert static.stats == {"static": 4, "symbolic": 0}
    assert "compiled once with arg 0 dim 0, arg 1 dim 0 symbolic" in dyn.compile_log[0]
    dyn(np.ones((1, 16), np.float32), np.zeros(1, np.int64))  # cached static program
    assert dyn.stats == {"static": 1, "symbolic": 1}


def test_inference_matches_torch_at_every_size_including_1():
    lm.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 12), nn.GELU(), nn.Linear(12, 4))
    ref = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.GELU(), torch.nn.Linear(12, 4))
    with torch.no_grad():
        for mine, theirs in zip(model.parameters(), ref.parameters(), strict=True):
            theirs.copy_(torch.from_numpy(mine.detach().numpy()))
    f = lm.jit(lambda x: F.log_softmax(model(x), dim=1), backend="c", dynamic=True)
    rng = np.random.default_rng(1)
    for b in (1, 2, 3, 16, 65, 130):
        x = rng.standard_normal((b, 6)).astype(np.float32)
        want = torch.log_softmax(ref(torch.from_numpy(x)), dim=1).detach().numpy()
        np.testing.assert_allclose(f(x).numpy(), want, rtol=1e-5, atol=1e-6)
    assert f.stats == {"static": 1, "symbolic": 1}  # dynamic=True: symbolic from b = 2


def test_mark_dynamic_makes_a_sequence_dim_symbolic():
    """Attention-free sequence model: embedding, layer norm, softmax over the
    sequence, a mean over it (1/T computed per call)."""
    lm.manual_seed(2)
    emb, norm = nn.Embedding(20, 8), nn.LayerNorm(8)

    def f(idx):
        h = norm(emb(idx))
        w = F.softmax(h.sum(-1), dim=1)
        return (h * w.unsqueeze(-1)).sum(1) + h.mean(1)

    jf = lm.jit(f, backend="c")
    rng = np.random.default_rng(2)
    for t in (5, 7, 2, 40):
        idx = rng.integers(0, 20, (3, t))
        lm.mark_dynamic(idx, 1)
        np.testing.assert_allclose(jf(idx).numpy(), f(lm.tensor(idx)).numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert jf.stats == {"static": 0, "symbolic": 1}


def test_a_branch_on_the_size_is_guarded():
    def f(x):
        return x * 2 if x.shape[0] > 10 else x * 3

    jf = lm.jit(f, backend="c", dynamic=True)
    for b in (20, 30, 5, 11, 10):
        x = np.ones((b, 2), np.float32)
        np.testing.assert_array_equal(jf(x).numpy(), x * (2 if b > 10 else 3))
    assert jf.stats == {"static": 2, "symbolic": 1}  # 5 and 10 fail the guard s > 10
    assert any("fails the guard" in line for line in jf.compile_log)


def test_a_static_slice_of_a_symbolic_dim_is_guarded():
    jf = lm.jit(lambda x: x[:10] + 1, backend="c", dynamic=True)
    for b in (20, 30, 4):
        x = np.arange(b * 2, dtype=np.float32).reshape(b, 2)
        np.testing.assert_array_equal(jf(x).numpy(), x[:10] + 1)
    assert jf.stats == {"static": 1, "symbolic": 1}


def test_a_dim_that_becomes_1_broadcasts_as_torch_does():
    """x and y share the symbol; when y's dim is 1 the symbolic program refuses the call
    and the static one broadcasts; mismatched sizes raise torch's error at the user's
    line."""
    jf = lm.jit(lambda x, y: x + y, backend="c", dynamic=True)
    x, y = np.ones((4, 3), np.float32), np.full((4, 3), 2.0, np.float32)
    np.testing.assert_array_equal(jf(x, y).numpy(), x + y)
    x6, y1 = np.ones((6, 3), np.float32), np.full((1, 3), 5.0, np.float32)
    np.testing.assert_array_equal(jf(x6, y1).numpy(), x6 + y1)
    with pytest.raises(RuntimeError, match=r"(?s)cannot be broadcast.*5 vs 6.*test_dynamic_shapes\.py"):
        jf(np.ones((5, 3), np.float32), np.ones((6, 3), np.float32))
    with pytest.raises(RuntimeError):
        torch.ones(5, 3) + torch.ones(6, 3)


def test_the_program_asserts_its_shapes_at_run_time():
    jf = lm.jit(lambda x, y: x * y, backend="c", dynamic=True)
    jf(np.ones((4, 3), np.float32), np.ones((4, 3), np.float32))
    ((sym,),) = jf._symbolic.values()
    with pytest.raises(ShapeError, match=r"(?s)argument 1 has shape \(5, 3\).*s = 4.*"
                                         r"test_dynamic_shapes\.py"):
        sym.entry.program([np.ones((4, 3), np.float32), np.ones((5, 3), np.float32)])


def test_a_size_in_a_python_loop_falls_back_with_a_reason():
    def f(x):
        out = x[0]
        for i in range(1, x.shape[0]):  # unrolled per size: no symbolic program
            out = out + x[i]
        return out

    jf = lm.jit(f, backend="c")
    for b in (3, 4, 5):
        x = np.arange(b * 2, dtype=np.float32).reshape(b, 2)
        np.testing.assert_array_equal(jf(x).numpy(), x.sum(0))
    assert jf.stats == {"static": 3, "symbolic": 0}
    assert "failed, static shapes instead" in jf.compile_log[0]


def test_sizes_that_change_independently_stay_static():
    jf = lm.jit(lambda x: x.sum(), backend="c")
    jf(np.ones((2, 3), np.float32))
    jf(np.ones((4, 5), np.float32))
    assert jf.stats == {"static": 2, "symbolic": 0}
    assert "2 sizes changed independently" in jf.compile_log[0]


@pytest.mark.parametrize(("coeffs", "value"), [((0, 1), None), ((3, 64), None),
                                                ((0, 0, 4), None), ((-1, 2, 1), None)])
def test_sizes_decode_as_polynomials(coeffs, value):
    poly = dynamic.Poly(coeffs)
    assert dynamic.decode(poly(dynamic.PROBES[0]), poly(dynamic.PROBES[1])) == poly


def test_generalize_refuses_what_is_no_polynomial():
    p0, p1 = dynamic.PROBES
    with pytest.raises(dynamic.NotGeneric):
        dynamic.decode(p0 // 64, p1 // 64)  # a block count: not a polynomial
    with pytest.raises(dynamic.NotGeneric, match="structure"):
        dynamic.generalize_c(["int a = 1;", "int a = 1; int b;"])
    with pytest.raises(dynamic.NotGeneric, match="differs"):
        dynamic.generalize_c([f"f({p0}, x);", f"f({p1}, y);"])
    src, n = dynamic.generalize_c([f"for (i = 0; i < {p0}; i += {3 * p0 + 1}) x;",
                                   f"for (i = 0; i < {p1}; i += {3 * p1 + 1}) x;"])
    assert n == 2 and "i < ((int64_t)(lm_dyn_s))" in src and "(1 + 3*lm_dyn_s)" in src


def test_the_interpreter_runs_one_symbolic_program_too():
    """interp: the pipeline runs once; each size instantiates the hl (a mean's 1/(5s)
    included) and interprets it, with the static program's values."""
    m_dyn, step_dyn = _mlp_step()
    m_st, step_st = _mlp_step()
    dyn = lm.jit(step_dyn, backend="interp")
    static = lm.jit(step_st, backend="interp", dynamic=False)
    rng = np.random.default_rng(3)
    for b in (2, 9, 30):
        x = rng.standard_normal((b, 16)).astype(np.float32)
        y = rng.integers(0, 5, (b,))
        assert dyn(x, y).item() == static(x, y).item()
    for p, q in zip(m_dyn.parameters(), m_st.parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert dyn.stats == {"static": 1, "symbolic": 1}


def test_train_and_eval_modes_each_get_a_symbolic_program():
    """A guard on Python state (dropout's mode) that fails does not pin the sizes:
    each mode compiles one symbolic program, and switching back reuses the first."""
    lm.manual_seed(4)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    f = lm.jit(lambda x: model(x), backend="c")
    for mode in ("train", "eval", "train", "eval"):
        getattr(model, mode)()
        for b in (3, 4, 6):
            out = f(np.ones((b, 4), np.float32)).numpy()
            assert out.shape == (b, 2)
            if mode == "eval":
                np.testing.assert_allclose(out, model(lm.ones(b, 4)).numpy(), rtol=1e-6)
    assert f.stats["symbolic"] == 2


def test_a_second_symbol_gets_its_own_program():
    """dynamic=True makes the batch symbolic; when the sequence length then changes,
    that dim gets a symbolic program of its own (one symbol per program)."""
    jf = lm.jit(lambda x: F.softmax(x, dim=1) * x.shape[1], backend="c", dynamic=True)
    for b, t in ((4, 3), (5, 3), (4, 7), (4, 9), (6, 3)):
        x = np.random.default_rng(b * t).standard_normal((b, t)).astype(np.float32)
        want = torch.softmax(torch.from_numpy(x), dim=1).numpy() * t
        np.testing.assert_allclose(jf(x).numpy(), want, rtol=1e-5, atol=1e-6)
    assert jf.stats == {"static": 0, "symbolic": 2}
