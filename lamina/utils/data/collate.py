"""`default_collate` and `default_convert` with torch's rules: a batch of tensors,
numpy arrays or numbers becomes one tensor with a new leading dimension (numbers:
float64 / int64 / bool, as torch.tensor makes them); dicts, namedtuples, tuples and
lists are collated field by field (a tuple becomes a list, as in torch); strings
stay lists. Concrete tensors are stacked on their arrays: no program per batch."""

from __future__ import annotations

import collections.abc as abc
import copy
from typing import Any

import numpy as np

from lamina import errors
from lamina.errors import ArgumentError, with_location
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
          "lists; found {}")
_TypeError = errors.like(ArgumentError, TypeError)


def _array_ok(a: np.ndarray) -> bool:
    return a.dtype.kind not in "SaUO"


def _stack(batch: list[Tensor]) -> Tensor:
    if any(t.requires_grad for t in batch):
        return ops.stack(batch, 0)
    return Tensor._wrap(np.stack([t.numpy() for t in batch]))


def _numpy(batch: list[Any]) -> Tensor:
    return Tensor._wrap(np.ascontiguousarray(np.stack([np.asarray(b) for b in batch])))


def default_collate(batch: list[Any]) -> Any:
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray | np.generic) and not isinstance(elem, np.str_ | np.bytes_):
        if not _array_ok(np.asarray(elem)):
            raise _TypeError(with_location(_ERROR.format(np.asarray(elem).dtype)))
        return _numpy(batch)
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            if isinstance(elem, abc.MutableMapping):  # a copy keeps OrderedDict, defaultdict
                clone = copy.copy(elem)
                clone.update(collated)
                return clone
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch, strict=True)))
    if isinstance(elem, abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise errors.like(ArgumentError, RuntimeError)(with_location(
                "each element in list of batch should be of equal size"))
        transposed = [default_collate(list(s)) for s in zip(*batch, strict=True)]
        if isinstance(elem, tuple):
            return transposed
        try:
            return type(elem)(transposed)
        except TypeError:
            return transposed
    raise _TypeError(with_location(_ERROR.format(type(elem))))


def default_convert(data: Any) -> Any:
    """What a DataLoader without batching returns: numpy arrays and numpy scalars as
    tensors, containers converted inside, everything else as it is."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray | np.generic) and not isinstance(data, np.str_ | np.bytes_):
        return Tensor._wrap(np.array(data)) if _array_ok(np.asarray(data)) else data
    if isinstance(data, abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, abc.Sequence) and not isinstance(data, str | bytes):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
