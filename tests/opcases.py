"""The op table: one `OpCase` row per behaviour of each hl op.

Rows live in `cases_*.py` files (one per op family); `all_cases()` collects them.
The same rows drive the forward tests (every backend against numpy), the
gradient tests (finite differences and torch.autograd) and the coverage test
(every hl op has a row)."""

from __future__ import annotations

import glob
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# The ONE reviewed list of hl ops without op-table or gradient-table rows: collectives
# need a process group of several ranks, which an in-process row cannot have. Their
# shape rules, printing and gradient rules are lit tests (tests/filecheck/hl/
# roundtrip-collective.mlir, collective-invalid.mlir, distributed/autodiff-collective.mlir); their
# semantics and gradients run in tests/test_distributed.py (2 and 4 ranks, DDP and ZeRO-1
# training equal to one process); they never reach lower-hl-to-loop (the runtime runs
# them between compiled segments: lamina/runtime/collective_program.py).
NEEDS_RANKS = frozenset({"hl.all_reduce", "hl.all_gather", "hl.reduce_scatter", "hl.broadcast",
                         "hl.reduce_to"})


@dataclass
class OpCase:
    name: str  # a unique id, e.g. "exp" or "conv2d-stride2"
    ops: tuple[str, ...]  # the hl ops this row exercises, e.g. ("hl.exp",)
    fn: Callable[..., Any]  # the lamina program (frontend calls)
    inputs: Callable[[np.random.Generator], list[np.ndarray]]
    oracle: Callable[..., Any]  # numpy semantics of fn
    torch_fn: Callable[..., Any] | None = None  # the same program in torch (gradient oracle)
    grad_args: tuple[int, ...] = (0,)  # which inputs are differentiated; () = no gradient
    rtol: float = 1e-5
    atol: float = 1e-6
    extra: dict[str, Any] = field(default_factory=dict)

    def make_inputs(self, seed: int = 0) -> list[np.ndarray]:
        return self.inputs(np.random.default_rng(seed))


def all_cases() -> list[OpCase]:
    here = os.path.dirname(__file__)
    cases: list[OpCase] = []
    for path in sorted(glob.glob(os.path.join(here, "cases_*.py"))):
        module = importlib.import_module(os.path.basename(path)[:-3])
        cases.extend(module.CASES)
    return cases


def f32(*shape: int, low: float = -2.0, high: float = 2.0):
    return lambda rng: rng.uniform(low, high, shape).astype(np.float32)


def positive(*shape: int):
    return lambda rng: rng.uniform(0.5, 2.0, shape).astype(np.float32)
