"""User mistakes of issue 15 item 19 whose answer is lamina's own (no torch twin to
compare with in test_torch_exceptions.py): the text of the out-of-memory error, a
traced tensor used after its trace, numpy's functions called on tensors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lamina as lm

HERE = os.path.basename(__file__)


def _line(fn) -> str:
    return f"{HERE}:{fn.__code__.co_firstlineno}"


def test_a_tensor_larger_than_memory_names_size_and_limit():
    fn = lambda: lm.zeros(10**12)  # noqa: E731
    with pytest.raises(lm.LaminaError) as info:
        fn()
    err = info.value
    assert isinstance(err, RuntimeError) and isinstance(err, MemoryError)  # torch's, numpy's
    message = str(err)
    for fragment in ("zeros", "[1000000000000]", "float32", "3.64 TiB", "machine's memory",
                     _line(fn)):
        assert fragment in message, (fragment, message)


def test_a_traced_tensor_read_after_its_trace_says_so():
    leaked = []

    def step(x):
        leaked.append(x * 2)
        return x + 1

    lm.jit(step)(np.ones(3, np.float32))
    for use in (lambda: leaked[0].numpy(), lambda: float(leaked[0].sum()),
                lambda: leaked[0] + 1):
        with pytest.raises(lm.TraceError) as info:
            use()
        assert "after the trace ended" in str(info.value), str(info.value)
        assert "inside lm.jit (a Python" not in str(info.value)
        assert _line(use) in str(info.value)


def test_reading_a_traced_tensor_inside_the_trace_still_says_inside():
    def step(x):
        return x * float(x.sum())

    with pytest.raises(lm.TraceError, match="inside lm.jit"):
        lm.jit(step)(np.ones(3, np.float32))


def test_backward_gradient_of_another_shape_names_both_shapes():
    x = lm.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        (x * 2).backward(gradient=lm.ones(5))
    assert isinstance(info.value, lm.GradientError)
    assert "Mismatch in shape" in str(info.value) and "[5]" in str(info.value)


# ---------------------------------------------------------------- numpy on tensors
# numpy's reductions call the tensor's method with numpy's keywords (axis, dtype, out,
# keepdims, ddof): lamina takes them as torch takes `axis`/`keepdims`, so np.sum(t)
# is a lamina reduction (a Tensor). Ufuncs and other numpy functions convert the tensor
# with __array__ and return numpy arrays: numpy computed them, no gradient flows.

X = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5

REDUCTIONS = {
    "sum": (lambda a: np.sum(a), lambda a: np.sum(a, axis=1)),
    "mean": (lambda a: np.mean(a), lambda a: np.mean(a, axis=0, keepdims=True)),
    "prod": (lambda a: np.prod(a), lambda a: np.prod(a, axis=1)),
    "max": (lambda a: np.max(a), lambda a: np.max(a, axis=1)),
    "min": (lambda a: np.min(a), lambda a: np.amin(a, axis=0)),
    "std": (lambda a: np.std(a), lambda a: np.std(a, axis=1, ddof=1)),
    "var": (lambda a: np.var(a), lambda a: np.var(a, axis=0)),
    "any": (lambda a: np.any(a > 0), lambda a: np.any(a > 0, axis=1)),
    "all": (lambda a: np.all(a > -3), lambda a: np.all(a > 0, axis=0)),
    "argmax": (lambda a: np.argmax(a), lambda a: np.argmax(a, axis=1)),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_numpy_reductions_of_a_tensor(name):
    for fn in REDUCTIONS[name]:
        got = fn(lm.tensor(X))
        assert isinstance(got, lm.Tensor), type(got)
        np.testing.assert_allclose(got.numpy(), fn(X), rtol=1e-6)


def test_reductions_take_torch_s_numpy_aliases():
    t, tt = lm.tensor(X), torch.tensor(X)
    for fn in (lambda m: m.sum(axis=1), lambda m: m.sum(1, keepdims=True),
               lambda m: m.mean(axis=(0, 1)), lambda m: m.amax(axis=0, keepdims=True)):
        np.testing.assert_allclose(fn(t).numpy(), fn(tt).numpy())


def test_numpy_out_and_doubled_dims_are_refused():
    with pytest.raises(lm.ArgumentError, match="out= is not supported"):
        np.sum(lm.tensor(X), out=np.zeros(()))
    with pytest.raises(TypeError) as info:
        lm.tensor(X).sum(0, axis=1)
    assert isinstance(info.value, lm.LaminaError)
    with pytest.raises(TypeError):  # an argument the op does not have
        lm.tensor(X).amax(ddof=1)


def test_numpy_functions_and_ufuncs_give_arrays():
    t = lm.tensor(X)
    for fn in (np.exp, np.asarray, np.transpose, lambda a: np.add(a, 1),
               lambda a: np.clip(a, 0, 1), np.cumsum):
        got = fn(t)
        assert isinstance(got, np.ndarray), (fn, type(got))
        np.testing.assert_allclose(got, fn(X), rtol=1e-6)


@pytest.mark.parametrize("data", [[True, False, True], [1, 2, 3], [2**40, -(2**40)]])
def test_logsumexp_of_bool_and_int_promotes_as_torch(data):
    got, want = lm.logsumexp(lm.tensor(data), 0), torch.logsumexp(torch.tensor(data), 0)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
