"""Scatter-family ops with torch's signatures and gradient rules: scatter (a src tensor
or a value; legacy reduce='add'/'multiply'), scatter_reduce (sum, prod, mean, amax,
amin; include_self), index_put (accumulate), index_copy, masked_scatter, take, put,
and their in-place `_` methods.

All have static shapes and compile. Writes are `hl.scatter` (a repeated index keeps
the last write, as torch's CPU kernels) with torch's gradient for the written values:
each gets the output's gradient at its position (a gather), also one a duplicate
overwrote; the gradient of `self` is zero where something was written. prod/amax/amin
are `hl.scatter_reduce`, with torch's rules (amax/amin share the gradient evenly
among the elements equal to the result; prod divides by each factor, exact at a
single zero)."""

from __future__ import annotations

from typing import Any

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import tensor_type
from lamina.errors import ArgumentError, DTypeError, ShapeError, like, with_location
from lamina.frontend import ops
from lamina.frontend.indexing import getitem
from lamina.frontend.movement import (
    _along_check,
    _check_index_dtype,
    _dim,
    _linear_index,
    _wrap_negative,
    same_dtype_source,
)
from lamina.frontend.tensor import Tensor


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(x)


# ---------------------------------------------------------------- flat helpers


def _write(values: Tensor, positions: Tensor, size: int) -> Tensor:
    """A flat tensor of `size` zeros with `values` written at `positions` (1-d both; a
    repeated position keeps the last), with torch's gradient: every value gets the
    output's gradient at its position (a gather)."""
    from lamina.frontend.autograd import custom_vjp

    work = values.dtype if values.dtype != dtypes.bool_ else dtypes.uint8

    def write(v: Tensor, p: Tensor) -> Tensor:
        out = ops.emit(hl.ScatterOp, p, v.to(work),
                       result_type=tensor_type(work.ir_type, (size,)), axis=0)
        return out.to(values.dtype)

    if not values.needs_grad:
        return write(values, positions)

    def forward(v: Tensor, p: Tensor) -> tuple[Tensor, tuple]:
        return write(v, p), (p,)

    def backward(residuals: tuple, ct: Tensor) -> tuple:
        (p,) = residuals
        return ops.emit(hl.GatherOp, ct, p, axis=0), None

    op = custom_vjp(write)
    op.defvjp(forward, backward)
    return op(values, positions)


def _hits(positions: Tensor, size: int) -> Tensor:
    """int32: how many times each of `size` flat positions is named."""
    ones = ops.full(positions.shape, 1, dtype=dtypes.int32)
    return ops.emit(hl.ScatterAddOp, positions, ones,
                    result_type=tensor_type(dtypes.int32.ir_type, (size,)), axis=0)


def _add(values: Tensor, positions: Tensor, size: int) -> Tensor:
    work = values.dtype if values.dtype != dtypes.bool_ else dtypes.int64
    out = ops.emit(hl.ScatterAddOp, positions, values.to(work),
                   result_type=tensor_type(work.ir_type, (size,)), axis=0)
    return out.to(values.dtype) if work != values.dtype else out


def _combine(values: Tensor, positions: Tensor, size: int, kind: str) -> Tensor:
    """hl.scatter_reduce (no gradient of its own: callers give torch's)."""
    work = values.dtype if values.dtype != dtypes.bool_ else dtypes.uint8
    out = ops.emit(hl.ScatterReduceOp, positions, ops.stop_gradient(values.to(work)),
                   result_type=tensor_type(work.ir_type, (size,)), axis=0, kind=kind)
    return out.to(values.dtype) if work != values.dtype else out


def _flat(x: Tensor) -> Tensor:
    return ops.reshape(x, (x.numel(),))


def _gather(ct: Tensor, positions: Tensor) -> Tensor:
    return ops.emit(hl.GatherOp, ct, positions, axis=0)


# ---------------------------------------------------------------- scatter


def _along(input: Any, dim: int, index: Any, src: Any, op: str
           ) -> tuple[Tensor, int, Tensor, Tensor]:
    """(x, dim, flat positions in x, src's elements at index's shape, flat), checked."""
    x = _t(input)
    d = _dim(x, dim, op)
    index = _check_index_dtype(_t(index), op)
    if isinstance(src, Tensor) or hasattr(src, "__array__") or isinstance(src, list):
        src = _t(src)
        if src.ndim != index.ndim and index.numel():
            raise ShapeError(with_location(
                f"{op}: index {list(index.shape)} and src {list(src.shape)} must have the "
                "same rank"))
        if any(i > s for i, s in zip(index.shape, src.shape, strict=False)):
            raise ShapeError(with_location(
                f"{op}: index of shape {list(index.shape)} is larger than src of shape "
                f"{list(src.shape)}"))
        src = src.to(x.dtype) if src.dtype != x.dtype else src
        if src.shape != index.shape:
            src = src[tuple(slice(0, n) for n in index.shape)]
    else:
        src = ops.full(index.shape, src, x.dtype)
    x1, i1, s1 = (ops.reshape(t, (1,)) if t.ndim == 0 else t for t in (x, index, src))
    if index.numel():
        _along_check(x1, d, i1, op)
    positions = _flat(_linear_index(x1.shape, i1, d)) if index.numel() else \
        ops.zeros((0,), dtype=dtypes.int64)
    return x, d, positions, _flat(s1)


def scatter(input: Any, dim: int, index: Any, src: Any = None, value: Any = None, *,
            reduce: str | None = None) -> Tensor:
    """torch.scatter: out[index[i][j]][j] = src[i][j] (dim=0), src a tensor or a number
    (`value`); reduce='add'/'multiply' combines instead (torch's legacy form)."""
    if src is None:
        src = value
    if src is None:
        raise ArgumentError(with_location("scatter: needs src (a tensor) or value"))
    same_dtype_source(_t(input), src, "scatter")
    if reduce is not None:
        kinds = {"add": "sum", "multiply": "prod"}
        if reduce not in kinds:
            raise like(ArgumentError, RuntimeError)(with_location(
                f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}"))
        x, d, positions, values = _along(input, dim, index, src, "scatter")
        return _reduce_flat(x, positions, values, kinds[reduce], True)
    x, d, positions, values = _along(input, dim, index, src, "scatter")
    n = x.numel()
    written = ops.gt(_hits(positions, n), 0)
    out = ops.where(written, _write(values, positions, n), _flat(x))
    return ops.reshape(out, x.shape)


def scatter_reduce(input: Any, dim: int, index: Any, src: Any, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """torch.scatter_reduce: src combined into `input` at index along dim with 'sum',
    'prod', 'mean', 'amax' or 'amin' (include_self: whether input's own value counts)."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):  # torch: RuntimeError
        raise like(ArgumentError, RuntimeError)(with_location(
            f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin', got "
            f"{reduce!r}"))
    if not isinstance(src, Tensor) and not hasattr(src, "__array__"):
        raise ArgumentError(with_location("scatter_reduce: src must be a tensor"))
    same_dtype_source(_t(input), _t(src), "scatter_reduce")
    x, d, positions, values = _along(input, dim, index, src, "scatter_reduce")
    return _reduce_flat(x, positions, values, reduce, include_self)


def _reduce_flat(x: Tensor, positions: Tensor, values: Tensor, reduce: str,
                 include_self: bool) -> Tensor:
    n = x.numel()
    flat = _flat(x)
    hits = _hits(positions, n)
    written = ops.gt(hits, 0)
    if reduce in ("sum", "mean"):
        total = _add(values, positions, n)
        total = ops.add(flat, total) if include_self else ops.where(written, total, flat)
        if reduce == "sum":
            return ops.reshape(total, x.shape)
        count = ops.add(hits, 1) if include_self else hits
        count = ops.maximum(count, ops.full((), 1, dtypes.int32)).to(x.dtype)
        mean = ops.div(total, count) if x.dtype.is_floating_point else \
            ops.floor_divide(total, count)
        return ops.reshape(ops.where(written, mean, flat), x.shape)
    kind = {"prod": "mul", "amax": "max", "amin": "min"}[reduce]
    rule = _extremum_rule if kind != "mul" else _prod_rule
    out = _with_rule(flat, values, positions, kind, include_self, rule)
    return ops.reshape(out, x.shape)


def _reduced(flat: Tensor, values: Tensor, positions: Tensor, kind: str, include_self: bool
             ) -> Tensor:
    n = flat.shape[0]
    combined = _combine(values, positions, n, kind)
    written = ops.gt(_hits(positions, n), 0)
    if not include_self:
        return ops.where(written, combined, flat)
    fn = {"mul": ops.mul, "max": ops.maximum, "min": ops.minimum}[kind]
    if flat.dtype == dtypes.bool_:
        fn = {"mul": ops.logical_and, "max": ops.logical_or, "min": ops.logical_and}[kind]
    return ops.where(written, fn(ops.stop_gradient(flat), combined), flat)


def _with_rule(flat, values, positions, kind, include_self, rule) -> Tensor:
    if not (flat.needs_grad or values.needs_grad):
        return _reduced(flat, values, positions, kind, include_self)
    from lamina.frontend.autograd import custom_vjp

    def fwd_only(f, v, p):
        return _reduced(f, v, p, kind, include_self)

    def forward(f, v, p):
        out = _reduced(f, v, p, kind, include_self)
        return out, (f, v, p, out)

    def backward(res, ct):
        f, v, p, out = res
        return (*rule(f, v, p, out, ct, kind, include_self), None)

    op = custom_vjp(fwd_only)
    op.defvjp(forward, backward)
    return op(flat, values, positions)


def _extremum_rule(f, v, p, out, ct, kind, include_self):
    """torch: the gradient is shared evenly among the elements equal to the result
    (self among them when include_self); self elsewhere where nothing was written."""
    n = f.shape[0]
    written = ops.gt(_hits(p, n), 0)
    src_hit = ops.eq(v, _gather(out, p))
    self_hit = ops.eq(f, out) if include_self else ops.full(f.shape, False, dtypes.bool_)
    count = ops.add(_add(src_hit.to(f.dtype), p, n), self_hit.to(f.dtype))
    share = ops.div(ct, ops.maximum(count, ops.full((), 1.0, f.dtype)))
    grad_self = ops.where(written, ops.where(self_hit, share, 0.0), ct)
    grad_src = ops.where(src_hit, _gather(share, p), 0.0)
    return grad_self, grad_src


def _prod_rule(f, v, p, out, ct, kind, include_self):
    """torch's: divide by each factor, with the zeros handled exactly (self: its zeros
    replaced by 1 before the product; src: one zero at a position gets the product of
    the others)."""
    n = f.shape[0]
    written = ops.gt(_hits(p, n), 0)
    one = ops.full((), 1.0, f.dtype)
    f_zero = ops.eq(f, 0.0)
    masked_f = ops.where(f_zero, one, f)
    if include_self:
        masked_out = _reduced(masked_f, v, p, kind, include_self)
        grad_self = ops.where(written, ops.div(ops.mul(ct, masked_out), masked_f), ct)
    else:
        grad_self = ops.where(written, ops.zeros_like(ct), ct)
    v_zero = ops.eq(v, 0.0)
    zeros_at = _gather(_add(v_zero.to(f.dtype), p, n), p)
    single = ops.logical_and(v_zero, ops.eq(zeros_at, 1.0))
    masked_v = ops.where(single, one, v)
    masked_v_out = _reduced(f, masked_v, p, kind, include_self)
    by_division = ops.div(_gather(ops.mul(ct, out), p), ops.where(v_zero, one, v))
    grad_src = ops.where(single, _gather(ops.mul(ct, masked_v_out), p), by_division)
    return grad_self, grad_src


# ---------------------------------------------------------------- index_put, index_copy


def index_put(input: Any, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """torch.index_put: `input` with input[indices] = values (a tuple of index tensors,
    as advanced indexing); accumulate=True adds instead (repeated positions add up)."""
    x = _t(input)
    if not isinstance(indices, tuple | list):
        raise ArgumentError(with_location(
            "index_put: indices must be a tuple or list of tensors"))
    index = tuple(None if i is None else _t(i) for i in indices)
    n = x.numel()
    positions = getitem(ops.reshape(ops.arange(n), x.shape), index)
    flat_pos = _flat(positions)
    v = _t(values)
    v = v.to(x.dtype) if v.dtype != x.dtype else v
    v = _flat(ops.broadcast_to(v, positions.shape))
    if not accumulate:  # torch's gradient: every value gets its position's (a gather)
        out = ops.where(ops.gt(_hits(flat_pos, n), 0), _write(v, flat_pos, n), _flat(x))
    elif x.dtype == dtypes.bool_:
        out = ops.logical_or(_flat(x), ops.gt(_add(v.to(dtypes.int64), flat_pos, n), 0))
    else:
        out = ops.add(_flat(x), _add(v, flat_pos, n))
    return ops.reshape(out, x.shape)


def index_copy(input: Any, dim: int, index: Any, source: Any) -> Tensor:
    """torch.index_copy: the slices of `input` at `index` along dim replaced by
    source's (a repeated index keeps the last)."""
    x, source = _t(input), _t(source)
    d = _dim(x, dim, "index_copy")
    index = _check_index_dtype(_t(index), "index_copy")
    if index.ndim > 1:
        raise ShapeError(with_location(
            f"index_copy: index must be 0-d or 1-D, got shape {list(index.shape)}"))
    if x.ndim == 0:
        return scatter(ops.reshape(x, (1,)), 0, ops.reshape(index, (1,)),
                       ops.reshape(source, (1,))).reshape(())
    index = ops.reshape(index, (index.numel(),))
    want = tuple(index.numel() if i == d else n for i, n in enumerate(x.shape))
    if source.ndim == 0 and index.numel() == 1 and x.ndim == 1:
        source = ops.reshape(source, (1,))
    if source.shape != want:
        raise ShapeError(with_location(
            f"index_copy: source of shape {list(source.shape)} does not fit: expected "
            f"{list(want)} (input {list(x.shape)}, {index.numel()} indices along dim {d})"))
    # the flat positions of source's elements in x: a scatter along dim, flattened
    rows = ops.reshape(ops.arange(x.numel()), x.shape)
    positions = _flat(ops.emit(hl.GatherOp, rows, index, axis=d))
    n = x.numel()
    src = source.to(x.dtype) if source.dtype != x.dtype else source
    written = ops.gt(_hits(positions, n), 0)
    out = ops.where(written, _write(_flat(src), positions, n), _flat(x))
    return ops.reshape(out, x.shape)


# ---------------------------------------------------------------- masks, take, put


def masked_scatter(input: Any, mask: Any, source: Any) -> Tensor:
    """torch.masked_scatter: where `mask` (broadcast to input) is True, the next element
    of `source` in row-major order; a static shape, so it compiles."""
    x, mask, source = _t(input), _t(mask), _t(source)
    if mask.dtype != dtypes.bool_:
        raise DTypeError(with_location(
            f"masked_scatter: mask must be a bool tensor, got {mask.dtype.name}"))
    shape = ops.broadcast_shapes(x.shape, mask.shape, op="masked_scatter")
    x, mask = ops.broadcast_to(x, shape), ops.broadcast_to(mask, shape)
    if source.dtype != x.dtype:
        raise DTypeError(with_location(
            f"masked_scatter: source ({source.dtype.name}) must have input's dtype "
            f"({x.dtype.name})"))
    m = _flat(mask)
    if not mask.is_traced and int(ops.sum(m.to(dtypes.int64)).item()) > source.numel():
        raise ShapeError(with_location(
            f"masked_scatter: the mask selects more elements than source has "
            f"({source.numel()})"))
    if source.numel() == 0:
        return ops.fresh(x)
    from lamina.frontend.scan import scan

    taken = ops.sub(scan(m.to(dtypes.int64), "add", 0), 1)
    taken = ops.minimum(ops.maximum(taken, ops.full((), 0, dtypes.int64)),
                        ops.full((), source.numel() - 1, dtypes.int64))
    picked = ops.emit(hl.GatherOp, _flat(source), taken, axis=0)
    return ops.reshape(ops.where(m, picked, _flat(x)), shape)


def take(input: Any, index: Any) -> Tensor:
    """torch.take: input read as 1-d at `index` (negative indices count from the end);
    the result has index's shape."""
    x = _t(input)
    index = _check_index_dtype(_t(index), "take")
    n = x.numel()
    from lamina.frontend.movement import _check_static_index

    _check_static_index(index, n, 0, x, "take")
    return ops.emit(hl.GatherOp, _flat(x), _wrap_negative(index.to(dtypes.int64), n), axis=0)


def put(input: Any, index: Any, source: Any, accumulate: bool = False) -> Tensor:
    """torch.Tensor.put: input read as 1-d with source written (added) at index."""
    x = _t(input)
    index = _check_index_dtype(_t(index), "put")
    n = x.numel()
    from lamina.frontend.movement import _check_static_index

    _check_static_index(index, n, 0, x, "put")
    positions = _flat(_wrap_negative(index.to(dtypes.int64), n))
    flat = index_put(_flat(x), (positions,), _flat(_t(source)), accumulate)
    return ops.reshape(flat, x.shape)


def _install_methods() -> None:
    def inplace(fn):
        def method(self, *args: Any, **kwargs: Any):
            return self._assign(fn(self, *args, **kwargs))

        method.__name__ = fn.__name__ + "_"
        return method

    from lamina.frontend.movement import index_add, index_fill, scatter_add

    for fn in (scatter, scatter_reduce, index_put, index_copy, masked_scatter, take, put):
        setattr(Tensor, fn.__name__, fn)
    for fn in (scatter, scatter_reduce, index_put, index_copy, masked_scatter, put,
               scatter_add, index_add, index_fill):
        setattr(Tensor, fn.__name__ + "_", inplace(fn))


_install_methods()

__all__ = ["index_copy", "index_put", "masked_scatter", "put", "scatter", "scatter_reduce", "take"]
