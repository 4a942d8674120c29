"""lm.utils.data against torch.utils.data: default_collate's structure, dtypes and
values; the same batches from the same datasets and samplers; seeded shuffles
reproducible; worker processes (in order, seeded as torch seeds them, persistent,
sharding an IterableDataset, re-raising a worker's exception)."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest
import torch
import torch.utils.data as tdata
from torch.utils.data._utils.worker import _generate_state as torch_generate_state

import lamina as lm
from lamina.utils import data
from lamina.utils.data.dataloader import _generate_state

Point = collections.namedtuple("Point", "x y")


def _plain(value):
    """A comparable form: tensors as (dtype name, array), containers with their type."""
    if isinstance(value, torch.Tensor):
        return ("tensor", str(value.dtype).removeprefix("torch."), value.numpy().tolist())
    if isinstance(value, lm.Tensor):
        return ("tensor", value.dtype.name, value.numpy().tolist())
    if isinstance(value, dict):
        return (type(value).__name__, {k: _plain(v) for k, v in value.items()})
    if isinstance(value, tuple | list):
        return (type(value).__name__, [_plain(v) for v in value])
    return value


def _batch(lib):
    t = (lambda a: lib.tensor(a))
    return [
        {"img": np.full((2, 2), i, np.float32), "label": i, "w": 0.5 * i, "name": f"s{i}",
         "t": t(np.array([i, -i], np.int32)), "ok": bool(i % 2),
         "pt": Point(np.float64(i), [i, i + 1]), "pair": (i, np.int16(i))}
        for i in range(3)]


def test_default_collate_matches_torch():
    want = _plain(tdata.default_collate(_batch(torch)))
    got = _plain(data.default_collate(_batch(lm)))
    assert got == want
    od = [collections.OrderedDict(a=np.ones(2), b=1) for _ in range(2)]
    assert _plain(data.default_collate(od)) == _plain(tdata.default_collate(od))


def test_default_collate_errors_match_torch():
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        data.default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate"):
        data.default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match="equal size"):
        data.default_collate([[1, 2], [1]])


def test_default_convert_matches_torch():
    sample = {"a": np.arange(3), "b": (np.float32(2), "s"), "c": [np.ones(1)]}
    assert _plain(data.default_convert(sample)) == _plain(tdata.default_convert(sample))


class Squares(data.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.array([i, i * i], np.float32), i


class TorchSquares(tdata.Dataset):
    __init__, __len__, __getitem__ = Squares.__init__, Squares.__len__, Squares.__getitem__


@pytest.mark.parametrize("kwargs", [dict(batch_size=4), dict(batch_size=4, drop_last=True),
                                    dict(batch_size=None), dict(batch_size=3,
                                                                collate_fn=lambda b: len(b))],
                         ids=["batched", "drop-last", "unbatched", "collate-fn"])
def test_sequential_batches_match_torch(kwargs):
    want = [_plain(b) for b in tdata.DataLoader(TorchSquares(10), **kwargs)]
    loader = data.DataLoader(Squares(10), **kwargs)
    assert [_plain(b) for b in loader] == want
    assert len(loader) == len(tdata.DataLoader(TorchSquares(10), **kwargs))


def test_tensor_dataset_subset_concat_match_torch():
    x = np.arange(24, dtype=np.float32).reshape(12, 2)
    ours = data.TensorDataset(lm.tensor(x), lm.tensor(np.arange(12)))
    theirs = tdata.TensorDataset(torch.tensor(x), torch.arange(12))
    assert _plain(ours[5]) == _plain(theirs[5])
    sub, tsub = data.Subset(ours, [3, 1, 7]), tdata.Subset(theirs, [3, 1, 7])
    cat, tcat = sub + ours, tdata.ConcatDataset([tsub, theirs])
    assert len(cat) == len(tcat) == 15
    for i in (0, 2, 3, 14, -1, -15):
        assert _plain(cat[i]) == _plain(tcat[i])
    with pytest.raises(ValueError, match="Size mismatch"):
        data.TensorDataset(lm.zeros(3), lm.zeros(4))


def test_batch_sampler_matches_torch():
    for n, bs, drop in ((10, 3, False), (10, 3, True), (9, 3, False)):
        ours = data.BatchSampler(data.SequentialSampler(range(n)), bs, drop)
        theirs = tdata.BatchSampler(tdata.SequentialSampler(range(n)), bs, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    with pytest.raises(ValueError, match="batch_size"):
        data.BatchSampler(range(3), 0, False)


def test_shuffle_with_a_generator_is_reproducible():
    def epochs(seed):
        g = lm.Generator().manual_seed(seed)
        loader = data.DataLoader(Squares(20), batch_size=5, shuffle=True, generator=g)
        return [[int(i) for b in loader for i in b[1].numpy()] for _ in range(3)]
    first, again, other = epochs(1), epochs(1), epochs(2)
    assert first == again and first != other
    assert all(sorted(e) == list(range(20)) for e in first)
    assert first[0] != first[1]  # a new permutation each epoch


def test_global_seed_makes_unseeded_shuffles_reproducible():
    def order():
        return [int(i) for i in data.RandomSampler(range(30))]
    lm.manual_seed(7)
    a, b = order(), order()
    lm.manual_seed(7)
    assert [a, b] == [order(), order()] and a != b


def test_random_samplers():
    g = lm.Generator().manual_seed(0)
    draws = list(data.RandomSampler(range(5), replacement=True, num_samples=200, generator=g))
    assert len(draws) == 200 and set(draws) == set(range(5))
    more = list(data.RandomSampler(range(4), num_samples=10, generator=g))
    # without replacement: whole permutations, then part of one (torch's rule)
    assert sorted(more[:4]) == sorted(more[4:8]) == [0, 1, 2, 3] and len(set(more[8:])) == 2
    assert sorted(data.SubsetRandomSampler([10, 20, 30], generator=g)) == [10, 20, 30]
    weighted = list(data.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=g))
    counts = np.bincount(weighted, minlength=3)
    assert counts[0] == 0 and 2.6 < counts[2] / counts[1] < 3.4
    assert sorted(data.WeightedRandomSampler([1, 1, 1], 3, replacement=False,
                                             generator=g)) == [0, 1, 2]
    with pytest.raises(ValueError, match="num_samples"):
        data.WeightedRandomSampler([1.0], 0)


def test_random_split_lengths_and_fractions_match_torch():
    for lengths in ([3, 7], [0.3, 0.3, 0.4], [0.5, 0.5], [0.34, 0.33, 0.33]):
        ours = data.random_split(range(11 if lengths == [0.34, 0.33, 0.33] else 10), lengths,
                                 generator=lm.Generator().manual_seed(0))
        theirs = tdata.random_split(range(11 if lengths == [0.34, 0.33, 0.33] else 10),
                                    lengths, generator=torch.Generator().manual_seed(0))
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        assert sorted(i for s in ours for i in s) == sorted(i for s in theirs for i in s)
    with pytest.raises(ValueError, match="Sum of input lengths"):
        data.random_split(range(10), [3, 3])


def test_dataloader_argument_errors_match_torch():
    for kwargs in (dict(shuffle=True, sampler=data.SequentialSampler(range(3))),
                   dict(batch_sampler=[[0]], batch_size=2), dict(num_workers=-1),
                   dict(prefetch_factor=2), dict(persistent_workers=True),
                   dict(batch_size=None, drop_last=True)):
        with pytest.raises(ValueError):
            tdata.DataLoader(range(3), **kwargs)
        with pytest.raises(ValueError):
            data.DataLoader(range(3), **kwargs)


# ---------------------------------------------------------------- worker processes


class Pids(data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = data.get_worker_info()
        return {"i": i, "pid": os.getpid(), "worker": info.id, "seed": info.seed,
                "np": int(np.random.randint(0, 2**31)), "lm": lm.rand(1).numpy().tolist()}


def test_workers_keep_order_and_are_seeded_as_torch():
    seen = []
    loader = data.DataLoader(Pids(), batch_size=2, num_workers=2,
                             worker_init_fn=lambda wid: seen.append(wid))
    batches = list(loader)
    # the sampler's order survives the workers; round-robin assignment
    assert [int(i) for b in batches for i in b["i"].numpy()] == list(range(8))
    assert [int(b["worker"][0]) for b in batches] == [0, 1, 0, 1]
    seeds = {int(b["worker"][0]): int(b["seed"][0]) for b in batches}
    assert seeds[1] == seeds[0] + 1
    pids = {int(b["pid"][0]) for b in batches}
    assert len(pids) == 2 and os.getpid() not in pids
    # numpy's global seed in a worker is torch's hash of (base seed, worker id)
    base = seeds[0]
    first_np = np.random.RandomState(_generate_state(base, 0)).randint(0, 2**31)
    assert int(batches[0]["np"][0]) == first_np
    for s, w in ((base, 0), (2**40 + 17, 3), (123, 1)):
        assert _generate_state(s, w) == torch_generate_state(s, w)
    assert seen == []  # worker_init_fn ran in the workers, not here
    # a seeded shuffle with workers is reproducible (the base seed is drawn from the
    # loader's generator too, before the permutation, as in torch)
    runs = [[int(i) for b in data.DataLoader(Pids(), batch_size=2, shuffle=True,
                                             num_workers=2,
                                             generator=lm.Generator().manual_seed(3))
             for i in b["i"].numpy()] for _ in range(2)]
    assert runs[0] == runs[1] and sorted(runs[0]) == list(range(8))


def test_persistent_workers_live_across_epochs():
    loader = data.DataLoader(Pids(), batch_size=4, num_workers=2, persistent_workers=True)
    pids = [{int(p) for b in loader for p in b["pid"].numpy()} for _ in range(2)]
    assert pids[0] == pids[1] and len(pids[0]) == 2
    # an epoch abandoned half-way leaves no stale batch for the next one
    next(iter(loader))
    assert [int(i) for b in loader for i in b["i"].numpy()] == list(range(8))


class Stream(data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = data.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


class TorchStream(tdata.IterableDataset):
    __init__, __iter__, __len__ = Stream.__init__, Stream.__iter__, Stream.__len__


def test_iterable_dataset_sharded_by_workers_matches_torch(monkeypatch):
    monkeypatch.setattr(data, "get_worker_info", tdata.get_worker_info)
    want = [b.tolist() for b in tdata.DataLoader(TorchStream(11), batch_size=2, num_workers=2)]
    monkeypatch.undo()
    got = [b.numpy().tolist() for b in data.DataLoader(Stream(11), batch_size=2, num_workers=2)]
    assert got == want
    assert [b.numpy().tolist() for b in data.DataLoader(Stream(5), batch_size=2)] == \
        [[0, 1], [2, 3], [4]]


class Faulty(data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise KeyError("no such sample")
        return i


def test_a_worker_exception_is_reraised_with_its_type():
    with pytest.raises(KeyError, match="in DataLoader worker process"):
        list(data.DataLoader(Faulty(), batch_size=1, num_workers=2))
