"""tile IR -> Python source: `@triton.jit` kernels plus a host `launch` function.

Codegen is a table from op name to text; strings are made only here. Every SSA
value gets a Python name; each op is one statement `name = <expr>`. Kernel
arguments are pointers (Triton infers their element types from the torch
tensors passed in); the host function takes flat torch tensors, inputs then
outputs, plus `torch` and `device` (torch is imported by the runtime, never by
the generated code's importer).

Scalar ops are the `triton` column of the scalar-op table
(`lamina/dialects/scalar.py`); its helper rows (libdevice functions, which Triton's
interpreter cannot run) become `@triton.jit` functions at the top of the file, with
the core-op formula the interpreter runs instead.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import (
    AnyFloat,
    BFloat16Type,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    MemRefType,
    ModuleOp,
    Signedness,
)
from xdsl.ir import Attribute, Operation, SSAValue

from lamina.codegen.triton_prelude import PRELUDE
from lamina.dialects import check, loop, tile
from lamina.dialects.scalar import SCALAR_OPS, ScalarOp, TritonHelper, helper_name
from lamina.dialects.tile import element_of, shape_of
from lamina.errors import CompileError

_TL_TYPES = {Float32Type: "tl.float32", Float16Type: "tl.float16", BFloat16Type: "tl.bfloat16",
             Float64Type: "tl.float64"}
_TORCH_TYPES = {"tl.float32": "float32", "tl.float16": "float16", "tl.bfloat16": "bfloat16",
                "tl.float64": "float64", "tl.int64": "int64", "tl.int32": "int32",
                "tl.int16": "int16", "tl.int8": "int8", "tl.uint8": "uint8", "tl.int1": "bool"}


def tl_type(t: Attribute) -> str:
    t = element_of(t)
    if type(t) in _TL_TYPES:
        return _TL_TYPES[type(t)]
    if isinstance(t, IntegerType):
        unsigned = t.signedness.data == Signedness.UNSIGNED
        return f"tl.{'u' if unsigned else ''}int{t.width.data}"
    raise CompileError(f"triton codegen: no Triton type for {t}")


def torch_type(t: Attribute) -> str:
    return "torch." + _TORCH_TYPES[tl_type(t)]


def unsigned_of(t: Attribute) -> str:
    return f"tl.uint{element_of(t).width.data}"  # type: ignore[attr-defined]


class SourceWriter:
    """Lines of Python with managed indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str = "") -> None:
        self.lines.append("    " * self.depth + text if text else "")

    @contextmanager
    def indent(self) -> Iterator[None]:
        self.depth += 1
        yield
        self.depth -= 1

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _literal(value: float | int, t: Attribute) -> str:
    if isinstance(t, AnyFloat):
        v = float(value)
        if math.isnan(v):
            return 'float("nan")'
        if math.isinf(v):
            return 'float("inf")' if v > 0 else 'float("-inf")'
        return repr(v)
    return str(int(value))


_REDUCE = {"sum": "tl.sum({x}, axis={axis})", "prod": "tl.reduce({x}, {axis}, _prod)",
           "or": "tl.reduce({x}, {axis}, _or)", "and": "tl.reduce({x}, {axis}, _and)"}
_CMP_OPS = {"eq": "==", "ne": "!=", "slt": "<", "sle": "<=", "sgt": ">", "sge": ">=",
            "oeq": "==", "olt": "<", "ole": "<=", "ogt": ">", "oge": ">=", "une": "!="}


class KernelWriter:
    """Writes one tile.kernel as a @triton.jit function."""

    def __init__(self, out: SourceWriter, fault_sites: list[str] | None = None):
        self.out = out
        self.names: dict[SSAValue, str] = {}
        self.fault_sites = fault_sites or []  # check.sites of the module: `lm_fault` slots

    def name(self, v: SSAValue) -> str:
        if v not in self.names:
            hint = (v.name_hint or "v").replace(".", "_")
            hint = hint if hint.isidentifier() and not hint.startswith("_") else "v"
            self.names[v] = f"{hint}_{len(self.names)}"
        return self.names[v]

    def kernel(self, k: tile.KernelOp) -> None:
        args = ", ".join([self.name(a) for a in k.body.block.args]
                         + (["lm_fault"] if _checks(k) else []))
        self.out.line("@triton.jit")
        self.out.line(f"def {k.sym_name.data}({args}):")
        with self.out.indent():
            for op in k.body.block.ops:
                self.op(op)
        self.out.line()
        self.out.line()

    def assign(self, op: Operation, expr: str) -> None:
        self.out.line(f"{self.name(op.results[0])} = {expr}")

    def op(self, op: Operation) -> None:
        writer = _STATEMENTS.get(op.name)
        if writer is not None:
            writer(self, op)
            return
        n = [self.name(o) for o in op.operands]
        row = SCALAR_OPS.get(type(op))
        if row is not None:
            self.assign(op, _from_table(op, row, n))
        elif op.name in ("arith.extf", "arith.truncf"):
            self.assign(op, f"tl.cast({n[0]}, {tl_type(op.results[0].type)})")
        else:
            raise CompileError(f"triton codegen: no Triton text for {op.name}")

    # -------------------------------------------------------------- statements
    def check_index(self, op: check.IndexOp) -> None:
        """Lanes whose index is out of range store the fault (site flag, the index)
        into `lm_fault`; every lane goes on with the index clamped."""
        i, r = self.name(op.index), self.name(op.result)
        size, site = op.size_value, check.site_of(op, self.fault_sites)
        self.out.line(f"{r}_bad = ({i} < 0) | ({i} >= {size})")
        self.out.line(f"tl.store(lm_fault + {2 * site + 1} + 0 * {i}, {i}.to(tl.int64), "
                      f"mask={r}_bad)")
        self.out.line(f"tl.store(lm_fault + {2 * site} + 0 * {i}, (0 * {i} + 1).to(tl.int64), "
                      f"mask={r}_bad)")
        self.out.line(f"{r} = tl.minimum(tl.maximum({i}, 0), {size - 1})")

    def constant(self, op: arith.ConstantOp) -> None:
        t = op.result.type
        value = op.value.value.data  # type: ignore[attr-defined]
        self.assign(op, f"tl.full([], {_literal(value, t)}, {tl_type(t)})")

    def cmp(self, op: tile.CmpOp) -> None:
        a, b = self.name(op.lhs), self.name(op.rhs)
        p = op.predicate.data
        float_t = isinstance(element_of(op.lhs.type), AnyFloat)
        if p in _CMP_OPS and not (float_t and p == "ne"):
            self.assign(op, f"{a} {_CMP_OPS[p]} {b}")
        elif p in ("ult", "ule", "ugt", "uge") and not float_t:
            sym = {"ult": "<", "ule": "<=", "ugt": ">", "uge": ">="}[p]
            if element_of(op.lhs.type).width.data == 1:  # type: ignore[attr-defined]
                # bools: tl has no uint1; as int8 both are 0 or 1
                self.assign(op, f"{a}.to(tl.int8) {sym} {b}.to(tl.int8)")
                return
            u = unsigned_of(op.lhs.type)
            self.assign(op, f"tl.cast({a}, {u}, bitcast=True) {sym} tl.cast({b}, {u}, bitcast=True)")
        else:  # unordered float predicates: true when either side is NaN
            nan = f"(({a} != {a}) | ({b} != {b}))"
            ordered = {"uno": None, "ord": None, "ueq": "==", "une": "!=", "ne": "!=",
                       "ult": "<", "ule": "<=", "ugt": ">", "uge": ">=", "one": "!="}[p]
            if p == "uno":
                self.assign(op, nan)
            elif p == "ord":
                self.assign(op, f"~{nan}")
            elif p == "one":
                self.assign(op, f"({a} != {b}) & ~{nan}")
            else:
                self.assign(op, f"({a} {ordered} {b}) | {nan}")

    def cast(self, op: tile.CastOp) -> None:
        x, src, dst = self.name(op.input), op.input.type, op.result.type
        kind = op.kind.data
        if kind == "bitcast":
            self.assign(op, f"tl.cast({x}, {tl_type(dst)}, bitcast=True)")
        elif kind == "unsigned" and isinstance(element_of(src), IntegerType) \
                and element_of(src).width.data > 1:  # type: ignore[attr-defined]
            u = f"tl.cast({x}, {unsigned_of(src)}, bitcast=True)"
            self.assign(op, f"tl.cast({u}, {tl_type(dst)})")
        else:  # tl.cast, not .to(): loop counters are Python ints in the interpreter
            self.assign(op, f"tl.cast({x}, {tl_type(dst)})")

    def load(self, op: tile.LoadOp) -> None:
        p, offs = self.name(op.ptr), self.name(op.offsets)
        mask = f", mask={self.name(op.mask)}, other=0" if op.mask is not None else ""
        self.assign(op, f"tl.load({p} + {offs}{mask})")

    def store(self, op: tile.StoreOp) -> None:
        p, offs, v = self.name(op.ptr), self.name(op.offsets), self.name(op.value)
        mask = f", mask={self.name(op.mask)}" if op.mask is not None else ""
        self.out.line(f"tl.store({p} + {offs}, {v}{mask})")

    def reduce(self, op: tile.ReduceOp) -> None:
        x, axis, kind = self.name(op.input), op.axis.value.data, op.kind.data
        if kind in ("max", "min"):
            if isinstance(element_of(op.input.type), AnyFloat):
                self.assign(op, f"tl.reduce({x}, {axis}, _{kind}_nan)")
            else:
                self.assign(op, f"tl.{kind}({x}, axis={axis})")
        else:
            self.assign(op, _REDUCE[kind].format(x=x, axis=axis))

    def argreduce(self, op: tile.ArgReduceOp) -> None:
        v, i = self.name(op.values), self.name(op.indices)
        out = f"{self.name(op.value)}, {self.name(op.index)}"
        self.out.line(f"{out} = tl.reduce(({v}, {i}), {op.axis.value.data}, "
                      f"_{op.kind.data}_combine)")

    def dot(self, op: tile.DotOp) -> None:
        a, b, acc = self.name(op.lhs), self.name(op.rhs), self.name(op.acc)
        if isinstance(element_of(op.lhs.type), BFloat16Type):
            self.assign(op, f"_dot_bf16({a}, {b}, {acc})")
        elif isinstance(element_of(op.lhs.type), Float32Type):
            self.assign(op, f'tl.dot({a}, {b}, {acc}, input_precision="{op.precision.data}")')
        else:
            self.assign(op, f"tl.dot({a}, {b}, {acc})")

    def for_(self, op: scf.ForOp) -> None:
        body = op.body.block
        for arg, init in zip(body.args[1:], op.iter_args, strict=True):
            self.out.line(f"{self.name(arg)} = {self.name(init)}")
        bounds = ", ".join(self._int_operand(v) for v in (op.lb, op.ub, op.step))
        self.out.line(f"for {self.name(body.args[0])} in range({bounds}):")
        with self.out.indent():
            for inner in body.ops:
                if isinstance(inner, scf.YieldOp):
                    for arg, v in zip(body.args[1:], inner.operands, strict=True):
                        self.out.line(f"{self.name(arg)} = {self.name(v)}")
                else:
                    self.op(inner)
        for res, arg in zip(op.res, body.args[1:], strict=True):
            self.out.line(f"{self.name(res)} = {self.name(arg)}")

    def _int_operand(self, v: SSAValue) -> str:
        """Loop bounds as literals when constant (a static trip count for Triton)."""
        if isinstance(v.owner, arith.ConstantOp):
            return str(v.owner.value.value.data)  # type: ignore[attr-defined]
        return self.name(v)


def _from_table(op: Operation, row: ScalarOp, names: list[str]) -> str:
    """The Triton text of an op with a row in the scalar-op table."""
    if isinstance(row.triton, TritonHelper):
        return f"{helper_name(type(op))}({', '.join(names)})"
    t = op.results[0].type
    if isinstance(op, arith.AndIOp | arith.OrIOp | arith.XOrIOp) and tl_type(t) == "tl.int1":
        # bitwise ops on int1 blocks fail in Triton's interpreter when one side comes from
        # a scalar's comparison (numpy refuses the operand types): go through int8
        wide = [f"{n}.to(tl.int8)" for n in names]
        return "(" + row.triton.format(**dict(zip("abc", wide, strict=False))) + ") != 0"
    extra = {"t": tl_type(t), "ut": unsigned_of(t)} if row.kind == "uint" else {}
    return row.triton.format(**dict(zip("abc", names, strict=False)), **extra)


def write_helpers(out: SourceWriter) -> None:
    """One `@triton.jit` function per TritonHelper row of the scalar-op table (all of
    them: Triton compiles only what a kernel calls)."""
    for op_cls, row in SCALAR_OPS.items():
        if not isinstance(row.triton, TritonHelper):
            continue
        params = ", ".join("abc"[:len(op_cls.get_irdl_definition().operands)])
        out.line("@triton.jit")
        out.line(f"def {helper_name(op_cls)}({params}):")
        with out.indent():
            if row.triton.interp is None:
                _lines(out, row.triton.body)
            else:
                out.line("if _INTERPRET:")
                with out.indent():
                    _lines(out, row.triton.interp)
                out.line("else:")
                with out.indent():
                    _lines(out, row.triton.body)
        out.line()
        out.line()


def _lines(out: SourceWriter, text: str) -> None:
    for line in text.splitlines():
        out.line(line)


def _splat(w: KernelWriter, op: Operation) -> str:
    """A block filled with a scalar value. Booleans broadcast: tl.full of an int1 value
    that is itself a tensor (a comparison) fails in Triton's interpreter."""
    shape = list(shape_of(op.result.type))
    if tl_type(op.result.type) == "tl.int1":
        return f"tl.broadcast_to({w.name(op.input)}, {shape})"
    return f"tl.full({shape}, {w.name(op.input)}, {tl_type(op.result.type)})"


def _simple(fmt: Callable[[KernelWriter, Operation], str]):
    return lambda w, op: w.assign(op, fmt(w, op))


_STATEMENTS: dict[str, Callable[[KernelWriter, Operation], None]] = {
    "check.index": KernelWriter.check_index,
    "arith.constant": KernelWriter.constant,
    "tile.cmp": KernelWriter.cmp,
    "tile.cast": KernelWriter.cast,
    "tile.load": KernelWriter.load,
    "tile.store": KernelWriter.store,
    "tile.reduce": KernelWriter.reduce,
    "tile.argreduce": KernelWriter.argreduce,
    "scf.for": KernelWriter.for_,
    "tile.return": lambda w, op: w.out.line("return"),
    "tile.program_id": _simple(lambda w, op: f"tl.program_id({op.axis.value.data})"),
    "tile.arange": _simple(lambda w, op: f"tl.arange({op.start.value.data}, {op.end.value.data})"),
    "tile.splat": _simple(lambda w, op: _splat(w, op)),
    "tile.expand_dims": _simple(lambda w, op: f"tl.expand_dims({w.name(op.input)}, "
                                              f"{op.axis.value.data})"),
    "tile.broadcast": _simple(lambda w, op: f"tl.broadcast_to({w.name(op.input)}, "
                                            f"{list(shape_of(op.result.type))})"),
    "tile.trans": _simple(lambda w, op: f"tl.trans({w.name(op.input)})"),
    "tile.where": _simple(lambda w, op: f"tl.where({w.name(op.cond)}, {w.name(op.lhs)}, "
                                        f"{w.name(op.rhs)})"),
    "tile.dot": KernelWriter.dot,
}


# ---------------------------------------------------------------- host side


def _numel(t: MemRefType) -> int:
    return math.prod(int(d) for d in t.get_shape())


def write_globals(out: SourceWriter, module: ModuleOp) -> None:
    """Constant buffers (`memref.global`) as base64 bytes, copied to the device once."""
    from lamina.dialects.hl.base import dense_to_numpy

    out.line("_GLOBALS = {}")
    for op in module.body.block.ops:
        if isinstance(op, memref.GlobalOp):
            data = dense_to_numpy(op.initial_value)  # type: ignore[arg-type]
            raw = base64.b64encode(data.tobytes()).decode()
            out.line(f"_GLOBALS[{op.sym_name.data!r}] = ({raw!r}, "
                     f"{torch_type(op.type.element_type)!r})")
    out.line("_ON_DEVICE = {}")
    out.line()
    out.line()
    out.line("def _global(name, torch, device):")
    with out.indent():
        out.line("if (name, device) not in _ON_DEVICE:")
        with out.indent():
            out.line("raw, dtype = _GLOBALS[name]")
            out.line("data = bytearray(base64.b64decode(raw))")
            out.line("host = torch.frombuffer(data, dtype=getattr(torch, dtype.split('.')[1]))")
            out.line("_ON_DEVICE[(name, device)] = host.to(device)")
        out.line("return _ON_DEVICE[(name, device)]")
    out.line()
    out.line()


def write_host(out: SourceWriter, fn: func.FuncOp) -> None:
    """`def launch(*buffers, torch, device)`: allocations, launches, frees, in order."""
    w = KernelWriter(out)
    args = ", ".join(w.name(a) for a in fn.body.block.args)
    checking = {op.sym_name.data for op in fn.parent_op().walk()  # type: ignore[union-attr]
                if isinstance(op, tile.KernelOp) and _checks(op)}
    out.line(f"def launch({args}{', ' if args else ''}*, torch, device, lm_fault=None):")
    with out.indent():
        for op in fn.body.block.ops:
            if isinstance(op, memref.GetGlobalOp):
                out.line(f"{w.name(op.memref)} = _global({op.name_.root_reference.data!r}, "
                         "torch, device)")
            elif isinstance(op, memref.AllocOp):
                t = op.memref.type
                out.line(f"{w.name(op.memref)} = torch.empty(({_numel(t)},), "
                         f"dtype={torch_type(t.element_type)}, device=device)")
            elif isinstance(op, memref.DeallocOp):
                out.line(f"del {w.name(op.memref)}")
            elif isinstance(op, loop.ViewOp):
                out.line(f"{w.name(op.res)} = {w.name(op.source)}")  # buffers are flat
            elif isinstance(op, memref.CopyOp):
                out.line(f"{w.name(op.destination)}.copy_({w.name(op.source)})")
            elif isinstance(op, tile.LaunchOp):
                grid = ", ".join(str(g) for g in op.grid_sizes)
                bufs = "".join(f"{w.name(a)}, " for a in op.args)
                if op.kernel.root_reference.data in checking:
                    bufs += "lm_fault, "
                out.line(f"{op.kernel.root_reference.data}[({grid})]({bufs}"
                         f"num_warps={op.num_warps.value.data}, "
                         f"num_stages={op.num_stages.value.data})")
            elif isinstance(op, func.ReturnOp):
                out.line("return")
            else:
                raise CompileError(f"triton codegen: no host text for {op.name}")


def generate(module: ModuleOp) -> str:
    """The whole module as one Python source file."""
    out = SourceWriter()
    out.lines.extend(PRELUDE.splitlines())
    out.line()
    out.line()
    write_helpers(out)
    sites = check.sites(module)
    for op in module.body.block.ops:
        if isinstance(op, tile.KernelOp):
            KernelWriter(out, sites).kernel(op)
    write_globals(out, module)
    write_host(out, host_function(module))
    return out.text()


def _checks(op: Operation) -> bool:
    return any(isinstance(o, check.IndexOp) for o in op.walk())


def host_function(module: ModuleOp) -> func.FuncOp:
    """The program's entry: the module's func.func (its name is the traced function's)."""
    for op in module.body.block.ops:
        if isinstance(op, func.FuncOp):
            return op
    raise CompileError("triton codegen: the module has no func.func")
