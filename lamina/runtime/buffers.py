"""A pool of output buffers: compiled programs write into memory that was already
faulted in, instead of fresh pages every call.

Why: a fresh `np.empty` of more than ~128 KiB is a new `mmap`; the first write to
each 4 KiB page then traps into the kernel. Writing a 64 MiB result costs ~25 ms in
page faults on a 2-core VM versus ~3 ms into memory that is already mapped, so a
bandwidth-bound kernel would spend most of its time in the kernel's page-fault path.

How: every large array that `empty()` returns views one pooled block through a
`_Block` object that exposes `__array_interface__`. numpy collapses the `.base`
chain of every view to the first non-array owner, so each view of the result (and
each view of a view) keeps that `_Block` alive; when the last one is gone the block
goes back to the pool and the next program call of that size reuses its pages.
Memory a user still references is therefore never handed out twice.

Idle memory is capped (`LAMINA_POOL_MB`, default 1024; 0 disables pooling): a block
returned while the pool is full is simply freed.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from lamina import knobs

# below this size np.empty is mostly served from the malloc heap (glibc raises its mmap
# threshold to the sizes it sees freed, up to 32 MiB): pooling
# would only add Python work to every call
MIN_POOLED_BYTES = 1 << 20
_ALIGN = 64


def _limit_bytes() -> int:
    return knobs.pool_limit_bytes()


class BufferPool:
    """Idle raw blocks keyed by their size in bytes."""

    def __init__(self, limit_bytes: int | None = None) -> None:
        self.limit = _limit_bytes() if limit_bytes is None else limit_bytes
        self.idle: dict[int, list[np.ndarray]] = {}
        self.idle_bytes = 0
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    def _take(self, nbytes: int) -> np.ndarray:
        with self._lock:
            blocks = self.idle.get(nbytes)
            if blocks:
                self.idle_bytes -= nbytes
                self.hits += 1
                return blocks.pop()
            self.misses += 1
        raw = np.empty(nbytes + _ALIGN, np.uint8)
        start = -raw.__array_interface__["data"][0] % _ALIGN
        return raw[start:start + nbytes]

    def give_back(self, raw: np.ndarray) -> None:
        nbytes = raw.nbytes
        with self._lock:
            if self.idle_bytes + nbytes > self.limit:
                return  # dropped: numpy frees it
            self.idle.setdefault(nbytes, []).append(raw)
            self.idle_bytes += nbytes

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """Like `np.empty(shape, dtype)` (C order, 64-byte aligned when pooled)."""
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes < MIN_POOLED_BYTES or self.limit == 0:
            return np.empty(shape, dtype)
        block = _Block(self, self._take(nbytes))
        return np.asarray(block).view(dtype).reshape(shape)

    def clear(self) -> None:
        with self._lock:
            self.idle.clear()
            self.idle_bytes = 0


class _Block:
    """Owner of one pooled block while any array views it; gives it back when freed."""

    __slots__ = ("pool", "raw", "__array_interface__")

    def __init__(self, pool: BufferPool, raw: np.ndarray) -> None:
        self.pool, self.raw = pool, raw
        self.__array_interface__ = {"data": (raw.__array_interface__["data"][0], False),
                                    "shape": (raw.nbytes,),
                                    "typestr": "|u1", "version": 3}

    def __del__(self) -> None:
        try:
            self.pool.give_back(self.raw)
        except Exception:  # interpreter shutdown: nothing to give back to
            pass


POOL = BufferPool()


def empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An output buffer from the process-wide pool."""
    return POOL.empty(shape, dtype)


def _address_reader():
    """`array -> address of its first element`, as cheap as Python allows (~0.3 us).

    ndarray's C struct starts with the object header and then `char *data` (numpy's
    public PyArrayObject_fields); reading that field directly avoids building the
    `__array_interface__` dict (~2 us) on every argument of every call. Checked at
    import on a few arrays (offsets, views); falls back when the layout differs."""
    import ctypes

    offset = object.__basicsize__  # PyObject_HEAD: refcount + type pointer
    read = ctypes.c_void_p.from_address
    probe = np.arange(16, dtype=np.float32)
    samples = [probe, probe[3:], np.empty((2, 3)), np.zeros((), np.int8)]
    try:
        ok = all((read(id(a) + offset).value or 0) == a.__array_interface__["data"][0]
                 for a in samples)
    except (ValueError, OSError):
        ok = False
    if ok:
        return lambda a: read(id(a) + offset).value
    return lambda a: a.__array_interface__["data"][0]


data_address = _address_reader()
