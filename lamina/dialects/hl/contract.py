"""Contraction hl ops: batched matmul and N-d convolution (its input gradient
flips the kernel with `hl.reverse`, defined with the indexing ops).

`hl.conv` is XLA's `conv_general_dilated` restricted to one layout (input
`[N, C, *spatial]`, weights `[O, C/groups, *kernel]`): per spatial dim a
stride, lo/hi padding (negative padding crops), a kernel dilation and an
optional input dilation (zeros inserted between input elements). The input
dilation and negative padding are what make both gradients ordinary convs again
(see `ConvOp.vjp`), so grad-of-grad needs no extra op.

The numpy helpers at the top (`expand`, `windows`, `window_out`) are shared with
the window ops of `lamina.dialects.hl.window`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from xdsl.dialects.builtin import DenseArrayBase, TensorType, i1
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, result_def, traits_def
from xdsl.traits import Pure

from lamina.dialects.hl.base import (
    HlOp,
    dtype_of,
    element_of,
    int_prop,
    ints_prop,
    require,
    shape_of,
    tensor_type,
)
from lamina.errors import DTypeError

__all__ = ["ConvOp", "MatmulOp"]

# ---------------------------------------------------------------- shared window arithmetic


def window_out(size: int, lo: int, hi: int, window: int, stride: int, dilation: int,
               input_dilation: int) -> int:
    """Number of window positions along one dim (floor division, as XLA and torch)."""
    padded = (input_dilation * (size - 1) + 1 if size else 0) + lo + hi
    return (padded - dilation * (window - 1) - 1) // stride + 1


def ones_or(props: dict[str, Any], name: str, n: int) -> tuple[int, ...]:
    """An optional per-dim property; absent means all ones."""
    value = props.get(name)
    return (1,) * n if value is None else tuple(value)


def check_window_props(n: int, window: Sequence[int], strides: Sequence[int],
                       padding: Sequence[int], dilation: Sequence[int],
                       input_dilation: Sequence[int], what: str) -> None:
    """Lengths and ranges of the per-dim window properties (`what` names the dims)."""
    for name, value in (("window", window), ("stride", strides), ("dilation", dilation),
                        ("input_dilation", input_dilation)):
        require(len(value) == n, f"{name} {list(value)} must have one entry per {what} ({n})")
        require(all(v >= 1 for v in value), f"{name} {list(value)} must be positive")
    require(len(padding) == 2 * n,
            f"padding {list(padding)} must have a lo, hi pair per {what} ({2 * n} entries)")


def expand(x: np.ndarray, lo: Sequence[int], hi: Sequence[int],
           input_dilation: Sequence[int], value: Any) -> np.ndarray:
    """Insert `input_dilation - 1` fill values between elements, then pad (negative crops)."""
    if any(d > 1 for d in input_dilation):
        shape = [(n - 1) * d + 1 if n else 0 for n, d in zip(x.shape, input_dilation, strict=True)]
        dilated = np.full(shape, value, dtype=x.dtype)
        dilated[tuple(slice(None, None, d) for d in input_dilation)] = x
        x = dilated
    pairs = list(zip(lo, hi, strict=True))
    x = np.pad(x, [(max(a, 0), max(b, 0)) for a, b in pairs], constant_values=value)
    return x[tuple(slice(max(-a, 0), n - max(-b, 0))
                   for (a, b), n in zip(pairs, x.shape, strict=True))]


def windows(x: np.ndarray, window: Sequence[int], strides: Sequence[int],
            dilation: Sequence[int], axes: Sequence[int]) -> np.ndarray:
    """A view `[*x.shape with axes -> window positions, *window]` of strided, dilated windows."""
    extent = [d * (w - 1) + 1 for w, d in zip(window, dilation, strict=True)]
    view = sliding_window_view(x, extent, axis=tuple(axes))
    index: list[slice] = [slice(None)] * x.ndim
    for a, s in zip(axes, strides, strict=True):
        index[a] = slice(None, None, s)
    index += [slice(None, None, d) for d in dilation]
    return view[tuple(index)]


def split_padding(padding: Sequence[int]) -> tuple[list[int], list[int]]:
    return list(padding[0::2]), list(padding[1::2])


# ---------------------------------------------------------------- matmul


@irdl_op_definition
class MatmulOp(HlOp):
    """Batched matrix product: `[..., M, K] x [..., K, N] -> [..., M, N]`, equal batch dims.
    `%r = hl.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>`"""

    name = "hl.matmul"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        a, b = types
        sa, sb = shape_of(a), shape_of(b)
        require(len(sa) >= 2 and len(sb) >= 2,
                f"operands must have rank >= 2, got {list(sa)} and {list(sb)}")
        require(len(sa) == len(sb) and sa[:-2] == sb[:-2],
                f"batch dims differ: {list(sa[:-2])} vs {list(sb[:-2])}")
        require(sa[-1] == sb[-2],
                f"contraction dims differ: {sa[-1]} vs {sb[-2]} (shapes {list(sa)} and "
                f"{list(sb)})")
        require(element_of(a) == element_of(b),
                f"element types differ: {element_of(a)} vs {element_of(b)}", DTypeError)
        require(element_of(a) != i1, "needs a numeric tensor, got bool", DTypeError)
        return tensor_type(element_of(a), [*sa[:-1], sb[-1]])

    def reference(self, a, b):
        return np.matmul(a, b)

    def vjp(self, ct, out, a, b):
        return (ct.builder.emit(MatmulOp, ct, b.transpose(-2, -1)),
                ct.builder.emit(MatmulOp, a.transpose(-2, -1), ct))


# ---------------------------------------------------------------- conv


@irdl_op_definition
class ConvOp(HlOp):
    """N-d convolution (cross-correlation, as torch): input `[N, C, *S]`, weights
    `[O, C/groups, *K]`; per spatial dim `stride`, `padding` lo/hi pairs (negative crops),
    kernel `dilation`, optional `input_dilation`; result `[N, O, *out]`.
    `%r = hl.conv %x, %w stride=[1, 1] padding=[1, 1, 1, 1] dilation=[1, 1] groups=1 : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32>`"""

    name = "hl.conv"
    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    result = result_def(TensorType)
    stride = ints_prop()
    padding = ints_prop()
    dilation = ints_prop()
    groups = int_prop()
    input_dilation = opt_prop_def(DenseArrayBase)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, types, props, result_type):
        x, w = types
        sx, sw = shape_of(x), shape_of(w)
        nd = len(sx) - 2
        require(nd >= 1, f"input must be [N, C, *spatial] with a spatial dim, got {list(sx)}")
        require(len(sw) == len(sx),
                f"weight {list(sw)} must have the input's rank {len(sx)} ([O, C/groups, *kernel])")
        require(element_of(x) == element_of(w),
                f"element types differ: {element_of(x)} vs {element_of(w)}", DTypeError)
        require(dtype_of(x).is_floating_point, lambda: f"needs floating-point tensors, got {x}",
                DTypeError)
        groups = props["groups"]
        stride, dilation = tuple(props["stride"]), tuple(props["dilation"])
        input_dilation = ones_or(props, "input_dilation", nd)
        check_window_props(nd, sw[2:], stride, props["padding"], dilation, input_dilation,
                           "spatial dim")
        require(groups >= 1 and sx[1] % groups == 0 and sw[0] % groups == 0,
                f"groups={groups} must divide the input channels {sx[1]} and the output "
                f"channels {sw[0]}")
        require(sw[1] * groups == sx[1],
                f"weight {list(sw)} expects {sw[1] * groups} input channels "
                f"(groups={groups}), input {list(sx)} has {sx[1]}")
        lo, hi = split_padding(props["padding"])
        out = [window_out(*args) for args in zip(sx[2:], lo, hi, sw[2:], stride, dilation,
                                                  input_dilation, strict=True)]
        require(all(n >= 1 for n in out),
                f"the dilated kernel {list(sw[2:])} does not fit the padded input "
                f"{list(sx[2:])} (padding {list(props['padding'])})")
        return tensor_type(element_of(x), [sx[0], sw[0], *out])

    def reference(self, x, w):
        nd, groups = x.ndim - 2, self.prop("groups")
        lo, hi = split_padding(self.prop("padding"))
        idil = ones_or(self.props(), "input_dilation", nd)
        xp = expand(x, [0, 0, *lo], [0, 0, *hi], [1, 1, *idil], 0)
        spatial = tuple(range(2, 2 + nd))
        win = windows(xp, w.shape[2:], self.prop("stride"), self.prop("dilation"), spatial)
        n, c, *out = win.shape[:2 + nd]
        outs, ks = "pqrst"[:nd], "uvwxy"[:nd]
        win = win.reshape(n, groups, c // groups, *out, *w.shape[2:])
        wg = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])
        y = np.einsum(f"ngc{outs}{ks},goc{ks}->ngo{outs}", win, wg, optimize=True)
        return y.reshape(n, w.shape[0], *out)

    def vjp(self, ct, out, x, w):
        return (self._grad_input(ct, x, w), self._grad_weight(ct, x, w))

    def _geometry(self, x, w):
        nd = x.ndim - 2
        lo, hi = split_padding(self.prop("padding"))
        return (nd, self.prop("stride"), lo, hi, self.prop("dilation"),
                ones_or(self.props(), "input_dilation", nd), self.prop("groups"))

    def _grad_input(self, ct, x, w):
        """conv(dilate(ct, stride), flip(w) with in/out channels swapped per group), with
        stride = input_dilation, so it lands exactly on the input positions."""
        from lamina.dialects.hl.indexing import ReverseOp

        emit = ct.builder.emit
        nd, stride, lo, hi, dil, idil, g = self._geometry(x, w)
        o, cg, *k = w.shape
        spatial = tuple(range(2, 2 + nd))
        if g == 1:
            wt = w.permute(1, 0, *spatial)
        else:
            wt = w.reshape((g, o // g, cg, *k)).permute(0, 2, 1, *range(3, 3 + nd))
            wt = wt.reshape((g * cg, o // g, *k))
        wt = emit(ReverseOp, wt, dims=spatial)
        padding: list[int] = []
        for i in range(nd):
            new_lo = dil[i] * (k[i] - 1) - lo[i]
            new_hi = (x.shape[2 + i] - 1) * idil[i] + lo[i] - (ct.shape[2 + i] - 1) * stride[i]
            padding += [new_lo, new_hi]
        return emit(ConvOp, ct, wt, stride=tuple(idil), padding=tuple(padding),
                    dilation=tuple(dil), groups=g, **_dilation_prop(stride))

    def _grad_weight(self, ct, x, w):
        """conv of the input (batch as channels) with the cotangent as kernel: stride and
        dilation swap roles; hi padding is trimmed so the result is exactly the kernel."""
        emit = ct.builder.emit
        nd, stride, lo, hi, dil, idil, g = self._geometry(x, w)
        n, c, *spatial = x.shape
        o, cg, *k = w.shape
        if g == 1:  # channels become the batch, the batch the channels
            xs = x.permute(1, 0, *range(2, 2 + nd))
        else:  # channel group j of sample i becomes channel j*n + i
            xs = x.reshape((n, g, cg, *spatial)).permute(2, 1, 0, *range(3, 3 + nd))
            xs = xs.reshape((cg, g * n, *spatial))
        cts = ct.permute(1, 0, *range(2, 2 + nd))
        padding: list[int] = []
        for i in range(nd):
            padded = (spatial[i] - 1) * idil[i] + 1 + lo[i] + hi[i]
            extra = padded - stride[i] * (ct.shape[2 + i] - 1) - 1 - dil[i] * (k[i] - 1)
            padding += [lo[i], hi[i] - extra]
        dw = emit(ConvOp, xs, cts, stride=tuple(dil), padding=tuple(padding),
                  dilation=tuple(stride), groups=g, **_dilation_prop(idil))
        return dw.permute(1, 0, *range(2, 2 + nd))


def _dilation_prop(input_dilation: Sequence[int]) -> dict[str, Any]:
    """`input_dilation=` only when it is not all ones (keeps the common IR short)."""
    return {"input_dilation": tuple(input_dilation)} if any(d != 1 for d in input_dilation) \
        else {}
