"""F.ctc_loss / nn.CTCLoss against torch: padded and concatenated targets, repeated
labels, empty targets, every reduction, zero_infinity for impossible alignments, the
unbatched form, and gradients (through lm.jit: one compiled program per case)."""

import numpy as np
import pytest

import lamina as lm

torch = pytest.importorskip("torch")
F = lm.nn.functional

R = np.random.RandomState(0)
T, N, C = 10, 3, 5
X = R.randn(T, N, C).astype(np.float32)
TARGETS = np.array([[1, 2, 2, 3], [4, 4, 1, 0], [2, 0, 0, 0]])
INPUT_LENGTHS = np.array([10, 8, 6])
TARGET_LENGTHS = np.array([4, 3, 1])


def _torch(x, targets, input_lengths, target_lengths, **kw):
    xt = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.ctc_loss(xt.log_softmax(-1), torch.tensor(targets),
                                        torch.tensor(input_lengths),
                                        torch.tensor(target_lengths), **kw)
    loss.sum().backward()
    return loss.detach().numpy(), xt.grad.numpy()


def _ours(x, targets, input_lengths, target_lengths, **kw):
    targets, input_lengths, target_lengths = (
        lm.tensor(a) for a in (targets, input_lengths, target_lengths))

    def loss_of(x):  # (the integer tensors are captured: known while tracing)
        return F.ctc_loss(F.log_softmax(x, -1), targets, input_lengths, target_lengths, **kw)

    loss = lm.jit(loss_of)(lm.tensor(x))
    grad = lm.jit(lm.grad(lambda x: loss_of(x).sum()))(lm.tensor(x))
    return loss.numpy(), grad.numpy()


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_matches_torch(reduction):
    got, want = (f(X, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction=reduction)
                 for f in (_ours, _torch))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-6)


def test_concatenated_targets_and_empty_target():
    lengths = np.array([4, 3, 0])
    flat = np.concatenate([TARGETS[0, :4], TARGETS[1, :3]])
    got = _ours(X, flat, INPUT_LENGTHS, lengths, reduction="none")
    want = _torch(X, flat, INPUT_LENGTHS, lengths, reduction="none")
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_alignment(zero_infinity):
    input_lengths = np.array([10, 8, 2])  # 2 steps cannot emit "2 2" (needs a blank between)
    targets = TARGETS.copy()
    targets[2, :2] = [2, 2]
    lengths = np.array([4, 3, 2])
    got = _ours(X, targets, input_lengths, lengths, reduction="none",
                zero_infinity=zero_infinity)[0]
    want = _torch(X, targets, input_lengths, lengths, reduction="none",
                  zero_infinity=zero_infinity)[0]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert np.isinf(got[2]) != zero_infinity


def test_module_and_unbatched_form():
    module = lm.nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)
    log_probs = F.log_softmax(lm.tensor(X), -1)
    got = module(log_probs, lm.tensor(TARGETS), lm.tensor(INPUT_LENGTHS),
                 lm.tensor(TARGET_LENGTHS)).numpy()
    want = torch.nn.CTCLoss(reduction="sum", zero_infinity=True)(
        torch.tensor(X).log_softmax(-1), torch.tensor(TARGETS), torch.tensor(INPUT_LENGTHS),
        torch.tensor(TARGET_LENGTHS)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)
    single = F.ctc_loss(log_probs[:, 0], lm.tensor(TARGETS[0]), lm.tensor(10), lm.tensor(4),
                        reduction="none").numpy()
    np.testing.assert_allclose(single, _torch(X, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS,
                                              reduction="none")[0][0], rtol=1e-5)


def test_bad_arguments_are_clean_errors():
    with pytest.raises(ValueError, match="reduction"):
        F.ctc_loss(lm.tensor(X), lm.tensor(TARGETS), lm.tensor(INPUT_LENGTHS),
                   lm.tensor(TARGET_LENGTHS), reduction="avg")
    with pytest.raises(TypeError, match="integers"):
        F.ctc_loss(lm.tensor(X), lm.tensor(TARGETS.astype(np.float32)),
                   lm.tensor(INPUT_LENGTHS), lm.tensor(TARGET_LENGTHS))


def test_concatenated_targets_under_jit_need_known_values():
    flat = lm.tensor(np.concatenate([TARGETS[0, :4], TARGETS[1, :3], TARGETS[2, :1]]))
    step = lm.jit(lambda x, t: F.ctc_loss(F.log_softmax(x, -1), t, lm.tensor(INPUT_LENGTHS),
                                         lm.tensor(TARGET_LENGTHS)))
    with pytest.raises(RuntimeError, match="padded"):
        step(lm.tensor(X), flat)


def test_gradient_wrt_unnormalized_log_probs_is_torchs():
    """torch's CTC gradient w.r.t. log_probs assumes they are normalized (it adds
    exp(log_probs)); lamina gives the same numbers on raw inputs."""
    xt = torch.tensor(X, requires_grad=True)
    torch.nn.functional.ctc_loss(xt, torch.tensor(TARGETS), torch.tensor(INPUT_LENGTHS),
                                 torch.tensor(TARGET_LENGTHS)).backward()
    targets, lengths, tl = (lm.tensor(a) for a in (TARGETS, INPUT_LENGTHS, TARGET_LENGTHS))
    grad = lm.jit(lm.grad(lambda x: F.ctc_loss(x, targets, lengths, tl)))(lm.tensor(X))
    np.testing.assert_allclose(grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)
