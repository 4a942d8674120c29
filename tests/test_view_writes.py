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


# ---------------------------------------------------------------- views read their base


def _both(program):
    return program(lm), program(torch)


@pytest.mark.parametrize("program", [
    lambda m: _after(m.zeros(4), lambda x: x[:2], lambda x: x.add_(1)),
    lambda m: _after(m.zeros(2, 3), lambda x: x.t(), lambda x: x.__setitem__((0, 1), 5.0)),
    lambda m: _after(m.zeros(2, 3), lambda x: x.t()[1], lambda x: x.mul_(2).add_(1)),
    lambda m: _after(m.zeros(4), lambda x: x.detach(), lambda x: x.add_(1)),
    lambda m: _after(m.arange(6.0).reshape(2, 3), lambda x: x.unbind(1)[2], lambda x: x.sub_(1)),
    lambda m: _after(m.zeros(4), lambda x: x.narrow(0, 1, 2), lambda x: x.copy_(m.arange(4.0))),
])
def test_a_view_reads_its_base_after_an_in_place_update(program):
    ours, theirs = _both(program)
    np.testing.assert_array_equal(ours, theirs)


def _after(base, view_of, update):
    view = view_of(base)
    update(base)
    return np.asarray(view.tolist())


def test_detach_shares_values_both_ways_as_torch():
    w = lm.ones(3, requires_grad=True)
    d = w.detach()
    d.mul_(4)  # writes w
    np.testing.assert_array_equal(w.detach().numpy(), [4, 4, 4])
    assert w.requires_grad and not d.requires_grad
    with lm.no_grad():
        w.add_(1)
    np.testing.assert_array_equal(d.numpy(), [5, 5, 5])


def test_views_follow_updates_made_by_a_jitted_function():
    y = lm.zeros(4)
    tail = y[1:]

    def step():
        y.add_(5)
        return tail.sum()  # read inside the trace, after the update

    f = lm.jit(step)
    assert float(f()) == 15 and tail.tolist() == [5, 5, 5]
    assert float(f()) == 30 and tail.tolist() == [10, 10, 10]
    bump = lm.jit(lambda: y.mul_(2))
    bump()
    assert tail.tolist() == [20, 20, 20]


def test_a_view_of_a_tensor_requiring_grad_follows_with_its_gradient():
    grads = []
    for m in (lm, torch):
        w = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = w * 1
        head = x[:2]
        x.mul_(3)
        (head * head).sum().backward()
        grads.append(np.asarray(w.grad.tolist()))
    np.testing.assert_allclose(grads[0], grads[1])


def test_in_place_through_a_view_of_an_empty_tensor():
    for backend in (None, "c"):
        def program():
            t = lm.zeros((0, 5, 1), dtype=lm.float16)
            t[..., 0].add_(3)
            return t
        out = program() if backend is None else lm.jit(program, backend=backend)()
        assert out.shape == (0, 5, 1)
