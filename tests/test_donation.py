"""Donated buffers: a jitted step writes the new values of the tensors it updates in
place into their own arrays (C backend, `lamina/passes/donate_buffers.py`).

Every numeric check compares with torch (optimizer steps) or numpy (hand-written
updates); the structural checks read the program's `lamina.donated` attribute, the
runner's donation map and the generated C."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import lamina as lm
import lamina.nn as nn
import lamina.nn.functional as F
from lamina.frontend.jit import Lowered
from lamina.runtime import backends

pytestmark = pytest.mark.skipif("c" not in backends.available(), reason="needs the C backend")

STEPS = 4


def _models(seed: int = 0):
    torch.manual_seed(seed)
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 9), torch.nn.ReLU(), torch.nn.Linear(9, 4))
    model = nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 4))
    model.load_state_dict(tmodel.state_dict())
    return model, tmodel


def _batches(n: int = STEPS):
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((5, 6)).astype(np.float32), rng.integers(0, 4, 5))
            for _ in range(n)]


def _jitted_step(model, opt, backend: str = "c"):
    @lm.jit(backend=backend)
    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def _torch_state(topt, tparams, key: str) -> list[np.ndarray]:
    return [topt.state[p][key].detach().numpy() for p in tparams]


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_jitted_step_updates_params_and_state_in_place_and_matches_torch(kind):
    model, tmodel = _models()
    params, tparams = list(model.parameters()), list(tmodel.parameters())
    if kind == "sgd":
        opt = lm.optim.SGD(params, lr=0.1, momentum=0.9)
        topt = torch.optim.SGD(tparams, lr=0.1, momentum=0.9)
        keys = ["momentum_buffer"]
    else:
        opt = lm.optim.Adam(params, lr=0.01)
        topt = torch.optim.Adam(tparams, lr=0.01)
        keys = ["exp_avg", "exp_avg_sq"]
    step = _jitted_step(model, opt)
    # a view of every parameter and state array, taken before any step
    views = [p.numpy() for p in params]
    ids = [id(p.numpy()) for p in params]
    state_views = {k: [opt.state[p][k].numpy() for p in params] for k in keys}
    for x, y in _batches():
        loss = float(step(x, y))
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
        tloss.backward()
        topt.step()
        assert loss == pytest.approx(tloss.item(), rel=1e-5, abs=1e-6)
        for p, tp in zip(params, tparams, strict=True):
            np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)
        for k in keys:
            for p, expect in zip(params, _torch_state(topt, tparams, k), strict=True):
                np.testing.assert_allclose(opt.state[p][k].numpy(), expect, rtol=1e-5, atol=1e-6)
    assert len(step._cache) == 1
    # donated: the same arrays were updated, so views taken before the steps see it
    assert [id(p.numpy()) for p in params] == ids
    for p, view in zip(params, views, strict=True):
        assert np.shares_memory(p.numpy(), view)
        np.testing.assert_array_equal(view, p.numpy())
    for k in keys:
        for p, view in zip(params, state_views[k], strict=True):
            assert np.shares_memory(opt.state[p][k].numpy(), view)


def _traced_sgd_step():
    """A momentum-SGD step traced and compiled for the C backend: (model, program, its
    inputs)."""
    from lamina.frontend.compile import compile_module
    from lamina.frontend.trace import trace

    model, _ = _models()
    opt = lm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = _jitted_step(model, opt)
    x, y = _batches(1)[0]
    traced = trace(step.fn, x, y)
    program = compile_module(traced.module, "c", name=traced.name)
    return model, program, [x, y] + [np.array(a) for a in traced.captured_arrays()]


def test_sgd_step_program_allocates_no_output_for_donated_params():
    model, program, inputs = _traced_sgd_step()
    lowered = Lowered(program)
    runner = program.run
    n_params = len(list(model.parameters()))
    # every parameter and momentum buffer: its new value goes into its own input
    assert len(runner.donated) == 2 * n_params
    assert "lamina.donated" in lowered.ir("loop")
    assert {j for j, _ in runner._fresh}.isdisjoint(runner.donated)
    # in the C entry, the donated outputs' buffer pointers are declared and never used:
    # the kernels store into the inputs' buffers
    source = lowered.source()
    main = source[source.index("void lamina_main(void **bufs)"):]
    n_in = len(runner.inputs)
    for j in runner.donated:
        name = re.search(rf"(\w+) = \(\w+\s*\*\)bufs\[{n_in + j}\];", main).group(1)
        assert len(re.findall(rf"\b{name}\b", main)) == 1, name
    # and a call returns the input arrays themselves as those outputs
    outputs = program(inputs, donate=True)
    for j, i in runner.donated.items():
        assert outputs[j] is inputs[i]


def test_program_called_without_donate_leaves_its_inputs_intact():
    _, program, inputs = _traced_sgd_step()
    before = [np.array(a) for a in inputs]
    first = program(inputs)
    for a, b in zip(inputs, before, strict=True):
        np.testing.assert_array_equal(a, b)
    second = program([np.array(a) for a in before], donate=True)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def _one_step(fn):
    """Run a jitted in-place update; return the program's donation map."""
    jitted = lm.jit(fn, backend="c")
    result = jitted()
    entry = next(iter(jitted._cache.values()))
    return result, entry.program.run.donated


def test_flipped_read_is_not_donated_and_gives_the_right_numbers():
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    p = lm.Tensor(a.copy())

    def f():
        p.add_(p.flip(0))

    _, donated = _one_step(f)
    assert donated == {}
    np.testing.assert_array_equal(p.numpy(), a + a[::-1])


def test_transposed_copy_is_not_donated():
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    p = lm.Tensor(a.copy())

    def f():
        p.copy_(p.T * 2)

    _, donated = _one_step(f)
    assert donated == {}
    np.testing.assert_array_equal(p.numpy(), a.T * 2)


def test_old_value_returned_after_the_update_is_kept():
    a = np.linspace(-1, 1, 10, dtype=np.float32)
    p = lm.Tensor(a.copy())

    def f():
        old = p * 1.0
        total = p.sum()
        p.mul_(3.0)
        return old, total, p

    (old, total, new), _ = _one_step(f)
    np.testing.assert_allclose(old.numpy(), a)
    assert float(total) == pytest.approx(float(a.sum()), abs=1e-5)
    np.testing.assert_allclose(new.numpy(), a * 3)
    np.testing.assert_allclose(p.numpy(), a * 3)


def test_update_reading_a_reduction_of_itself_is_right():
    a = np.arange(1, 9, dtype=np.float32).reshape(2, 4)
    p = lm.Tensor(a.copy())
    view = p.numpy()

    def f():
        p.sub_(p.mean(dim=1, keepdim=True))

    _, donated = _one_step(f)
    np.testing.assert_allclose(p.numpy(), a - a.mean(axis=1, keepdims=True))
    if donated:  # the mean is its own kernel, before the update: safe to donate
        np.testing.assert_allclose(view, p.numpy())


def test_shared_array_between_two_tensors_is_copied_not_overwritten():
    arr = np.arange(6, dtype=np.float32)
    a, b = lm.Tensor(arr), lm.Tensor(arr)  # Tensor(ndarray) shares the array
    assert np.shares_memory(a.numpy(), b.numpy())

    @lm.jit(backend="c")
    def f():
        a.add_(1.0)
        return b * 2.0

    for k in range(1, 3):
        out = f()
        np.testing.assert_array_equal(out.numpy(), np.arange(6) * 2.0)
        np.testing.assert_array_equal(a.numpy(), np.arange(6) + k)
    np.testing.assert_array_equal(arr, np.arange(6))  # b's data never changed


def test_read_only_array_is_copied():
    arr = np.arange(5, dtype=np.float32)
    arr.flags.writeable = False
    p = lm.Tensor(arr)

    @lm.jit(backend="c")
    def f():
        p.add_(2.0)

    f()
    f()
    np.testing.assert_array_equal(p.numpy(), np.arange(5) + 4.0)
    np.testing.assert_array_equal(arr, np.arange(5))


def test_pending_eager_op_keeps_the_old_value():
    a = np.arange(8, dtype=np.float32)
    p = lm.Tensor(a.copy())

    @lm.jit(backend="c")
    def f():
        p.add_(10.0)

    f()  # compiled and run once: the next call donates
    before = p.numpy().copy()
    q = p * 2.0  # lazy: records a snapshot of p's array, not realized yet
    f()
    np.testing.assert_array_equal(q.numpy(), before * 2.0)
    np.testing.assert_array_equal(p.numpy(), before + 10.0)
    r = p * 1.0  # captured after the step: sees the new data
    np.testing.assert_array_equal(r.numpy(), before + 10.0)


@pytest.mark.parametrize("backend", ["interp", "c"])
def test_backends_agree_on_an_optimizer_step(backend):
    if backend not in backends.available():
        pytest.skip(f"{backend} is not registered")
    results = []
    for b in ("interp", backend):
        model, _ = _models(3)
        opt = lm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        step = _jitted_step(model, opt, b)
        for x, y in _batches(3):
            step(x, y)
        results.append([p.numpy().copy() for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_old_value_read_after_the_update_in_the_same_kernel():
    a = np.linspace(0, 2, 12, dtype=np.float32)
    p = lm.Tensor(a.copy())

    def f():
        old = p.clone()  # a copy (detach() shares p's values, as torch's)
        p.copy_(p * 3.0)
        return old + 1.0, p * 2.0

    (shifted, doubled), _ = _one_step(f)
    np.testing.assert_allclose(shifted.numpy(), a + 1.0)
    np.testing.assert_allclose(doubled.numpy(), a * 6.0)
    np.testing.assert_allclose(p.numpy(), a * 3.0)


def test_warm_start_plan_keeps_the_donation_map(tmp_path, monkeypatch):
    from lamina.runtime import cache

    monkeypatch.setenv("LAMINA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_LOADED", {})
    x, y = _batches(1)[0]
    maps = []
    for _ in range(2):  # the second jit finds the first one's plan on disk
        model, tmodel = _models(5)
        opt = lm.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.5)
        step = _jitted_step(model, opt)
        weight = model[0].weight.numpy()
        for _ in range(2):
            step(x, y)
            topt.zero_grad()
            torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y)).backward()
            topt.step()
        entry = next(iter(step._cache.values()))
        maps.append((entry.program.run.donated, entry.program.source is None))
        assert model[0].weight.numpy() is weight
        np.testing.assert_allclose(weight, tmodel[0].weight.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert maps[0][0] and maps[0][0] == maps[1][0]
    assert maps[1][1] or not list((tmp_path / "cache").glob("*.plan.json"))  # from the plan


def test_tensor_only_written_keeps_its_array():
    buf = lm.Tensor(np.full((3, 4), 7.0, np.float32))
    view = buf.numpy()

    @lm.jit(backend="c")
    def f(x):
        buf.copy_(x * 2.0)
        return x + 1.0

    for k in range(3):
        x = np.arange(12, dtype=np.float32).reshape(3, 4) + k
        np.testing.assert_array_equal(f(x).numpy(), x + 1.0)
        np.testing.assert_array_equal(buf.numpy(), x * 2.0)
        assert buf.numpy() is view


def test_index_fault_leaves_donated_parameters_untouched():
    """A step whose gather is checked at run time raises IndexOutOfRangeError after the
    call: the parameters it would have updated in place must still hold their values
    (torch raises in the forward, before opt.step); the next valid step matches torch."""
    torch.manual_seed(0)
    temb = torch.nn.Embedding(5, 3)
    emb = nn.Embedding(5, 3)
    emb.load_state_dict(temb.state_dict())
    opt = lm.optim.SGD(emb.parameters(), lr=0.5)
    topt = torch.optim.SGD(temb.parameters(), lr=0.5)

    @lm.jit(backend="c")
    def step(i):
        loss = emb(i).square().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    before = emb.weight.numpy().copy()
    with pytest.raises(IndexError, match="out of range|index"):
        step(np.array([1, 5]))
    np.testing.assert_array_equal(emb.weight.numpy(), before)
    step(np.array([1, 4]))
    tloss = temb(torch.tensor([1, 4])).square().sum()
    topt.zero_grad()
    tloss.backward()
    topt.step()
    np.testing.assert_allclose(emb.weight.numpy(), temb.weight.detach().numpy(), rtol=1e-6)
