"""torch's own OpInfo samples (`op_db`) through lamina, compared with torch (issue 14,
point 4): values (NaN-aware, torch.testing's tolerances), result dtype and shape, the
structure of the result, and float32 gradients of `sum(out * ct)`, on lamina eager and
on `lm.jit` with the "c" and "triton" backends.

Which lamina callable answers each OpInfo: `opinfo_map.py`. The samples lamina gets
wrong or crashes on today: `opinfo_skips.py`, the one reviewed skip table; a wrong or
crash sample it does not list fails here, and so does a row no longer needed. A sample
that passed before and no longer does (now a clean error, say) fails against
`opinfo_baseline.py`.

`make test` runs the fast subset (float32, the first samples of each op, Triton on a
few); `make test-slow` the full sweep. Counts per family and path are printed (`pytest
-rP`) and, with `LAMINA_OPINFO_REPORT=FILE` (`.md` or `.json`; a directory gets both, as
opinfo-<fast|full>.{json,md}), written with every wrong and crash sample and per-op counts.
`python tests/opinfo_report.py --help` runs any part of the sweep by hand.
"""

from __future__ import annotations

import os

import numpy as np
import opinfo_baseline
import opinfo_report as report
import opinfo_skips
import pytest
import torch
from opinfo_harness import Item, compare_values, run_batch
from opinfo_map import FAMILIES, OVERRIDES, RANDOM, Target, family
from opinfo_torch import (
    op_db,
    op_key,
    samples,
    take_apart,
    to_numpy,
    torch_answer,
    torch_tolerance,
)

import lamina as lm


def _sweep_and_check(cfg: report.Config) -> None:
    records, stale = report.sweep(cfg)
    print(report.counts_table(cfg, records))
    if os.environ.get("LAMINA_OPINFO_REPORT"):
        report.write_report(os.environ["LAMINA_OPINFO_REPORT"], cfg, records, stale)
    problems = [f"{r.outcome.upper()}: {r.key} {r.dtype} {r.path} {r.stage} sample #{r.index} "
                f"[{r.sample}]: {r.detail}"
                for r in records if r.outcome in ("wrong", "crash") and r.skip is None]
    problems += [f"skip row no longer needed: {x}" for x in stale]
    problems += report.regressions(cfg, records, opinfo_baseline.PASSES[cfg.name])
    assert not problems, (f"{len(problems)} OpInfo problems (python tests/opinfo_report.py "
                          f"--op NAME -v shows each sample):\n" + "\n".join(problems))


def test_opinfo_fast():
    _sweep_and_check(report.FAST)


@pytest.mark.slow
def test_opinfo_full():
    _sweep_and_check(report.FULL)


# --- the harness itself: each outcome is detected ------------------------------------------


def _op(key: str):
    return next(op for op in op_db() if op_key(op) == key)


def _items(op, n: int = 1) -> list[Item]:
    """The op's first n float32 samples without empty tensors, ready to run."""
    items = []
    for index, sample in enumerate(samples(op, torch.float32)):
        parts = take_apart(sample, report.harness.translate)
        if len(items) < n and all(t.numel() for t in parts.leaves):
            ans = torch_answer(op, sample, parts, True, index)
            items.append(Item(parts, [to_numpy(t) for t in parts.leaves], ans, False, True))
    return items


def test_harness_sees_a_wrong_value_and_a_wrong_gradient():
    items = _items(_op("exp"), 2)
    wrong_value = Target("exp", "lm.exp + 1e-3", lambda x: lm.exp(x) + 1e-3)
    assert [v.outcome for v in run_batch("eager", wrong_value, items)] == ["wrong", "wrong"]
    # exp(x) with the gradient of exp(x) + x: right values, wrong gradient
    nudged = Target("exp", "nudged", lambda x: lm.exp(x) + (x - lm.stop_gradient(x)))
    verdicts = run_batch("c", nudged, items)
    assert [(v.outcome, v.stage) for v in verdicts] == [("wrong", "grad")] * 2, verdicts
    right = Target("exp", "lm.exp", lm.exp)
    assert [v.outcome for v in run_batch("c", right, items)] == ["pass", "pass"]


def test_harness_sees_dtype_shape_and_identity():
    [item] = _items(_op("exp"))
    cases = {"dtype: torch float32, lamina float64": lambda x: lm.exp(x).to(lm.float64),
             "shape: torch [20], lamina [1, 20]": lambda x: lm.exp(x).reshape(1, -1),
             "returns its input tensor object": lambda x: x.exp_()}
    for expected, fn in cases.items():
        [v] = run_batch("eager", Target("exp", "t", fn), [item])
        assert v.outcome == "wrong" and v.detail.startswith(expected), (expected, v)


def test_harness_tells_crash_from_clean_error_from_unsupported():
    [item] = _items(_op("exp"))

    def crash(x):
        return [][1]

    def clean(x):
        raise lm.ShapeError("exp: bad shape")

    def unsupported(x):
        raise lm.ArgumentError("exp: out= is not supported")

    outcomes = {crash: "crash", clean: "clean-error", unsupported: "unsupported",
                (lambda x, *, nope: x): "unsupported"}  # a signature without torch's arguments
    for fn, expected in outcomes.items():
        [v] = run_batch("eager", Target("exp", "t", fn), [item])
        assert v.outcome == expected, (fn, v)


def test_values_compare_nan_aware_within_tolerance():
    nan = np.float32("nan")
    assert compare_values(np.array([1.0, nan], np.float32), np.array([1.0, nan], np.float32),
                          "float32") is None
    assert compare_values(np.array([1.0, nan]), np.array([1.0, 2.0]), "float32") is not None
    assert compare_values(np.array([1.0]), np.array([1.0 + 1e-7]), "float32") is None
    assert compare_values(np.array([1.0]), np.array([1.0 + 1e-4]), "float32") is not None
    assert compare_values(np.array([3]), np.array([4]), "int64") is not None
    assert compare_values(np.array([np.inf]), np.array([-np.inf]), "float32") is not None


def test_tolerances_are_torch_own_overrides_for_the_op():
    # torch's own cross-kernel tests allow conv_transpose2d float32 (rtol 5e-5, atol 1e-4)
    assert torch_tolerance(_op("nn.functional.conv_transpose2d"), torch.float32) == (5e-5, 1e-4)
    assert torch_tolerance(_op("exp"), torch.float32) is None
    assert torch_tolerance(_op("matmul"), torch.int64) is None


# --- the tables are well formed ----------------------------------------------------------------


def test_skip_rows_are_well_formed():
    keys = {op_key(op) for op in op_db()}
    ids = [row.id for row in opinfo_skips.SKIPS]
    assert len(ids) == len(set(ids)), "two skip rows with the same id"
    for row in opinfo_skips.SKIPS:
        assert row.op in keys, f"skip row for {row.op!r}, which op_db does not have"
        assert row.expect in ("wrong", "crash"), row
        assert row.reason.startswith(("wrong answer: ", "crash: ")), row
        assert row.item, row
        assert row.path in (None, *report.harness.PATHS) and row.stage in (None, "fwd", "grad")
        assert row.dtype in (None, *report.FULL.dtypes), row
        assert row.when is None or row.when_text, f"{row.id}: say what the predicate covers"


def test_a_skip_row_covering_only_passing_samples_is_stale():
    row = opinfo_skips.Skip("exp", "wrong", "wrong answer: a test row", "issue 14 table")
    saved = list(opinfo_skips.SKIPS)
    opinfo_skips.SKIPS[:] = [row]
    try:
        assert report.stale_rows({row.id: ["pass", "pass"]}, report.FAST)
        assert report.stale_rows({row.id: ["pass", "wrong"]}, report.FAST)  # not this failure
        assert not report.stale_rows({row.id: ["pass", "excused"]}, report.FAST)
        assert not report.stale_rows({}, report.FAST)  # its scope did not run
        assert report.stale_rows({}, report.FULL)  # no sample in scope in the full sweep
    finally:
        opinfo_skips.SKIPS[:] = saved


def test_a_skip_row_excuses_only_its_failure():
    row = opinfo_skips.Skip("exp", "wrong", "wrong answer: a test row", "issue 14 table",
                            detail="dtype:", stage="fwd", path="c")
    assert row.explains("wrong", "fwd", "dtype: torch float32, lamina float64")
    assert not row.explains("wrong", "fwd", "shape: torch [2], lamina [1]")
    assert not row.explains("wrong", "grad", "dtype: torch float32, lamina float64")
    assert not row.explains("crash", "fwd", "dtype: ...")
    assert row.in_scope("exp", "float32", "c", None, 0)
    assert not row.in_scope("exp", "float32", "eager", None, 0)


def test_every_op_has_a_family_and_the_overrides_name_real_ops():
    keys = {op_key(op) for op in op_db()} | {op.name for op in op_db()}
    assert all(family(op) in FAMILIES for op in op_db())
    assert set(OVERRIDES) <= keys and set(RANDOM) <= keys, (set(OVERRIDES) | set(RANDOM)) - keys
    assert set(report.TRITON_FAST) <= keys
