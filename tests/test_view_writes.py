"""In-place updates through views write their base, as torch's aliasing does: `w[0].fill_`,
`x[:, 1].mul_`, `x.t().add_`, `x.view(-1).add_`, narrow/chunk/select pieces, nested views;
eagerly, under lm.jit (an input updated through a view) and with gradients. (Before, the
update stayed in the view and the base was silently unchanged: fuzz seed 40011.)"""

import numpy as np
import pytest
import torch
from conftest import compiled_backends

import lamina as lm

CASES = {
    "row.fill_": lambda t: t[0].fill_(9),
    "col.mul_": lambda t: t[:, 1].mul_(2),
    "t.add_": lambda t: t.t().add_(1),
    "T.sub_": lambda t: t.T.sub_(1),
    "view.add_": lambda t: t.view(-1).add_(1),
    "reshape.add_": lambda t: t.reshape(-1).add_(1),
    "narrow.zero_": lambda t: t.narrow(1, 0, 2).zero_(),
    "chunk.fill_": lambda t: t.chunk(2, 0)[1].fill_(7),
    "unbind.mul_": lambda t: t.unbind(1)[2].mul_(-1),
    "select.clamp_": lambda t: t.select(0, 1).clamp_(max=4),
    "unsqueeze.add_": lambda t: t.unsqueeze(0).add_(1),
    "nested": lambda t: t[1:].t()[0].add_(5),
    "view_setitem": lambda t: t[0].__setitem__(slice(1, None), 5.0),
    "iadd": lambda t: t[:, :2].__iadd__(3),
    "data.view": lambda t: t.data.view(-1)[::2].add_(1),
}


@pytest.mark.parametrize("case", CASES)
def test_in_place_through_a_view_writes_the_base(case):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    want = torch.tensor(x)
    CASES[case](want)
    got = lm.tensor(x)
    CASES[case](got)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_an_advanced_index_is_a_copy():
    t = lm.tensor(np.zeros(4, np.float32))
    t[[0, 1]].fill_(1)
    t[t >= 0].fill_(1)
    assert t.tolist() == [0.0] * 4  # as torch: advanced indexing copies


def _prog(m, a):
    y = a * 1
    y[:, 0].mul_(3)
    y.t()[1].add_(10)
    y.view(-1)[5:].fill_(-1)
    return y


@pytest.mark.parametrize("backend", ["eager", *compiled_backends()])
def test_view_writes_under_jit_and_gradients(backend):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = torch.tensor(x, requires_grad=True)
    want = _prog(torch, a)
    want.pow(2).sum().backward()
    if backend == "eager":
        b = lm.tensor(x, requires_grad=True)
        got = _prog(lm, b)
        got.pow(2).sum().backward()
        grad = b.grad.numpy()
    else:
        got = lm.jit(lambda v: _prog(lm, v), backend=backend)(x)
        grad = np.asarray(lm.jit(lm.grad(lambda v: _prog(lm, v).pow(2).sum()),
                                 backend=backend)(x))
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    np.testing.assert_array_equal(grad, a.grad.numpy())


def test_jitted_update_of_a_captured_tensor_through_a_view():
    w = lm.tensor(np.ones((2, 2), np.float32))
    step = lm.jit(lambda: w[0].add_(1))
    step()
    step()
    assert w.tolist() == [[3.0, 3.0], [1.0, 1.0]]


def test_parameter_init_through_a_view():
    lin = lm.nn.Linear(3, 2)
    with lm.no_grad():
        lin.weight[0].fill_(0.0)
        lin.bias.view(-1)[1:].zero_()
    assert lin.weight.numpy()[0].tolist() == [0.0] * 3 and lin.bias.tolist()[1] == 0.0
