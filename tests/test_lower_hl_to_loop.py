"""lower-hl-to-loop on its own: every op-table row is lowered, verified, and run by the
numpy interpreter of the loop level (`lamina.runtime.loop_interp`), against the hl
interpreter. Fusion is checked by counting kernels."""

import numpy as np
import pytest
from opcases import all_cases

import lamina as lm
import lamina.nn.functional as F
from lamina.dialects import loop
from lamina.passes.lower_hl_to_loop.pass_ import lower_module
from lamina.passes.pipeline import simplify_hl
from lamina.runtime import interp, loop_interp

CASES = all_cases()


def trace(fn, *inputs):
    """The hl module of `fn` and its full input list (closure tensors come last)."""
    from lamina.frontend import pytree

    leaves, treedef = pytree.flatten((inputs, {}))
    module, plan = lm.jit(fn)._trace_module(inputs, {}, leaves, treedef)
    return module, [*inputs, *(t._concrete() for t in plan["captured"])]


def lower(fn, *inputs):
    module, inputs = trace(fn, *inputs)
    simplify_hl(module)
    hl_module = module.clone()
    lower_module(module)
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
