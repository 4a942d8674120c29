"""The strides torch's view ops would give a tensor, so that lamina answers as torch
does where memory layout shows through: `t.view(shape)` of a non-contiguous tensor
raises torch's RuntimeError, `t.stride()` and `t.is_contiguous()` report torch's values.

lamina never lays tensors out this way (a view is a function of its base, and every
kernel reads dense arrays); a tensor's strides are bookkeeping carried along the view
ops that torch implements by restriding: transposes and permutes, squeeze/unsqueeze,
narrowing, selecting and basic indexing, expand, and view/reshape themselves. Every
other op gives a contiguous result."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

Strides = tuple[int, ...]

__all__ = ["after", "contiguous", "is_contiguous", "view_strides"]


def contiguous(shape: Sequence[int]) -> Strides:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def view_strides(shape: Sequence[int], strides: Sequence[int],
                 new_shape: Sequence[int]) -> Strides | None:
    """torch's computeStride: the strides `view(new_shape)` gives a tensor of this
    shape and these strides, or None where no view exists (torch raises)."""
    shape, strides, new_shape = list(shape), list(strides), list(new_shape)
    numel = math.prod(shape)
    if numel == 0 or not shape:
        return contiguous(new_shape) if numel == 0 or math.prod(new_shape) == 1 else None
    new = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new[view_d] = view_numel * chunk_base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base = strides[d - 1]
                tensor_numel = view_numel = 1
    return tuple(new) if view_d == -1 else None


def _dim(d: int, rank: int) -> int:
    return d % max(rank, 1)


def _index(shape: Sequence[int], strides: Sequence[int], index: Any) -> Strides | None:
    """Strides of a basic index (ints, slices, None, Ellipsis); None if not basic."""
    items = list(index) if isinstance(index, tuple) else [index]
    if any(not (i is None or i is Ellipsis or isinstance(i, slice) or
                (isinstance(i, int | np.integer) and not isinstance(i, bool))) for i in items):
        return None
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at:at + 1] = [slice(None)] * (len(shape) - used)
    items += [slice(None)] * (len(shape) - sum(1 for i in items if i is not None))
    out, d = [], 0
    for item in items:
        if item is None:
            out.append(strides[d] * shape[d] if d < len(shape) else 1)
        elif isinstance(item, slice):
            out.append(strides[d] * (item.step or 1))
            d += 1
        else:
            d += 1
    return tuple(out)


def after(name: str, shape: Sequence[int], strides: Sequence[int], args: tuple,
          kwargs: dict, out_shape: Sequence[int]) -> Strides | None:
    """The strides of `x.name(*args, **kwargs)` (one result of shape `out_shape`) for x
    of this shape and strides; None: contiguous (or not a restriding op)."""
    rank = len(shape)
    if rank == 0 or len(out_shape) == 0:
        return None  # 0-d tensors (and 0-d results) have no strides to keep
    if name in ("transpose", "swapaxes", "swapdims"):
        d0, d1 = (kwargs.get(k, a) for k, a in zip(("dim0", "dim1"), (*args, None, None)[:2],
                                                      strict=True))
        d0, d1 = _dim(d0, rank), _dim(d1, rank)
        s = list(strides)
        s[d0], s[d1] = s[d1], s[d0]
        return tuple(s)
    if name in ("t", "T"):
        return tuple(reversed(strides))
    if name == "mT":
        return (*strides[:-2], strides[-1], strides[-2])
    if name == "permute":
        dims = args[0] if len(args) == 1 and isinstance(args[0], tuple | list) else \
            kwargs.get("dims", args)
        return tuple(strides[_dim(d, rank)] for d in dims)
    if name == "unsqueeze":
        d = kwargs.get("dim", args[0] if args else None) % (rank + 1)
        new = strides[d] * shape[d] if d < rank else 1
        return (*strides[:d], new, *strides[d:])
    if name == "squeeze":
        dims = kwargs.get("dim", args[0] if args else None)
        if dims is None:
            keep = [i for i, n in enumerate(shape) if n != 1]
        else:
            drop = {_dim(d, rank) for d in (dims if isinstance(dims, tuple | list) else (dims,))}
            keep = [i for i in range(rank) if not (i in drop and shape[i] == 1)]
        return tuple(strides[i] for i in keep)
    if name in ("narrow", "chunk", "split"):
        return tuple(strides)  # pieces along one dim keep the strides
    if name in ("select", "unbind"):
        d = _dim(kwargs.get("dim", args[0] if args else 0), rank)
        return (*strides[:d], *strides[d + 1:])
    if name == "__getitem__":
        return _index(shape, strides, args[0])
    if name in ("expand", "broadcast_to", "expand_as"):
        lead = len(out_shape) - rank
        return (*([0] * lead), *(0 if n != m else s for n, m, s in
                                 zip(shape, out_shape[lead:], strides, strict=True)))
    if name in ("view", "view_as", "reshape", "reshape_as", "flatten", "unflatten"):
        return view_strides(shape, strides, out_shape)
    return None


def is_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """torch's rule: row-major strides, sizes 1 (and empty tensors) excepted."""
    if math.prod(shape) == 0:
        return True
    expected = 1
    for n, s in zip(reversed(shape), reversed(strides), strict=True):
        if n != 1:
            if s != expected:
                return False
            expected *= n
    return True
