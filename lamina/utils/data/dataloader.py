"""`DataLoader` with torch's arguments, checks and semantics: batches from a sampler
(or an IterableDataset's stream), collated in the main process or in `num_workers`
worker processes that each keep `prefetch_factor` batches in flight and hand them
back in order.

Workers are seeded as torch seeds them: a base seed drawn from the loader's
generator (or lamina's global stream) per iterator, worker i gets base + i for
Python's `random` and lamina's global RNG, and torch's `_generate_state` hash of
(base, i) for numpy's global RNG; `get_worker_info()` tells a worker who it is.
With `persistent_workers` the processes and the base seed live across epochs."""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import random
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina import errors
from lamina.errors import ArgumentError, with_location
from lamina.frontend import random as lamina_random
from lamina.utils.data.collate import default_collate, default_convert
from lamina.utils.data.dataset import IterableDataset
from lamina.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from lamina.utils.random import Generator, draw_seed

__all__ = ["DataLoader", "WorkerInfo", "get_worker_info"]

_ValueError = errors.like(ArgumentError, ValueError)
_RuntimeError = errors.like(ArgumentError, RuntimeError)
_POLL_S = 5.0


@dataclass(frozen=True)
class WorkerInfo:
    id: int
    num_workers: int
    seed: int
    dataset: Any


_WORKER_INFO: list[WorkerInfo | None] = [None]


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process: its id, the number of workers, its seed and its
    copy of the dataset; None in the main process."""
    return _WORKER_INFO[0]


class _InfiniteConstantSampler(Sampler):
    """The index sampler of an IterableDataset: None, forever."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


# ---------------------------------------------------------------- fetching one batch


def _fetch(dataset: Any, stream: Iterator[Any] | None, index: Any, auto_collation: bool,
           collate_fn: Callable[[Any], Any], drop_last: bool) -> Any:
    """The batch for `index` (a list of indices, or one index). For an iterable
    dataset `stream` is its iterator; StopIteration when it has no (full) batch left."""
    if stream is not None:
        if not auto_collation:
            return collate_fn(next(stream))
        data = list(itertools.islice(stream, len(index)))
        if not data or (drop_last and len(data) < len(index)):
            raise StopIteration
        return collate_fn(data)
    if not auto_collation:
        return collate_fn(dataset[index])
    if callable(getattr(dataset, "__getitems__", None)):
        return collate_fn(dataset.__getitems__(index))
    return collate_fn([dataset[i] for i in index])


# ---------------------------------------------------------------- worker processes


class _ExceptionWrapper:
    """An exception raised in a worker, re-raised in the main process with its type
    and the worker's traceback."""

    def __init__(self, where: str):
        exc_type, exc, _ = sys.exc_info()
        self.exc_type = exc_type
        self.msg = f"Caught {exc_type.__name__} {where}.\nOriginal {traceback.format_exc()}"

    def reraise(self) -> None:
        if self.exc_type is KeyError:  # KeyError would quote the whole message
            raise KeyError(self.msg)
        try:
            exception = self.exc_type(self.msg)
        except Exception:  # an exception type that needs other arguments
            raise _RuntimeError(self.msg) from None
        raise exception


@dataclass(frozen=True)
class _IterableEnd:
    worker_id: int


@dataclass(frozen=True)
class _Resume:
    epoch: int


def _generate_state(base_seed: int, worker_id: int) -> list[int]:
    """torch's seed for numpy in worker `worker_id` (torch/utils/data/_utils/worker.py):
    a hash of (worker_id, base_seed) into four 32-bit words."""
    mask = 0xFFFFFFFF
    entropy = [worker_id, base_seed & mask, base_seed >> 32, 0]
    const_a = [0x43B0D7E5]

    def hash_(value: int) -> int:
        value = (value ^ const_a[0]) & mask
        const_a[0] = (const_a[0] * 0x931E8875) & mask
        value = (value * const_a[0]) & mask
        return (value ^ (value >> 16)) & mask

    def mix(x: int, y: int) -> int:
        result = (((0xCA01F9DD * x) & mask) - ((0x4973F715 * y) & mask)) & mask
        return (result ^ (result >> 16)) & mask

    pool = [hash_(e) for e in entropy]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash_(pool[i_src]))
    const_b, state = 0x8B51F9DD, []
    for value in pool:
        value = (value ^ const_b) & mask
        const_b = (const_b * 0x58F38DED) & mask
        value = (value * const_b) & mask
        state.append((value ^ (value >> 16)) & mask)
    return state


def _worker_loop(dataset: Any, iterable: bool, index_queue: Any, data_queue: Any,
                 auto_collation: bool, collate_fn: Callable[[Any], Any], drop_last: bool,
                 base_seed: int, init_fn: Callable[[int], None] | None, worker_id: int,
                 num_workers: int) -> None:
    seed = base_seed + worker_id
    random.seed(seed)
    lamina_random.manual_seed(seed)
    np.random.seed(_generate_state(base_seed, worker_id))
    _WORKER_INFO[0] = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                 dataset=dataset)
    failure, stream, ended = None, None, False
    try:
        if init_fn is not None:
            init_fn(worker_id)
        stream = iter(dataset) if iterable else None
    except Exception:
        failure = _ExceptionWrapper(f"in DataLoader worker process {worker_id}")
    while True:
        task = index_queue.get()
        if task is None:
            break
        if isinstance(task, _Resume):
            ended = False
            if iterable and failure is None:
                stream = iter(dataset)
            data_queue.put((task.epoch, None, task))
            continue
        epoch, idx, index = task
        if ended:
            continue
        if failure is not None:
            data, failure = failure, None
        else:
            try:
                data = _fetch(dataset, stream, index, auto_collation, collate_fn, drop_last)
            except StopIteration:
                data, ended = _IterableEnd(worker_id), True
            except Exception:
                data = _ExceptionWrapper(f"in DataLoader worker process {worker_id}")
        data_queue.put((epoch, idx, data))
        del data


# ---------------------------------------------------------------- iterators


class _SingleProcessIter:
    def __init__(self, loader: DataLoader):
        self._loader = loader
        self._sampler_iter = iter(loader._index_sampler)
        self._stream = iter(loader.dataset) if loader._iterable else None

    def __iter__(self) -> _SingleProcessIter:
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def __next__(self) -> Any:
        index = next(self._sampler_iter)
        loader = self._loader
        return _fetch(loader.dataset, self._stream, index, loader._auto_collation,
                      loader.collate_fn, loader.drop_last)


class _MultiProcessIter:
    """Tasks (epoch, idx, index) go round-robin to the workers' queues, at most
    `prefetch_factor` per worker ahead; results come back on one queue and are
    reordered by idx (unless `in_order=False`)."""

    def __init__(self, loader: DataLoader):
        self._loader = loader
        n = loader.num_workers
        context = loader.multiprocessing_context
        ctx = multiprocessing.get_context(context) if isinstance(context, str | type(None)) \
            else context
        self._base_seed = draw_seed(loader.generator)
        self._data_queue = ctx.Queue()
        self._index_queues, self._workers = [], []
        for worker_id in range(n):
            index_queue = ctx.Queue()
            index_queue.cancel_join_thread()
            worker = ctx.Process(target=_worker_loop, daemon=True, args=(
                loader.dataset, loader._iterable, index_queue, self._data_queue,
                loader._auto_collation, loader.collate_fn, loader.drop_last, self._base_seed,
                loader.worker_init_fn, worker_id, n))
            worker.start()
            self._index_queues.append(index_queue)
            self._workers.append(worker)
        self._epoch = 0
        self._alive = True
        self._reset(first=True)

    def _reset(self, first: bool = False) -> None:
        self._epoch += 1
        n = len(self._workers)
        self._sampler_iter = iter(self._loader._index_sampler)
        self._send_idx = self._rcvd_idx = 0
        self._tasks: dict[int, tuple[Any, ...]] = {}  # idx -> (worker,) or (worker, data)
        self._active = [True] * n
        self._cycle = itertools.cycle(range(n))
        if not first:  # persistent workers: restart their streams, drop the last epoch's
            for q in self._index_queues:
                q.put(_Resume(self._epoch))
            acks = 0
            while acks < n:
                epoch, _, data = self._get()
                acks += isinstance(data, _Resume) and epoch == self._epoch
        for _ in range(self._loader.prefetch_factor * n):
            self._put_task()

    def _put_task(self) -> None:
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(len(self._workers)):
            worker_id = next(self._cycle)
            if self._active[worker_id]:
                break
        else:
            return
        self._index_queues[worker_id].put((self._epoch, self._send_idx, index))
        self._tasks[self._send_idx] = (worker_id,)
        self._send_idx += 1

    def _get(self) -> Any:
        timeout = self._loader.timeout
        while True:
            try:
                return self._data_queue.get(timeout=timeout if timeout > 0 else _POLL_S)
            except queue.Empty:
                if timeout > 0:
                    raise _RuntimeError(f"DataLoader timed out after {timeout} seconds") \
                        from None
                dead = [w.pid for w in self._workers if not w.is_alive()]
                if dead:
                    self._shutdown()
                    raise _RuntimeError(
                        f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited "
                        "unexpectedly") from None

    def __iter__(self) -> _MultiProcessIter:
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def __next__(self) -> Any:
        while True:
            while self._rcvd_idx < self._send_idx:  # skip the tasks of ended workers
                info = self._tasks[self._rcvd_idx]
                if len(info) == 2 or self._active[info[0]]:
                    break
                del self._tasks[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._loader.persistent_workers:
                    self._shutdown()
                raise StopIteration
            if len(self._tasks[self._rcvd_idx]) == 2:
                data = self._tasks.pop(self._rcvd_idx)[1]
                self._rcvd_idx += 1
                return self._deliver(data)
            epoch, idx, data = self._get()
            if epoch != self._epoch or isinstance(data, _Resume):
                continue  # a result of an abandoned epoch
            if isinstance(data, _IterableEnd):
                self._active[data.worker_id] = False
                self._put_task()
                continue
            if idx == self._rcvd_idx or not self._loader.in_order:
                self._tasks.pop(idx)
                if idx == self._rcvd_idx:
                    self._rcvd_idx += 1
                return self._deliver(data)
            self._tasks[idx] += (data,)

    def _deliver(self, data: Any) -> Any:
        self._put_task()
        if isinstance(data, _ExceptionWrapper):
            data.reraise()
        return data

    def _shutdown(self) -> None:
        if not self._alive:
            return
        self._alive = False
        for q in self._index_queues:
            q.put(None)
        for w in self._workers:
            w.join(timeout=_POLL_S)
            if w.is_alive():
                w.terminate()
        for q in (*self._index_queues, self._data_queue):
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        self._shutdown()


# ---------------------------------------------------------------- the loader


class DataLoader:
    """torch.utils.data.DataLoader: batches of a dataset, in order or shuffled, built
    in this process or in worker processes."""

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable[[Any], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True):
        if num_workers < 0:
            raise _ValueError(with_location(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."))
        if timeout < 0:
            raise _ValueError(with_location("timeout option should be non-negative"))
        if num_workers == 0 and prefetch_factor is not None:
            raise _ValueError(with_location(
                "prefetch_factor option could only be specified in multiprocessing.let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."))
        if persistent_workers and num_workers == 0:
            raise _ValueError(with_location("persistent_workers option needs num_workers > 0"))
        if pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=2)
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise _ValueError(with_location(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                    f"but got shuffle={shuffle}"))
            if sampler is not None:
                raise _ValueError(with_location(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, "
                    f"but got sampler={sampler}"))
            if batch_sampler is not None:
                raise _ValueError(with_location(
                    f"DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"))
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise _ValueError(with_location("sampler option is mutually exclusive with shuffle"))
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise _ValueError(with_location(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"))
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise _ValueError(with_location(
                "batch_size=None option disables auto-batching and is mutually exclusive "
                "with drop_last"))
        if sampler is None:
            sampler = _InfiniteConstantSampler() if self._iterable else \
                RandomSampler(dataset, generator=generator) if shuffle else \
                SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None \
            else prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.collate_fn = collate_fn if collate_fn is not None else \
            default_collate if self._auto_collation else default_convert
        self._iterator: _MultiProcessIter | None = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return _MultiProcessIter(self)
        if self._iterator is None:
            self._iterator = _MultiProcessIter(self)
        else:
            self._iterator._reset()
        return self._iterator

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)
