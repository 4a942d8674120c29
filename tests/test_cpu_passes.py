"""The cpu -> cpu passes that make the C backend's decisions, and the emitter that only
reads them: a division by a loop invariant is a product with a hoisted reciprocal,
OpenMP clauses are what the attributes say, grouped reductions are one C loop, stacked
GEMM batches are one call. Without the passes the C does none of it."""

from __future__ import annotations

import ctypes
import re

import numpy as np
import pytest
from xdsl.parser import Parser

import lamina  # noqa: F401
from lamina.codegen.c import ENTRY, emit_c
from lamina.passes import registry
from lamina.passes.pipeline import context, run
from lamina.runtime import backends, cache

pytestmark = pytest.mark.skipif("c" not in backends.available(), reason="no C backend")

HW_STAGE = dict(registry.PIPELINES_BY_NAME["c-pipeline"].stages)["hw"]


def parse(text: str, passes: str | None = None):
    ctx = context()
    module = Parser(ctx, text).parse_module()
    if passes:
        run(module, passes, ctx=ctx)
    module.verify()
    return module


def call(source: str, *buffers: np.ndarray) -> None:
    entry = getattr(cache.load(source), ENTRY)
    entry((ctypes.c_void_p * len(buffers))(*(b.ctypes.data for b in buffers)))


def kernel_source(source: str) -> list[str]:
    """The stripped lines of the first kernel function."""
    start = source.index("LM_KERNEL void lm_k0")
    return [line.strip() for line in source[start:source.index("\n}\n", start)].splitlines()]


def pragmas(lines: list[str]) -> list[tuple[str, int]]:
    """Each pragma with the nesting depth of the `for` it stands before."""
    found, depth = [], 0
    for i, line in enumerate(lines):
        if line.startswith("for ("):
            depth += 1
        elif line.startswith("#pragma"):
            at = next(j for j in range(i, len(lines)) if lines[j].startswith("for ("))
            found.append((line, depth + sum(ln.startswith("for (") for ln in lines[i:at])))
    return found


# ---------------------------------------------------------------- reciprocals

ROW_SCALE = """
func.func @main(%x: memref<8x40xf32>, %s: memref<8xf32>, %out: memref<8x40xf32>) {
  loop.kernel "scale_0" parallel [8] (%i) {
    %d = loop.load %s[%i] : memref<8xf32>
    loop.for [40] (%k) {
      %v = loop.load %x[%i, %k] : memref<8x40xf32>
      %q = arith.divf %v, %d : f32
      loop.store %q, %out[%i, %k] : memref<8x40xf32>
    }
  }
  func.return
}
"""


def test_invariant_division_multiplies_by_a_hoisted_reciprocal():
    module = parse(ROW_SCALE, HW_STAGE)
    assert "cpu.if" in str(module)
    lines = kernel_source(emit_c(module))
    (rcp,) = [re.match(r"const float (v\d+) = v\d+ / (v\d+);", ln) for ln in lines
              if re.match(r"const float v\d+ = v\d+ / v\d+;", ln)][:1]
    assert rcp is not None
    branch = lines.index(next(ln for ln in lines if ln.startswith("if (")))
    fast = lines[branch:lines.index("else {")]
    assert any(ln.endswith(f" * {rcp.group(1)};") for ln in fast), fast
    assert not any(" / " in ln for ln in fast), fast
    slow = lines[lines.index("else {"):]
    assert any(ln.endswith(f" / {rcp.group(2)};") for ln in slow), slow


def test_division_by_any_divisor_matches_numpy():
    """Normal, denormal, huge, zero, infinite divisors: the copy that multiplies for
    normal reciprocals, the dividing loop for the others."""
    source = emit_c(parse(ROW_SCALE, HW_STAGE))
    x = np.random.default_rng(0).standard_normal((8, 40)).astype(np.float32)
    s = np.array([3.0, -2.5, 1e-40, 3e-39, 1e38, 0.0, np.inf, np.nan], np.float32)
    out = np.empty_like(x)
    call(source, x, s, out)
    with np.errstate(all="ignore"):
        want = x / s[:, None]
    # within 1.5 ulp of the division where the reciprocal is normal
    spacing = np.spacing(np.abs(want[:2])).astype(np.float64)
    assert np.all(np.abs(out[:2].astype(np.float64) - want[:2]) <= 1.5 * spacing)
    np.testing.assert_array_equal(out[2:], want[2:])  # the division itself


def test_without_the_cpu_passes_the_c_divides_in_the_loop():
    lines = kernel_source(emit_c(parse(ROW_SCALE, "lower-loop-to-cpu")))
    assert not any(ln.startswith("if (") for ln in lines)
    assert pragmas(lines) == [("#pragma omp simd collapse(1)", 1)]  # the loop's own simd
    assert sum(" / " in ln for ln in lines) == 1


# ---------------------------------------------------------------- OpenMP clauses

COPY = """
func.func @main(%x: memref<8x16x32xf32>, %y: memref<8x16x32xf32>) {
  cpu.kernel "k" parallel [8, 16, 32] (%i, %j, %l) CLAUSES args(%a = %x, %b = %y : memref<8x16x32xf32>, memref<8x16x32xf32>) {
    %c512 = arith.constant 512 : index
    %c32 = arith.constant 32 : index
    %r = arith.muli %i, %c512 : index
    %s = arith.muli %j, %c32 : index
    %o1 = arith.addi %r, %s : index
    %o = arith.addi %o1, %l : index
    %v = cpu.load %a[%o] : memref<8x16x32xf32>
    %w = arith.addf %v, %v : f32
    cpu.store %w, %b[%o] : memref<8x16x32xf32>
  }
  func.return
}
"""


@pytest.mark.parametrize(("clauses", "want"), [
    ("omp collapse(2)", [("#pragma omp parallel for collapse(2) schedule(static)", 0)]),
    ("omp collapse(1) simd", [("#pragma omp parallel for schedule(static)", 0),
                              ("#pragma omp simd", 2)]),
    ("omp", [("#pragma omp parallel for collapse(3) schedule(static)", 0)]),
    ("omp collapse(3) simd", [("#pragma omp parallel for simd collapse(3) schedule(static)",
                               0)]),
    ("simd", [("#pragma omp simd", 2)]),
    ("", []),
])
def test_kernel_pragmas_are_what_the_attributes_say(clauses, want):
    source = emit_c(parse(COPY.replace("CLAUSES", clauses)))
    assert pragmas(kernel_source(source)) == want
    x = np.random.default_rng(1).standard_normal((8, 16, 32)).astype(np.float32)
    y = np.empty_like(x)
    call(source, x, y)
    np.testing.assert_array_equal(y, x + x)


def test_cpu_parallelize_picks_the_short_collapse():
    """[8, 16, 32] straight-line: 8 * 16 outer iterations reach 64 with two dims."""
    module = parse(COPY.replace("CLAUSES", "omp"), "cpu-parallelize")
    assert "omp collapse(2) simd args" in str(module)


SUMS = """
func.func @main(%x: memref<4x32x24xf32>, %out: memref<4xf32>) {
  cpu.kernel "k" parallel [4] (%i) args(%a = %x, %o = %out : memref<4x32x24xf32>, memref<4xf32>) {
    %z = arith.constant 0.0 : f32
    %c768 = arith.constant 768 : index
    %c24 = arith.constant 24 : index
    %s, %m = cpu.reduce "add", "max" [32, 24] (%k, %l) SIMD init(%z, %z : f32, f32) -> f32, f32 {
      %r = arith.muli %i, %c768 : index
      %t = arith.muli %k, %c24 : index
      %o1 = arith.addi %r, %t : index
      %off = arith.addi %o1, %l : index
      %v = cpu.load %a[%off] : memref<4x32x24xf32>
      cpu.yield %v, %v : f32, f32
    }
    %y = arith.subf %s, %m : f32
    cpu.store %y, %o[%i] : memref<4xf32>
  }
  func.return
}
"""


@pytest.mark.parametrize(("simd", "want"), [
    ("simd", [("#pragma omp simd collapse(2) reduction(+:acc{0}) reduction(max:acc{1}) "
               "reduction(|:nan{2})", 1)]),
    ("simd inner", [("#pragma omp simd reduction(+:acc{0}) reduction(max:acc{1}) "
                     "reduction(|:nan{2})", 2)]),
    ("", []),
])
def test_a_grouped_reduction_is_one_loop_with_the_simd_it_says(simd, want):
    source = emit_c(parse(SUMS.replace("SIMD", simd)))
    lines = kernel_source(source)
    counters = [int(re.search(r"\d+", ln).group()) for ln in lines  # type: ignore[union-attr]
                if ln.startswith(("float acc", "int nan"))]
    assert [(p.format(*counters), d) for p, d in want] == pragmas(lines)
    assert sum(ln.startswith("for (") for ln in lines) == 3  # the kernel's, one nest of two
    x = np.random.default_rng(2).standard_normal((4, 32, 24)).astype(np.float32)
    x[2, 5, 7] = np.nan
    out = np.empty(4, np.float32)
    call(source, x, out)
    with np.errstate(invalid="ignore"):
        want_out = x.sum((1, 2)) - np.maximum(x.max((1, 2)), 0)
    np.testing.assert_allclose(out, want_out, rtol=1e-5)


# ---------------------------------------------------------------- GEMM batches

GEMM = """
func.func @main(%a: memref<8x4x2xf32>, %b: memref<2x3xf32>, %c: memref<8x4x3xf32>) {
  cpu.gemm %a, %b, %c batch=8 m=4 n=3 k=2 : memref<8x4x2xf32>, memref<2x3xf32>, memref<8x4x3xf32>
  func.return
}
"""


@pytest.mark.parametrize(("passes", "call_args"), [
    ("cpu-stack-gemm-rows", "1, 32, 3, 2"), (None, "8, 4, 3, 2")])
def test_stacked_gemm_batches_are_one_call(passes, call_args):
    source = emit_c(parse(GEMM, passes))
    assert re.search(rf"lm_gemm_f32\([^;]*, {call_args}, &", source)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((8, 4, 2)).astype(np.float32)
    b = rng.standard_normal((2, 3)).astype(np.float32)
    c = np.empty((8, 4, 3), np.float32)
    call(source, a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["cpu-hoist-reciprocals", "cpu-group-reductions",
                                  "cpu-parallelize", "cpu-stack-gemm-rows"])
def test_a_cpu_pass_refuses_loop_level_ir(name):
    from lamina.errors import CompileError

    with pytest.raises(CompileError, match=f"{name}: expects cpu-level IR, but the input "
                                           "holds loop-level IR"):
        parse(ROW_SCALE, name)
