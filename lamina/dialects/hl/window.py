"""Window hl ops: `reduce_window` (pooling) and the pair of max-pool gradient ops.

Every op here works on windows over ALL dims of its operand (pooling uses
window 1 on the batch and channel dims), described by per-dim `window`,
`strides`, `padding` (lo, hi pairs; negative crops), optional window `dilation`
and optional `input_dilation` (fill values between elements), as XLA's
`reduce_window`.

Max-pool gradients use two ops that are each other's transpose:
`select_and_scatter_add(x, src)` adds each `src` element at the position of the
first maximum of its window of `x` (XLA's select_and_scatter; torch routes ties
to the first maximum too), and `select_and_gather(x, v)` reads `v` at those
positions. Both are linear in their second operand and piecewise constant in the
first (its gradient is zero almost everywhere), so grad-of-grad stays closed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, TensorType, i1
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, result_def, traits_def
from xdsl.traits import Pure

from lamina.dialects.hl.base import (
    HlOp,
    dtype_of,
    element_of,
    ints_prop,
    require,
    shape_of,
    str_prop,
    tensor_type,
)
from lamina.dialects.hl.contract import (
    check_window_props,
    expand,
    ones_or,
    split_padding,
    window_out,
    windows,
)
from lamina.errors import DTypeError

__all__ = ["ReduceWindowOp", "SelectAndGatherOp", "SelectAndScatterAddOp"]

KINDS = ("max", "sum")


def _fill(dtype: np.dtype, kind: str) -> Any:
    """The value padding and input-dilation holes hold: the identity of the reduction."""
    if kind == "sum":
        return 0
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


class WindowOp(HlOp):
    """Window geometry shared by the ops below (properties, shape rule, numpy helpers)."""

    window = ints_prop()
    strides = ints_prop()
    padding = ints_prop()
    dilation = opt_prop_def(DenseArrayBase)
    input_dilation = opt_prop_def(DenseArrayBase)
    traits = traits_def(Pure())

    @classmethod
    def window_shape(cls, t: TensorType, props: dict[str, Any]) -> list[int]:
        """Check the window properties against `t`; the shape of the window positions."""
        shape = shape_of(t)
        n = len(shape)
        require(element_of(t) != i1, lambda: f"needs a numeric tensor, got {t}", DTypeError)
        dil, idil = ones_or(props, "dilation", n), ones_or(props, "input_dilation", n)
        check_window_props(n, props["window"], props["strides"], props["padding"], dil, idil,
                           "operand dim")
        lo, hi = split_padding(props["padding"])
        out = [window_out(*a) for a in zip(shape, lo, hi, props["window"], props["strides"],
                                            dil, idil, strict=True)]
        require(all(k >= 1 for k in out),
                f"the window {list(props['window'])} does not fit the padded operand "
                f"{list(shape)} (padding {list(props['padding'])})")
        return out

    def geometry(self) -> dict[str, Any]:
        props = self.props()
        n = len(props["window"])
        lo, hi = split_padding(props["padding"])
        return {"lo": lo, "hi": hi, "window": props["window"], "strides": props["strides"],
                "dilation": ones_or(props, "dilation", n),
                "input_dilation": ones_or(props, "input_dilation", n)}

    def window_props(self) -> dict[str, Any]:
        """The geometry properties, to build a sibling op over the same windows."""
        return {k: v for k, v in self.props().items() if k != "kind"}

    def _windows(self, x: np.ndarray, fill: Any) -> np.ndarray:
        g = self.geometry()
        xp = expand(x, g["lo"], g["hi"], g["input_dilation"], fill)
        return windows(xp, g["window"], g["strides"], g["dilation"], range(x.ndim))

    def _selected(self, x: np.ndarray) -> tuple[tuple[np.ndarray, ...], tuple[int, ...]]:
        """Per window: the padded-operand position of its first maximum (NaN counts as max)."""
        g = self.geometry()
        xp_shape = expand(np.zeros(x.shape, np.int8), g["lo"], g["hi"], g["input_dilation"],
                          0).shape
        win = self._windows(x, _fill(x.dtype, "max"))
        out = win.shape[:x.ndim]
        first = np.argmax(win.reshape(*out, -1), axis=-1)
        offsets = np.unravel_index(first, tuple(g["window"]))
        geometry = zip(out, g["strides"], offsets, g["dilation"], strict=True)
        positions = tuple(
            np.arange(n).reshape([-1 if i == d else 1 for i in range(x.ndim)]) * s + k * dl
            for d, (n, s, k, dl) in enumerate(geometry))
        return positions, xp_shape

    def _unexpand(self, padded: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The transpose of `expand`: operand element i sits at padded index lo + i*d."""
        g = self.geometry()
        src, dst = [], []
        for n, lo, d, size in zip(shape, g["lo"], g["input_dilation"], padded.shape, strict=True):
            at = lo + np.arange(n) * d
            keep = (at >= 0) & (at < size)
            src.append(at[keep])
            dst.append(np.nonzero(keep)[0])
        result = np.zeros(shape, dtype=padded.dtype)
        result[np.ix_(*dst)] = padded[np.ix_(*src)]
        return result


@irdl_op_definition
class ReduceWindowOp(WindowOp):
    """Reduce each window with `kind` (max: pads with -inf; sum: pads with 0).
    `%r = hl.reduce_window %x kind="max" window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>`"""

    name = "hl.reduce_window"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    kind = str_prop()

    @classmethod
    def infer(cls, types, props, result_type):
        (t,) = types
        require(props["kind"] in KINDS, f"kind {props['kind']!r} must be one of {list(KINDS)}")
        return tensor_type(element_of(t), cls.window_shape(t, props))

    def reference(self, x):
        kind = self.prop("kind")
        win = self._windows(x, _fill(x.dtype, kind))
        axes = tuple(range(x.ndim, 2 * x.ndim))
        return np.max(win, axis=axes) if kind == "max" else np.sum(win, axis=axes)

    def vjp(self, ct, out, x):
        emit = ct.builder.emit
        if self.prop("kind") == "max":
            return (emit(SelectAndScatterAddOp, x, ct, **self.window_props()),)
        # sum: the transpose spreads each cotangent over its window, itself a window sum
        # over the stride-dilated cotangent (as conv's input gradient, with a kernel of ones).
        g = self.geometry()
        padding: list[int] = []
        for i, n in enumerate(x.shape):
            padding += [g["dilation"][i] * (g["window"][i] - 1) - g["lo"][i],
                        (n - 1) * g["input_dilation"][i] + g["lo"][i]
                        - (ct.shape[i] - 1) * g["strides"][i]]
        props: dict[str, Any] = {"window": g["window"], "strides": g["input_dilation"],
                                 "padding": tuple(padding)}
        if any(d != 1 for d in g["dilation"]):
            props["dilation"] = g["dilation"]
        if any(s != 1 for s in g["strides"]):
            props["input_dilation"] = g["strides"]
        return (emit(ReduceWindowOp, ct, kind="sum", **props),)


class _SelectOp(WindowOp):
    """Operands: the tensor whose window maxima select, and a second tensor."""

    operand = operand_def(TensorType)
    source = operand_def(TensorType)
    result = result_def(TensorType)
    SOURCE_IS_WINDOWED: ClassVar[bool] = True

    @classmethod
    def infer(cls, types, props, result_type):
        x, v = types
        out = cls.window_shape(x, props)
        require(element_of(v) == element_of(x),
                f"element types differ: {element_of(x)} vs {element_of(v)}", DTypeError)
        require(dtype_of(x).is_floating_point or dtype_of(x).category == 1,
                lambda: f"needs a numeric tensor, got {x}", DTypeError)
        want = out if cls.SOURCE_IS_WINDOWED else list(shape_of(x))
        require(list(shape_of(v)) == want,
                f"second operand shape {list(shape_of(v))} must be {want}")
        return tensor_type(element_of(x), shape_of(x) if cls.SOURCE_IS_WINDOWED else out)


@irdl_op_definition
class SelectAndScatterAddOp(_SelectOp):
    """Add each `source` element at the first maximum of its window of `operand`
    (the gradient of max pooling); the result has the operand's shape.
    `%r = hl.select_and_scatter_add %x, %s window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : (tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>) -> tensor<2x3x8x8xf32>`"""

    name = "hl.select_and_scatter_add"

    def reference(self, x, src):
        positions, xp_shape = self._selected(x)
        padded = np.zeros(xp_shape, dtype=src.dtype)
        np.add.at(padded, positions, src)
        return self._unexpand(padded, x.shape)

    def vjp(self, ct, out, x, src):
        emit = ct.builder.emit
        return (None, emit(SelectAndGatherOp, x, ct, **self.window_props()))


@irdl_op_definition
class SelectAndGatherOp(_SelectOp):
    """Read `source` at the first maximum of each window of `operand` (the transpose of
    select_and_scatter_add); the result has the window positions' shape.
    `%r = hl.select_and_gather %x, %v window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : (tensor<2x3x8x8xf32>, tensor<2x3x8x8xf32>) -> tensor<2x3x4x4xf32>`"""

    name = "hl.select_and_gather"
    SOURCE_IS_WINDOWED: ClassVar = False

    def reference(self, x, v):
        positions, _ = self._selected(x)
        g = self.geometry()
        return expand(v, g["lo"], g["hi"], g["input_dilation"], 0)[positions]

    def vjp(self, ct, out, x, v):
        emit = ct.builder.emit
        return (None, emit(SelectAndScatterAddOp, x, ct, **self.window_props()))
