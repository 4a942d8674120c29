"""lower-hl-to-loop on its own: every op-table row is lowered, verified, and run by the
numpy interpreter of the loop level (`lamina.runtime.loop_interp`), against the hl
interpreter. Fusion is checked by counting kernels."""

import numpy as np
import pytest
from opcases import all_cases

import lamina as lm
import lamina.nn.functional as F
from lamina.dialects import loop
from lamina.passes import pipeline
from lamina.passes.pipeline import run_pipeline
from lamina.runtime import interp, loop_interp

CASES = all_cases()


def trace(fn, *inputs):
    """The hl module of `fn` and its full input list (closure tensors come last)."""
    from lamina.frontend.trace import trace as trace_fn

    traced = trace_fn(fn, *inputs)
    return traced.module, traced.input_arrays(*inputs)


def lower(fn, *inputs):
    module, inputs = trace(fn, *inputs)
    run_pipeline(module, "c-pipeline", until="hl")
    hl_module = module.clone()
    pipeline.run(module, "hl-simplify,hl-to-loop")
    module.verify()
    return hl_module, module, inputs


def kernel_count(module) -> int:
    return sum(isinstance(op, loop.KernelOp | loop.MatmulOp) for op in module.walk())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_row_lowers_and_matches_hl_interpreter(case):
    inputs = case.make_inputs()
    hl_module, module, inputs = lower(case.fn, *inputs)
    want = interp.run_module(hl_module, inputs)
    got = loop_interp.run(module, inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        if w.dtype == np.bool_ or np.issubdtype(w.dtype, np.integer):
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64),
                                       rtol=max(case.rtol, 1e-5), atol=max(case.atol, 1e-6))


def test_lowered_module_roundtrips_through_text():
    from xdsl.parser import Parser

    from lamina.passes.pipeline import context

    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    _, module, _ = lower(lambda x: F.softmax(x, dim=-1) * 2, x)
    text = str(module)
    again = Parser(context(), text).parse_module()
    again.verify()
    assert str(again) == text


def _rand(*shape):
    return np.random.default_rng(1).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("fn, inputs, kernels", [
    (lambda x: F.softmax(x, dim=-1), [_rand(16, 32)], 1),
    (lambda x: F.log_softmax(x, dim=-1), [_rand(16, 32)], 1),
    (lambda x, w, b: F.layer_norm(x, (32,), w, b), [_rand(16, 32), _rand(32), _rand(32)], 1),
    (lambda x: (x.exp() * 2 + 1).tanh().sigmoid(), [_rand(16, 32)], 1),
    (lambda x, w1, b1, w2: F.relu(x @ w1 + b1) @ w2,
     [_rand(8, 16), _rand(16, 32), _rand(32), _rand(32, 4)], 3),
])
def test_fusion_kernel_counts(fn, inputs, kernels):
    hl_module, module, inputs = lower(fn, *inputs)
    assert kernel_count(module) == kernels, str(module)
    got = loop_interp.run(module, inputs)
    want = interp.run_module(hl_module, inputs)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def _check(fn, inputs, rtol=1e-5, atol=1e-6):
    hl_module, module, inputs = lower(fn, *inputs)
    got = loop_interp.run(module, inputs)
    want = interp.run_module(hl_module, inputs)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol,
                                   atol=atol)
    return module


def test_mlp_train_step_matches_and_fuses():
    def step(x, y, w1, b1, w2, b2):
        def loss(w1, b1, w2, b2):
            return F.cross_entropy(F.relu(x @ w1 + b1) @ w2 + b2, y)
        value, grads = lm.value_and_grad(loss, argnums=(0, 1, 2, 3))(w1, b1, w2, b2)
        return value, *(p - 0.1 * g for p, g in zip((w1, b1, w2, b2), grads, strict=True))

    r = np.random.default_rng(0)
    inputs = [_rand(8, 16), r.integers(0, 4, 8), _rand(16, 32), _rand(32), _rand(32, 4),
              _rand(4)]
    module = _check(step, inputs)
    assert sum(isinstance(op, loop.MatmulOp) for op in module.walk()) == 5
    assert kernel_count(module) <= 14


@pytest.mark.parametrize("dtype", [np.float16, "bfloat16", np.float64])
def test_half_and_double_chains(dtype):
    dt = lm.bfloat16.np_dtype if dtype == "bfloat16" else np.dtype(dtype)
    x = _rand(4, 8).astype(dt)
    _check(lambda x: (F.softmax(x * 2.0, dim=-1) + x.exp()).sum(dim=0), [x], rtol=2e-2,
           atol=2e-2)


def test_integer_bool_and_uint8_ops():
    r = np.random.default_rng(0)
    a = r.integers(-20, 20, (4, 8)).astype(np.int32)
    b = r.integers(1, 7, (4, 8)).astype(np.int32)
    u = r.integers(0, 255, (4, 8)).astype(np.uint8)
    _check(lambda a, b, u: ((a // b) + (a % b) * 3, (a > b) & (u > 100), u // 3 + u % 7,
                            a.max(dim=1), (u > 50).sum(dim=1), a.argmax(dim=1)), [a, b, u])


def test_returned_input_and_duplicate_results_are_copies():
    x = _rand(4, 8)
    module = _check(lambda x: (x, x.exp(), x.exp()), [x])
    names = [op.kernel_name.data for op in module.walk() if isinstance(op, loop.KernelOp)]
    assert sum(n.startswith("copy") for n in names) == 2, names


def test_column_softmax_is_parallel_over_columns():
    module = _check(lambda x: F.softmax(x, dim=0), [_rand(16, 8)])
    (kernel,) = [op for op in module.walk() if isinstance(op, loop.KernelOp)]
    assert kernel.bound_values == (8,)


def test_reductions_over_different_dims_are_materialized(monkeypatch, capsys):
    monkeypatch.setenv("LAMINA_LOG_FUSION", "1")
    x = _rand(6, 8)
    module = _check(lambda x: x - x.amax(dim=1, keepdim=True) - x.amax(dim=0, keepdim=True),
                    [x])
    assert kernel_count(module) == 2
    assert "is materialized" in capsys.readouterr().err


def test_unfused_matmul_epilogue_is_logged(monkeypatch, capsys):
    """The bias add after a GEMM is its own kernel; LAMINA_LOG_FUSION says so."""
    monkeypatch.setenv("LAMINA_LOG_FUSION", "1")
    x, w, b = _rand(8, 16), _rand(4, 16), _rand(4)
    _check(lambda x, w, b: F.relu(F.linear(x, w, b)), [x, w, b], rtol=1e-5, atol=1e-5)
    err = capsys.readouterr().err
    assert "hl.add -> tensor<8x4xf32> is not fused into hl.matmul" in err, err


def test_scatter_add_is_one_kernel_with_a_sequential_loop():
    table = np.zeros((5, 3), np.float32)
    idx = np.array([0, 2, 2, 4, 2], np.int64)
    upd = _rand(5, 3)
    module = _check(lambda t, i, u: t.index_add(0, i, u * 2.0), [table, idx, upd])
    (kernel,) = [op for op in module.walk() if isinstance(op, loop.KernelOp)
                 and op.kernel_name.data.startswith("scatter_add")]
    assert kernel.bound_values == (3,)
    assert any(isinstance(op, loop.SeqForOp) for op in kernel.walk())


def test_batched_weight_gradient_is_one_matmul():
    """d/dw sum((x @ w)^2) for a 3-d x: the batch folds into the contraction."""
    x, w = _rand(2, 3, 4), _rand(4, 5)
    module = _check(lm.grad(lambda w, x: ((x @ w) ** 2).sum()), [w, x], rtol=1e-4)
    matmuls = [op for op in module.walk() if isinstance(op, loop.MatmulOp)]
    assert any(op.size("batch") == 1 and op.size("k") == 6 and op.flag("transpose_a")
               for op in matmuls), [str(op) for op in matmuls]
    assert not any(isinstance(op, loop.KernelOp) and op.kernel_name.data.startswith("broad")
                   for op in module.walk())


def test_intermediate_buffers_are_reused_and_freed():
    from xdsl.dialects import memref

    x, w = _rand(8, 8), _rand(8, 8)
    module = _check(lambda x, w: (((x @ w) @ w) @ w) @ w, [x, w], rtol=1e-4)
    allocs = [op for op in module.walk() if isinstance(op, memref.AllocOp)]
    deallocs = [op for op in module.walk() if isinstance(op, memref.DeallocOp)]
    assert len(allocs) == 2 and len(deallocs) == 2


_UNARY = [lambda a: a.exp(), lambda a: a.tanh(), lambda a: -a, lambda a: a.abs(),
          lambda a: a * 2.0 + 1.0, lambda a: a.relu(), lambda a: a.sigmoid()]
_BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b,
           lambda a, b: lm.maximum(a, b) if hasattr(lm, "maximum") else a + b]
_REDUCE = [lambda a, d: a.sum(dim=d), lambda a, d: a.amax(dim=d, keepdim=True),
           lambda a, d: a.mean(dim=d), lambda a, d: F.softmax(a, dim=d)]


def test_random_fused_programs_match_the_hl_interpreter():
    """Random chains of elementwise ops, broadcasts, transposes and reductions."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=25, deadline=None, derandomize=True)
    @hypothesis.given(st.data())
    def run(data):
        shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
        ops = data.draw(st.lists(st.tuples(st.sampled_from(["u", "b", "r", "t"]),
                                           st.integers(0, 10)), min_size=1, max_size=6))
        x = np.random.default_rng(len(ops)).uniform(-1, 1, shape).astype(np.float32)
        y = np.random.default_rng(1).uniform(-1, 1, shape[-1:]).astype(np.float32)

        def program(x, y):
            a = x
            for kind, k in ops:
                if kind == "u":
                    a = _UNARY[k % len(_UNARY)](a)
                elif kind == "b" and a.shape[-1:] == y.shape:
                    a = _BINARY[k % len(_BINARY)](a, y)
                elif kind == "r" and a.ndim >= 1:
                    a = _REDUCE[k % len(_REDUCE)](a, k % a.ndim)
                elif kind == "t" and a.ndim >= 2:
                    a = a.transpose(0, a.ndim - 1)
            return a, a * 3.0

        _check(program, [x, y], rtol=1e-4, atol=1e-5)

    run()


def test_large_full_reduction_is_split_in_two_parallel_stages():
    x = np.random.default_rng(0).standard_normal((256, 512)).astype(np.float32)
    module = _check(lambda x: (x * x).sum(), [x], rtol=1e-4)
    bounds = sorted(op.bound_values for op in module.walk() if isinstance(op, loop.KernelOp))
    assert bounds == [(), (256,)], bounds


def test_shifted_reads_share_their_index_math():
    """A chain of stencils `a[1:] + a[:-1]` stays linear in size (index CSE)."""
    def stencil(x):
        a = x
        for _ in range(14):
            a = a[1:] + a[:-1]
        return a

    module = _check(stencil, [_rand(64) * 0.01], rtol=1e-4, atol=1e-5)
    assert sum(1 for _ in module.walk()) < 400


def test_every_hl_op_has_an_element_rule_or_a_producer():
    from opcases import NEEDS_RANKS  # (collectives run between compiled segments)

    from lamina.dialects import hl
    from lamina.passes.lower_hl_to_loop.producers import PRODUCERS
    from lamina.passes.lower_hl_to_loop.registry import RULES

    missing = sorted(set(hl.OPS_BY_NAME) - set(RULES) - set(PRODUCERS) - NEEDS_RANKS)
    assert not missing, f"hl ops lower-hl-to-loop cannot lower: {missing}"


def test_gpt_training_step_lowers_and_matches():
    """examples/gpt.py's whole AdamW training step (~1500 hl ops): lowered in about a
    second, every output (loss, parameters, optimizer state) equal to the hl interpreter."""
    import os
    import sys
    import time

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
    gpt = pytest.importorskip("gpt")
    lm.manual_seed(0)
    model = gpt.GPT(40, 8, 32, 4, 2)
    opt = lm.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)

    def train_step(idx, targets):
        opt.zero_grad()
        logits = model(idx)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    r = np.random.default_rng(0)
    idx, targets = r.integers(0, 40, (2, 8)), r.integers(0, 40, (2, 8))
    module, inputs = trace(train_step, idx, targets)
    run_pipeline(module, "c-pipeline", until="hl")
    hl_module = module.clone()
    start = time.perf_counter()
    pipeline.run(module, "hl-simplify,hl-to-loop")
    assert time.perf_counter() - start < 20
    module.verify()
    got, want = loop_interp.run(module, inputs), interp.run_module(hl_module, inputs)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    # AdamW: one kernel per parameter shape updates every parameter of that shape and
    # its two moments; step counts are recomputed where read
    assert sum(isinstance(op, loop.KernelOp) for op in module.walk()) <= 75


def test_integer_division_never_traps():
    """x // 0 and x % 0 give 0 as numpy does; INT_MIN // -1 wraps instead of trapping."""
    a = np.array([7, -7, 5, np.iinfo(np.int32).min, 9], np.int32)
    b = np.array([0, 0, -1, -1, 2], np.int32)
    hl_module, module, inputs = lower(lambda a, b: (a // b, a % b), a, b)
    got = loop_interp.run(module, inputs)
    with np.errstate(all="ignore"):
        want = [a // b, a % b]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("src, dst, divisions", [
    ((4, 3, 36), (4, 3, 6, 6), 0),   # a merge of target dims: affine
    ((4, 3, 6, 6), (4, 3, 36), 2),   # a split: one div and one rem, for that group only
    ((6, 4), (4, 6), 2),             # no common grouping: through the flat index
    ((1, 12, 1), (12,), 0),          # unit dims only
])
def test_reshape_maps_dim_groups_without_needless_division(src, dst, divisions):
    """Reshapes cut the dims into groups of equal size: a reshape that only merges
    target dims reads its source with affine indices (no 64-bit division per element)."""
    from xdsl.dialects import arith

    x = _rand(*src)
    module = _check(lambda x: (x.reshape(*dst) * 2.0).exp(), [x], rtol=1e-5)
    found = sum(isinstance(op, arith.DivUIOp | arith.RemUIOp) for op in module.walk())
    assert found == divisions, found


def test_profile_knob_times_every_kernel(tmp_path):
    """LAMINA_PROFILE=1: the C program reports each kernel's time at exit, and each
    GEMM's (a conv layer's) GFLOP/s."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np, lamina as lm\n"
            "f = lm.jit(lambda a, b: ((a @ b).exp().sum(dim=1),))\n"
            "a = np.ones((8, 8), np.float32)\n"
            "for _ in range(3): f(a, a)\n")
    env = {**os.environ, "LAMINA_PROFILE": "1", "LAMINA_CACHE_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "lamina profile: 3 calls" in run.stderr, run.stderr
    assert "gemm b,m,n,k=1x8x8x8" in run.stderr and "lm_k" in run.stderr, run.stderr
    gemm = next(line for line in run.stderr.splitlines() if "gemm b,m,n,k=1x8x8x8" in line)
    assert gemm.endswith("GFLOP/s"), gemm  # the GEMM's rate: 2*8*8*8 flops per call


def _checks(module) -> int:
    """Index checks (`check.index`, which also clamps) and bare clamps."""
    from xdsl.dialects import arith

    from lamina.dialects import check

    return sum(isinstance(op, arith.MaxSIOp | arith.MinSIOp | check.IndexOp)
               for op in module.walk())


def test_gather_index_proven_in_range_is_not_clamped():
    """A gather whose index is made of loop indices and constants (im2col's `oh + kh`)
    reads without a check when its range provably lies in the table; an index read from
    data, or one whose range may leave the table, is checked at run time."""
    x = _rand(10)
    inside = _check(lambda x: x[lm.arange(8) + 2] * 2.0, [x])
    assert _checks(inside) == 0
    i = np.array([0, 9, 3], np.int64)
    from_data = _check(lambda x, i: x[i] * 2.0, [x, i])
    assert _checks(from_data) == 1
    y = _rand(12)
    beyond = _check(lambda y: y[:10][(lm.arange(8) + 3) % 10] * 2.0, [y])
    assert _checks(beyond) == 1
