"""Element rules of the elementwise hl ops: scalar `arith`/`math` code, one row per op.

Values are in their compute type (`kernel.compute_type`): f16/bf16 as f32, bool
as i1, integers signless (ui8 uses the unsigned ops). Integer `div` is floor
division and `rem` takes the divisor's sign (torch semantics).
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import IntegerType, i1
from xdsl.ir import Attribute, Operation, SSAValue

from lamina.dialects.hl import elementwise as ew
from lamina.passes.lower_hl_to_loop.kernel import (
    KernelBuilder,
    compute_type,
    elem_type,
    is_unsigned,
)


def _is_float(t: Attribute) -> bool:
    return not isinstance(t, IntegerType)


# ---------------------------------------------------------------- unary


def _sign(kb: KernelBuilder, x: SSAValue, t: Attribute) -> SSAValue:
    zero, one, minus = kb.const(0, t), kb.const(1, t), kb.const(-1, t)
    if _is_float(t):
        pos = kb.op(arith.CmpfOp(x, zero, "ogt"))
        neg = kb.op(arith.CmpfOp(x, zero, "olt"))
        # NaN stays NaN, as np.sign
        s = kb.op(arith.SelectOp(pos, one, kb.op(arith.SelectOp(neg, minus, zero))))
        nan = kb.op(arith.CmpfOp(x, x, "uno"))
        return kb.op(arith.SelectOp(nan, x, s))
    pos = kb.op(arith.CmpiOp(x, zero, "ugt" if t == i1 else "sgt"))
    neg = kb.op(arith.CmpiOp(x, zero, "slt"))
    return kb.op(arith.SelectOp(pos, one, kb.op(arith.SelectOp(neg, minus, zero))))


def _unary(kb: KernelBuilder, op: Operation, x: SSAValue, t: Attribute,
           unsigned: bool) -> SSAValue:
    f = _is_float(t)
    match op:
        case ew.NegOp():
            return kb.op(arith.NegfOp(x)) if f else kb.op(arith.SubiOp(kb.const(0, t), x))
        case ew.AbsOp():
            if f:
                return kb.op(math.AbsFOp(x))
            return x if unsigned or t == i1 else kb.op(math.AbsIOp(x))
        case ew.SignOp():
            return _sign(kb, x, t)
        case ew.NotOp():
            return kb.op(arith.XOrIOp(x, kb.const(1, i1)))
        case ew.StopGradientOp():
            return x
        case ew.SigmoidOp():
            one = kb.const(1.0, t)
            e = kb.op(math.ExpOp(kb.op(arith.NegfOp(x))))
            return kb.op(arith.DivfOp(one, kb.op(arith.AddfOp(one, e))))
    simple: dict[type, type] = {
        ew.ExpOp: math.ExpOp, ew.LogOp: math.LogOp, ew.SqrtOp: math.SqrtOp,
        ew.RsqrtOp: math.RsqrtOp, ew.TanhOp: math.TanhOp, ew.ErfOp: math.ErfOp,
        ew.SinOp: math.SinOp, ew.CosOp: math.CosOp, ew.FloorOp: math.FloorOp,
        ew.CeilOp: math.CeilOp, ew.RoundOp: math.RoundEvenOp,
    }
    if type(op) in simple:
        if not f:  # floor/ceil/round of integers are the identity
            return x
        return kb.op(simple[type(op)](x))
    raise NotImplementedError(op.name)


def unary_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    source = op.operands[0]
    x = kb.element(source, idx)
    return _unary(kb, op, x, compute_type(elem_type(source)), is_unsigned(elem_type(source)))


# ---------------------------------------------------------------- binary


def _floor_rem_adjust(kb: KernelBuilder, a: SSAValue, b: SSAValue, r: SSAValue,
                      t: Attribute) -> SSAValue:
    """Python/torch remainder from a truncated one: add b where r != 0 and signs differ."""
    zero = kb.const(0, t)
    nonzero = kb.op(arith.CmpiOp(r, zero, "ne"))
    r_neg = kb.op(arith.CmpiOp(r, zero, "slt"))
    b_neg = kb.op(arith.CmpiOp(b, zero, "slt"))
    differ = kb.op(arith.XOrIOp(r_neg, b_neg))
    fix = kb.op(arith.AndIOp(nonzero, differ))
    return kb.op(arith.SelectOp(fix, kb.op(arith.AddiOp(r, b)), r))


def _float_binary(kb: KernelBuilder, op: Operation, a: SSAValue, b: SSAValue,
                  t: Attribute) -> SSAValue:
    match op:
        case ew.AddOp():
            return kb.op(arith.AddfOp(a, b))
        case ew.SubOp():
            return kb.op(arith.SubfOp(a, b))
        case ew.MulOp():
            return kb.op(arith.MulfOp(a, b))
        case ew.DivOp():
            return kb.op(arith.DivfOp(a, b))
        case ew.RemOp():  # a - floor(a / b) * b
            q = kb.op(math.FloorOp(kb.op(arith.DivfOp(a, b))))
            return kb.op(arith.SubfOp(a, kb.op(arith.MulfOp(q, b))))
        case ew.PowOp():
            return kb.op(math.PowFOp(a, b))
        case ew.MaxOp():
            return kb.op(arith.MaximumfOp(a, b))
        case ew.MinOp():
            return kb.op(arith.MinimumfOp(a, b))
    raise NotImplementedError(f"{op.name} on {t}")


def _int_pow(kb: KernelBuilder, a: SSAValue, b: SSAValue, t: Attribute) -> SSAValue:
    """Integer power through f64 (exact for the magnitudes integer tensors hold)."""
    from xdsl.dialects.builtin import f64

    fa = kb.op(arith.SIToFPOp(a, f64))
    fb = kb.op(arith.SIToFPOp(b, f64))
    p = kb.op(math.PowFOp(fa, fb))
    return kb.op(arith.FPToSIOp(kb.op(math.RoundEvenOp(p)), t))


def _int_binary(kb: KernelBuilder, op: Operation, a: SSAValue, b: SSAValue, t: Attribute,
                unsigned: bool) -> SSAValue:
    boolean = t == i1
    match op:
        case ew.AddOp():
            return kb.op(arith.OrIOp(a, b) if boolean else arith.AddiOp(a, b))
        case ew.SubOp():
            return kb.op(arith.XOrIOp(a, b) if boolean else arith.SubiOp(a, b))
        case ew.MulOp() | ew.AndOp():
            return kb.op(arith.AndIOp(a, b) if boolean or isinstance(op, ew.AndOp)
                         else arith.MuliOp(a, b))
        case ew.OrOp():
            return kb.op(arith.OrIOp(a, b))
        case ew.XorOp():
            return kb.op(arith.XOrIOp(a, b))
        case ew.DivOp() | ew.RemOp():
            return _safe_int_division(kb, op, a, b, t, unsigned)
        case ew.PowOp():
            return _int_pow(kb, a, b, t)
        case ew.MaxOp():
            if boolean:
                return kb.op(arith.OrIOp(a, b))
            return kb.op(arith.MaxUIOp(a, b) if unsigned else arith.MaxSIOp(a, b))
        case ew.MinOp():
            if boolean:
                return kb.op(arith.AndIOp(a, b))
            return kb.op(arith.MinUIOp(a, b) if unsigned else arith.MinSIOp(a, b))
    raise NotImplementedError(f"{op.name} on {t}")


def _safe_int_division(kb: KernelBuilder, op: Operation, a: SSAValue, b: SSAValue,
                       t: Attribute, unsigned: bool) -> SSAValue:
    """Integer // and % that never trap: x // 0 and x % 0 give 0 (as numpy), and
    x // -1 is -x, x % -1 is 0 (no INT_MIN / -1 overflow trap in C)."""
    zero, one = kb.const(0, t), kb.const(1, t)
    by_zero = kb.op(arith.CmpiOp(b, zero, "eq"))
    if unsigned:
        safe = kb.op(arith.SelectOp(by_zero, one, b))
        q = kb.op(arith.DivUIOp(a, safe) if isinstance(op, ew.DivOp) else arith.RemUIOp(a, safe))
        return kb.op(arith.SelectOp(by_zero, zero, q))
    by_minus_one = kb.op(arith.CmpiOp(b, kb.const(-1, t), "eq"))
    safe = kb.op(arith.SelectOp(kb.op(arith.OrIOp(by_zero, by_minus_one)), one, b))
    if isinstance(op, ew.DivOp):
        q = kb.op(arith.FloorDivSIOp(a, safe))
        q = kb.op(arith.SelectOp(by_minus_one, kb.op(arith.SubiOp(zero, a)), q))
    else:
        q = _floor_rem_adjust(kb, a, safe, kb.op(arith.RemSIOp(a, safe)), t)
        q = kb.op(arith.SelectOp(by_minus_one, zero, q))
    return kb.op(arith.SelectOp(by_zero, zero, q))


_FCMP = {ew.EqOp: "oeq", ew.NeOp: "une", ew.LtOp: "olt", ew.LeOp: "ole", ew.GtOp: "ogt",
         ew.GeOp: "oge"}
_SCMP = {ew.EqOp: "eq", ew.NeOp: "ne", ew.LtOp: "slt", ew.LeOp: "sle", ew.GtOp: "sgt",
         ew.GeOp: "sge"}
_UCMP = {ew.EqOp: "eq", ew.NeOp: "ne", ew.LtOp: "ult", ew.LeOp: "ule", ew.GtOp: "ugt",
         ew.GeOp: "uge"}


def binary_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    lhs, rhs = op.operands
    a, b = kb.element(lhs, idx), kb.element(rhs, idx)
    element = elem_type(lhs)
    t, unsigned = compute_type(element), is_unsigned(element)
    if isinstance(op, ew.CompareOp):
        if _is_float(t):
            return kb.op(arith.CmpfOp(a, b, _FCMP[type(op)]))
        table = _UCMP if unsigned or t == i1 else _SCMP
        return kb.op(arith.CmpiOp(a, b, table[type(op)]))
    if _is_float(t):
        return _float_binary(kb, op, a, b, t)
    return _int_binary(kb, op, a, b, t, unsigned)


def select_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    c, a, b = (kb.element(v, idx) for v in op.operands)
    return kb.op(arith.SelectOp(c, a, b))


# ---------------------------------------------------------------- cast


def convert(kb: KernelBuilder, x: SSAValue, src: Attribute, dst: Attribute) -> SSAValue:
    """Convert a compute-type scalar of dtype `src` to dtype `dst` (torch semantics)."""
    ts, td = compute_type(src), compute_type(dst)
    if dst == i1:
        if _is_float(ts):
            return kb.op(arith.CmpfOp(x, kb.const(0.0, ts), "une"))
        return x if ts == i1 else kb.op(arith.CmpiOp(x, kb.const(0, ts), "ne"))
    if _is_float(td):
        if _is_float(ts):
            if ts == td:
                return x
            wider = td.bitwidth > ts.bitwidth  # type: ignore[attr-defined]
            return kb.op(arith.ExtFOp(x, td) if wider else arith.TruncFOp(x, td))
        if ts == i1 or is_unsigned(src):
            return kb.op(arith.UIToFPOp(x, td))
        return kb.op(arith.SIToFPOp(x, td))
    if _is_float(ts):
        if is_unsigned(dst):
            return kb.op(arith.FPToUIOp(x, td))
        return kb.op(arith.FPToSIOp(x, td))
    ws, wd = ts.width.data, td.width.data  # type: ignore[attr-defined]
    if ws == wd:
        return x
    if ws > wd:
        return kb.op(arith.TruncIOp(x, td))
    if ts == i1 or is_unsigned(src):
        return kb.op(arith.ExtUIOp(x, td))
    return kb.op(arith.ExtSIOp(x, td))


def cast_rule(kb: KernelBuilder, op: Operation, idx) -> SSAValue:
    source = op.operands[0]
    x = kb.element(source, idx)
    return convert(kb, x, elem_type(source), elem_type(op.results[0]))


RULES: dict[type, Callable] = {}
for _cls in (ew.NegOp, ew.AbsOp, ew.SignOp, ew.ExpOp, ew.LogOp, ew.SqrtOp, ew.RsqrtOp,
             ew.TanhOp, ew.SigmoidOp, ew.ErfOp, ew.SinOp, ew.CosOp, ew.FloorOp, ew.CeilOp,
             ew.RoundOp, ew.NotOp, ew.StopGradientOp):
    RULES[_cls] = unary_rule
for _cls in (ew.AddOp, ew.SubOp, ew.MulOp, ew.DivOp, ew.RemOp, ew.PowOp, ew.MaxOp, ew.MinOp,
             ew.AndOp, ew.OrOp, ew.XorOp, ew.EqOp, ew.NeOp, ew.LtOp, ew.LeOp, ew.GtOp,
             ew.GeOp):
    RULES[_cls] = binary_rule
RULES[ew.SelectOp] = select_rule
RULES[ew.CastOp] = cast_rule
