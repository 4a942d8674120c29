"""GPU benchmark of lamina's Triton backend: op-table correctness on the device, then
timings against torch eager and torch.compile, printed as a markdown table.

    python bench/gpu.py            # on a machine with an NVIDIA/AMD GPU (< 5 minutes)
    python bench/gpu.py --smoke    # tiny sizes; runs in Triton's interpreter on a CPU

Times are medians of `triton.testing.do_bench` (on the GPU; wall-clock medians in
the interpreter). lamina is timed on device buffers (its program's `launch`, no
host<->device copies), as torch is. Each row gives lamina's time, the ratios
torch/lamina (> 1: lamina is faster) and the fraction of this machine's limit
lamina reaches: the measured device-to-device copy bandwidth for memory-bound
rows, the measured bf16 matmul peak (torch, large GEMM) for compute-bound rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))  # the op table (opcases.py)

# first: without a GPU it sets TRITON_INTERPRET=1 before anything imports triton
from lamina.runtime import triton_backend as tb  # noqa: E402, I001

import lamina as lm  # noqa: E402
import lamina.nn as nn  # noqa: E402
import lamina.nn.functional as F  # noqa: E402


@dataclass
class Row:
    name: str
    lamina_ms: float
    eager_ms: float | None
    compiled_ms: float | None
    work: float  # bytes (memory-bound) or flops (compute-bound)
    bound: str  # "memory" or "compute"
    max_err: float


def bench(fn: Callable[[], object], smoke: bool) -> float:
    """Median milliseconds of fn()."""
    if not smoke:
        import triton.testing

        return float(triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median"))
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def lamina_on_device(jitted: Callable, args: list[np.ndarray]):
    """Run once (compiles), then return (program, device inputs, device outputs)."""
    outs = jitted(*args)
    for o in (outs if isinstance(outs, tuple | list) else [outs]):
        np.asarray(o)
    assert tb.LAST_CALL is not None, "the jitted function did not run on the triton backend"
    program, raw = tb.LAST_CALL
    return program, program.device_inputs(raw), program.device_outputs()


def measure_limits(torch, smoke: bool) -> tuple[float, float]:
    """(copy bandwidth in bytes/s, bf16 matmul FLOP/s) measured with torch."""
    n = (1 << 14) if smoke else (1 << 28)
    dev = tb.device()
    src = torch.empty(n, dtype=torch.float32, device=dev)
    dst = torch.empty_like(src)
    ms = bench(lambda: dst.copy_(src), smoke)
    bandwidth = 2 * 4 * n / (ms * 1e-3)
    m = 64 if smoke else 8192
    dt = torch.float32 if smoke else torch.bfloat16
    a = torch.randn(m, m, device=dev, dtype=dt)
    b = torch.randn(m, m, device=dev, dtype=dt)
    ms = bench(lambda: a @ b, smoke)
    return bandwidth, 2 * m ** 3 / (ms * 1e-3)


def compare(name: str, jitted: Callable, torch_fn: Callable, args: list[np.ndarray],
            work: float, bound: str, smoke: bool, torch) -> Row:
    """Time lamina, torch eager and torch.compile on the same inputs; check lamina."""
    program, ins, outs = lamina_on_device(jitted, args)
    program.launch(ins, outs)
    t_args = [tb.to_device(a, t) for a, t in zip(args, program.input_types, strict=False)]
    t_args = [x.view(a.shape) for x, a in zip(t_args, args, strict=False)]
    want = torch_fn(*t_args)
    want = want[0] if isinstance(want, tuple | list) else want
    got = outs[0].view(want.shape)
    err = float((got.float() - want.float()).abs().max())
    lamina_ms = bench(lambda: program.launch(ins, outs), smoke)
    eager_ms = bench(lambda: torch_fn(*t_args), smoke)
    compiled_ms = None
    if not smoke:
        try:
            compiled = torch.compile(torch_fn)
            compiled(*t_args)
            compiled_ms = bench(lambda: compiled(*t_args), smoke)
        except Exception as err_:  # noqa: BLE001  (report, keep benchmarking)
            print(f"torch.compile failed for {name}: {err_}", file=sys.stderr)
    return Row(name, lamina_ms, eager_ms, compiled_ms, work, bound, err)


# ---------------------------------------------------------------- workloads


def softmax_row(smoke: bool, torch) -> Row:
    n = 16 if smoke else 4096
    x = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    return compare(f"softmax {n}x{n} f32", lm.jit(lambda x: F.softmax(x, dim=1), backend="triton"),
                   lambda x: torch.softmax(x, dim=1), [x], 2 * 4 * n * n, "memory", smoke, torch)


def layer_norm_row(smoke: bool, torch) -> Row:
    rows, cols = (8, 32) if smoke else (8192, 1024)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, cols), dtype=np.float32)
    w = rng.standard_normal(cols, dtype=np.float32)
    b = rng.standard_normal(cols, dtype=np.float32)
    return compare(
        f"layer_norm {rows}x{cols} f32",
        lm.jit(lambda x, w, b: F.layer_norm(x, (cols,), w, b), backend="triton"),
        lambda x, w, b: torch.nn.functional.layer_norm(x, (cols,), w, b),
        [x, w, b], 2 * 4 * rows * cols, "memory", smoke, torch)


def matmul_row(dtype: str, smoke: bool, torch) -> Row:
    n = 32 if smoke else 4096
    np_dt = {"f16": np.float16, "bf16": lm.bfloat16.np_dtype, "f32": np.float32}[dtype]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32).astype(np_dt)
    b = rng.standard_normal((n, n), dtype=np.float32).astype(np_dt)
    return compare(f"matmul {n}^3 {dtype}", lm.jit(lambda a, b: a @ b, backend="triton"),
                   lambda a, b: a @ b, [a, b], 2.0 * n ** 3, "compute", smoke, torch)


def mlp_row(smoke: bool, torch) -> Row:
    """One SGD step of a 2-layer MLP (forward, backward, update) as one program."""
    batch, d, h = (16, 16, 32) if smoke else (4096, 1024, 4096)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, d), dtype=np.float32)
    y = rng.standard_normal((batch, d), dtype=np.float32)
    model = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, d))
    opt = lm.optim.SGD(model.parameters(), lr=1e-3)

    @lm.jit(backend="triton")
    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    program, ins, outs = lamina_on_device(step, [x, y])
    lamina_ms = bench(lambda: program.launch(ins, outs), smoke)
    dev = tb.device()
    tmodel = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.ReLU(),
                                 torch.nn.Linear(h, d)).to(dev)
    topt = torch.optim.SGD(tmodel.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)

    def torch_step():
        topt.zero_grad()
        loss = torch.nn.functional.mse_loss(tmodel(tx), ty)
        loss.backward()
        topt.step()
        return loss

    eager_ms = bench(torch_step, smoke)
    compiled_ms = None
    if not smoke:
        try:
            compiled = torch.compile(torch_step)
            compiled()
            compiled_ms = bench(compiled, smoke)
        except Exception as err:  # noqa: BLE001
            print(f"torch.compile failed for the MLP step: {err}", file=sys.stderr)
    flops = 3 * 2.0 * batch * (d * h + h * d)  # forward + two backward GEMMs per layer
    return Row(f"MLP step {batch}x{d}x{h} f32", lamina_ms, eager_ms, compiled_ms, flops,
               "compute", float("nan"))


# ---------------------------------------------------------------- correctness


def op_table(limit: int | None) -> tuple[int, int, list[str]]:
    """Every op-table row on the triton backend vs its numpy oracle."""
    from opcases import all_cases

    passed, failures = 0, []
    cases = all_cases()[:limit] if limit else all_cases()
    for case in cases:
        try:
            inputs = case.make_inputs()
            got = np.asarray(lm.jit(case.fn, backend="triton")(*inputs))
            want = case.oracle(*inputs)
            if got.dtype == np.bool_ or np.issubdtype(got.dtype, np.integer):
                np.testing.assert_array_equal(got, want)
            else:
                np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol)
            passed += 1
        except Exception as err:  # noqa: BLE001  (a failing row is reported, not fatal)
            failures.append(f"{case.name}: {type(err).__name__}: {str(err).splitlines()[0][:120]}")
    return passed, len(cases), failures


def _fmt(ms: float | None) -> str:
    return "—" if ms is None else f"{ms:.3f}"


def _ratio(other: float | None, mine: float) -> str:
    return "—" if other is None else f"{other / mine:.2f}x"


def print_table(rows: list[Row], bandwidth: float, peak: float, device_name: str) -> None:
    print(f"\n### lamina (triton) on {device_name}\n")
    print(f"measured copy bandwidth: {bandwidth / 1e9:.0f} GB/s; "
          f"bf16 matmul peak (torch): {peak / 1e12:.1f} TFLOP/s\n")
    print("| workload | lamina ms | torch eager ms | torch.compile ms | eager/lamina "
          "| compile/lamina | fraction of limit | max abs err vs torch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        rate = r.work / (r.lamina_ms * 1e-3)
        frac = rate / (bandwidth if r.bound == "memory" else peak)
        limit = "bandwidth" if r.bound == "memory" else "bf16 peak"
        print(f"| {r.name} | {_fmt(r.lamina_ms)} | {_fmt(r.eager_ms)} | "
              f"{_fmt(r.compiled_ms)} | {_ratio(r.eager_ms, r.lamina_ms)} | "
              f"{_ratio(r.compiled_ms, r.lamina_ms)} | {frac:.1%} of {limit} | "
              f"{r.max_err:.2e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes; runs in Triton's interpreter when there is no GPU")
    parser.add_argument("--skip-table", action="store_true", help="skip the op-table check")
    args = parser.parse_args()
    if not args.smoke and tb.interpreting():
        print("No GPU here: GPU timings are skipped. Run with --smoke to exercise every code "
              "path at tiny sizes in Triton's interpreter.")
        return
    import torch

    start = time.time()
    device_name = "Triton interpreter (CPU)" if tb.interpreting() else \
        torch.cuda.get_device_name(0)
    if not args.skip_table:
        passed, total, failures = op_table(8 if args.smoke else None)
        print(f"op table on the device: {passed}/{total} rows match numpy "
              f"({time.time() - start:.0f}s)")
        for f in failures:
            print(f"  - {f}")
    bandwidth, peak = measure_limits(torch, args.smoke)
    rows: list[Row] = []
    workloads = [softmax_row, layer_norm_row, lambda s, t: matmul_row("f16", s, t),
                 lambda s, t: matmul_row("bf16", s, t), lambda s, t: matmul_row("f32", s, t),
                 mlp_row]
    for work in workloads:
        try:
            rows.append(work(args.smoke, torch))
        except Exception as err:  # noqa: BLE001
            print(f"workload failed: {type(err).__name__}: {err}", file=sys.stderr)
    print_table(rows, bandwidth, peak, device_name)
    print(f"\n(total {time.time() - start:.0f}s)")


if __name__ == "__main__":
    main()
