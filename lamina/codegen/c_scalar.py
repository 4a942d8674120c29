"""Scalar C for the cpu level: C types of IR types, literals, and the C expression of
each scalar op -- its `c` column in the scalar-op table (`lamina/dialects/scalar.py`),
or, for constants, comparisons, select and casts, the rules here (one C local per SSA
value, so operands are always plain names and no precedence question arises).

Registers: f16/bf16 live in `float` (exactly representable values), i1 in a byte
(0/1), signless integers in `uintN_t` (wrapping arithmetic is defined in C; signed
ops cast), `index` in `int64_t`. Storage: f16/bf16 as `uint16_t` bits.
"""

from __future__ import annotations

import math

from xdsl.dialects import arith
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
    Signedness,
)
from xdsl.ir import Attribute, Operation

from lamina.dialects.scalar import SCALAR_OPS
from lamina.errors import CompileError

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


def _from_table(op: Operation, args: list[str]) -> str:
    """The C text of an op with a row in the scalar-op table."""
    row = SCALAR_OPS[type(op)]
    if callable(row.c):
        return row.c(op, args)
    t = op.results[0].type
    fields = dict(zip("abc", args, strict=False))
    if row.kind == "float":
        return round_to(t, row.c.format(f=fsuffix(t), **fields))
    w = 64 if isinstance(t, IndexType) else _c_width(t)
    return row.c.format(s=signed(t), u=unsigned(t), w=w, **fields)


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
    if type(op) in SCALAR_OPS:
        return _from_table(op, args)
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
