"""cpu dialect -> C99 source: a table from op to C text, strings made only here.

The program is the prelude (`c_prelude.h`, helpers: half conversions, NaN-aware
max/min, integer division without traps, the GEMM microkernel), one `static`
function per `cpu.kernel`, and one exported entry function

    void lamina_main(void **bufs);

taking the buffers of `func.func @main` in order (inputs, then outputs), so that
a call is one ctypes foreign call. Every SSA value becomes one C local.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator

from xdsl.dialects import arith, func, memref
from xdsl.dialects import math as mth
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    Signedness,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from lamina.dialects import cpu
from lamina.errors import CompileError

ENTRY = "lamina_main"
_PRELUDE_PATH = os.path.join(os.path.dirname(__file__), "c_prelude.h")


def prelude() -> str:
    with open(_PRELUDE_PATH) as f:
        return f.read()


class SourceWriter:
    """Lines of C with the current indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str = "") -> None:
        self.lines.append("  " * self.depth + text if text else "")

    @contextlib.contextmanager
    def block(self, head: str) -> Iterator[None]:
        self.line(head + " {")
        self.depth += 1
        yield
        self.depth -= 1
        self.line("}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# ---------------------------------------------------------------- types


def is_half(t: Attribute) -> bool:
    return isinstance(t, Float16Type | BFloat16Type)


def is_float(t: Attribute) -> bool:
    return isinstance(t, Float16Type | BFloat16Type | Float32Type | Float64Type)


def width(t: Attribute) -> int:
    if isinstance(t, IndexType):
        return 64
    if isinstance(t, IntegerType):
        return t.width.data
    raise CompileError(f"C codegen: {t} is not an integer type")


def _c_width(t: Attribute) -> int:
    """The width of the C integer holding `t` (i1 lives in a byte)."""
    w = width(t)
    if w == 1:
        return 8
    if w not in (8, 16, 32, 64):
        raise CompileError(f"C codegen: integers of width {w} are not supported")
    return w


def ctype(t: Attribute) -> str:
    """The C type of a value in a register."""
    if isinstance(t, Float64Type):
        return "double"
    if is_float(t):
        return "float"
    if isinstance(t, IndexType):
        return "int64_t"
    if isinstance(t, IntegerType):
        signed = t.signedness.data == Signedness.SIGNED
        return f"{'' if signed else 'u'}int{_c_width(t)}_t"
    if isinstance(t, MemRefType):
        return storage_ctype(t.element_type) + "*"
    raise CompileError(f"C codegen: no C type for {t}")


def storage_ctype(t: Attribute) -> str:
    """The C type of a buffer element."""
    return "uint16_t" if is_half(t) else ctype(t)


def signed(t: Attribute) -> str:
    return "int64_t" if isinstance(t, IndexType) else f"int{_c_width(t)}_t"


def unsigned(t: Attribute) -> str:
    return "uint64_t" if isinstance(t, IndexType) else f"uint{_c_width(t)}_t"


def fsuffix(t: Attribute) -> str:
    """libm suffix: expf for float (f32, f16, bf16 computed in float), exp for double."""
    return "" if isinstance(t, Float64Type) else "f"


def round_to(t: Attribute, expr: str) -> str:
    """Round a float expression to the precision of `t` (f16/bf16 live in float)."""
    if isinstance(t, Float16Type):
        return f"lm_round_f16({expr})"
    if isinstance(t, BFloat16Type):
        return f"lm_round_bf16({expr})"
    return expr


def load_expr(elem: Attribute, ref: str) -> str:
    if isinstance(elem, Float16Type):
        return f"lm_f16_to_f32({ref})"
    if isinstance(elem, BFloat16Type):
        return f"lm_bf16_to_f32({ref})"
    if isinstance(elem, IntegerType) and elem.width.data == 1:
        return f"({ref} != 0)"
    return ref


def store_expr(elem: Attribute, value: str) -> str:
    if isinstance(elem, Float16Type):
        return f"lm_f32_to_f16({value})"
    if isinstance(elem, BFloat16Type):
        return f"lm_f32_to_bf16({value})"
    return value


def float_literal(value: float, t: Attribute) -> str:
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "(-INFINITY)"
    text = float.hex(value)
    return f"({text})" if isinstance(t, Float64Type) else f"({text}f)"


def int_literal(value: int, t: Attribute) -> str:
    if isinstance(t, IndexType):
        if value == -(2**63):
            return "INT64_MIN"
        return f"INT64_C({value})"
    w = width(t)
    bits = value & ((1 << w) - 1)
    return f"(({ctype(t)})UINT64_C({bits}))"


# ---------------------------------------------------------------- expressions

_CMPF = ("0", "{a} == {b}", "{a} > {b}", "{a} >= {b}", "{a} < {b}", "{a} <= {b}",
         "({a} < {b} || {a} > {b})", "({a} == {a} && {b} == {b})", "!({a} < {b} || {a} > {b})",
         "!({a} <= {b})", "!({a} < {b})", "!({a} >= {b})", "!({a} > {b})", "{a} != {b}",
         "({a} != {a} || {b} != {b})", "1")
_CMPI = ("==", "!=", "s<", "s<=", "s>", "s>=", "u<", "u<=", "u>", "u>=")

_FLOAT_BIN: dict[type[Operation], str] = {
    arith.AddfOp: "{a} + {b}", arith.SubfOp: "{a} - {b}", arith.MulfOp: "{a} * {b}",
    arith.DivfOp: "{a} / {b}", arith.MaximumfOp: "lm_max{f}({a}, {b})",
    arith.MinimumfOp: "lm_min{f}({a}, {b})", arith.MaxnumfOp: "fmax{f}({a}, {b})",
    arith.MinnumfOp: "fmin{f}({a}, {b})", mth.PowFOp: "pow{f}({a}, {b})",
    mth.Atan2Op: "atan2{f}({a}, {b})", mth.CopySignOp: "copysign{f}({a}, {b})",
}
_FLOAT_UN: dict[type[Operation], str] = {
    arith.NegfOp: "-{a}", mth.AbsFOp: "fabs{f}({a})", mth.ExpOp: "exp{f}({a})",
    mth.Exp2Op: "exp2{f}({a})", mth.ExpM1Op: "expm1{f}({a})", mth.LogOp: "log{f}({a})",
    mth.Log2Op: "log2{f}({a})", mth.Log10Op: "log10{f}({a})", mth.Log1pOp: "log1p{f}({a})",
    mth.SqrtOp: "sqrt{f}({a})", mth.RsqrtOp: "1 / sqrt{f}({a})", mth.TanhOp: "tanh{f}({a})",
    mth.ErfOp: "erf{f}({a})", mth.SinOp: "sin{f}({a})", mth.CosOp: "cos{f}({a})",
    mth.TanOp: "tan{f}({a})", mth.AsinOp: "asin{f}({a})", mth.AcosOp: "acos{f}({a})",
    mth.AtanOp: "atan{f}({a})", mth.SinhOp: "sinh{f}({a})", mth.CoshOp: "cosh{f}({a})",
    mth.AsinhOp: "asinh{f}({a})", mth.AcoshOp: "acosh{f}({a})", mth.AtanhOp: "atanh{f}({a})",
    mth.CbrtOp: "cbrt{f}({a})", mth.FloorOp: "floor{f}({a})", mth.CeilOp: "ceil{f}({a})",
    mth.RoundOp: "round{f}({a})", mth.RoundEvenOp: "nearbyint{f}({a})",
    mth.TruncOp: "trunc{f}({a})",
}
# integer ops: plain C on the unsigned register type, or a prelude helper
_INT_BIN: dict[type[Operation], str] = {
    arith.AddiOp: "{a} + {b}", arith.SubiOp: "{a} - {b}", arith.MuliOp: "{a} * {b}",
    arith.AndIOp: "{a} & {b}", arith.OrIOp: "{a} | {b}", arith.XOrIOp: "{a} ^ {b}",
    arith.ShLIOp: "{a} << {b}", arith.ShRUIOp: "({u}){a} >> {b}",
    arith.ShRSIOp: "({s}){a} >> {b}", arith.DivSIOp: "lm_divsi{w}({a}, {b})",
    arith.DivUIOp: "lm_divui{w}({a}, {b})", arith.RemSIOp: "lm_remsi{w}({a}, {b})",
    arith.RemUIOp: "lm_remui{w}({a}, {b})", arith.FloorDivSIOp: "lm_floordivsi{w}({a}, {b})",
    arith.CeilDivSIOp: "lm_ceildivsi{w}({a}, {b})",
    arith.CeilDivUIOp: "lm_ceildivui{w}({a}, {b})",
    arith.MaxSIOp: "({s}){a} > ({s}){b} ? {a} : {b}",
    arith.MinSIOp: "({s}){a} < ({s}){b} ? {a} : {b}",
    arith.MaxUIOp: "({u}){a} > ({u}){b} ? {a} : {b}",
    arith.MinUIOp: "({u}){a} < ({u}){b} ? {a} : {b}",
}


def _int_binary(op: Operation, a: str, b: str) -> str:
    t = op.results[0].type
    if isinstance(op, arith.MuliOp) and not isinstance(t, IndexType) and _c_width(t) < 32:
        a = f"(uint32_t){a}"  # uint16*uint16 promotes to signed int and may overflow
    w = 64 if isinstance(t, IndexType) else _c_width(t)
    return _INT_BIN[type(op)].format(a=a, b=b, s=signed(t), u=unsigned(t), w=w)


def _cast(op: Operation, a: str) -> str:
    src, dst = op.operands[0].type, op.results[0].type
    if isinstance(op, arith.ExtFOp | arith.TruncFOp):
        if isinstance(dst, Float16Type) and isinstance(src, Float64Type):
            return f"lm_f16_to_f32(lm_f64_to_f16({a}))"
        return round_to(dst, f"({ctype(dst)}){a}")
    if isinstance(op, arith.SIToFPOp):
        return round_to(dst, f"({ctype(dst)})({signed(src)}){a}")
    if isinstance(op, arith.UIToFPOp):
        return round_to(dst, f"({ctype(dst)})({unsigned(src)}){a}")
    if isinstance(op, arith.FPToSIOp):
        return f"({ctype(dst)})({signed(dst)}){a}"
    if isinstance(op, arith.FPToUIOp):
        return f"({ctype(dst)})({unsigned(dst)}){a}"
    if isinstance(op, arith.ExtSIOp | arith.IndexCastOp):
        if width(src) == 1:
            return f"({ctype(dst)})(0 - ({unsigned(dst)}){a})"
        if width(dst) > width(src):  # sign-extend: through the signed type of the source
            return f"({ctype(dst)})({signed(dst)})({signed(src)}){a}"
        return f"({ctype(dst)}){a}" if width(dst) > 1 else f"({a} & 1)"
    if isinstance(op, arith.ExtUIOp):
        return f"({ctype(dst)})({unsigned(src)}){a}"
    if isinstance(op, arith.TruncIOp):
        return f"({a} & 1)" if width(dst) == 1 else f"({ctype(dst)}){a}"
    raise CompileError(f"C codegen: no rule for {op.name}")


_CASTS = (arith.ExtFOp, arith.TruncFOp, arith.SIToFPOp, arith.UIToFPOp, arith.FPToSIOp,
          arith.FPToUIOp, arith.ExtSIOp, arith.ExtUIOp, arith.TruncIOp, arith.IndexCastOp)


def expression(op: Operation, args: list[str]) -> str:
    """The C expression of a scalar op's result, given its operands' C names."""
    t = op.results[0].type
    if isinstance(op, arith.ConstantOp):
        value = op.value
        if isinstance(value, FloatAttr):
            return float_literal(float(value.value.data), t)
        if isinstance(value, IntegerAttr):
            return int_literal(int(value.value.data), t)
        raise CompileError(f"C codegen: unsupported constant {value}")
    if type(op) in _FLOAT_BIN:
        return round_to(t, _FLOAT_BIN[type(op)].format(a=args[0], b=args[1], f=fsuffix(t)))
    if type(op) in _FLOAT_UN:
        return round_to(t, _FLOAT_UN[type(op)].format(a=args[0], f=fsuffix(t)))
    if isinstance(op, mth.FmaOp):
        return round_to(t, f"fma{fsuffix(t)}({args[0]}, {args[1]}, {args[2]})")
    if isinstance(op, mth.FPowIOp):
        return round_to(t, f"pow{fsuffix(t)}({args[0]}, ({signed(op.operands[1].type)}){args[1]})")
    if type(op) in _INT_BIN:
        return _int_binary(op, args[0], args[1])
    if isinstance(op, mth.AbsIOp):
        return f"({signed(t)}){args[0]} < 0 ? 0 - {args[0]} : {args[0]}"
    if isinstance(op, arith.CmpfOp):
        return _CMPF[op.predicate.value.data].format(a=args[0], b=args[1])
    if isinstance(op, arith.CmpiOp):
        pred = _CMPI[op.predicate.value.data]
        ot = op.operands[0].type
        cast = "" if pred in ("==", "!=") else f"({signed(ot) if pred[0] == 's' else unsigned(ot)})"
        return f"{cast}{args[0]} {pred.lstrip('su')} {cast}{args[1]}"
    if isinstance(op, arith.SelectOp):
        return f"{args[0]} ? {args[1]} : {args[2]}"
    if isinstance(op, _CASTS):
        return _cast(op, args[0])
    if isinstance(op, arith.BitcastOp):
        return f"lm_bitcast_{ctype(t).replace('_t', '')}({args[0]})"
    raise CompileError(f"C codegen has no rule for op '{op.name}'")


# ---------------------------------------------------------------- statements


class CEmitter:
    """Walks a cpu-level module and writes C. Kernels become functions, `@main`'s
    body becomes the entry function."""

    def __init__(self) -> None:
        self.out = SourceWriter()
        self.names: dict[SSAValue, str] = {}
        self.counter = 0
        self.gemms: dict[str, tuple[str, str, str, str]] = {}

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def name(self, value: SSAValue) -> str:
        if value not in self.names:
            raise CompileError(f"C codegen: value {value} used before definition")
        return self.names[value]

    def define(self, value: SSAValue, expr: str, prefix: str = "v") -> str:
        n = self.fresh(prefix)
        self.names[value] = n
        c = ctype(value.type)
        qualified = f"{c} const" if c.endswith("*") else f"const {c}"
        self.out.line(f"{qualified} {n} = {expr};")
        return n

    def emit_block(self, block: Block) -> None:
        for op in block.ops:
            self.emit_op(op)

    def emit_op(self, op: Operation) -> None:
        rule = _STATEMENTS.get(type(op))
        if rule is not None:
            rule(self, op)
        elif isinstance(op, cpu.YieldOp):
            pass  # read by the enclosing reduce
        else:
            self.define(op.results[0], expression(op, [self.name(v) for v in op.operands]))

    def loop_nest(self, bounds, ivs, pragma: str | None) -> contextlib.ExitStack:
        stack = contextlib.ExitStack()
        if pragma:
            self.out.line(pragma)
        for bound, iv in zip(bounds, ivs, strict=True):
            n = self.fresh("i")
            self.names[iv] = n
            stack.enter_context(self.out.block(f"for (int64_t {n} = 0; {n} < {bound}; ++{n})"))
        return stack


def _emit_load(em: CEmitter, op: cpu.LoadOp) -> None:
    elem = op.buffer.type.element_type  # type: ignore[attr-defined]
    ref = load_expr(elem, f"{em.name(op.buffer)}[{em.name(op.offset)}]")
    if op.mask is not None and op.other is not None:
        ref = f"{em.name(op.mask)} ? {ref} : {em.name(op.other)}"
    em.define(op.result, ref)


def _emit_store(em: CEmitter, op: cpu.StoreOp) -> None:
    elem = op.buffer.type.element_type  # type: ignore[attr-defined]
    value = store_expr(elem, em.name(op.value))
    em.out.line(f"{em.name(op.buffer)}[{em.name(op.offset)}] = {value};")


def _emit_for(em: CEmitter, op: cpu.ForOp) -> None:
    n = len(op.space)
    pragma = f"#pragma omp simd collapse({n})" if op.simd is not None and n else None
    with em.loop_nest(op.space, op.ivs, pragma):
        em.emit_block(op.body.block)


_REDUCE_C = {"add": ("+", "{acc} = {acc} + {v};"), "mul": ("*", "{acc} = {acc} * {v};"),
             "max": ("max", "{acc} = {v} > {acc} ? {v} : {acc};"),
             "min": ("min", "{acc} = {v} < {acc} ? {v} : {acc};")}


def _emit_reduce(em: CEmitter, op: cpu.ReduceOp) -> None:
    kind, t = op.kind.data, op.init.type
    acc = em.fresh("acc")
    # integer max/min compare signed (the loop level widens unsigned bytes first)
    acc_type = ctype(t) if is_float(t) or kind in ("add", "mul") else signed(t)
    em.out.line(f"{acc_type} {acc} = {em.name(op.init)};")
    yielded = op.body.block.last_op
    assert isinstance(yielded, cpu.YieldOp)
    if kind in ("argmax", "argmin"):
        _emit_arg_reduce(em, op, acc, yielded)
        return
    omp_op, update = _REDUCE_C[kind]
    nan = em.fresh("nan") if kind in ("max", "min") and is_float(t) else None
    clauses = f"reduction({omp_op}:{acc})"
    if nan:
        em.out.line(f"int {nan} = 0;")
        clauses += f" reduction(|:{nan})"
    n = len(op.space)
    pragma = f"#pragma omp simd collapse({n}) {clauses}" if n else None
    with em.loop_nest(op.space, op.ivs, pragma):
        em.emit_block(op.body.block)
        v = em.name(yielded.operands[0])
        if acc_type != ctype(t):
            v = f"(({acc_type}){v})"
        em.out.line(update.format(acc=acc, v=v))
        if nan:
            em.out.line(f"{nan} |= {v} != {v};")
    if nan:
        em.out.line(f"if ({nan}) {acc} = NAN;")
    em.names[op.res[0]] = acc if acc_type == ctype(t) else f"(({ctype(t)}){acc})"


def _emit_arg_reduce(em: CEmitter, op: cpu.ReduceOp, acc: str, yielded: cpu.YieldOp) -> None:
    """First index of the extremum; a NaN is the extremum (numpy/torch)."""
    idx, lin = em.fresh("idx"), em.fresh("lin")
    em.out.line(f"int64_t {idx} = 0, {lin} = 0;")
    cmp = ">" if op.kind.data == "argmax" else "<"
    t = op.init.type
    with em.loop_nest(op.space, op.ivs, None):
        em.emit_block(op.body.block)
        v = em.name(yielded.operands[0])
        if not is_float(t):
            v = f"(({signed(t)}){v})"
        better = f"{v} {cmp} {acc}"
        if is_float(t):
            better = f"{better} || ({v} != {v} && {acc} == {acc})"
        with em.out.block(f"if ({better})"):
            em.out.line(f"{acc} = {v};")
            em.out.line(f"{idx} = {lin};")
        em.out.line(f"++{lin};")
    em.names[op.res[0]] = acc if is_float(t) else f"(({ctype(t)}){acc})"
    em.names[op.res[1]] = f"((uint64_t){idx})"


def _emit_view(em: CEmitter, op: cpu.ViewOp) -> None:
    em.define(op.result, em.name(op.source), prefix="p")


def _emit_gemm(em: CEmitter, op: cpu.GemmOp) -> None:
    elem = op.c.type.element_type  # type: ignore[attr-defined]
    fn = _gemm_function(em, elem)
    batch, m, n, k = (op.dim(d) for d in cpu.GemmOp.DIMS)
    a_stride = m * k if _numel(op.a.type) == batch * m * k else 0
    b_stride = k * n if _numel(op.b.type) == batch * k * n else 0
    flags = ", ".join("1" if op.flag(f) else "0" for f in cpu.GEMM_FLAGS)
    args = ", ".join(em.name(v) for v in (op.a, op.b, op.c))
    em.out.line(f"{fn}({args}, {batch}, {m}, {n}, {k}, {a_stride}, {b_stride}, {flags});")


def _numel(t: Attribute) -> int:
    assert isinstance(t, MemRefType)
    return math.prod(t.get_shape())


def _gemm_function(em: CEmitter, elem: Attribute) -> str:
    storage = storage_ctype(elem)
    if isinstance(elem, Float16Type):
        acc, load, store = "float", "lm_f16_to_f32", "lm_f32_to_f16"
    elif isinstance(elem, BFloat16Type):
        acc, load, store = "float", "lm_bf16_to_f32", "lm_f32_to_bf16"
    elif is_float(elem):
        acc, load, store = storage, "LM_ID", "LM_ID"
    else:
        acc, load, store = "uint64_t", "LM_ID", f"({storage})"
    name = f"lm_gemm_{str(elem)}"
    em.gemms[name] = (storage, acc, load, store)
    return name


def _emit_alloc(em: CEmitter, op: memref.AllocOp) -> None:
    t = op.memref.type
    assert isinstance(t, MemRefType)
    c = storage_ctype(t.element_type)
    em.define(op.memref, f"({c}*)lm_alloc({_numel(t)} * (int64_t)sizeof({c}))", prefix="t")


def _emit_dealloc(em: CEmitter, op: memref.DeallocOp) -> None:
    em.out.line(f"free((void*){em.name(op.memref)});")


def _emit_copy(em: CEmitter, op: memref.CopyOp) -> None:
    t = op.source.type
    assert isinstance(t, MemRefType)
    size = f"{_numel(t)} * sizeof({storage_ctype(t.element_type)})"
    em.out.line(f"memcpy({em.name(op.destination)}, {em.name(op.source)}, {size});")


def _emit_get_global(em: CEmitter, op: memref.GetGlobalOp) -> None:
    t = op.memref.type
    assert isinstance(t, MemRefType)
    c = storage_ctype(t.element_type)
    em.define(op.memref, f"({c}*){_global_name(op.name_.root_reference.data)}", prefix="g")


def _global_name(symbol: str) -> str:
    return "lm_g_" + "".join(ch if ch.isalnum() else "_" for ch in symbol)


def _emit_global(em: CEmitter, op: memref.GlobalOp) -> None:
    """`static const T name[n] = {...};` (zero-filled and writable without a value)."""
    t = op.type
    assert isinstance(t, MemRefType)
    elem, n = t.element_type, max(_numel(t), 1)
    name = _global_name(op.sym_name.data)
    init = op.initial_value
    if not hasattr(init, "get_values"):
        em.out.line(f"static {storage_ctype(elem)} {name}[{n}];")
        return
    values = list(init.get_values())  # type: ignore[union-attr]
    if len(values) == 1 and _numel(t) > 1:  # a splat
        values = values * _numel(t)
    if is_half(elem):
        items = [_half_bits(float(v), elem) for v in values]
    elif is_float(elem):
        items = [float_literal(float(v), elem) for v in values]
    else:
        items = [int_literal(int(v), elem) for v in values]
    body = ", ".join(items) or "0"
    em.out.line(f"static const {storage_ctype(elem)} {name}[{n}] = {{{body}}};")


def _half_bits(value: float, elem: Attribute) -> str:
    import ml_dtypes
    import numpy as np

    dt = np.float16 if isinstance(elem, Float16Type) else ml_dtypes.bfloat16
    return str(int(np.array(value, dtype=dt).view(np.uint16)))


def _emit_kernel_call(em: CEmitter, op: cpu.KernelOp) -> None:
    em.out.line(f"{_kernel_name(op)}({', '.join(em.name(a) for a in op.args)});")


def _kernel_name(op: cpu.KernelOp) -> str:
    clean = "".join(ch if ch.isalnum() else "_" for ch in op.sym_name.data)
    return f"lm_k_{clean}"


_STATEMENTS: dict[type[Operation], Callable] = {
    cpu.LoadOp: _emit_load, cpu.StoreOp: _emit_store, cpu.ForOp: _emit_for,
    cpu.ReduceOp: _emit_reduce, cpu.ViewOp: _emit_view, cpu.GemmOp: _emit_gemm,
    cpu.KernelOp: _emit_kernel_call, memref.AllocOp: _emit_alloc,
    memref.DeallocOp: _emit_dealloc, memref.CopyOp: _emit_copy,
    memref.GetGlobalOp: _emit_get_global,
    func.ReturnOp: lambda em, op: None,
}


# ---------------------------------------------------------------- functions


def _written(kernel: cpu.KernelOp) -> set[SSAValue]:
    """Kernel params stored to (the others are `const`)."""
    params = set(kernel.params)
    return {op.buffer for op in kernel.walk() if isinstance(op, cpu.StoreOp)
            and op.buffer in params}


def _emit_kernel(em: CEmitter, op: cpu.KernelOp, aliased: set[int]) -> None:
    written = _written(op)
    decls = []
    for i, p in enumerate(op.params):
        n = em.fresh("a")
        em.names[p] = n
        if isinstance(p.type, MemRefType):
            const = "" if p in written else "const "
            restrict = "" if i in aliased else " restrict"
            decls.append(f"{const}{ctype(p.type)}{restrict} {n}")
        else:
            decls.append(f"{ctype(p.type)} {n}")
    n = len(op.space)
    pragma = f"#pragma omp parallel for collapse({n}) schedule(static)" \
        if op.omp is not None and n else None
    with em.out.block(f"static void {_kernel_name(op)}({', '.join(decls) or 'void'})"):
        with em.loop_nest(op.space, op.ivs, pragma):
            em.emit_block(op.body.block)
    em.out.line()


def _aliased_params(main: func.FuncOp, kernel: cpu.KernelOp) -> set[int]:
    """Positions of kernel args that share memory with another arg (no `restrict`)."""
    def root(v: SSAValue) -> SSAValue:
        while isinstance(v.owner, cpu.ViewOp):
            v = v.owner.source
        return v

    roots = [root(a) if isinstance(a.type, MemRefType) else None for a in kernel.args]
    return {i for i, r in enumerate(roots) if r is not None and roots.count(r) > 1}


def emit_c(module: ModuleOp, entry: str | None = None) -> str:
    """The C source of a cpu-level module whose `func.func @entry` (default: the first
    function) is the program."""
    main = next((op for op in module.ops if isinstance(op, func.FuncOp)
                 and entry in (None, op.sym_name.data)), None)
    if main is None:
        raise CompileError(f"C codegen: no func.func {'@' + entry if entry else ''} in the module")
    em = CEmitter()
    for op in module.ops:
        if isinstance(op, memref.GlobalOp):
            _emit_global(em, op)
    kernels = [op for op in main.body.block.ops if isinstance(op, cpu.KernelOp)]
    for k in kernels:
        _emit_kernel(em, k, _aliased_params(main, k))
    body = em.out
    em.out = SourceWriter()
    with em.out.block(f"void {ENTRY}(void **bufs)"):
        for i, arg in enumerate(main.body.block.args):
            c = ctype(arg.type)
            em.names[arg] = em.fresh("b")
            em.out.line(f"{c} {em.names[arg]} = ({c})bufs[{i}];")
        em.emit_block(main.body.block)
    gemms = [f"LM_DEFINE_GEMM({name}, {s}, {acc}, {load}, {store})"
             for name, (s, acc, load, store) in em.gemms.items()]
    parts = [prelude(), "\n".join(gemms), body.text(), em.out.text()]
    return "\n".join(p for p in parts if p)
