"""torch's factory keywords (device=, layout=, pin_memory=, requires_grad=), generators on
the samplers, `Tensor.cuda/new_*`, and the `lm.cuda` / `lm.backends` / `lm.amp` probes
scripts written for torch make before they start."""

import numpy as np
import pytest

import lamina as lm


@pytest.mark.parametrize("make", [
    lambda **k: lm.zeros(2, 3, **k), lambda **k: lm.ones((2, 3), **k),
    lambda **k: lm.full((2, 3), 1.5, **k), lambda **k: lm.empty(2, 3, **k),
    lambda **k: lm.arange(6.0, **k), lambda **k: lm.linspace(0, 1, 4, **k),
    lambda **k: lm.eye(3, **k), lambda **k: lm.tensor([1.0, 2.0], **k),
    lambda **k: lm.zeros_like(lm.ones(2), **k), lambda **k: lm.randn(2, **k),
    lambda **k: lm.rand(2, **k), lambda **k: lm.randn_like(lm.ones(2), **k),
])
def test_factories_take_torchs_keywords(make):
    base = make()
    for device in ("cpu", "cuda", "cuda:0", lm.device("cpu"), 0):
        assert make(device=device).shape == base.shape
    assert make(layout="torch.strided", pin_memory=False).dtype == base.dtype
    leaf = make(requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf


def test_bad_device_and_layout_are_errors():
    with pytest.raises(RuntimeError, match="device"):
        lm.zeros(2, device="gpu")
    with pytest.raises(NotImplementedError, match="strided"):
        lm.zeros(2, layout="sparse_coo")


def test_requires_grad_on_integer_factory_is_refused():
    with pytest.raises(RuntimeError, match="floating-point"):
        lm.arange(3, requires_grad=True)


def test_generator_streams_are_reproducible_and_separate():
    g = lm.Generator().manual_seed(7)
    first = [lm.randn(4, generator=g).numpy(), lm.rand(3, generator=g).numpy(),
             lm.randint(0, 9, (5,), generator=g).numpy(), lm.randperm(6, generator=g).numpy()]
    lm.manual_seed(0)
    g.manual_seed(7)
    lm.randn(10)  # the global stream does not move g's
    again = [lm.randn(4, generator=g).numpy(), lm.rand(3, generator=g).numpy(),
             lm.randint(0, 9, (5,), generator=g).numpy(), lm.randperm(6, generator=g).numpy()]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], lm.randn(4, generator=g).numpy())
    state = g.get_state()
    nxt = lm.randn(4, generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(nxt, lm.randn(4, generator=g).numpy())


def test_generator_inside_jit_advances_per_call():
    g = lm.Generator().manual_seed(1)
    step = lm.jit(lambda x: x + lm.randn(3, generator=g))
    a, b = step(lm.zeros(3)).numpy(), step(lm.zeros(3)).numpy()
    assert not np.array_equal(a, b)
    g.manual_seed(1)
    np.testing.assert_array_equal(step(lm.zeros(3)).numpy(), a)
    g.manual_seed(1)
    np.testing.assert_array_equal(lm.randn(3, generator=g).numpy(), a)  # eager == jit


def test_generator_type_is_checked():
    with pytest.raises(TypeError, match="Generator"):
        lm.randn(2, generator=np.random.default_rng(0))


def test_tensor_new_and_device_methods():
    x = lm.ones(2, dtype=lm.float64)
    assert x.new_zeros(3, device="cuda").dtype == lm.float64
    assert x.new_full((2,), 5.0).numpy().tolist() == [5.0, 5.0]
    assert x.new_tensor([1, 2]).dtype == lm.float64
    assert x.new_ones((2, 2), dtype=lm.int32).dtype == lm.int32
    assert x.cuda() is x and x.cuda(0) is x and x.contiguous(memory_format=None) is x


def test_cuda_backends_amp_probes():
    assert isinstance(lm.cuda.is_available(), bool)
    assert lm.cuda.device_count() >= 0
    lm.cuda.synchronize()
    lm.cuda.manual_seed_all(3)
    lm.backends.cudnn.benchmark = True
    assert lm.backends.cudnn.benchmark and not lm.backends.mps.is_available()
    lm.set_default_device("cpu")
    scaler = lm.amp.GradScaler(enabled=True)
    w = lm.tensor([1.0, 2.0], requires_grad=True)
    opt = lm.optim.SGD([w], lr=0.5)

    @lm.amp.autocast("cuda")
    def loss_fn():
        return (w * w).sum()

    with lm.amp.autocast(device_type="cpu", dtype=lm.bfloat16):
        loss = loss_fn()
    assert loss.dtype == lm.float32
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(w.numpy(), [0.0, 0.0])
    assert scaler.get_scale() == 1.0 and not scaler.is_enabled()


@pytest.mark.parametrize("options", [
    {"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0}, {"scale_grad_by_freq": True},
    {"padding_idx": 0, "max_norm": 1.5, "scale_grad_by_freq": True}, {"sparse": True},
])
def test_embedding_options_match_torch(options):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch.nn.Embedding(7, 3, **options)
    ours = lm.nn.Embedding(7, 3, **options)
    ours.load_state_dict({"weight": ref.weight.detach().numpy().copy()})
    idx = np.array([[1, 2, 2, 0], [4, 2, 1, 1]])
    y_ref = ref(torch.tensor(idx))
    (y_ref * torch.arange(3.0)).sum().backward()
    y = ours(lm.tensor(idx))
    (y * lm.arange(3.0)).sum().backward()
    np.testing.assert_allclose(y.numpy(), y_ref.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.weight.numpy(), ref.weight.detach().numpy(), rtol=1e-6)
    grad_ref = ref.weight.grad.to_dense() if ref.weight.grad.is_sparse else ref.weight.grad
    np.testing.assert_allclose(ours.weight.grad.numpy(), grad_ref.numpy(), rtol=1e-6)


def test_embedding_from_pretrained_and_device_keywords():
    table = lm.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3))
    frozen = lm.nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(lm.tensor([3, 0])).numpy(), table.numpy()[[3, 0]])
    assert lm.nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    for module in (lm.nn.Linear(2, 3, device="cpu"), lm.nn.LayerNorm(3, device="cuda"),
                   lm.nn.Embedding(4, 2, device="cpu"),
                   lm.nn.MultiheadAttention(4, 2, device="cpu")):
        assert module.cuda() is module and module.to("cpu", lm.float32) is module
