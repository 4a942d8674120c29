"""Differential fuzzing, two ways.

1. hypothesis builds random elementwise/reduction chains; every compiled backend must
   agree with the reference interpreter (`LAMINA_FUZZ_EXAMPLES=5000 pytest -m slow`).
2. tests/fuzz_programs.py builds random programs with torch as the oracle (elementwise
   ops, Python scalars, reductions, movement, indexing, casts over 0-d, empty and
   broadcast shapes and mixed dtypes) and runs each on eager, interp, c and triton:
   values, dtypes, shapes and gradients must match torch's, or lamina must refuse what
   torch refuses with torch's exception class. `make test` runs a fixed subset;
   `make test-slow` the campaign (LAMINA_FUZZ_PROGRAMS, default 2,000, from seed
   LAMINA_FUZZ_SEED); `python tests/fuzz_programs.py --programs N --seed S` prints the
   counts of a campaign (under pytest, LAMINA_FUZZ_REPORT=file collects them)."""

import json
import os

import fuzz_programs
import numpy as np
import pytest
from conftest import compiled_backends
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina as lm

COMPILED = [b for b in compiled_backends() if b != "interp"]

UNARY = {
    "neg": lambda x: -x, "abs": lambda x: x.abs(), "exp": lambda x: (x * 0.25).exp(),
    "tanh": lambda x: x.tanh(), "sigmoid": lambda x: x.sigmoid(), "relu": lambda x: x.relu(),
    "sqrt_abs": lambda x: (x.abs() + 1).sqrt(), "log": lambda x: (x.abs() + 1).log(),
    "sin": lambda x: x.sin(), "square": lambda x: x * x, "erf": lambda x: lm.erf(x),
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "max": lambda a, b: lm.maximum(a, b), "div": lambda a, b: a / (b.abs() + 1),
    "where": lambda a, b: lm.where(a > b, a, b * 2),
}
REDUCE = {
    "sum": lambda x, d: x.sum(dim=d, keepdim=True), "amax": lambda x, d: x.amax(dim=d, keepdim=True),
    "mean": lambda x, d: x.mean(dim=d, keepdim=True),
}


@st.composite
def programs(draw):
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n_inputs = draw(st.integers(1, 3))
    input_shapes = []
    for _ in range(n_inputs):  # each input broadcasts to `shape`
        input_shapes.append(tuple(1 if draw(st.booleans()) and draw(st.booleans()) else n
                                  for n in shape))
    steps = draw(st.lists(st.tuples(
        st.sampled_from(["u", "b", "r"]),
        st.integers(0, 100), st.integers(0, 100), st.integers(0, 100)), min_size=1, max_size=6))
    return shape, dtype, input_shapes, steps


def build(steps):
    def program(*xs):
        values = list(xs)
        for kind, i, j, k in steps:
            a = values[i % len(values)]
            if kind == "u":
                values.append(list(UNARY.values())[k % len(UNARY)](a))
            elif kind == "b":
                b = values[j % len(values)]
                values.append(list(BINARY.values())[k % len(BINARY)](a, b))
            else:
                d = j % a.ndim
                values.append(list(REDUCE.values())[k % len(REDUCE)](a, d))
        return values[-1]

    return program


def _check(prog, backend):
    shape, dtype, input_shapes, steps = prog
    rng = np.random.default_rng(len(steps))
    inputs = [rng.uniform(-2, 2, s).astype(dtype) for s in input_shapes]
    fn = build(steps)
    want = np.asarray(lm.jit(fn, backend="interp")(*inputs))
    got = np.asarray(lm.jit(fn, backend=backend)(*inputs))
    tol = 2e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend", COMPILED)
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(prog=programs())
def test_backends_agree_with_interpreter(prog, backend):
    _check(prog, backend)


@pytest.mark.slow
@pytest.mark.parametrize("backend", COMPILED)
@settings(max_examples=int(os.environ.get("LAMINA_FUZZ_EXAMPLES", "1000")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(prog=programs())
def test_backends_agree_with_interpreter_slow(prog, backend):
    _check(prog, backend)


# ---------------------------------------------------------------- random programs vs torch
# tests/fuzz_programs.py builds random programs by running torch step by step and replays
# them on lamina: eager, and lm.jit on each backend. Every run must agree with torch (value,
# dtype, shape, gradients) or refuse what torch refuses with torch's exception class; the
# tolerated exceptions are the one table fuzz_programs.KNOWN_FAILURES.

FAST_SEEDS = range(12)  # `make test`: a fixed subset (48 runs, ~20 s with a cold cache)
CAMPAIGN = int(os.environ.get("LAMINA_FUZZ_PROGRAMS", "2000"))
CAMPAIGN_SEED = int(os.environ.get("LAMINA_FUZZ_SEED", "1000"))
CHUNK = 50


def _run_seeds(seeds) -> None:
    counts, failures = fuzz_programs.campaign(seeds)
    runs = sum(counts.values())
    print(f"\nseeds {seeds.start}..{seeds.stop - 1}: {runs} runs {counts}")
    if os.environ.get("LAMINA_FUZZ_REPORT"):  # one JSON line per chunk (xdist hides prints)
        with open(os.environ["LAMINA_FUZZ_REPORT"], "a") as f:
            f.write(json.dumps({"seeds": [seeds.start, seeds.stop], **counts}) + "\n")
    unknown = [f for f in failures if f[4] is None]
    report = "\n\n".join(f"seed {seed} on {backend}: {verdict}: {detail}\n"
                         f"{fuzz_programs.generate(seed)}"
                         for seed, backend, verdict, detail, _ in unknown[:5])
    assert not unknown, f"{len(unknown)} runs disagree with torch:\n{report}"


@pytest.mark.parametrize("start", range(FAST_SEEDS.start, FAST_SEEDS.stop, 6))
def test_random_programs_agree_with_torch(start):
    _run_seeds(range(start, start + 6))


@pytest.mark.slow
@pytest.mark.parametrize("start", range(CAMPAIGN_SEED, CAMPAIGN_SEED + CAMPAIGN, CHUNK))
def test_random_programs_agree_with_torch_campaign(start):
    """LAMINA_FUZZ_PROGRAMS programs (default 2,000) from seed LAMINA_FUZZ_SEED, each on
    eager, interp, c and triton; `python tests/fuzz_programs.py --programs N --seed S`
    runs the same campaign and prints its counts."""
    _run_seeds(range(start, min(start + CHUNK, CAMPAIGN_SEED + CAMPAIGN)))
