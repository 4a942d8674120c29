"""`lm.nn.functional`: `torch.nn.functional`'s signatures, written as compositions
of lamina ops, so that each becomes a handful of `hl` ops that the compiler fuses
and the autodiff pass differentiates (no function here has a gradient rule).

Numerically delicate composites follow the usual recipes: softmax and
log_softmax subtract a `stop_gradient` of the max (the result does not depend
on the shift, so its gradient need not flow through it); the BCE-with-logits
loss uses the log-sum-exp form that never exponentiates a large number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lamina import dtypes
from lamina.errors import ArgumentError, DTypeError, ShapeError, like, with_location
from lamina.frontend import indexing, random
from lamina.frontend import ops as O
from lamina.frontend.indexing import one_hot, pad  # noqa: F401  (re-exported)
from lamina.frontend.linalg import avg_pool2d, conv2d, max_pool2d  # noqa: F401  (re-exported)
from lamina.frontend.math_extra import log_softmax, softmax, vector_norm  # noqa: F401  (re-exported)
from lamina.frontend.sizes import symbolic as _symbolic
from lamina.frontend.tensor import Tensor

__all__ = [
    "bilinear", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout",
    "embedding", "gelu", "l1_loss", "layer_norm", "linear", "log_softmax", "mse_loss",
    "nll_loss", "normalize", "relu", "scaled_dot_product_attention", "sigmoid", "silu",
    "softmax", "tanh",
]

__all__ += ["avg_pool2d", "conv2d", "max_pool2d", "one_hot", "pad"]  # re-exported from their owners


def __dir__() -> list[str]:
    """`dir(F)` is the API, not the names this module imports for itself."""
    return sorted(__all__)


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else O.tensor(x)


# ---------------------------------------------------------------- activations


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return O.relu(input)


def sigmoid(input: Tensor) -> Tensor:
    return O.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return O.tanh(input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return O.mul(input, O.sigmoid(input))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) with the exact erf, or torch's tanh approximation (`approximate="tanh"`)."""
    if approximate == "none":
        return input * 0.5 * (1.0 + O.erf(input * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return input * 0.5 * (1.0 + O.tanh(inner))
    raise ArgumentError(with_location(
        f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}"))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(||input||_p along dim, eps), for any p torch takes (0, inf, -inf,
    fractional); the gradient of a zero vector is finite, as torch's."""
    input = _t(input)
    return input / O.clamp(_vector_norm(input, float(p), dim), min=eps)


def _vector_norm(x: Tensor, p: float, dim: int) -> Tensor:
    """torch.linalg.vector_norm(x, p, dim, keepdim=True)."""
    return vector_norm(x, p, dim, keepdim=True)


# ---------------------------------------------------------------- layers


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weightᵀ + bias, with weight of shape (out_features, in_features)."""
    if input.shape[-1:] != weight.shape[-1:]:
        raise ShapeError(with_location(
            f"linear: input of shape {list(input.shape)} does not fit a weight of shape "
            f"{list(weight.shape)} (its last dim must be in_features={weight.shape[-1]})"))
    out = _t(input) @ weight.t()
    return out if bias is None else out + bias


def layer_norm(input: Tensor, normalized_shape: Sequence[int] | int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if input.shape[input.ndim - len(shape):] != shape:
        raise ShapeError(with_location(
            f"layer_norm: normalized_shape {list(shape)} does not match the trailing dims "
            f"of an input of shape {list(input.shape)}"))
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    centered = input - input.mean(dims, keepdim=True)
    var = (centered * centered).mean(dims, keepdim=True)
    out = centered * O.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None
             ) -> Tensor:
    """y[..., o] = Σ_ij x1[..., i] · weight[o, i, j] · x2[..., j] (+ bias[o])."""
    from lamina.frontend.einsum import einsum

    out = einsum("...i,oij,...j->...o", _t(input1), _t(weight), _t(input2))
    return out if bias is None else out + bias


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of `weight` picked by the integer `input` (any shape): out[..., :] = weight[i].
    Rows looked up at `padding_idx` get no gradient, as in torch. With `max_norm`, the
    looked-up rows whose `norm_type`-norm exceeds it are scaled down in `weight` itself
    first (torch's embedding_renorm_); `scale_grad_by_freq` divides the gradient of each
    row by how often the batch looks it up."""
    input = _t(input)
    if input.dtype.is_floating_point:
        raise DTypeError(with_location(
            f"embedding: indices must be integers, got {input.dtype.name}"))
    if _t(weight).ndim != 2:  # torch: RuntimeError
        raise ShapeError(with_location(
            f"embedding: weight must be 2-D, got shape {list(_t(weight).shape)}"))
    if max_norm is not None:
        _renorm_rows(input, weight, float(max_norm), float(norm_type))
    out = indexing.embedding(input, weight)
    if scale_grad_by_freq:
        flat = input.reshape(-1)
        counts = O.zeros(weight.shape[0], dtype=weight.dtype).index_add(
            0, flat, O.ones(flat.shape[0], dtype=weight.dtype))
        per_lookup = indexing.embedding(input, counts.reshape(-1, 1))
        out = O.stop_gradient(out) + (out - O.stop_gradient(out)) / per_lookup
    if padding_idx is None:
        return out
    padding_idx = padding_idx % weight.shape[0]
    return O.where(O.ne(input, padding_idx).unsqueeze(-1), out, O.stop_gradient(out))


def _renorm_rows(input: Tensor, weight: Tensor, max_norm: float, norm_type: float) -> None:
    with O.no_grad():
        used = O.zeros(weight.shape[0], dtype=weight.dtype).index_fill(0, input.reshape(-1), 1.0)
        norms = _vector_norm(weight, norm_type, 1)
        scale = O.where(O.logical_and(O.gt(used.reshape(-1, 1), 0), O.gt(norms, max_norm)),
                        max_norm / (norms + 1e-7), 1.0)
        weight.copy_(weight * scale)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (train only).
    The mask comes from lamina's generator, whose state advances on every call, also
    inside a jitted step (the state is a captured tensor updated in place)."""
    if isinstance(p, bool) or not isinstance(p, int | float):
        raise ArgumentError(with_location(f"dropout: p must be a number, got {p!r:.30}"))
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(with_location(f"dropout: p must be in [0, 1], got {p}"))
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = random.dropout_mask(input.shape, p, dtype=input.dtype)
    return O.where(keep, input * (1.0 / (1.0 - p)), 0.0)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q·kᵀ·scale + mask)·v over the last two dims; a boolean mask marks the
    positions that take part (torch's convention), a float mask is added."""
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(with_location(
            f"scaled_dot_product_attention: query {list(query.shape)}, key "
            f"{list(key.shape)} and value {list(value.shape)} do not fit"))
    if enable_gqa:
        key, value = _repeat_kv_heads(query, key), _repeat_kv_heads(query, value)
    n_q, n_k = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if is_causal and attn_mask is None and dropout_p == 0.0 and not _symbolic(n_q) \
            and n_q >= CAUSAL_MIN_QUERIES and n_k > 0:
        return _causal_attention_in_blocks(query, key, value, scale)
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        scores = O.where(causal_mask(n_q, n_k), scores, float("-inf"))
    if attn_mask is not None:
        attn_mask = _t(attn_mask)
        if attn_mask.dtype == dtypes.bool_:
            scores = O.where(attn_mask, scores, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ value


def _repeat_kv_heads(query: Tensor, kv: Tensor) -> Tensor:
    """Grouped-query attention (`enable_gqa`): each key/value head serves
    heads(query) / heads(kv) consecutive query heads (dim -3), as torch's
    repeat_interleave of kv."""
    if query.ndim < 3 or kv.ndim < 3 or kv.shape[-3] == query.shape[-3]:
        return kv
    hq, hkv = query.shape[-3], kv.shape[-3]
    if hkv == 0 or hq % hkv:
        raise like(ShapeError, RuntimeError)(with_location(
            f"scaled_dot_product_attention: number of query heads ({hq}) must be divisible "
            f"by the number of key/value heads ({hkv}) with enable_gqa=True"))
    lead, (s, d) = tuple(kv.shape[:-3]), kv.shape[-2:]
    grouped = O.broadcast_to(O.unsqueeze(kv, -3), (*lead, hkv, hq // hkv, s, d))
    return O.reshape(grouped, (*lead, hq, s, d))


# Causal attention over at least CAUSAL_MIN_QUERIES queries runs in blocks of
# CAUSAL_BLOCK queries, each against only the keys it can see: the masked half of
# q k^T, of the softmax and of the product with v is never computed (4 blocks of
# 64 rows: 10/16 of the work). Bench attention block (B8 S256 D256, 4 heads), 2
# threads, quiet machine: 12.1 ms unblocked; blocks of 32 rows 9.5-9.7, 48 9.8, 64
# 9.7-9.9, 96 10.0, 128 10.4. 64 is within 2% of 32 with half the GEMM calls and
# kernels (each an OpenMP region that waits for a descheduled thread on a busy
# machine).
CAUSAL_BLOCK = 64
CAUSAL_MIN_QUERIES = 2 * CAUSAL_BLOCK


def _causal_attention_in_blocks(q: Tensor, k: Tensor, v: Tensor, scale: float) -> Tensor:
    """softmax(causal(q kᵀ·scale))·v, one block of query rows at a time; rows i of a
    block see keys j <= i, so the block reads the keys before its last row only. The
    slices are strided views that the GEMMs read in place."""
    from lamina.frontend import movement

    n_q, n_k = q.shape[-2], k.shape[-2]
    outs = []
    for start in range(0, n_q, CAUSAL_BLOCK):
        stop = min(start + CAUSAL_BLOCK, n_q)
        seen = min(stop, n_k)
        scores = (q[..., start:stop, :] @ k[..., :seen, :].transpose(-2, -1)) * scale
        rows = O.arange(start, stop).reshape(stop - start, 1)
        scores = O.where(O.ge(rows, O.arange(seen).reshape(1, seen)), scores, float("-inf"))
        outs.append(softmax(scores, dim=-1) @ v[..., :seen, :])
    return movement.cat(outs, dim=-2)


def causal_mask(n_q: int, n_k: int) -> Tensor:
    """Boolean (n_q, n_k) mask, True where key j ≤ query i (torch's tril alignment)."""
    rows = O.arange(n_q).reshape(n_q, 1)
    cols = O.arange(n_k).reshape(1, n_k)
    return O.ge(rows, cols)


# ---------------------------------------------------------------- losses


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ArgumentError(with_location(
        f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"))


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    return _reduce(O.abs(input - target), reduction, "l1_loss")


def _class_one_hot(target: Tensor, n_classes: int, ndim: int, dtype: dtypes.DType) -> Tensor:
    """one_hot(target) with the class axis at dim 1 (as the input of nll_loss has it)."""
    shape = [1] * ndim
    shape[1] = n_classes
    classes = O.arange(n_classes).reshape(*shape)
    return O.eq(target.unsqueeze(1), classes).to(dtype)


def _class_view(weight: Tensor, ndim: int) -> Tensor:
    shape = [1] * ndim
    shape[1] = weight.shape[0]
    return weight.reshape(*shape)


def _check_targets(input: Tensor, target: Tensor, op: str, ignore_index: int) -> None:
    if input.ndim < 1 or (input.ndim == 1 and target.ndim != 0) or (
            input.ndim > 1 and target.shape != input.shape[:1] + input.shape[2:]):
        raise ShapeError(with_location(
            f"{op}: class-index target of shape {list(target.shape)} does not fit an input "
            f"of shape {list(input.shape)} (expected {list(input.shape[:1] + input.shape[2:])})"))
    if target.dtype.is_floating_point:
        raise DTypeError(with_location(
            f"{op}: class-index targets must be integers, got {target.dtype.name}"))
    data = target._known_array()  # known values are checked (not traced or lazy ones)
    if data is not None:
        bad = data[((data < 0) | (data >= input.shape[1])) & (data != ignore_index)]
        if bad.size:  # torch: IndexError ("Target 3 is out of bounds.")
            raise like(ArgumentError, IndexError)(with_location(
                f"{op}: target {int(bad.flat[0])} is out of range for {input.shape[1]} classes "
                f"(input of shape {list(input.shape)})"))


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """-input[n, target[n]] (weighted); `mean` divides by the total weight of the
    targets that are not `ignore_index`, as torch does."""
    target = _t(target)
    if input.ndim == 1:  # one sample: a batch of one, unbatched again for "none"
        out = nll_loss(input.unsqueeze(0), target.unsqueeze(0), weight, ignore_index, reduction)
        return out.reshape(()) if reduction == "none" else out
    _check_targets(input, target, "nll_loss", ignore_index)
    target = indexing.check_index_values(target, input.shape[1], "nll_loss", allow=ignore_index)
    onehot = _class_one_hot(target, input.shape[1], input.ndim, input.dtype)
    w = onehot if weight is None else onehot * _class_view(weight, input.ndim)
    w = w.sum(1)  # weight of each target; 0 where ignored (no class matches)
    if 0 <= ignore_index < input.shape[1]:
        w = O.where(O.ne(target, ignore_index), w, 0.0)
    loss = -(input * onehot).sum(1) * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction, "nll_loss")


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Class indices (integer target) or class probabilities (float target, same shape
    as input), with torch's weight / ignore_index / label_smoothing semantics."""
    target = _t(target)
    if input.ndim == 1:  # one sample: a batch of one, unbatched again for "none"
        out = cross_entropy(input.unsqueeze(0), target.unsqueeze(0), weight, ignore_index,
                            reduction, label_smoothing)
        return out.reshape(()) if reduction == "none" else out
    logp = log_softmax(input, 1)
    n_classes = input.shape[1]
    if target.dtype.is_floating_point:  # class probabilities
        if target.shape != input.shape:
            raise ShapeError(with_location(
                f"cross_entropy: probability target of shape {list(target.shape)} must "
                f"match the input's shape {list(input.shape)}"))
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        terms = logp * target
        if weight is not None:
            terms = terms * _class_view(weight, input.ndim)
        loss = -terms.sum(1)
        if reduction == "mean":
            return loss.sum() / (input.numel() // n_classes)
        return _reduce(loss, reduction, "cross_entropy")
    _check_targets(input, target, "cross_entropy", ignore_index)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing <= 0:
        return nll
    valid = O.ne(target, ignore_index)
    terms = logp if weight is None else logp * _class_view(weight, input.ndim)
    smooth = O.where(valid, -terms.sum(1), 0.0)
    if reduction == "mean":
        if weight is None:
            denom = valid.to(input.dtype).sum()
        else:
            onehot = _class_one_hot(target, n_classes, input.ndim, input.dtype)
            denom = O.where(valid, (onehot * _class_view(weight, input.ndim)).sum(1), 0.0).sum()
        smooth = smooth.sum() / denom
    else:
        smooth = _reduce(smooth, reduction, "cross_entropy")
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / n_classes)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """-(t·log x + (1-t)·log(1-x)), each log clamped at -100 as torch does."""
    log_x = O.clamp(O.log(input), min=-100.0)
    log_1mx = O.clamp(O.log(1.0 - input), min=-100.0)
    loss = -(target * log_x + (1.0 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """(1-t)·x + (1 + (pw-1)·t)·log(1 + e^-x), with log(1+e^-x) = log1p(e^-|x|) + max(-x, 0)."""
    softplus_neg = O.log1p(O.exp(-O.abs(input))) + O.relu(-input)
    if pos_weight is None:
        loss = (1.0 - target) * input + softplus_neg
    else:
        loss = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


# ---------------------------------------------------------------- the rest, by family

from lamina.frontend import pooling as _pooling  # noqa: E402
from lamina.frontend.pooling import *  # noqa: E402, F403
from lamina.nn import functional_activation as _activation  # noqa: E402
from lamina.nn import functional_ctc as _ctc  # noqa: E402
from lamina.nn import functional_loss as _loss  # noqa: E402
from lamina.nn import functional_norm as _norm  # noqa: E402
from lamina.nn import functional_resize as _resize  # noqa: E402
from lamina.nn.functional_activation import *  # noqa: E402, F403
from lamina.nn.functional_ctc import *  # noqa: E402, F403
from lamina.nn.functional_loss import *  # noqa: E402, F403
from lamina.nn.functional_norm import *  # noqa: E402, F403
from lamina.nn.functional_resize import *  # noqa: E402, F403

__all__ += [*_activation.__all__, *_ctc.__all__, *_loss.__all__, *_norm.__all__, *_resize.__all__]
__all__ += [name for name in _pooling.__all__ if name not in __all__]

from lamina.nn.sparse import embedding_bag  # noqa: E402, F401

__all__ += ["embedding_bag"]


# ---------------------------------------------------------------- torch's other spellings

from lamina.frontend.linalg import (  # noqa: E402, F401  (re-exported)
    conv1d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)


def _inplace(fn: Any) -> Any:
    """torch's `relu_`-style variant: the result written into `input`, which is returned."""
    def apply(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        input.copy_(fn(input, *args, **kwargs))
        return input

    apply.__name__ = fn.__name__ + "_"
    apply.__doc__ = f"`{fn.__name__}` written into `input` (returned)."
    return apply


relu_ = _inplace(relu)
elu_ = _inplace(_activation.elu)
leaky_relu_ = _inplace(_activation.leaky_relu)
hardtanh_ = _inplace(_activation.hardtanh)
selu_ = _inplace(_activation.selu)
celu_ = _inplace(_activation.celu)
rrelu_ = _inplace(_activation.rrelu)
threshold_ = _inplace(_activation.threshold)


def _feature_dropout(input: Tensor, p: float, training: bool, spatial: int, op: str) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(with_location(f"{op}: p must be in [0, 1], got {p}"))
    x = _t(input)
    if op == "dropout2d" and x.ndim == 3:
        spatial = 1  # torch's legacy reading of a 3-D input: (N, C, L), channel-wise
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(with_location(
            f"{op}: expected a {spatial + 1}-D or {spatial + 2}-D input, got shape "
            f"{list(x.shape)}"))
    if not training or p == 0.0:
        # torch returns the input itself, or a new tensor where it added a batch dim
        return x if x.ndim == spatial + 2 else O.fresh(x)
    if p == 1.0:
        return x * 0.0
    lead = x.shape[:x.ndim - spatial]
    keep = random.dropout_mask((*lead, *([1] * spatial)), p, dtype=x.dtype)
    return O.where(keep, x * (1.0 / (1.0 - p)), 0.0)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _feature_dropout(input, p, training, 1, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _feature_dropout(input, p, training, 2, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _feature_dropout(input, p, training, 3, "dropout3d")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    from lamina.nn.layers import AlphaDropout

    if not training:
        return _t(input)
    return AlphaDropout(p)(input)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return _resize.interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return _resize.interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The distances between the rows of an (N, M) input, the upper triangle row-major."""
    x = _t(input)
    if x.ndim != 2:
        raise ShapeError(with_location(f"pdist: only supports 2-D tensors, got shape "
                                       f"{list(x.shape)}"))
    n = x.shape[0]
    rows, cols = [int(i) for i in range(n) for j in range(i + 1, n)], \
        [int(j) for i in range(n) for j in range(i + 1, n)]
    if not rows:
        return O.zeros(0, dtype=x.dtype)
    a = indexing.getitem(x, O.tensor(rows))
    b = indexing.getitem(x, O.tensor(cols))
    return _loss.pairwise_distance(a, b, p, eps=0.0)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g·c, *) -> channels regrouped as (c, g): torch's ChannelShuffle."""
    x = _t(input)
    n, channels = x.shape[0], x.shape[1]
    if channels % groups:
        raise ShapeError(with_location(
            f"channel_shuffle: number of channels ({channels}) must be divisible by groups "
            f"({groups})"))
    rest = x.shape[2:]
    y = x.reshape(n, groups, channels // groups, *rest).transpose(1, 2)
    return y.reshape(n, channels, *rest)


__all__ += ["alpha_dropout", "celu_", "channel_shuffle", "conv1d", "conv3d", "conv_transpose1d",
            "conv_transpose2d", "conv_transpose3d", "dropout1d", "dropout2d", "dropout3d",
            "elu_", "hardtanh_", "leaky_relu_", "pdist", "relu_", "rrelu_", "selu_",
            "threshold_", "upsample_bilinear", "upsample_nearest"]
