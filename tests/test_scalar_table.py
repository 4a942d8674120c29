"""Every row of the scalar-op table (lamina/dialects/scalar.py) on every target: one
loop kernel applying the op elementwise, run by the loop interpreter (the numpy
column), compiled to C, and lowered to Triton (its interpreter here, the GPU where
there is one), each compared with the numpy column in float64 / exact integers."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from xdsl.dialects import arith, math
from xdsl.parser import Parser

from lamina.dialects import scalar
from lamina.passes import pipeline
from lamina.runtime import backends, loop_interp

N = 64
RNG = np.random.default_rng(11)

# the inputs on which each op is defined (a real result, no overflow)
POSITIVE = (math.LogOp, math.Log2Op, math.Log10Op, math.SqrtOp, math.RsqrtOp)
UNIT = (math.AsinOp, math.AcosOp, math.AtanhOp)


def _float_inputs(op_cls: type, arity: int, dtype) -> list[np.ndarray]:
    def draw(lo, hi):
        return RNG.uniform(lo, hi, N).astype(dtype)

    if op_cls in POSITIVE:
        xs = [draw(0.05, 40.0)]
    elif op_cls in UNIT:
        xs = [draw(-0.98, 0.98)]
    elif op_cls is math.AcoshOp:
        xs = [draw(1.0, 30.0)]
    elif op_cls is math.Log1pOp:
        xs = [draw(-0.9, 10.0)]
    elif op_cls in (math.ExpOp, math.Exp2Op, math.ExpM1Op, math.SinhOp, math.CoshOp):
        xs = [draw(-8.0, 8.0)]
    elif op_cls is math.TanOp:
        xs = [draw(-1.4, 1.4)]
    elif op_cls is math.PowFOp:
        xs = [draw(0.1, 4.0), draw(-3.0, 3.0)]
    elif op_cls in (math.RoundOp, math.RoundEvenOp, math.FloorOp, math.CeilOp, math.TruncOp):
        xs = [np.concatenate([np.arange(-4, 4, 0.5), draw(-9, 9)[16:]]).astype(dtype)]
    else:
        xs = [draw(-6.0, 6.0) for _ in range(arity)]
    xs += [draw(-6.0, 6.0) for _ in range(arity - len(xs))]
    if op_cls is arith.DivfOp:
        xs[1] = np.where(np.abs(xs[1]) < 0.1, 1.0, xs[1]).astype(dtype)
    return xs


def _int_inputs(op_cls: type, arity: int, dtype) -> list[np.ndarray]:
    info = np.iinfo(dtype)
    a = RNG.integers(info.min // 2, info.max // 2, N).astype(dtype)
    b = RNG.integers(-100, 100, N).astype(dtype)
    if op_cls in (arith.ShRUIOp, arith.ShLIOp, arith.ShRSIOp):
        b = RNG.integers(0, 8 * np.dtype(dtype).itemsize, N).astype(dtype)
    else:
        b = np.where(b == 0, 7, b).astype(dtype)  # lowerings guard zero divisors first
    return [a, b][:arity]


def _cases():
    for op_cls, row in scalar.SCALAR_OPS.items():
        dtypes = ("f32", "f64") if row.kind == "float" else ("i32", "i64", "i8")
        for dt in dtypes:
            yield pytest.param(op_cls, dt, id=f"{op_cls.name}-{dt}")


def _arity(op_cls: type) -> int:
    return len(op_cls.get_irdl_definition().operands)


NP = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64, "i8": np.int8}
NAMES = {"f32": "float32", "f64": "float64", "i32": "int32", "i64": "int64", "i8": "int8"}


def _module_text(op_cls: type, dt: str, arity: int) -> str:
    mem = f"memref<{N}x{dt}>"
    args = ", ".join(f"%a{i}: {mem}" for i in range(arity))
    names = ", ".join(f'"{NAMES[dt]}"' for _ in range(arity + 1))
    loads = "\n".join(f"    %x{i} = loop.load %a{i}[%i] : {mem}" for i in range(arity))
    operands = ", ".join(f"%x{i}" for i in range(arity))
    types = ", ".join([dt] * arity)
    return f"""
func.func @main({args}, %out: {mem}) attributes {{lamina.dtypes = [{names}]}} {{
  loop.kernel "k" parallel [{N}] (%i) {{
{loads}
    %r = "{op_cls.name}"({operands}) : ({types}) -> {dt}
    loop.store %r, %out[%i] : {mem}
  }}
  func.return
}}
"""


def _parse(text: str):
    module = Parser(pipeline.context(), text).parse_module()
    module.verify()
    return module


def _run_c(text: str, inputs: list[np.ndarray], out: np.ndarray) -> np.ndarray:
    from lamina.codegen.c import ENTRY, emit_c
    from lamina.runtime import cache

    module = _parse(text)
    pipeline.run(module, "lower-loop-to-cpu,cpu-column-reduce,cse")
    entry = getattr(cache.load(emit_c(module)), ENTRY)
    buffers = [np.ascontiguousarray(x) for x in inputs] + [out]
    entry((ctypes.c_void_p * len(buffers))(*(b.ctypes.data for b in buffers)))
    return out


def _run_triton(text: str, inputs: list[np.ndarray], out: np.ndarray) -> np.ndarray:
    from lamina.codegen.triton import generate
    from lamina.runtime import triton_backend as tb

    module = _parse(text)
    pipeline.run(module, "lower-loop-to-tile")
    types = [a.type for a in tb._main(module).body.block.args]
    ins = [tb.to_device(x, t) for x, t in zip(inputs, types, strict=False)]
    torch = tb._torch()
    dev_out = torch.zeros(N, dtype=tb._torch_dtype(types[-1]), device=tb.device())
    tb._load_source(generate(module)).launch(*ins, dev_out, torch=torch, device=tb.device())
    return tb.to_host(dev_out, out.dtype, (N,))


def _expected(row: scalar.ScalarOp, inputs: list[np.ndarray], dtype) -> np.ndarray:
    if row.kind == "float":  # float64 truth, rounded once to the type
        with np.errstate(all="ignore"):
            return np.asarray(row.numpy(*[x.astype(np.float64) for x in inputs])).astype(dtype)
    return np.asarray(row.numpy(*inputs)).astype(dtype)


def _tolerance(op_cls: type, dt: str, target: str) -> dict:
    if dt == "f64":
        rtol = 1e-12 if target != "triton" else 1e-9
    else:
        rtol = 4e-7 if target != "triton" else 2e-6
    if op_cls is math.ErfOp or (target == "triton" and op_cls in (math.CbrtOp, math.PowFOp)):
        rtol = max(rtol, 3e-6)
    return {"rtol": rtol, "atol": rtol}


TARGETS = ["numpy", "c", "triton"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("op_cls,dt", list(_cases()))
def test_row_on_every_target(op_cls, dt, target):
    if target != "numpy" and target not in backends.available():
        pytest.skip(f"the {target} backend cannot run on this machine")
    row = scalar.SCALAR_OPS[op_cls]
    arity = _arity(op_cls)
    dtype = NP[dt]
    inputs = (_float_inputs if row.kind == "float" else _int_inputs)(op_cls, arity, dtype)
    text = _module_text(op_cls, dt, arity)
    out = np.zeros(N, dtype)
    if target == "numpy":
        got = loop_interp.run(_parse(text), inputs)[0]
    elif target == "c":
        got = _run_c(text, inputs, out)
    else:
        got = _run_triton(text, inputs, out)
    want = _expected(row, inputs, dtype)
    if row.kind == "float":
        np.testing.assert_allclose(got, want, **_tolerance(op_cls, dt, target))
    else:
        np.testing.assert_array_equal(got, want)


def test_every_op_the_lowerings_emit_has_a_row():
    """The ops the lowering rules and kernel builders create, found in their source,
    are rows of the table or structural (the verifier enforces it on every kernel;
    this names a missing row before any program needs it)."""
    import pathlib
    import re

    import lamina.passes

    root = pathlib.Path(lamina.passes.__file__).parent
    found = set()
    for path in [*root.rglob("*.py"), *pathlib.Path(scalar.__file__).parent.rglob("*.py")]:
        found |= set(re.findall(r"\b(?:arith|math)\.([A-Z]\w*Op)\b", path.read_text()))
    known = {cls.__name__ for cls in [*scalar.SCALAR_OPS, *scalar.STRUCTURAL]}
    assert found - known == set()
