"""Issue 15 item 6: indices out of range raise torch's IndexError on every path.

Eager indices are checked when their values are known; under lm.jit they are values
of the running program, so compiled kernels check them (`check.index`) and the
runtime raises IndexOutOfRangeError after the call, naming the op, the bad index, the
size and the line the op was traced at -- the same on the interpreter, C and Triton.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import lamina as lm
from lamina.dialects.hl.indexing import IndexOutOfRangeError

F = lm.nn.functional
THIS = os.path.basename(__file__)


def _raises_index_error(fn, *args):
    with pytest.raises(IndexError) as info:
        np.asarray(fn(*args))
    assert isinstance(info.value, IndexOutOfRangeError | IndexError)
    return str(info.value)


def test_jitted_embedding_checks_its_indices(backend):
    weight = np.arange(40, dtype=np.float32).reshape(10, 4)
    f = lm.jit(lambda w, i: F.embedding(i, w), backend=backend)  # the line named below
    line = sys._getframe().f_lineno - 1
    np.testing.assert_array_equal(np.asarray(f(weight, np.array([0, 9]))), weight[[0, 9]])
    message = _raises_index_error(f, weight, np.array([3, 10]))
    assert "index 10" in message and "size 10" in message, message
    assert f"{THIS}:{line}" in message, message
    # the fault buffer is the call's own: the next good call runs clean
    np.testing.assert_array_equal(np.asarray(f(weight, np.array([9]))), weight[[9]])


@pytest.mark.parametrize("bad", [5, -1])
def test_jitted_cross_entropy_checks_targets(backend, bad):
    f = lm.jit(lambda x, y: F.cross_entropy(x, y), backend=backend)
    x = np.zeros((2, 5), np.float32)
    assert "nll_loss" in _raises_index_error(f, x, np.array([bad, 0]))
    with pytest.raises(IndexError):
        torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.tensor([bad, 0]))
    # ignore_index passes the check, as in torch
    g = lm.jit(lambda x, y: F.cross_entropy(x, y, ignore_index=-1), backend=backend)
    want = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.tensor([-1, 3]),
                                             ignore_index=-1)
    np.testing.assert_allclose(np.asarray(g(x, np.array([-1, 3]))), want.item(), rtol=1e-6)


def test_jitted_one_hot_checks_indices(backend):
    f = lm.jit(lambda i: F.one_hot(i, 3), backend=backend)
    np.testing.assert_array_equal(np.asarray(f(np.array([0, 2]))),
                                  torch.nn.functional.one_hot(torch.tensor([0, 2]), 3).numpy())
    assert "one_hot" in _raises_index_error(f, np.array([0, 3]))


def _assign(x, i):
    x = x.clone()
    x[i] = 7.0
    return x


@pytest.mark.parametrize("name,fn", [
    ("index_select", lambda x, i: lm.index_select(x, 0, i)),
    ("getitem", lambda x, i: x[i]),
    ("setitem", _assign),
    ("index_add", lambda x, i: x.index_add(0, i, lm.ones(2, 3))),
])
def test_jitted_reads_and_writes_check_indices(backend, name, fn):
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    f = lm.jit(fn, backend=backend)
    _raises_index_error(f, x, np.array([1, 4]))
    if name != "index_select":  # torch's index_select refuses negative indices
        _raises_index_error(f, x, np.array([1, -5]))
    np.asarray(f(x, np.array([3, 0])))  # in range: no error


@pytest.mark.parametrize("mask", [[True, False, True], [True, False, True, False, True]])
def test_boolean_mask_of_the_wrong_length(mask):
    with pytest.raises(IndexError):
        torch.ones(4, 2)[torch.tensor(mask)]
    with pytest.raises(IndexError, match="shape of the mask"):
        lm.ones(4, 2)[lm.tensor(mask)]
    with pytest.raises(IndexError, match="shape of the mask"):
        lm.ones(4, 2)[np.array(mask)]
    with pytest.raises(IndexError, match="shape of the mask"):
        lm.ones(4, 2)[:, mask[:3]]


def test_boolean_masks_that_fit_still_select():
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    for index in ([True, False, True, False], (slice(None), [False, True]),
                  np.ones((4, 2), bool)):
        got = np.asarray(lm.tensor(x)[index if not isinstance(index, list) else lm.tensor(index)])
        want = torch.from_numpy(x)[index if not isinstance(index, list) else torch.tensor(index)]
        np.testing.assert_array_equal(got, want.numpy())


def test_warm_started_program_still_checks(tmp_path):
    """A program loaded from its plan on disk (no compile) keeps its fault sites."""
    script = textwrap.dedent("""
        import numpy as np, lamina as lm
        f = lm.jit(lambda w, i: lm.nn.functional.embedding(i, w), backend="c")
        w = np.ones((10, 4), np.float32)
        f(w, np.array([1]))
        try:
            f(w, np.array([12]))
        except IndexError as e:
            print("raised", "index 12" in str(e))
    """)
    env = {**os.environ, "LAMINA_CACHE_DIR": str(tmp_path), "PYTHONPATH": os.path.dirname(os.path.dirname(lm.__file__))}
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, timeout=300) for _ in range(2)]
    for run in runs:
        assert run.stdout.strip() == "raised True", run.stderr[-2000:]
    assert any(name.endswith(".plan") for name in os.listdir(tmp_path))


def test_loop_interpreter_reports_what_compiled_code_reports():
    """The loop level run by the loop interpreter (the spec of the kernels) raises the
    same error at `check.index` as C and Triton do after their call."""
    from xdsl.parser import Parser

    from lamina.passes.pipeline import context
    from lamina.runtime import loop_interp

    weight = np.ones((10, 4), np.float32)
    loop_ir = lm.jit(lambda w, i: F.embedding(i, w)).lower(
        weight, np.array([1]), backend="c").ir("loop")
    assert "check.index" in loop_ir
    module = Parser(context(), loop_ir).parse_module()
    np.testing.assert_array_equal(loop_interp.run(module, [weight, np.array([9])])[0],
                                  weight[[9]])
    with pytest.raises(IndexOutOfRangeError, match="index -3 is out of range for dim 0 of "
                                                   "size 10 in hl.gather, traced at"):
        loop_interp.run(module, [weight, np.array([-3])])
