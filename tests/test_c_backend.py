"""The C backend from hand-written `loop` IR: the c-pipeline's cpu stage (lower-loop-to-cpu
and the cpu -> cpu passes), C codegen, compile, run, each program checked against numpy."""

import ctypes

import ml_dtypes
import numpy as np
import pytest
from xdsl.parser import Parser

import lamina  # noqa: F401  (registers dialects and passes)
from lamina.codegen.c import ENTRY, emit_c
from lamina.errors import ArgumentError, CompileError
from lamina.passes import registry
from lamina.passes.pipeline import context
from lamina.passes.pipeline import run as run_passes
from lamina.runtime import cache
from lamina.runtime.c_backend import BufferSpec, Runner


def lower(text: str):
    ctx = context()
    module = Parser(ctx, text).parse_module()
    module.verify()
    run_passes(module, HW_STAGE, ctx=ctx)
    module.verify()
    return module


# what the C backend runs on loop-level IR
HW_STAGE = dict(registry.PIPELINES_BY_NAME["c-pipeline"].stages)["hw"]


def run(text: str, *buffers: np.ndarray) -> str:
    """Compile loop IR and call it on `buffers` (inputs then outputs, written in place)."""
    source = emit_c(lower(text))
    entry = getattr(cache.load(source), ENTRY)
    arrays = [np.ascontiguousarray(b) for b in buffers]
    assert all(a is b for a, b in zip(arrays, buffers, strict=True))
    entry((ctypes.c_void_p * len(buffers))(*(b.ctypes.data for b in buffers)))
    return source


SOFTMAX = """
func.func @main(%x: memref<64x128xf32>, %out: memref<64x128xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  loop.kernel "softmax_0" parallel [64] (%i) {
    %m = loop.reduce "max" [128] (%k) init(%ninf) {
      %v = loop.load %x[%i, %k] : memref<64x128xf32>
      loop.yield %v : f32
    } : f32
    %s = loop.reduce "add" [128] (%k) init(%zero) {
      %v = loop.load %x[%i, %k] : memref<64x128xf32>
      %d = arith.subf %v, %m : f32
      %e = math.exp %d : f32
      loop.yield %e : f32
    } : f32
    loop.for [128] (%k) {
      %v = loop.load %x[%i, %k] : memref<64x128xf32>
      %d = arith.subf %v, %m : f32
      %e = math.exp %d : f32
      %r = arith.divf %e, %s : f32
      loop.store %r, %out[%i, %k] : memref<64x128xf32>
    }
  }
  func.return
}
"""


def test_softmax_matches_numpy_and_is_openmp_parallel():
    x = np.random.default_rng(0).standard_normal((64, 128)).astype(np.float32)
    out = np.empty_like(x)
    source = run(SOFTMAX, x, out)
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-7)
    assert "#pragma omp parallel for" in source
    assert "#pragma omp simd" in source
    assert "restrict" in source


def test_max_reduction_propagates_nan():
    x = np.arange(64 * 128, dtype=np.float32).reshape(64, 128)
    x[3, 7] = np.nan
    out = np.empty_like(x)
    run(SOFTMAX, x, out)
    assert np.isnan(out[3]).all() and not np.isnan(out[4]).any()


def test_half_precision_loads_extend_and_stores_round():
    text = """
func.func @main(%x: memref<37xf16>, %y: memref<37xbf16>, %o: memref<37xf16>, %p: memref<37xbf16>) {
  loop.kernel "half_0" parallel [37] (%i) {
    %a = loop.load %x[%i] : memref<37xf16>
    %b = loop.load %y[%i] : memref<37xbf16>
    %af = arith.extf %a : f16 to f32
    %bf = arith.extf %b : bf16 to f32
    %s = arith.mulf %af, %bf : f32
    %h = arith.truncf %s : f32 to f16
    %g = arith.truncf %s : f32 to bf16
    loop.store %h, %o[%i] : memref<37xf16>
    loop.store %g, %p[%i] : memref<37xbf16>
  }
  func.return
}
"""
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(37) * 100).astype(np.float16)
    y = (rng.standard_normal(37) * 3).astype(ml_dtypes.bfloat16)
    x[0], y[1] = np.inf, np.nan
    o = np.empty(37, np.float16)
    p = np.empty(37, ml_dtypes.bfloat16)
    run(text, x, y, o, p)
    s = x.astype(np.float32) * y.astype(np.float32)
    np.testing.assert_array_equal(o, s.astype(np.float16))
    np.testing.assert_array_equal(p.astype(np.float32), s.astype(ml_dtypes.bfloat16)
                                  .astype(np.float32))


def test_integer_division_and_remainder_follow_the_divisor_sign_and_never_trap():
    text = """
func.func @main(%a: memref<8xi32>, %b: memref<8xi32>, %q: memref<8xi32>, %r: memref<8xi32>) {
  loop.kernel "div_0" parallel [8] (%i) {
    %x = loop.load %a[%i] : memref<8xi32>
    %y = loop.load %b[%i] : memref<8xi32>
    %d = arith.floordivsi %x, %y : i32
    %m = arith.remsi %x, %y : i32
    %z = arith.constant 0 : i32
    %ne = arith.cmpi ne, %m, %z : i32
    %ms = arith.cmpi slt, %m, %z : i32
    %ys = arith.cmpi slt, %y, %z : i32
    %diff = arith.xori %ms, %ys : i1
    %fix = arith.andi %ne, %diff : i1
    %my = arith.addi %m, %y : i32
    %mod = arith.select %fix, %my, %m : i32
    loop.store %d, %q[%i] : memref<8xi32>
    loop.store %mod, %r[%i] : memref<8xi32>
  }
  func.return
}
"""
    a = np.array([7, -7, 7, -7, 0, 5, -2147483648, 9], np.int32)
    b = np.array([2, 2, -2, -2, 3, 0, -1, 9], np.int32)
    q, r = np.empty(8, np.int32), np.empty(8, np.int32)
    run(text, a, b, q, r)
    safe = np.where(b == 0, 1, b)
    with np.errstate(over="ignore"):
        want_q = np.where(b == 0, 0, np.floor_divide(a, safe))
    np.testing.assert_array_equal(q[:6], want_q[:6])
    np.testing.assert_array_equal(r[:5], np.remainder(a, safe)[:5])
    assert q[6] == -2147483648  # MIN / -1 wraps instead of trapping


def test_bool_buffers_are_bytes_and_argmax_finds_the_first_extremum():
    text = """
func.func @main(%x: memref<4x6xf32>, %m: memref<4xi8>, %idx: memref<4xi64>) {
  %ninf = arith.constant 0xFF800000 : f32
  loop.kernel "argmax_0" parallel [4] (%i) {
    %v, %j = loop.reduce "argmax" [6] (%k) init(%ninf) {
      %e = loop.load %x[%i, %k] : memref<4x6xf32>
      loop.yield %e : f32
    } : f32, i64
    %z = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %v, %z : f32
    %b = arith.extui %pos : i1 to i8
    loop.store %b, %m[%i] : memref<4xi8>
    loop.store %j, %idx[%i] : memref<4xi64>
  }
  func.return
}
"""
    x = np.array([[1, 3, 3, 0, -1, 2], [-5, -4, -4, -9, -4, -8], [0, np.nan, 5, np.nan, 1, 1],
                  [-np.inf] * 6], np.float32)
    m = np.empty(4, np.bool_)
    idx = np.empty(4, np.int64)
    run(text, x, m, idx)
    np.testing.assert_array_equal(idx, [1, 1, 1, 0])
    np.testing.assert_array_equal(m, [True, False, False, False])


@pytest.mark.parametrize("ta,tb,acc,shared_b", [(False, False, False, False),
                                                (True, False, True, False),
                                                (False, True, False, True),
                                                (True, True, True, True)])
def test_gemm_matches_numpy(ta, tb, acc, shared_b):
    bt, m, n, k = 3, 5, 300, 7
    a_shape = (bt, k, m) if ta else (bt, m, k)
    b_shape = (k, n) if not tb else (n, k)
    if not shared_b:
        b_shape = (bt, *b_shape)
    flags = " ".join(f for f, on in (("transpose_a", ta), ("transpose_b", tb),
                                     ("accumulate", acc)) if on)

    def ty(s):
        return "memref<" + "x".join(map(str, s)) + "xf64>"

    text = f"""
func.func @main(%a: {ty(a_shape)}, %b: {ty(b_shape)}, %c: {ty((bt, m, n))}) {{
  loop.matmul %a, %b, %c batch={bt} m={m} n={n} k={k} {flags} : {ty(a_shape)}, {ty(b_shape)}, {ty((bt, m, n))}
  func.return
}}
"""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    c = rng.standard_normal((bt, m, n))
    want = np.matmul(a.swapaxes(-1, -2) if ta else a, b.swapaxes(-1, -2) if tb else b)
    if acc:
        want = want + c
    run(text, a, b, c)
    np.testing.assert_allclose(c, want, rtol=1e-12, atol=1e-12)


def test_views_intermediates_masked_loads_and_sequential_loops():
    text = """
func.func @main(%x: memref<2x8xi64>, %ix: memref<8xi64>, %out: memref<4xi64>) {
  %flat = loop.view %x : memref<2x8xi64> -> memref<16xi64>
  %t = memref.alloc() : memref<4xi64>
  %zero = arith.constant 0 : i64
  loop.kernel "zero_0" parallel [4] (%i) {
    loop.store %zero, %t[%i] : memref<4xi64>
  }
  loop.kernel "scatter_0" parallel [] () {
    loop.seq_for [8] (%k) {
      %j = loop.load %ix[%k] : memref<8xi64>
      %jj = arith.index_cast %j : i64 to index
      %c8 = arith.constant 8 : index
      %k8 = arith.addi %k, %c8 : index
      %c12 = arith.constant 12 : index
      %inb = arith.cmpi ult, %k8, %c12 : index
      %v = loop.load %flat[%k8] if %inb else %zero : memref<16xi64>
      %old = loop.load %t[%jj] : memref<4xi64>
      %new = arith.addi %old, %v : i64
      loop.store %new, %t[%jj] : memref<4xi64>
    }
  }
  "memref.copy"(%t, %out) : (memref<4xi64>, memref<4xi64>) -> ()
  memref.dealloc %t : memref<4xi64>
  func.return
}
"""
    x = np.arange(16, dtype=np.int64).reshape(2, 8) * 10
    ix = np.array([0, 1, 1, 3, 0, 2, 2, 2], np.int64)
    out = np.empty(4, np.int64)
    run(text, x, ix, out)
    v = np.where(np.arange(8) + 8 < 12, x.reshape(-1)[8:16], 0)
    want = np.zeros(4, np.int64)
    np.add.at(want, ix, v)
    np.testing.assert_array_equal(out, want)


def test_random_hash_is_bit_exact_with_numpy():
    text = """
func.func @main(%out: memref<1000xi32>) {
  loop.kernel "hash_0" parallel [1000] (%i) {
    %c = arith.index_cast %i : index to i32
    %s16 = arith.constant 16 : i32
    %s13 = arith.constant 13 : i32
    %m1 = arith.constant -2048144789 : i32
    %m2 = arith.constant -1028477387 : i32
    %a = arith.shrui %c, %s16 : i32
    %b = arith.xori %c, %a : i32
    %d = arith.muli %b, %m1 : i32
    %e = arith.shrui %d, %s13 : i32
    %f = arith.xori %d, %e : i32
    %g = arith.muli %f, %m2 : i32
    %h = arith.shrui %g, %s16 : i32
    %r = arith.xori %g, %h : i32
    loop.store %r, %out[%i] : memref<1000xi32>
  }
  func.return
}
"""
    from lamina.dialects.hl.random import fmix32

    out = np.empty(1000, np.int32)
    run(text, out)
    with np.errstate(over="ignore"):
        want = fmix32(np.arange(1000, dtype=np.uint32))
    np.testing.assert_array_equal(out.view(np.uint32), want)


def test_missing_compiler_is_a_compile_error(monkeypatch):
    monkeypatch.setenv("LAMINA_CC", "/nonexistent/lamina-cc")
    with pytest.raises(CompileError, match="install gcc"):
        cache.load("int main(void) { return 0; }\n")


def test_compiler_errors_name_the_message_and_the_kept_source():
    with pytest.raises(CompileError, match=r"(?s)error.*source kept at .*\.c") as info:
        cache.load("this is not C;\n")
    path = str(info.value).rsplit("source kept at ", 1)[1].splitlines()[0].strip()
    assert "this is not C" in open(path).read()


def test_runner_checks_arguments():
    entry = lambda ptrs: None  # noqa: E731  (never reached)
    runner = Runner(entry, [BufferSpec((2, 3), np.dtype(np.float32))],
                    [BufferSpec((2,), np.dtype(np.float32))], "main")
    with pytest.raises(ArgumentError, match=r"takes 1 arguments, got 2"):
        runner([np.zeros((2, 3)), np.zeros(2)])
    with pytest.raises(ArgumentError, match=r"shape \(3, 2\).*compiled for \(2, 3\)"):
        runner([np.zeros((3, 2))])


# ---------------------------------------------------------------- through lm.jit

DTYPES = ["float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool"]


def _inputs(dtype: str, rng):
    import lamina as lm

    np_dt = lm.dtypes.as_dtype(dtype).np_dtype
    if dtype == "bool":
        return [rng.random((5, 7)) > 0.5 for _ in range(2)]
    if np.issubdtype(np_dt, np.integer):
        low = 0 if dtype == "uint8" else -20
        return [rng.integers(low, 20, (5, 7)).astype(np_dt) for _ in range(2)]
    return [(rng.standard_normal((5, 7)) * 3).astype(np_dt) for _ in range(2)]


def _many_ops(a, b):
    import lamina as lm

    # torch has no argmax of bool tensors (lamina refuses it too): bools go through int8
    ranked = a.to(lm.int8) if a.dtype == lm.bool else a
    return (a + b, a * b, a < b, a.sum(1), a.amax(0), ranked.argmax(1), a.T + 0,
            lm.maximum(a, b), a.to(lm.float32) * 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_jit_on_c_matches_the_interpreter_for_every_dtype(dtype):
    import lamina as lm

    a, b = _inputs(dtype, np.random.default_rng(3))
    got = lm.jit(_many_ops, backend="c")(a, b)
    want = lm.jit(_many_ops, backend="interp")(a, b)
    for g, w in zip(got, want, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape
        if g.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w)
        else:
            tol = 1e-2 if g.dtype.itemsize == 2 else 1e-6
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=tol,
                                       atol=tol)


def test_jit_softmax_source_is_openmp_parallel_and_levels_are_recorded(tmp_path, monkeypatch):
    import lamina as lm
    import lamina.nn.functional as F

    monkeypatch.setenv("LAMINA_DUMP", str(tmp_path))
    x = np.random.default_rng(4).standard_normal((64, 512)).astype(np.float32)
    fn = lm.jit(lambda x: F.softmax(x, dim=-1), backend="c")
    lowered = fn.lower(x)
    assert "#pragma omp parallel for" in lowered.source()
    assert "void lamina_main(void **bufs)" in lowered.source()
    assert "loop.kernel" in lowered.ir("loop") and "cpu.kernel" in lowered.ir("hw")
    assert 1 <= lowered.kernel_count <= 2
    assert any(path.suffix == ".c" for path in tmp_path.glob("*/*"))
    e = np.exp(x - x.max(-1, keepdims=True))
    np.testing.assert_allclose(np.asarray(fn(x)), e / e.sum(-1, keepdims=True), rtol=1e-5,
                               atol=1e-7)


def test_jit_matmul_chain_on_c():
    import lamina as lm

    rng = np.random.default_rng(5)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((33, 70), (70, 19), (19,)))
    got = lm.jit(lambda x, w, b: lm.relu(x @ w + b), backend="c")(x, w, b)
    np.testing.assert_allclose(np.asarray(got), np.maximum(x @ w + b, 0), rtol=1e-4, atol=1e-4)


def test_scalars_and_strided_inputs():
    import lamina as lm

    x = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]  # not contiguous
    s = np.float32(2.5)  # 0-d
    got = lm.jit(lambda x, s: x * s + s, backend="c")(x, s)
    np.testing.assert_allclose(np.asarray(got), x * s + s)
    run = lm.jit(lambda s: s * 2, backend="c").lower(np.array(3.0, np.float32)).compile()
    assert np.asarray(run(np.array(3.0, np.float32))[0]).shape == ()


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8"])
def test_integer_arithmetic_wraps_like_numpy(dtype):
    import lamina as lm

    info = np.iinfo(dtype)
    a = np.array([info.max, info.min, info.max // 2 + 7, -3 if info.min else 200, 1], dtype)
    b = np.array([info.max, info.max, 3, 5, info.min], dtype)

    def fn(a, b):
        return a * b, a + b, a - b, -a

    got = lm.jit(fn, backend="c")(a, b)
    with np.errstate(over="ignore"):
        want = (a * b, a + b, a - b, (0 - a).astype(dtype))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.asarray(g), w)


@pytest.mark.parametrize("elem,np_dtype", [("f32", np.float32), ("f16", np.float16),
                                           ("bf16", ml_dtypes.bfloat16), ("i32", np.int32),
                                           ("i64", np.int64)])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (9, 33, 5), (4, 64, 0)])
def test_gemm_every_element_type_and_edge_tiles(elem, np_dtype, m, n, k):
    def ty(*s):
        return "memref<" + "x".join(map(str, s)) + f"x{elem}>"

    text = f"""
func.func @main(%a: {ty(m, k)}, %b: {ty(k, n)}, %c: {ty(m, n)}) {{
  loop.matmul %a, %b, %c batch=1 m={m} n={n} k={k} : {ty(m, k)}, {ty(k, n)}, {ty(m, n)}
  func.return
}}
"""
    rng = np.random.default_rng(6)
    a = rng.integers(-4, 5, (m, k)).astype(np_dtype)
    b = rng.integers(-4, 5, (k, n)).astype(np_dtype)
    c = np.full((m, n), 99, np_dtype)
    run(text, a, b, c)
    want = a.astype(np.float64) @ b.astype(np.float64)  # small integers: exact in every type
    np.testing.assert_array_equal(c.astype(np.float64), want)


def test_column_reductions_are_vectorized_and_match_numpy():
    import lamina as lm

    rng = np.random.default_rng(7)
    x = rng.standard_normal((64, 96)).astype(np.float32)
    x[5, 17] = np.nan
    y = rng.standard_normal((4, 64, 32)).astype(np.float32)
    n = rng.integers(-100, 100, (64, 96)).astype(np.int32)

    def fn(x, y, n):
        return x.sum(0), x.amax(0), x.mean(0) * 2, y.sum(1), n.sum(0), n.amax(0)

    jitted = lm.jit(fn, backend="c")
    got = [np.asarray(g) for g in jitted(x, y, n)]
    want = [x.sum(0), x.max(0), x.mean(0) * 2, y.sum(1), n.sum(0), n.max(0)]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    assert np.isnan(got[1][17])
    assert "memref.alloca" in jitted.lower(x, y, n).ir("hw")  # the lanes' accumulators


def test_wide_convolution_and_pooling_windows_match_torch():
    import torch

    import lamina as lm
    import lamina.nn.functional as F

    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)

    def fn(x, w):
        return F.conv2d(x, w, padding=1), F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 1, 1)

    jitted = lm.jit(fn, backend="c")
    got = [np.asarray(g) for g in jitted(x, w)]
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    want = [torch.nn.functional.conv2d(tx, tw, padding=1), torch.nn.functional.max_pool2d(tx, 2),
            torch.nn.functional.avg_pool2d(tx, 3, 1, 1)]
    for g, t in zip(got, want, strict=True):
        np.testing.assert_allclose(g, t.numpy(), rtol=1e-4, atol=1e-4)
    assert jitted.lower(x, w).ir("hw").count("memref.alloca") >= 2  # lanes of windows
