"""The hl canonicalization patterns are exact: every function of the lit tests, and
random chains of shape ops and splat arithmetic, compute bit-for-bit the same values
(on the reference interpreter) before and after `canonicalize`, `cse`, `dce`."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.parser import Parser
from xdsl.transforms.canonicalize import CanonicalizePass
from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination
from xdsl.transforms.dead_code_elimination import DeadCodeElimination

from lamina import dtypes
from lamina.dialects import hl
from lamina.dialects.hl.base import shape_of
from lamina.dialects.hl.canonical import represents
from lamina.passes import pipeline
from lamina.passes.strip_stop_gradient import StripStopGradientPass
from lamina.runtime import interp

HERE = os.path.dirname(__file__)
LIT = sorted(glob.glob(os.path.join(HERE, "filecheck", "canonicalize", "*.mlir")))


def parse(text: str):
    return Parser(pipeline.context(), text).parse_module()


def simplify(module) -> None:
    ctx = pipeline.context()
    for p in (CanonicalizePass(), CommonSubexpressionElimination(), DeadCodeElimination()):
        p.apply(ctx, module)
    module.verify()


def random_args(fn: func.FuncOp, rng: np.random.Generator) -> list[np.ndarray]:
    args = []
    for a in fn.body.block.args:
        dt = dtypes.from_ir(a.type.get_element_type())
        shape = shape_of(a.type)
        if dt == dtypes.bool_:
            args.append(rng.random(shape) < 0.5)
        elif dt.category == 1:
            args.append(rng.integers(-5, 6, shape).astype(dt.np_dtype))
        else:
            values = rng.uniform(-3, 3, shape)
            values.flat[:1] = [np.nan] if values.size > 2 else values.flat[:1]
            args.append(values.astype(dt.np_dtype))
    return args


def same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f" or a.dtype.name == "bfloat16":
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        return bool(np.all((a64 == b64) | (np.isnan(a64) & np.isnan(b64))))
    return bool(np.array_equal(a, b))


def check_equivalent(text: str, seed: int = 0) -> None:
    before, after = parse(text), parse(text)
    simplify(after)
    rng = np.random.default_rng(seed)
    for fn in before.body.block.ops:
        if not isinstance(fn, func.FuncOp):
            continue
        args = random_args(fn, rng)
        want = interp.run_module(before, args, fn.sym_name.data)
        got = interp.run_module(after, args, fn.sym_name.data)
        for w, g in zip(want, got, strict=True):
            w, g = np.asarray(w), np.asarray(g)
            assert same(w, g), f"@{fn.sym_name.data}: {w} != {g}"


@pytest.mark.parametrize("path", LIT, ids=[os.path.basename(p) for p in LIT])
def test_lit_functions_keep_their_values(path):
    text = "\n".join(line for line in open(path).read().splitlines()
                     if not line.lstrip().startswith("//"))
    check_equivalent(text)


def test_strip_stop_gradient_keeps_values_and_removes_every_one():
    text = """
    func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
      %s = hl.stop_gradient %x : tensor<4xf32>
      %t = hl.stop_gradient %s : tensor<4xf32>
      %m = hl.mul %t, %x : tensor<4xf32>
      func.return %m : tensor<4xf32>
    }"""
    module = parse(text)
    StripStopGradientPass().apply(pipeline.context(), module)
    assert not any(isinstance(op, hl.StopGradientOp) for op in module.walk())
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(interp.run_module(module, [x])[0], x * x)


def test_canonicalize_keeps_stop_gradient():
    module = parse("""
    func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
      %s = hl.stop_gradient %x : tensor<4xf32>
      func.return %s : tensor<4xf32>
    }""")
    simplify(module)
    assert any(isinstance(op, hl.StopGradientOp) for op in module.walk())


def test_represents_is_exact():
    """`represents(wide, narrow)`: every value of narrow survives a round trip via wide."""
    samples = {
        dtypes.bool_: np.array([False, True]),
        dtypes.uint8: np.array([0, 1, 255], dtype=np.uint8),
        dtypes.int8: np.array([-128, 0, 127], dtype=np.int8),
        dtypes.int16: np.array([-32768, 32767], dtype=np.int16),
        dtypes.int32: np.array([-(2**31), 2**31 - 1, 2**24 + 1], dtype=np.int32),
        dtypes.int64: np.array([-(2**63), 2**63 - 1, 2**53 + 1], dtype=np.int64),
        dtypes.float16: np.array([65504, 6e-8, 1 + 2**-10], dtype=np.float16),
        dtypes.bfloat16: np.array([3e38, 1e-38, 1 + 2**-7]).astype(dtypes.bfloat16.np_dtype),
        dtypes.float32: np.array([3e38, 1e-45, 1 + 2**-23], dtype=np.float32),
        dtypes.float64: np.array([1e308, 1 + 2**-52]),
    }
    for narrow, values in samples.items():
        for wide in samples:
            if represents(wide, narrow):
                with np.errstate(all="ignore"):
                    back = values.astype(wide.np_dtype).astype(narrow.np_dtype)
                np.testing.assert_array_equal(back, values, err_msg=f"{narrow} via {wide}")
    assert not represents(dtypes.float32, dtypes.int32)
    assert not represents(dtypes.bfloat16, dtypes.float16)
    assert not represents(dtypes.float16, dtypes.bfloat16)
    assert represents(dtypes.float64, dtypes.int32)


# ---------------------------------------------------------------- random chains


def _chain(draw, shape: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    """One random shape op applied to a value of `shape`: (op text template, new shape)."""
    kind = draw(st.sampled_from(["reshape", "transpose", "broadcast", "unit"]))
    t = lambda s: "tensor<" + "".join(f"{n}x" for n in s) + "f32>"
    if kind == "transpose" and len(shape) > 1:
        perm = draw(st.permutations(range(len(shape))))
        new = tuple(shape[p] for p in perm)
        return f"hl.transpose {{x}} perm={list(perm)} : {t(shape)} -> {t(new)}", new
    if kind == "broadcast" and len(shape) < 4:
        lead = draw(st.integers(1, 3))
        new = (lead, *shape)
        dims = list(range(1, len(shape) + 1))
        return f"hl.broadcast_in_dim {{x}} dims={dims} : {t(shape)} -> {t(new)}", new
    if kind == "unit" and len(shape) < 5:
        at = draw(st.integers(0, len(shape)))
        new = (*shape[:at], 1, *shape[at:])
        return f"hl.reshape {{x}} : {t(shape)} -> {t(new)}", new
    n = int(np.prod(shape))
    new = draw(st.sampled_from([s for s in [(n,), (1, n), (n, 1)] + (
        [(2, n // 2)] if n % 2 == 0 else [])]))
    return f"hl.reshape {{x}} : {t(shape)} -> {t(new)}", new


@st.composite
def shape_programs(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    t = "tensor<" + "".join(f"{n}x" for n in shape) + "f32>"
    lines, cur, value = [], shape, "%x"
    splat = draw(st.booleans())
    if splat:
        lines.append(f"%s = hl.splat value={draw(st.sampled_from([0.0, 1.0, -2.5]))} : {t}")
        lines.append(f"%v0 = hl.add %x, %s : {t}")
        value = "%v0"
    for i in range(draw(st.integers(1, 5))):
        op, cur = _chain(draw, cur)
        lines.append(f"%c{i} = " + op.format(x=value))
        value = f"%c{i}"
    out = "tensor<" + "".join(f"{n}x" for n in cur) + "f32>"
    body = "\n  ".join(lines)
    return (f"func.func @f(%x: {t}) -> {out} {{\n  {body}\n  func.return {value} : {out}\n}}")


@settings(max_examples=60, deadline=None)
@given(shape_programs())
def test_random_shape_chains_keep_their_values(text):
    check_equivalent(text)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["add", "sub", "mul", "div", "max", "min", "pow", "rem"]),
       st.sampled_from([0.0, 1.0, -1.0, 2.5, float("inf"), float("nan")]),
       st.sampled_from([0.0, 1.0, -3.0, 0.5]),
       st.sampled_from(["f32", "f64"]))
def test_splat_folding_matches_the_interpreter(op, a, b, elt):
    def lit(v: float) -> str:
        return "nan" if v != v else ("inf" if v == float("inf") else repr(v))

    t = f"tensor<3x{elt}>"
    text = f"""
    func.func @f(%x: {t}) -> ({t}, {t}) {{
      %a = hl.splat value={lit(a)} : {t}
      %b = hl.splat value={lit(b)} : {t}
      %r = hl.{op} %a, %b : {t}
      %s = hl.{op} %x, %b : {t}
      func.return %r, %s : {t}, {t}
    }}"""
    check_equivalent(text)
