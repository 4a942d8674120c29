"""Matrix products and convolution with torch semantics (`lm.matmul`, `lm.conv2d`,
`lm.linear`, ...), expressed as `hl.matmul` and `hl.conv`; pooling (`lm.max_pool2d`,
...) is in `lamina.frontend.pooling` and re-exported here. Shapes are checked here
so that errors read in the user's terms (the op they called, their shapes, their
line)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.dialects import hl
from lamina.errors import ArgumentError, DTypeError, ShapeError, like, with_location
from lamina.frontend import ops
from lamina.frontend.einsum import einsum
from lamina.frontend.tensor import Tensor

# pooling lives in `lamina.frontend.pooling`; its names are re-exported lazily (no cycle)
_POOLING = ("adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d")
__all__ = ["bmm", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "dot", "einsum", "linear", "matmul", "mm", "mv", "outer",
           *_POOLING]


def __getattr__(name: str) -> Any:
    if name in _POOLING:
        from lamina.frontend import pooling

        return getattr(pooling, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(x)


def _batch_fits(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(x == y or 1 in (x, y) for x, y in zip(a[::-1], b[::-1], strict=False))


def _shape_error(op: str, message: str) -> ShapeError:
    return ShapeError(with_location(f"{op}: {message}"))


# ---------------------------------------------------------------- products


def matmul(a: Any, b: Any) -> Tensor:
    """torch.matmul: 1-D operands are promoted to matrices and the added dim squeezed,
    batch dims broadcast, dtypes promoted."""
    a, b = _tensor(a), _tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise _shape_error("matmul", f"both operands need at least 1 dim, got shapes "
                           f"{list(a.shape)} and {list(b.shape)}")
    dt = ops.result_dtype(a, b)
    if dt == dtypes.bool_:
        raise like(DTypeError, NotImplementedError)(with_location(
            "matmul: not supported for bool tensors"))
    a2 = a.reshape((1, a.shape[0])) if a.ndim == 1 else a
    b2 = b.reshape((b.shape[0], 1)) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise _shape_error("matmul", f"shapes {list(a.shape)} and {list(b.shape)} cannot be "
                           f"multiplied ({a2.shape[-1]} vs {b2.shape[-2]})")
    if not _batch_fits(a2.shape[:-2], b2.shape[:-2]):
        raise _shape_error("matmul", f"shapes {list(a.shape)} and {list(b.shape)}: batch dims "
                           f"{list(a2.shape[:-2])} and {list(b2.shape[:-2])} do not broadcast")
    batch = ops.broadcast_shapes(a2.shape[:-2], b2.shape[:-2], op="matmul")
    # (the forms that return their operand when nothing changes: the product is a new
    # tensor anyway, and each identity op cost an eager op record, 3 per matmul)
    a2 = ops._broadcast(a2 if a2.dtype == dt else a2.to(dt), (*batch, *a2.shape[-2:]))
    b2 = ops._broadcast(b2 if b2.dtype == dt else b2.to(dt), (*batch, *b2.shape[-2:]))
    out = ops.emit(hl.MatmulOp, a2, b2)
    shape = out.shape
    if a.ndim == 1:
        shape = shape[:-2] + shape[-1:]
    if b.ndim == 1:
        shape = shape[:-1]
    return ops._reshape(out, shape)


def _require_rank(op: str, x: Tensor, rank: int, name: str) -> None:
    if x.ndim != rank:
        raise _shape_error(op, f"{name} must be {rank}-D, got shape {list(x.shape)}")


def mm(a: Any, b: Any) -> Tensor:
    a, b = _tensor(a), _tensor(b)
    _require_rank("mm", a, 2, "self")
    _require_rank("mm", b, 2, "mat2")
    return matmul(a, b)


def bmm(a: Any, b: Any) -> Tensor:
    a, b = _tensor(a), _tensor(b)
    _require_rank("bmm", a, 3, "self")
    _require_rank("bmm", b, 3, "mat2")
    if a.shape[0] != b.shape[0]:
        raise _shape_error("bmm", f"batch sizes differ: {list(a.shape)} and {list(b.shape)}")
    return matmul(a, b)


def mv(a: Any, v: Any) -> Tensor:
    a, v = _tensor(a), _tensor(v)
    _require_rank("mv", a, 2, "self")
    _require_rank("mv", v, 1, "vec")
    return matmul(a, v)


def dot(a: Any, b: Any) -> Tensor:
    a, b = _tensor(a), _tensor(b)
    _require_rank("dot", a, 1, "self")
    _require_rank("dot", b, 1, "tensor")
    return matmul(a, b)


def outer(a: Any, b: Any) -> Tensor:
    a, b = _tensor(a), _tensor(b)
    _require_rank("outer", a, 1, "self")
    _require_rank("outer", b, 1, "vec2")
    return matmul(a.reshape((a.shape[0], 1)), b.reshape((1, b.shape[0])))


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """torch.nn.functional.linear: x @ weight.T + bias, weight `[out, in]`."""
    x, weight = _tensor(x), _tensor(weight)
    if weight.ndim not in (1, 2) or x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise _shape_error("linear", f"input {list(x.shape)} does not fit weight "
                           f"{list(weight.shape)} (expects [..., in] and [out, in])")
    y = matmul(x, weight.t() if weight.ndim == 2 else weight)
    return y if bias is None else ops.add(y, bias)


# ---------------------------------------------------------------- convolution


def _tuple(value: Any, n: int, op: str, name: str) -> tuple[int, ...]:
    if isinstance(value, int | np.integer):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise ArgumentError(with_location(f"{op}: {name} must be an int or {n} ints, "
                                          f"got {list(value)}"))
    return value


def _batched(x: Tensor, nd: int, op: str) -> tuple[Tensor, bool]:
    """Accept `[C, *S]` (unbatched) as torch does; returns `[N, C, *S]` and whether to squeeze."""
    if x.ndim == nd + 1:
        return x.reshape((1, *x.shape)), True
    if x.ndim != nd + 2:
        raise _shape_error(op, f"expected a {nd + 1}-D or {nd + 2}-D input "
                           f"([N, C, *spatial]), got shape {list(x.shape)}")
    return x, False


def _float_pair(op: str, x: Tensor, w: Tensor) -> dtypes.DType:
    dt = ops.result_dtype(x, w)
    if not dt.is_floating_point:
        raise DTypeError(with_location(
            f"{op}: needs floating-point tensors, got {x.dtype.name} and {w.dtype.name}"))
    return dt


def _conv(op: str, nd: int, x: Any, weight: Any, bias: Any, stride: Any, padding: Any,
          dilation: Any, groups: int) -> Tensor:
    x, weight = _tensor(x), _tensor(weight)
    x, unbatched = _batched(x, nd, op)
    if weight.ndim != nd + 2:
        raise _shape_error(op, f"weight must be {nd + 2}-D [out, in/groups, *kernel], got "
                           f"shape {list(weight.shape)}")
    dt = _float_pair(op, x, weight)
    stride = _tuple(stride, nd, op, "stride")
    dilation = _tuple(dilation, nd, op, "dilation")
    kernel = weight.shape[2:]
    if groups < 1 or x.shape[1] % groups or weight.shape[0] % groups:
        raise _shape_error(op, f"groups={groups} must divide the input channels "
                           f"{x.shape[1]} and the output channels {weight.shape[0]}")
    if weight.shape[1] * groups != x.shape[1]:
        raise _shape_error(op, f"weight of shape {list(weight.shape)} (groups={groups}) "
                           f"expects {weight.shape[1] * groups} input channels, but input of "
                           f"shape {list(x.shape)} has {x.shape[1]}")
    pads = _conv_padding(op, padding, nd, stride, dilation, kernel)
    for i in range(nd):
        extent = dilation[i] * (kernel[i] - 1) + 1
        if x.shape[2 + i] + pads[2 * i] + pads[2 * i + 1] < extent:
            raise _shape_error(op, f"kernel {list(kernel)} (dilation {list(dilation)}) is "
                               f"larger than the padded input {list(x.shape)}")
    y = ops.emit(hl.ConvOp, x.to(dt), weight.to(dt), stride=stride, padding=pads,
                 dilation=dilation, groups=int(groups))
    return _finish_conv(op, y, bias, unbatched)


def _finish_conv(op: str, y: Tensor, bias: Any, unbatched: bool) -> Tensor:
    """Add the per-channel bias; drop the batch dim of an unbatched input."""
    if bias is not None:
        bias = _tensor(bias)
        if bias.shape != (y.shape[1],):
            raise _shape_error(op, f"bias must have shape [{y.shape[1]}], got "
                               f"{list(bias.shape)}")
        y = ops.add(y, bias.reshape((y.shape[1],) + (1,) * (y.ndim - 2)))
    return y.reshape(y.shape[1:]) if unbatched else y


def _conv_padding(op: str, padding: Any, nd: int, stride: Sequence[int],
                  dilation: Sequence[int], kernel: Sequence[int]) -> tuple[int, ...]:
    """int / tuple / "valid" / "same" -> lo, hi pairs (torch puts the odd one on hi)."""
    if padding == "valid":
        return (0,) * (2 * nd)
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ArgumentError(with_location(f"{op}: padding='same' needs stride 1, "
                                              f"got stride {list(stride)}"))
        pads: list[int] = []
        for k, d in zip(kernel, dilation, strict=True):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    if isinstance(padding, str):
        raise ArgumentError(with_location(f"{op}: padding must be an int, a tuple, 'same' or "
                                          f"'valid', got {padding!r}"))
    per_dim = _tuple(padding, nd, op, "padding")
    if any(p < 0 for p in per_dim):
        raise ArgumentError(with_location(f"{op}: negative padding {list(per_dim)}"))
    return tuple(p for v in per_dim for p in (v, v))


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """torch.nn.functional.conv2d: input `[N, C, H, W]` (or `[C, H, W]`), weight
    `[O, C/groups, kH, kW]`; padding an int, a pair, 'same' or 'valid'."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op: str, nd: int, x: Any, weight: Any, bias: Any, stride: Any,
                    padding: Any, output_padding: Any, groups: int, dilation: Any) -> Tensor:
    """The transpose (gradient) of a convolution, as one `hl.conv`: the input is dilated
    by the stride, and the kernel is flipped with its in/out channels swapped per group."""
    x, weight = _tensor(x), _tensor(weight)
    x, unbatched = _batched(x, nd, op)
    if weight.ndim != nd + 2:
        raise _shape_error(op, f"weight must be {nd + 2}-D [in, out/groups, *kernel], got "
                           f"shape {list(weight.shape)}")
    dt = _float_pair(op, x, weight)
    stride, dilation = _tuple(stride, nd, op, "stride"), _tuple(dilation, nd, op, "dilation")
    pad, extra = _tuple(padding, nd, op, "padding"), _tuple(output_padding, nd, op,
                                                             "output_padding")
    cin, cog, *kernel = weight.shape
    if groups < 1 or cin % groups or cin != x.shape[1]:
        raise _shape_error(op, f"weight of shape {list(weight.shape)} (groups={groups}) does "
                           f"not fit input of shape {list(x.shape)} (expects {cin} channels, "
                           "divisible by groups)")
    if any(e >= max(s, d) or e < 0 for e, s, d in zip(extra, stride, dilation, strict=True)):
        raise ArgumentError(with_location(f"{op}: output_padding {list(extra)} must be "
                                          "smaller than the stride or the dilation"))
    pads = []
    for k, p, d, e in zip(kernel, pad, dilation, extra, strict=True):
        pads += [d * (k - 1) - p, d * (k - 1) - p + e]
    for i in range(nd):
        if (x.shape[2 + i] - 1) * stride[i] + pads[2 * i] + pads[2 * i + 1] < \
                dilation[i] * (kernel[i] - 1):
            raise _shape_error(op, f"padding {list(pad)} leaves no output for input of shape "
                               f"{list(x.shape)}")
    spatial = tuple(range(2, 2 + nd))
    w = weight.to(dt).reshape((groups, cin // groups, cog, *kernel))
    w = w.permute(0, 2, 1, *range(3, 3 + nd)).reshape((groups * cog, cin // groups, *kernel))
    w = ops.emit(hl.ReverseOp, w, dims=spatial)
    props = {"input_dilation": stride} if any(s != 1 for s in stride) else {}
    y = ops.emit(hl.ConvOp, x.to(dt), w, stride=(1,) * nd, padding=tuple(pads),
                 dilation=dilation, groups=int(groups), **props)
    return _finish_conv(op, y, bias, unbatched)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    """torch.nn.functional.conv_transpose2d: weight `[C_in, C_out/groups, kH, kW]`."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)
