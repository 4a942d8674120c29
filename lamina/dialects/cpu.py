"""The `cpu` dialect: the CPU hardware level, one op per C construct.

A `cpu` program is a `func.func` over `memref` buffers (C pointers, row-major,
contiguous) whose body calls kernels, GEMMs and allocations in order:

    func.func @main(%x: memref<64x128xf32>, %out: memref<64x128xf32>) {
      cpu.kernel "relu_0" parallel [64] (%i) omp collapse(1) args(%a = %x, %b = %out : memref<64x128xf32>, memref<64x128xf32>) {
        cpu.for [128] (%j) simd {
          %c128 = arith.constant 128 : index
          %r = arith.muli %i, %c128 : index
          %o = arith.addi %r, %j : index
          %v = cpu.load %a[%o] : memref<64x128xf32>
          cpu.store %v, %b[%o] : memref<64x128xf32>
        }
      }
      func.return
    }

How each op maps onto C (see `lamina.codegen.c`):

| op | C |
|---|---|
| `cpu.kernel` | a `static void` function with one parameter per `args` entry (`restrict` pointers); its parallel dims are a loop nest, the outer `collapse(c)` of them under `#pragma omp parallel for collapse(c) schedule(static)` when `omp` is set (all of them without `collapse`); `simd`: the innermost dim is a vector loop (`omp simd`, or `parallel for simd` when the threads split it too) |
| `cpu.for` | a loop nest; `simd` adds `#pragma omp simd collapse(n)` (iterations independent) |
| `cpu.reduce` | one accumulator per kind and one loop nest; `simd` makes the nest a vector loop (`omp simd collapse(n) reduction(...)`: vector accumulators, the combination reassociated), `simd inner` only its innermost loop; without it the loop runs in order |
| `cpu.if` | `if (c) { ... } else { ... }` (e.g. a loop versioned on a run-time condition) |
| `cpu.load` / `cpu.store` | `p[offset]`, the offset an `index` (int64) computed with `arith` |
| `cpu.view` | a pointer of the same address (no copy) |
| `cpu.gemm` | a call into the blocked GEMM microkernel of the element type |

Scalar code inside kernels is `arith`/`math` on scalars and `index` (int64).

Which loops run on threads, which are vector loops, which reductions share a loop and
which divisions become products are decided by cpu -> cpu passes (`cpu-parallelize`,
`cpu-group-reductions`, `cpu-hoist-reciprocals`) and written on these ops; the C
emitter only translates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    IndexType,
    IntegerAttr,
    MemRefType,
    StringAttr,
    UnitAttr,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Dialect, Region, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsolatedFromAbove, IsTerminator, NoTerminator, Pure
from xdsl.utils.exceptions import VerifyException

from lamina.dialects import gemm_layout
from lamina.dialects.scalar import check_kernel_body
from lamina.dialects.syntax import int_array as _ints
from lamina.dialects.syntax import int_tuple as _int_list
from lamina.dialects.syntax import numel as _numel
from lamina.dialects.syntax import parse_index_vars, parse_int_list

REDUCE_KINDS = ("add", "mul", "max", "min", "argmax", "argmin")
ARG_KINDS = ("argmax", "argmin")  # a reduction of these kinds has no company
# how much of a cpu.reduce's nest is one vector loop: all of it, or its innermost loop
REDUCE_SIMD = ("nest", "inner")


def _print_bounds_and_ivs(printer: Printer, bounds: Sequence[int], ivs: Sequence[SSAValue]):
    printer.print_string(" [" + ", ".join(str(b) for b in bounds) + "] (")
    printer.print_list(ivs, printer.print_ssa_value)
    printer.print_string(")")


def _parse_bounds_and_ivs(parser: Parser) -> tuple[list[int], list[Parser.Argument]]:
    bounds = parse_int_list(parser)
    return bounds, parse_index_vars(parser)


def _verify_space(op: IRDLOperation, bounds: Sequence[int], block: Block, first: int = 0):
    if any(b < 0 for b in bounds):
        raise VerifyException(f"{op.name}: negative bound in {list(bounds)}")
    ivs = block.args[first:first + len(bounds)]
    if len(ivs) != len(bounds) or any(not isinstance(a.type, IndexType) for a in ivs):
        raise VerifyException(f"{op.name}: expected {len(bounds)} index induction variables")


class _LoopNest(IRDLOperation):
    """Shared accessors of ops that own an iteration space (`bounds`, one index iv each)."""

    @property
    def space(self) -> tuple[int, ...]:
        return _int_list(self.bounds)  # type: ignore[attr-defined]

    @property
    def ivs(self) -> tuple[SSAValue, ...]:
        return tuple(self.body.block.args[: len(self.space)])  # type: ignore[attr-defined]


@irdl_op_definition
class KernelOp(_LoopNest):
    """One kernel = one C function, parallel over `bounds`.

    Isolated from above: the buffers (and scalars) it uses are its `args`, bound to
    block arguments after the induction variables, so the IR shows the C signature.
    `omp`: threads split the outer `collapse(c)` dims (all of them without
    `collapse`); `simd`: the innermost dim is a vector loop.

        cpu.kernel "add_0" parallel [64, 128] (%i, %j) omp collapse(1) simd args(%a = %x, %b = %y : memref<64x128xf32>, memref<64x128xf32>) { ... }
    """

    name = "cpu.kernel"
    sym_name = prop_def(StringAttr)
    bounds = prop_def(DenseArrayBase)
    omp = opt_prop_def(UnitAttr)
    collapse = opt_prop_def(IntegerAttr)  # outer dims under the OpenMP loop (with omp)
    simd = opt_prop_def(UnitAttr)
    args = var_operand_def()
    body = region_def("single_block")
    traits = traits_def(IsolatedFromAbove(), NoTerminator())

    def __init__(self, name: str, bounds: Sequence[int], args: Sequence[SSAValue],
                 omp: bool = True, body: Region | None = None, collapse: int | None = None,
                 simd: bool = False):
        if body is None:
            types = [IndexType()] * len(bounds) + [a.type for a in args]
            body = Region(Block(arg_types=types))
        props: dict[str, Attribute] = {"sym_name": StringAttr(name), "bounds": _ints(bounds)}
        if omp:
            props["omp"] = UnitAttr()
        if collapse is not None:
            props["collapse"] = IntegerAttr(collapse, i64)
        if simd:
            props["simd"] = UnitAttr()
        super().__init__(operands=[list(args)], properties=props, regions=[body])

    @property
    def params(self) -> tuple[SSAValue, ...]:
        return tuple(self.body.block.args[len(self.space):])

    @property
    def threaded_dims(self) -> int:
        """How many outer dims the OpenMP loop splits (0 without `omp`)."""
        if self.omp is None:
            return 0
        if self.collapse is None:
            return len(self.space)
        return int(self.collapse.value.data)  # type: ignore[attr-defined]

    def verify_(self) -> None:
        block = self.body.block
        _verify_space(self, self.space, block)
        params = self.params
        if len(params) != len(self.args):
            raise VerifyException(f"cpu.kernel: {len(self.args)} args but {len(params)} params")
        for arg, param in zip(self.args, params, strict=True):
            if arg.type != param.type:
                raise VerifyException(
                    f"cpu.kernel: param type {param.type} differs from arg type {arg.type}")
        n = len(self.space)
        if self.collapse is not None:
            c = int(self.collapse.value.data)  # type: ignore[attr-defined]
            if self.omp is None:
                raise VerifyException("cpu.kernel: collapse needs omp")
            if not 1 <= c <= n:
                raise VerifyException(f"cpu.kernel: collapse({c}) must be in [1, {n}] "
                                      f"for {n} parallel dims")
        if self.omp is not None and n == 0:
            raise VerifyException("cpu.kernel: omp needs at least one parallel dim")
        if self.simd is not None and n == 0:
            raise VerifyException("cpu.kernel: simd needs at least one parallel dim")
        check_kernel_body(block, f"cpu.kernel {self.sym_name.data!r}")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.sym_name.data)
        printer.print_string(" parallel")
        _print_bounds_and_ivs(printer, self.space, self.ivs)
        if self.omp is not None:
            printer.print_string(" omp")
        if self.collapse is not None:
            printer.print_string(f" collapse({self.collapse.value.data})")  # type: ignore[attr-defined]
        if self.simd is not None:
            printer.print_string(" simd")
        if self.args:
            printer.print_string(" args(")
            printer.print_list(zip(self.params, self.args, strict=True),
                               lambda pa: (printer.print_ssa_value(pa[0]),
                                           printer.print_string(" = "),
                                           printer.print_ssa_value(pa[1])))
            printer.print_string(" : ")
            printer.print_list([a.type for a in self.args], printer.print_attribute)
            printer.print_string(")")
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    @classmethod
    def parse(cls, parser: Parser) -> KernelOp:
        name = parser.parse_str_literal()
        parser.parse_keyword("parallel")
        bounds, ivs = _parse_bounds_and_ivs(parser)
        omp = parser.parse_optional_keyword("omp") is not None
        collapse = None
        if parser.parse_optional_keyword("collapse") is not None:
            parser.parse_punctuation("(")
            collapse = parser.parse_integer()
            parser.parse_punctuation(")")
        simd = parser.parse_optional_keyword("simd") is not None
        params: list[Parser.UnresolvedArgument] = []
        operands: list[UnresolvedOperand] = []
        if parser.parse_optional_keyword("args") is not None:
            parser.parse_punctuation("(")

            def assignment() -> None:
                params.append(parser.parse_argument(expect_type=False))
                parser.parse_punctuation("=")
                operands.append(parser.parse_unresolved_operand())

            parser.parse_comma_separated_list(parser.Delimiter.NONE, assignment)
            parser.parse_punctuation(":")
            types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
            parser.parse_punctuation(")")
            if len(types) != len(operands):
                parser.raise_error(f"expected {len(operands)} types, got {len(types)}")
        else:
            types = []
        args = parser.resolve_operands(operands, types, parser.pos)
        block_args = ivs + [p.resolve(t) for p, t in zip(params, types, strict=True)]
        body = parser.parse_region(block_args)
        return cls(name, bounds, args, omp, body, collapse, simd)


@irdl_op_definition
class ForOp(_LoopNest):
    """An inner loop nest inside a kernel. `simd`: iterations are independent, so the
    innermost loop is vectorized (`#pragma omp simd`); without it they run in order
    (read-modify-write, e.g. scatter-add).

        cpu.for [16, 128] (%k0, %k1) simd { ... }
    """

    name = "cpu.for"
    bounds = prop_def(DenseArrayBase)
    simd = opt_prop_def(UnitAttr)
    body = region_def("single_block")
    traits = lazy_traits_def(lambda: (NoTerminator(),
                                      HasParent(KernelOp, ForOp, ReduceOp, IfOp)))

    def __init__(self, bounds: Sequence[int], simd: bool = True, body: Region | None = None):
        if body is None:
            body = Region(Block(arg_types=[IndexType()] * len(bounds)))
        props: dict[str, Attribute] = {"bounds": _ints(bounds)}
        if simd:
            props["simd"] = UnitAttr()
        super().__init__(properties=props, regions=[body])

    def verify_(self) -> None:
        _verify_space(self, self.space, self.body.block)
        if len(self.body.block.args) != len(self.space):
            raise VerifyException("cpu.for: block arguments must be the induction variables")

    def print(self, printer: Printer) -> None:
        _print_bounds_and_ivs(printer, self.space, self.ivs)
        if self.simd is not None:
            printer.print_string(" simd")
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    @classmethod
    def parse(cls, parser: Parser) -> ForOp:
        bounds, ivs = _parse_bounds_and_ivs(parser)
        simd = parser.parse_optional_keyword("simd") is not None
        return cls(bounds, simd, parser.parse_region(ivs))


@irdl_op_definition
class ReduceOp(_LoopNest):
    """Reductions over one inner iteration space, each kept in a C accumulator: one
    per kind, with the matching `init` as its start and the matching yielded value.

    add/mul/max/min reduce the yielded value (max/min propagate NaN, as torch);
    argmax/argmin (alone in their op) have a second result, the i64 linear index
    (row-major within `bounds`) of the first extremum, NaN counting as the extremum.
    `simd`: the nest is one vector loop, its reductions reassociated (`simd inner`:
    only the innermost loop); without it the elements are combined in order.

        %s = cpu.reduce "add" [128] (%k) simd init(%zero : f32) -> f32 { ... cpu.yield %v : f32 }
        %s, %m = cpu.reduce "add", "max" [128] (%k) simd init(%zero, %ninf : f32, f32) -> f32, f32 { ... cpu.yield %v, %v : f32, f32 }
        %m, %i = cpu.reduce "argmax" [8] (%k) init(%ninf : f32) -> f32, i64 { ... }
    """

    name = "cpu.reduce"
    kinds = prop_def(ArrayAttr)  # StringAttrs from REDUCE_KINDS
    bounds = prop_def(DenseArrayBase)
    simd = opt_prop_def(StringAttr)  # from REDUCE_SIMD
    inits = var_operand_def()
    res = var_result_def()
    body = region_def("single_block")
    traits = lazy_traits_def(lambda: (HasParent(KernelOp, ForOp, ReduceOp, IfOp),))

    def __init__(self, kinds: str | Sequence[str], bounds: Sequence[int],
                 inits: SSAValue | Sequence[SSAValue], body: Region | None = None,
                 simd: str | None = None):
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        inits = [inits] if isinstance(inits, SSAValue) else list(inits)
        if body is None:
            body = Region(Block(arg_types=[IndexType()] * len(bounds)))
        props: dict[str, Attribute] = {"kinds": ArrayAttr([StringAttr(k) for k in kinds]),
                                       "bounds": _ints(bounds)}
        if simd is not None:
            props["simd"] = StringAttr(simd)
        super().__init__(operands=[inits], result_types=[_reduce_types(kinds, inits)],
                         regions=[body], properties=props)

    @property
    def kind_names(self) -> tuple[str, ...]:
        return tuple(k.data for k in self.kinds.data)  # type: ignore[attr-defined]

    @property
    def simd_name(self) -> str | None:
        return None if self.simd is None else self.simd.data

    def verify_(self) -> None:
        if not self.kinds.data:
            raise VerifyException("cpu.reduce: no kinds")
        for k in self.kinds.data:
            if not isinstance(k, StringAttr) or k.data not in REDUCE_KINDS:
                name = k.data if isinstance(k, StringAttr) else str(k)
                raise VerifyException(f"cpu.reduce: unknown kind {name!r}; one of {REDUCE_KINDS}")
        kinds = self.kind_names
        if len(kinds) > 1 and any(k in ARG_KINDS for k in kinds):
            raise VerifyException(f"cpu.reduce: {'/'.join(ARG_KINDS)} reduce alone, not with "
                                  f"{list(kinds)}")
        if len(self.inits) != len(kinds):
            raise VerifyException(f"cpu.reduce: {len(kinds)} kinds but {len(self.inits)} inits")
        _verify_space(self, self.space, self.body.block)
        last = self.body.block.last_op
        if not isinstance(last, YieldOp) or len(last.operands) != len(kinds):
            raise VerifyException(f"cpu.reduce: the body must end with a `cpu.yield` of "
                                  f"{len(kinds)} value(s)")
        for value, init in zip(last.operands, self.inits, strict=True):
            if value.type != init.type:
                raise VerifyException(f"cpu.reduce: yields {value.type} but init is {init.type}")
        want = _reduce_types(kinds, self.inits)
        if list(self.res.types) != want:
            raise VerifyException(f"cpu.reduce {', '.join(map(repr, kinds))}: results must be "
                                  f"{[str(t) for t in want]}")
        simd = self.simd_name
        if simd is not None:
            if simd not in REDUCE_SIMD:
                raise VerifyException(f"cpu.reduce: simd {simd!r} is not one of {REDUCE_SIMD}")
            if kinds[0] in ARG_KINDS or not self.space:
                raise VerifyException(f"cpu.reduce {kinds[0]!r} over {list(self.space)}: "
                                      "no simd loop")
            if simd == "inner" and len(self.space) < 2:
                raise VerifyException("cpu.reduce: simd inner needs two or more loops")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list(self.kind_names, printer.print_string_literal)
        _print_bounds_and_ivs(printer, self.space, self.ivs)
        if self.simd is not None:
            printer.print_string(" simd" + ("" if self.simd.data == "nest"
                                            else f" {self.simd.data}"))
        printer.print_string(" init(")
        printer.print_list(self.inits, printer.print_operand)
        printer.print_string(" : ")
        printer.print_list(self.inits.types, printer.print_attribute)
        printer.print_string(") -> ")
        printer.print_list(self.res.types, printer.print_attribute)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    @classmethod
    def parse(cls, parser: Parser) -> ReduceOp:
        kinds = parser.parse_comma_separated_list(parser.Delimiter.NONE,
                                                  parser.parse_str_literal)
        bounds, ivs = _parse_bounds_and_ivs(parser)
        simd = None
        if parser.parse_optional_keyword("simd") is not None:
            simd = parser.parse_optional_keyword_in(REDUCE_SIMD[1:]) or "nest"
        parser.parse_keyword("init")
        parser.parse_punctuation("(")
        operands = parser.parse_comma_separated_list(parser.Delimiter.NONE,
                                                     parser.parse_unresolved_operand)
        parser.parse_punctuation(":")
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        if len(types) != len(operands):
            parser.raise_error(f"expected {len(operands)} types, got {len(types)}")
        inits = parser.resolve_operands(operands, types, parser.pos)
        parser.parse_punctuation(")")
        parser.parse_punctuation("->")
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        op = cls(kinds, bounds, inits, parser.parse_region(ivs), simd)
        if list(op.res.types) != types:
            parser.raise_error(f"cpu.reduce {', '.join(map(repr, kinds))}: bad result types "
                               f"{[str(t) for t in types]}")
        return op


def _reduce_types(kinds: Sequence[str], inits: Sequence[SSAValue]) -> list[Attribute]:
    """One result per reduction (its init's type), and the index of an arg-reduction."""
    types: list[Attribute] = []
    for kind, init in zip(kinds, inits, strict=False):
        types += [init.type] + ([i64] if kind in ARG_KINDS else [])
    return types


@irdl_op_definition
class IfOp(IRDLOperation):
    """`if (cond) { ... } else { ... }` inside a kernel; `else` may be empty.

        cpu.if %ok { cpu.for [128] (%k) simd { ... } } else { cpu.for [128] (%k) simd { ... } }
    """

    name = "cpu.if"
    cond = operand_def(i1)
    then_region = region_def("single_block")
    else_region = region_def("single_block")
    traits = lazy_traits_def(lambda: (NoTerminator(),
                                      HasParent(KernelOp, ForOp, ReduceOp, IfOp)))

    def __init__(self, cond: SSAValue, then_region: Region | None = None,
                 else_region: Region | None = None):
        super().__init__(operands=[cond], regions=[then_region or Region(Block()),
                                                   else_region or Region(Block())])

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.cond)
        printer.print_string(" ")
        printer.print_region(self.then_region, print_entry_block_args=False)
        if self.else_region.block.ops:
            printer.print_string(" else ")
            printer.print_region(self.else_region, print_entry_block_args=False)

    @classmethod
    def parse(cls, parser: Parser) -> IfOp:
        cond = parser.resolve_operand(parser.parse_unresolved_operand(), i1)
        regions = [parser.parse_region()]
        if parser.parse_optional_keyword("else") is not None:
            regions.append(parser.parse_region())
        for region in regions:
            if not region.blocks:
                region.add_block(Block())
        return cls(cond, *regions)


@irdl_op_definition
class YieldOp(IRDLOperation):
    """The value of one iteration of a `cpu.reduce`: `cpu.yield %v : f32`."""

    name = "cpu.yield"
    values = var_operand_def()
    traits = traits_def(IsTerminator(), HasParent(ReduceOp))
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[list(values)])


def _element(buf: SSAValue, op: str) -> Attribute:
    if not isinstance(buf.type, MemRefType):
        raise VerifyException(f"{op}: expected a memref buffer, got {buf.type}")
    return buf.type.element_type


@irdl_op_definition
class LoadOp(IRDLOperation):
    """`p[offset]`: one element at a linear (row-major) int64 offset. With a mask,
    `mask ? p[offset] : other` (no memory access where the mask is false).

        %v = cpu.load %a[%o] : memref<64x128xf32>
        %w = cpu.load %a[%o] if %inb else %zero : memref<64x128xf32>
    """

    name = "cpu.load"
    buffer = operand_def(MemRefType)
    offset = operand_def(IndexType)
    mask = opt_operand_def(i1)
    other = opt_operand_def()
    result = result_def()
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    def __init__(self, buffer: SSAValue, offset: SSAValue, mask: SSAValue | None = None,
                 other: SSAValue | None = None):
        super().__init__(operands=[buffer, offset, [mask] if mask else [],
                                   [other] if other else []],
                         result_types=[_element(buffer, "cpu.load")])

    def verify_(self) -> None:
        elem = _element(self.buffer, self.name)
        if self.result.type != elem:
            raise VerifyException(f"cpu.load: result {self.result.type} is not the element "
                                  f"type of {self.buffer.type}")
        if (self.mask is None) != (self.other is None):
            raise VerifyException("cpu.load: a mask needs an `other` value and vice versa")
        if self.other is not None and self.other.type != elem:
            raise VerifyException(f"cpu.load: other value {self.other.type} is not {elem}")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.buffer)
        printer.print_string("[")
        printer.print_operand(self.offset)
        printer.print_string("]")
        if self.mask is not None and self.other is not None:
            printer.print_string(" if ")
            printer.print_operand(self.mask)
            printer.print_string(" else ")
            printer.print_operand(self.other)
        printer.print_string(" : ")
        printer.print_attribute(self.buffer.type)

    @classmethod
    def parse(cls, parser: Parser) -> LoadOp:
        buf = parser.parse_unresolved_operand()
        parser.parse_punctuation("[")
        offset = parser.parse_unresolved_operand()
        parser.parse_punctuation("]")
        mask = other = None
        if parser.parse_optional_keyword("if") is not None:
            mask = parser.parse_unresolved_operand()
            parser.parse_keyword("else")
            other = parser.parse_unresolved_operand()
        parser.parse_punctuation(":")
        t = parser.parse_type()
        elem = _element_of_type(t, parser)
        return cls(parser.resolve_operand(buf, t), parser.resolve_operand(offset, IndexType()),
                   parser.resolve_operand(mask, i1) if mask else None,
                   parser.resolve_operand(other, elem) if other else None)


@irdl_op_definition
class StoreOp(IRDLOperation):
    """`p[offset] = value`.

        cpu.store %v, %b[%o] : memref<64x128xf32>
    """

    name = "cpu.store"
    value = operand_def()
    buffer = operand_def(MemRefType)
    offset = operand_def(IndexType)

    def __init__(self, value: SSAValue, buffer: SSAValue, offset: SSAValue):
        super().__init__(operands=[value, buffer, offset])

    def verify_(self) -> None:
        if self.value.type != _element(self.buffer, self.name):
            raise VerifyException(f"cpu.store: value {self.value.type} is not the element "
                                  f"type of {self.buffer.type}")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.value)
        printer.print_string(", ")
        printer.print_operand(self.buffer)
        printer.print_string("[")
        printer.print_operand(self.offset)
        printer.print_string("] : ")
        printer.print_attribute(self.buffer.type)

    @classmethod
    def parse(cls, parser: Parser) -> StoreOp:
        value = parser.parse_unresolved_operand()
        parser.parse_punctuation(",")
        buf = parser.parse_unresolved_operand()
        parser.parse_punctuation("[")
        offset = parser.parse_unresolved_operand()
        parser.parse_punctuation("]")
        parser.parse_punctuation(":")
        t = parser.parse_type()
        return cls(parser.resolve_operand(value, _element_of_type(t, parser)),
                   parser.resolve_operand(buf, t), parser.resolve_operand(offset, IndexType()))


def _element_of_type(t: Attribute, parser: Parser) -> Attribute:
    if not isinstance(t, MemRefType):
        parser.raise_error(f"expected a memref type, got {t}")
    return t.element_type


@irdl_op_definition
class ViewOp(IRDLOperation):
    """The same contiguous buffer under another shape (a pointer copy in C).

        %v = cpu.view %a : memref<4x8xf32> -> memref<32xf32>
    """

    name = "cpu.view"
    source = operand_def(MemRefType)
    result = result_def(MemRefType)
    traits = traits_def(Pure())
    assembly_format = "$source attr-dict `:` type($source) `->` type($result)"

    def __init__(self, source: SSAValue, result_type: MemRefType):
        super().__init__(operands=[source], result_types=[result_type])

    def verify_(self) -> None:
        src, dst = self.source.type, self.result.type
        assert isinstance(src, MemRefType) and isinstance(dst, MemRefType)
        if src.element_type != dst.element_type or _numel(src) != _numel(dst):
            raise VerifyException(f"cpu.view: {src} and {dst} differ in element type or count")


GEMM_FLAGS = ("transpose_a", "transpose_b", "accumulate")


@irdl_op_definition
class GemmOp(IRDLOperation):
    """`c[b] (+)= op(a[b]) @ op(b[b])` for every batch b: a call into the blocked GEMM
    microkernel of the element type. `a` holds batch×m×k (k×m if transpose_a), `b`
    batch×k×n (n×k if transpose_b), `c` batch×m×n, all contiguous; an `a` of m×k
    (a `b` of k×n) elements is shared by every batch, as in `loop.matmul`. A `views`
    clause (`lamina.dialects.gemm_layout`) gives offsets, row strides (lda, ldb, ldc)
    and per-batch-dim strides instead.

        cpu.gemm %a, %b, %c batch=1 m=64 n=32 k=16 transpose_b : memref<64x16xf32>, memref<32x16xf32>, memref<64x32xf32>
        cpu.gemm %a, %b, %c batch=8 m=4 n=4 k=2 transpose_b views [2, 4] a=[0, 24, 96, 2] b=[8, 24, 96, 2] c=[0, 4, 64, 16] : memref<2x4x24xf32>, memref<2x4x24xf32>, memref<2x4x4x4xf32>
    """

    name = "cpu.gemm"
    a = operand_def(MemRefType)
    b = operand_def(MemRefType)
    c = operand_def(MemRefType)
    dims = prop_def(ArrayAttr)  # [batch, m, n, k] as IntegerAttrs
    flags = prop_def(ArrayAttr)  # names from GEMM_FLAGS that are set
    layout = opt_prop_def(DenseArrayBase)  # GemmLayout.flat(); absent: contiguous
    DIMS: ClassVar = ("batch", "m", "n", "k")

    def __init__(self, a: SSAValue, b: SSAValue, c: SSAValue, batch: int, m: int, n: int,
                 k: int, transpose_a: bool = False, transpose_b: bool = False,
                 accumulate: bool = False, views: gemm_layout.GemmLayout | None = None):
        flags = [name for name, on in zip(GEMM_FLAGS, (transpose_a, transpose_b, accumulate),
                                          strict=True) if on]
        props: dict[str, Attribute] = {
            "dims": ArrayAttr([IntegerAttr(v, i64) for v in (batch, m, n, k)]),
            "flags": ArrayAttr([StringAttr(f) for f in flags])}
        layout = gemm_layout.layout_property(views, (batch, m, n, k), transpose_a,
                                             transpose_b, (a, b, c))
        if layout is not None:
            props["layout"] = layout
        super().__init__(operands=[a, b, c], properties=props)

    def views(self) -> gemm_layout.GemmLayout:
        """Where the matrices lie (the contiguous layout unless a `views` clause says)."""
        dims = tuple(self.dim(d) for d in self.DIMS)
        return gemm_layout.of_op(self.layout, dims, self.flag("transpose_a"),  # type: ignore[arg-type]
                                 self.flag("transpose_b"), self.a, self.b)

    def dim(self, name: str) -> int:
        return int(self.dims.data[self.DIMS.index(name)].value.data)  # type: ignore[attr-defined]

    def flag(self, name: str) -> bool:
        return any(f.data == name for f in self.flags.data)  # type: ignore[attr-defined]

    def verify_(self) -> None:
        if len(self.dims.data) != 4:
            raise VerifyException("cpu.gemm: dims must be [batch, m, n, k]")
        batch, m, n, k = (self.dim(d) for d in self.DIMS)
        want = {"a": (m * k, batch * m * k), "b": (k * n, batch * k * n),
                "c": (batch * m * n,)}
        for name, counts in want.items():
            t = getattr(self, name).type
            if self.layout is None and _numel(t) not in counts:
                raise VerifyException(f"cpu.gemm: {name} is {t} but batch={batch} m={m} "
                                      f"n={n} k={k} needs {counts[-1]} elements")
        if self.layout is not None:
            shapes = gemm_layout.stored_shapes(m, n, k, self.flag("transpose_a"),
                                               self.flag("transpose_b"))
            numels = {o: _numel(getattr(self, o).type) for o in gemm_layout.OPERANDS}
            why = gemm_layout.check(self.views(), batch, shapes, numels)
            if why is not None:
                raise VerifyException(f"cpu.gemm: {why}")
        types = {self.a.type.element_type, self.b.type.element_type, self.c.type.element_type}
        if len(types) != 1:
            raise VerifyException(f"cpu.gemm: element types differ: {sorted(map(str, types))}")
        for f in self.flags.data:
            if not isinstance(f, StringAttr) or f.data not in GEMM_FLAGS:
                raise VerifyException(f"cpu.gemm: unknown flag {f}; flags are {GEMM_FLAGS}")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list((self.a, self.b, self.c), printer.print_operand)
        for d in self.DIMS:
            printer.print_string(f" {d}={self.dim(d)}")
        for f in self.flags.data:
            printer.print_string(f" {f.data}")  # type: ignore[attr-defined]
        if self.layout is not None:
            gemm_layout.print_views(printer, self.views())
        printer.print_string(" : ")
        printer.print_list((self.a.type, self.b.type, self.c.type), printer.print_attribute)

    @classmethod
    def parse(cls, parser: Parser) -> GemmOp:
        ops = parser.parse_comma_separated_list(parser.Delimiter.NONE,
                                                parser.parse_unresolved_operand)
        if len(ops) != 3:
            parser.raise_error("cpu.gemm takes three buffers: a, b, c")
        dims = {}
        for d in cls.DIMS:
            parser.parse_keyword(d)
            parser.parse_punctuation("=")
            dims[d] = parser.parse_integer()
        flags = {f: False for f in GEMM_FLAGS}
        while (word := parser.parse_optional_keyword_in(GEMM_FLAGS)) is not None:
            flags[word] = True
        views = gemm_layout.parse_views(parser)
        parser.parse_punctuation(":")
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        if len(types) != 3:
            parser.raise_error("cpu.gemm needs three buffer types")
        a, b, c = parser.resolve_operands(ops, types, parser.pos)
        return cls(a, b, c, **dims, **flags, views=views)


CPU = Dialect("cpu", [KernelOp, ForOp, ReduceOp, IfOp, YieldOp, LoadOp, StoreOp, ViewOp,
                     GemmOp], [])

__all__ = ["ARG_KINDS", "CPU", "REDUCE_KINDS", "REDUCE_SIMD", "ForOp", "GemmOp", "IfOp",
           "KernelOp", "LoadOp", "ReduceOp", "StoreOp", "ViewOp", "YieldOp"]
