"""GEMMs on strided views (`lamina.dialects.gemm_layout`): operands read in place
through offsets, row strides and batch strides, checked against numpy in float64 on
the C backend (BLAS and the register-tile fallback) and on the loop interpreter;
the `views` syntax round-trips and bad layouts are rejected."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

import lamina as lm
from lamina.dialects import cpu, gemm_layout, loop
from lamina.passes.pipeline import run_pipeline
from lamina.runtime import blas, loop_interp

F32, F64 = np.float32, np.float64


def _heads(qkv, h: int, i: int):
    """Head i of q/k/v ([B, S, 3D] -> [B, H, S, Dh]), as attention splits them."""
    b, s, d3 = qkv.shape
    d = d3 // 3
    return qkv[..., i * d:(i + 1) * d].reshape(b, s, h, d // h).transpose(0, 2, 1, 3) \
        if isinstance(qkv, np.ndarray) else \
        qkv[..., i * d:(i + 1) * d].reshape(b, s, h, d // h).transpose(1, 2)


def _swap(t):
    return t.swapaxes(-1, -2) if isinstance(t, np.ndarray) else t.transpose(-1, -2)


def _cat(parts, dim):
    return np.concatenate(parts, dim) if isinstance(parts[0], np.ndarray) else \
        lm.cat(parts, dim=dim)


def _merge(t):
    """[B, H, S, Dh] -> [B, S, H, Dh], as attention merges its heads."""
    return t.transpose(0, 2, 1, 3) if isinstance(t, np.ndarray) else t.transpose(1, 2)


# (name, input shapes for size n, fn working on numpy arrays and lamina tensors alike,
# whether the products read and write every operand in place (no copy kernel at all)).
# At n = BIG every product has enough multiply-adds to take the BLAS path.
LAYOUTS = [
    ("qk heads", lambda n: [(2, 8 * n, 12 * n)],
     lambda x: _heads(x, 2, 0) @ _swap(_heads(x, 2, 1)), True),
    ("pv heads", lambda n: [(2, 2, 8 * n, 8 * n), (2, 8 * n, 12 * n)],
     lambda p, x: p @ _heads(x, 2, 2), True),
    ("row slice", lambda n: [(5 * n + 4, 5 * n + 3), (5 * n, 3 * n)],
     lambda a, b: a[2:2 + b.shape[0], 1:1 + b.shape[0]] @ b, True),
    ("batch step", lambda n: [(6, 5 * n, 4 * n), (6, 4 * n, 4 * n)],
     lambda a, b: a[::2] @ b[1::2], True),
    ("transposed slice", lambda n: [(3, 8 * n, 8 * n + 2), (3, 8 * n, 4 * n)],
     lambda a, b: _swap(a[:, :, 1:1 + b.shape[1]]) @ b, True),
    ("weight grad", lambda n: [(12 * n, 5 * n), (12 * n, 7 * n)],
     lambda x, g: _swap(_swap(x) @ g), True),
    ("column step", lambda n: [(6 * n, 10 * n), (5 * n, 4 * n)],
     lambda a, b: a[:, ::2] @ b, False),
    # results written into a slice of the value made of them
    ("merged heads", lambda n: [(2, 3, 4 * n, 5 * n), (2, 3, 5 * n, 6 * n), (2, 3, 2 * n, 5 * n)],
     lambda a, b, c: _merge(_cat([a @ b, c @ b], -2)), True),
    ("cat columns", lambda n: [(4 * n, 8 * n), (8 * n, 3 * n), (8 * n, 2 * n)],
     lambda a, b, c: _cat([a @ b, a @ c], 1), True),
    ("permuted product", lambda n: [(2, 3, 4 * n, 5 * n), (2, 3, 5 * n, 6 * n)],
     lambda a, b: _merge(a @ b), True),
    ("product read twice", lambda n: [(4 * n, 5 * n), (5 * n, 3 * n)],
     lambda a, b: _cat([a @ b, (a @ b) * 2.0], 0), False),
]
IDS = [c[0] for c in LAYOUTS]
BIG = 8


def _inputs(shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _check_c(fn, args, dtype):
    got = np.asarray(lm.jit(fn, backend="c")(*args))
    want = fn(*(a.astype(F64) for a in args))
    tol = 5e-5 if dtype == F32 else 1e-12
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize(("name", "shapes", "fn", "in_place"), LAYOUTS, ids=IDS)
def test_views_on_c_backend(name, shapes, fn, in_place, dtype):
    for n in (1, BIG):  # the register tiles (small products), then BLAS
        _check_c(fn, _inputs(shapes(n), dtype, len(name)), dtype)


@pytest.mark.parametrize(("name", "shapes", "fn", "in_place"), LAYOUTS, ids=IDS)
def test_views_without_blas(monkeypatch, name, shapes, fn, in_place):
    """The register-tile fallback walks the same layouts on large products
    (LAMINA_BLAS=0); the sizes differ from the test above so that these programs
    are compiled and bound here."""
    monkeypatch.setattr(blas, "find", lambda: None)
    for dtype in (F32, F64):
        _check_c(fn, _inputs(shapes(BIG + 1), dtype, 7), dtype)


def _lowered(fn, args, gemm_views=True):
    from lamina.frontend.trace import trace

    module = trace(fn, *args).module
    run_pipeline(module, "c-pipeline" if gemm_views else "triton-pipeline", until="loop")
    module.verify()
    return module


@pytest.mark.parametrize("gemm_views", [True, False])
@pytest.mark.parametrize(("name", "shapes", "fn", "in_place"), LAYOUTS, ids=IDS)
def test_views_in_loop_ir(name, shapes, fn, in_place, gemm_views):
    """The loop interpreter runs the views clause; without views (the Triton path) no
    matmul has one and copies are made instead."""
    args = _inputs(shapes(1), F64, 3)
    module = _lowered(fn, args, gemm_views)
    got = loop_interp.run(module, args)
    got = got[0] if isinstance(got, list | tuple) else got
    np.testing.assert_allclose(got, fn(*args), rtol=1e-12, atol=1e-12)
    matmuls = [op for op in module.walk() if isinstance(op, loop.MatmulOp)]
    kernels = [op for op in module.walk() if isinstance(op, loop.KernelOp)]
    if not gemm_views:
        assert all(op.layout is None for op in matmuls)
    elif in_place:
        assert not kernels, [k.kernel_name.data for k in kernels]
    else:
        assert kernels


def test_attention_heads_read_in_place():
    """q/k/v of a fused QKV product: both attention GEMMs read its buffer (no copy)."""
    import lamina.nn.functional as F

    def attn(x, w):
        qkv = x @ _swap(w)
        q, k, v = (_heads(qkv, 2, i) for i in range(3))
        return F.scaled_dot_product_attention(q, k, v)

    args = _inputs([(2, 8, 12), (36, 12)], F64, 5)
    module = _lowered(attn, args)
    matmuls = [op for op in module.walk() if isinstance(op, loop.MatmulOp)]
    qkv = matmuls[0].c
    assert [op.b for op in matmuls[1:]] == [qkv, qkv]
    assert matmuls[1].a == qkv


def _parse(text: str):
    ctx = Context()
    from xdsl.dialects import builtin, func, memref

    for d in (loop.LOOP, cpu.CPU, builtin.Builtin, func.Func, memref.MemRef):
        ctx.load_dialect(d)
    return Parser(ctx, text).parse_module()


VIEWED = """
func.func @f(%a: memref<2x4x24xf32>, %c: memref<2x4x4x4xf32>) {
  {op} %a, %a, %c batch=8 m=4 n=4 k=2 transpose_b views [2, 4] a=[0, 24, 96, 2] b=[8, 24, 96, {last}] c=[0, 4, 64, 16] : memref<2x4x24xf32>, memref<2x4x24xf32>, memref<2x4x4x4xf32>
  func.return
}
"""


@pytest.mark.parametrize("op", ["loop.matmul", "cpu.gemm"])
def test_views_syntax_roundtrips_and_is_checked(op):
    module = _parse(VIEWED.replace("{op}", op).replace("{last}", "2"))
    module.verify()
    (gemm,) = [o for o in module.walk() if o.name == op]
    layout = gemm.views()
    assert layout.batch == (2, 4) and layout.b == gemm_layout.OperandView(8, 24, (96, 2))
    assert "views [2, 4] a=[0, 24, 96, 2] b=[8, 24, 96, 2]" in str(gemm)
    bad = _parse(VIEWED.replace("{op}", op).replace("{last}", "9"))
    with pytest.raises(VerifyException, match="reaches past"):
        bad.verify()


def test_contiguous_layout_is_not_printed():
    module = _parse(VIEWED.replace("{op}", "cpu.gemm").replace("{last}", "2"))
    (gemm,) = [o for o in module.walk() if o.name == "cpu.gemm"]
    plain = cpu.GemmOp(gemm.a, gemm.b, gemm.c, 8, 4, 4, 6, transpose_b=True,
                       views=gemm_layout.contiguous(8, 4, 4, 6, False, True, 192, 192))
    assert plain.layout is None and "views" not in str(plain)
    # the same layout on a larger buffer must be spelled out (sizes no longer imply it)
    big = cpu.GemmOp(gemm.a, gemm.b, gemm.c, 4, 4, 4, 6, transpose_b=True,
                     views=gemm_layout.contiguous(4, 4, 4, 6, False, True, 96, 96))
    assert big.layout is not None
