"""The ONE reviewed table of OpInfo samples lamina gets wrong or crashes on today.

A row names an op (OpInfo `name[.variant]`), optionally a dtype, a path ("eager", "c",
"triton"), a stage ("fwd" or "grad") and a sample predicate, the outcome it expects
("wrong" or "crash"), why, and the issue item it belongs to. A wrong or crash sample
that no row covers fails `tests/test_opinfo.py`; so does a row that covered samples in
a run but none of them was wrong or crashed any more (like a strict xfail): delete the
row when the fix lands, and the table only shrinks.

Sample predicates see torch's `SampleInput` (`s.input`, `s.args`, `s.kwargs`) and its
index among the op's samples for that dtype (`python tests/opinfo_report.py --op NAME
--dtype DTYPE` prints every sample with its index and outcome).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Skip:
    op: str
    expect: str  # "wrong" or "crash"
    reason: str
    item: str  # where the fix belongs: "issue 14 table", "issue 14 crashes", ...
    dtype: str | None = None
    path: str | None = None
    stage: str | None = None
    when: Callable[[Any, int], bool] | None = None  # (sample, index) -> covered?
    when_text: str = ""  # the predicate in words, for the report

    def covers(self, key: str, dtype: str, path: str, stage: str | None, sample,
               index: int) -> bool:
        """Does the row cover this sample (at this stage; stage None: at any stage)?"""
        return (key == self.op and self.dtype in (None, dtype) and self.path in (None, path)
                and (self.stage is None or stage is None or self.stage == stage)
                and (self.when is None or self.when(sample, index)))

    @property
    def id(self) -> str:
        parts = [self.op, self.dtype or "*", self.path or "*", self.stage or "*",
                 self.when_text or "all samples"]
        return " / ".join(parts)


# --- predicates ------------------------------------------------------------------------------


def indices(*wanted: int) -> Callable[[Any, int], bool]:
    return lambda s, i: i in wanted


def zero_d(s, i) -> bool:
    return isinstance(s.input, torch.Tensor) and s.input.ndim == 0


SKIPS: list[Skip] = [
]


def find(key: str, dtype: str, path: str, stage: str, sample, index: int) -> Skip | None:
    return next((r for r in SKIPS if r.covers(key, dtype, path, stage, sample, index)), None)
