"""The catalogue of user mistakes: each one raises a `lamina.errors` exception whose
message names the op, the shapes/dtypes involved and the user's file:line.

Every row is checked in eager mode (the line is the row's own lambda) and, where it
makes sense, inside `lm.jit` (the line is the offending line of the traced function,
not a line inside lamina). The numeric edge cases (NaN, integer division, zero-size
dims, odd numpy inputs) live in test_numerics_semantics.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest

import lamina as lm
import lamina.nn.functional as F
from lamina.runtime import backends

HERE = os.path.basename(__file__)


def _t(*shape: int, dtype=np.float32) -> lm.Tensor:
    return lm.tensor(np.ones(shape, dtype))


def _expect(exc: type[Exception], fn: Callable[[], object], *fragments: str,
            line: int | None = None) -> str:
    """`fn()` raises `exc`; the message holds every fragment and `HERE:line` (the line
    of `fn` itself unless given)."""
    with pytest.raises(exc) as info:
        fn()
    message = str(info.value)
    assert isinstance(info.value, lm.LaminaError), type(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    want = f"{HERE}:{line or fn.__code__.co_firstlineno}"
    assert want in message, (want, message)
    return message


# ---------------------------------------------------------------- shapes, per op family

SHAPE_MISTAKES = {
    "elementwise": (lambda: _t(2, 3) + _t(4, 3), ["add", "[2, 3]", "[4, 3]"]),
    "elementwise-3": (lambda: lm.where(_t(3, dtype=bool), _t(3), _t(4)), ["where", "[4]"]),
    "matmul": (lambda: _t(2, 3) @ _t(4, 5), ["matmul", "[2, 3]", "[4, 5]"]),
    "matmul-1d": (lambda: _t(3) @ _t(4), ["matmul", "[3]", "[4]"]),
    "batched-matmul": (lambda: lm.matmul(_t(2, 3, 4), _t(3, 4, 5)), ["matmul", "[2, 3, 4]"]),
    "linear": (lambda: lm.nn.Linear(4, 2)(_t(2, 3)), ["linear", "[2, 3]", "in_features=4"]),
    "conv-channels": (lambda: F.conv2d(_t(1, 3, 5, 5), _t(2, 4, 3, 3)),
                      ["conv2d", "[1, 3, 5, 5]", "[2, 4, 3, 3]"]),
    "conv-kernel": (lambda: F.conv2d(_t(1, 3, 2, 2), _t(2, 3, 3, 3)),
                    ["conv2d", "[3, 3]", "[1, 3, 2, 2]"]),
    "reshape": (lambda: _t(2, 3).reshape(4, 2), ["reshape", "[2, 3]", "[4, 2]"]),
    "reshape-two-minus-one": (lambda: _t(6).reshape(-1, -1), ["reshape", "[-1, -1]"]),
    "cat": (lambda: lm.cat([_t(2, 3), _t(2, 4)], dim=0), ["cat", "[2, 3]", "[2, 4]"]),
    "stack": (lambda: lm.stack([_t(3), _t(4)]), ["stack", "[3]", "[4]"]),
    "gather": (lambda: lm.gather(_t(2, 3), 1, _t(3, 3, dtype=np.int64)),
               ["gather", "[3, 3]", "[2, 3]"]),
    "expand": (lambda: _t(2, 3).expand(4, 3), ["expand", "[2, 3]", "[4, 3]"]),
    "permute": (lambda: _t(2, 3).permute(0, 0), ["permute", "[0, 0]"]),
}


@pytest.mark.parametrize("name", list(SHAPE_MISTAKES))
def test_shape_mistakes(name):
    fn, fragments = SHAPE_MISTAKES[name]
    _expect(lm.ShapeError, fn, *fragments)


def test_shape_mistake_inside_jit_names_the_traced_line():
    def step(x, w):
        h = x * 2.0
        return h @ w  # the mistake

    line = step.__code__.co_firstlineno + 2
    message = _expect(lm.ShapeError, lambda: lm.jit(step)(np.ones((2, 3), np.float32),
                                                          np.ones((4, 5), np.float32)),
                      "matmul", "[2, 3]", "[4, 5]", line=line)
    assert "lamina/" not in message.split(" at ")[-1]


# ---------------------------------------------------------------- dtypes

DTYPE_MISTAKES = {
    "gather-float-index": (lambda: lm.gather(_t(2, 3), 1, _t(2, 3)), ["gather", "float32"]),
    "index-select-float": (lambda: lm.index_select(_t(3), 0, _t(2)),
                           ["index_select", "float32"]),
    "bitwise-float": (lambda: _t(3) & _t(3), ["bitwise_and", "[3]", "float32"]),
    "invert-float": (lambda: ~_t(3), ["bitwise_not", "[3]", "float32"]),
    "int-negative-power": (lambda: _t(2, dtype=np.int64) ** -1, ["pow", "[2]", "int64"]),
    "sub-bool": (lambda: _t(3, dtype=bool) - _t(3, dtype=bool), ["sub", "bool"]),
    "neg-bool": (lambda: -_t(3, dtype=bool), ["neg", "bool"]),
    "matmul-bool": (lambda: _t(2, 2, dtype=bool) @ _t(2, 2, dtype=bool), ["matmul", "bool"]),
    "str-operand": (lambda: _t(3) + "hello", ["add", "str", "[3]", "float32"]),
    "complex-array": (lambda: lm.tensor(np.ones(3, np.complex64)), ["complex64", "float32"]),
    "string-array": (lambda: lm.tensor(np.array(["a", "b"])), ["<U1"]),
}


@pytest.mark.parametrize("name", list(DTYPE_MISTAKES))
def test_dtype_mistakes(name):
    fn, fragments = DTYPE_MISTAKES[name]
    _expect(lm.DTypeError, fn, *fragments)


def test_dtype_mistake_through_jit_argument():
    f = lm.jit(lambda a, b: a + b)
    _expect(lm.DTypeError, lambda: f(np.ones(3, np.float32), np.ones(3, np.complex128)),
            "complex128")


# ---------------------------------------------------------------- dims

DIM_MISTAKES = {
    "sum": (lambda: _t(2, 3).sum(dim=5), ["sum", "dim 5", "[2, 3]"]),
    "amax-negative": (lambda: _t(2, 3).amax(dim=-3), ["amax", "dim -3", "[2, 3]"]),
    "softmax": (lambda: F.softmax(_t(2, 3), dim=2), ["softmax", "dim 2", "[2, 3]"]),
    "transpose": (lambda: _t(3).transpose(0, 2), ["transpose", "dim 2", "[3]"]),
    "unsqueeze": (lambda: _t(2, 3).unsqueeze(4), ["unsqueeze", "dim 4"]),
    "cat": (lambda: lm.cat([_t(3), _t(3)], dim=1), ["cat", "dim 1", "[3]"]),
    "gather": (lambda: lm.gather(_t(3), 1, _t(3, dtype=np.int64)), ["gather", "dim 1", "[3]"]),
    "getitem": (lambda: _t(3)[5], ["getitem", "index 5", "[3]"]),
}


@pytest.mark.parametrize("name", list(DIM_MISTAKES))
def test_dim_out_of_range(name):
    fn, fragments = DIM_MISTAKES[name]
    _expect(IndexError, fn, *fragments)


# ---------------------------------------------------------------- calling a jitted function

X = np.ones(3, np.float32)


def add(x, y):
    return x + y


ARGUMENT_MISTAKES = {
    "too-few": (lambda: lm.jit(add)(X), ["lm.jit(add)", "'y'", "ndarray[3] float32"]),
    "too-many": (lambda: lm.jit(add)(X, X, X), ["lm.jit(add)", "too many"]),
    "unknown-keyword": (lambda: lm.jit(add)(X, z=X), ["lm.jit(add)", "z=ndarray[3]"]),
    "unhashable": (lambda: lm.jit(add)(X, {1, 2}), ["lm.jit", "set"]),
    "unknown-backend": (lambda: lm.jit(add, backend="tpu")(X, X), ["'tpu'", "interp"]),
    "compiled-shape": (lambda: lm.jit(add, backend="interp").lower(X, X).compile()(X, X)
                       if False else _compiled_call(), ["argument 0", "(4,)", "(3,)"]),
}


def _compiled_call():
    if "c" not in backends.available():
        pytest.skip("the C backend is not registered")
    program = lm.jit(add, backend="c").lower(X, X).compile()
    return program(np.ones(4, np.float32), X)


@pytest.mark.parametrize("name", list(ARGUMENT_MISTAKES))
def test_argument_mistakes(name):
    fn, fragments = ARGUMENT_MISTAKES[name]
    line = None if name != "compiled-shape" else _compiled_call.__code__.co_firstlineno + 4
    _expect(lm.LaminaError, fn, *fragments, line=line)


def test_wrong_kind_of_static_argument_names_the_op():
    def scale(x, factor):
        return x * factor

    line = scale.__code__.co_firstlineno + 1
    _expect(lm.DTypeError, lambda: lm.jit(scale)(X, "2"), "mul", "str", line=line)


# ---------------------------------------------------------------- Python control flow on traced values


def test_python_if_on_a_traced_tensor():
    def relu_ish(x):
        if x.sum() > 0:
            return x
        return -x

    line = relu_ish.__code__.co_firstlineno + 1
    _expect(lm.TraceError, lambda: lm.jit(relu_ish)(X), "if", "lm.where", "shape ()",
            line=line)


@pytest.mark.parametrize("how", ["float", "item", "numpy", "while"])
def test_reading_a_traced_value(how):
    def body(x):
        if how == "float":
            return x * float(x.sum())
        if how == "item":
            return x * x.sum().item()
        if how == "numpy":
            return np.asarray(x) + 1
        while x.amax() < 10:
            x = x * 2
        return x

    offset = {"float": 2, "item": 4, "numpy": 6, "while": 7}[how]
    _expect(lm.TraceError, lambda: lm.jit(body)(X), "traced",
            line=body.__code__.co_firstlineno + offset)


# ---------------------------------------------------------------- gradients


GRAD_MISTAKES = {
    "non-scalar": (lambda: lm.grad(lambda a: a * 2)(X), ["grad", "scalar", "(3,)"]),
    "integer-input": (lambda: lm.grad(lambda a: a.sum())(np.ones(3, np.int32)),
                      ["grad", "int32", "[3]"]),
    "no-requires-grad": (lambda: lm.tensor(X).sum().backward(), ["backward", "requires"]),
}


@pytest.mark.parametrize("name", list(GRAD_MISTAKES))
def test_gradient_mistakes(name):
    fn, fragments = GRAD_MISTAKES[name]
    _expect(lm.GradientError, fn, *fragments)


# ---------------------------------------------------------------- more than 2**31 elements


def _needs_c():
    if "c" not in backends.available():
        pytest.skip("the C backend is not registered")


def test_more_than_2_31_elements_sum_uses_64_bit_indices():
    _needs_c()
    n = 2**31 + 8
    x = np.zeros(n, np.uint8)  # calloc'd: only the pages written below are touched
    x[0], x[2**31 + 1], x[-1] = 2, 5, 3
    got = lm.jit(lambda a: a.sum(), backend="c")(x)
    assert int(np.asarray(got)) == 10
    assert np.asarray(got).dtype == np.int64


@pytest.mark.slow
def test_more_than_2_31_elements_compare_in_2d():
    _needs_c()
    n = 2**30 + 4
    x = np.zeros((2, n), np.uint8)
    x[0, -1] = x[1, 5] = x[1, -1] = 7
    got = np.asarray(lm.jit(lambda a: a == 7, backend="c")(x))
    assert got.shape == (2, n) and got.dtype == np.bool_
    np.testing.assert_array_equal(np.flatnonzero(got), [n - 1, n + 5, 2 * n - 1])
