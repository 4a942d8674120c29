"""The `tile` dialect: a Triton program at block level, one op per `triton.language` call.

A `tile.kernel` is one `@triton.jit` function; its arguments are pointers
(`!tile.ptr<f32>`). Block-shaped values are builtin tensors (`tensor<128xf32>`),
as in Triton's own IR; scalars are plain `f32`/`i32`/`i1`. Arithmetic on scalars
and blocks reuses `arith`/`math` where xDSL accepts tensors (addf, mulf, exp, ...);
comparisons, `where` and casts, which xDSL's arith restricts to scalars, are tile
ops. Loops are `scf.for` over `i32` (Triton's `range`). The host program that
allocates buffers and launches kernels is a `func.func` with `memref` ops and
`tile.launch`. Sample:

    tile.kernel @add_0(%x: !tile.ptr<f32>, %out: !tile.ptr<f32>) {
      %pid = tile.program_id 0
      %r = tile.arange 0, 128 : tensor<128xi32>
      %v = tile.load %x[%r] : !tile.ptr<f32>, tensor<128xi32> -> tensor<128xf32>
      tile.store %v, %out[%r] : tensor<128xf32>, !tile.ptr<f32>, tensor<128xi32>
      tile.return
    }
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    I32,
    I64,
    DenseArrayBase,
    FunctionType,
    IntegerAttr,
    StringAttr,
    SymbolNameConstraint,
    SymbolRefAttr,
    TensorType,
    i1,
    i32,
    i64,
)
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, Region, SSAValue, TypeAttribute
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    VarConstraint,
    base,
    irdl_attr_definition,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    opt_operand_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsolatedFromAbove, IsTerminator, Pure, SymbolOpInterface
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.scalar import check_kernel_body

REDUCE_KINDS = ("sum", "prod", "max", "min", "or", "and")
ARG_KINDS = ("argmax", "argmin")
INT_PREDICATES = ("eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge")
FLOAT_PREDICATES = ("false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord", "ueq", "ugt",
                    "uge", "ult", "ule", "une", "uno", "true")
CMP_PREDICATES = INT_PREDICATES + FLOAT_PREDICATES
CAST_KINDS = ("signed", "unsigned", "bitcast")


@irdl_attr_definition
class PtrType(ParametrizedAttribute, TypeAttribute):
    """`!tile.ptr<f32>`: a pointer to global memory holding elements of one type."""

    name = "tile.ptr"
    pointee: Attribute

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_attribute(self.pointee)

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            return (parser.parse_type(),)


def shape_of(t: Attribute) -> tuple[int, ...]:
    """The block shape of a value type; () for a scalar."""
    return tuple(t.get_shape()) if isinstance(t, TensorType) else ()


def element_of(t: Attribute) -> Attribute:
    return t.get_element_type() if isinstance(t, TensorType) else t


def block_of(shape: Sequence[int], element: Attribute) -> Attribute:
    """A block type of `shape`, or the element type itself for a scalar."""
    return TensorType(element, list(shape)) if shape else element


def _int(value: int) -> IntegerAttr:
    return IntegerAttr(value, 64)


def _check_shapes(op: IRDLOperation, *values: SSAValue) -> None:
    shapes = {shape_of(v.type) for v in values}
    if len(shapes) > 1:
        raise VerifyException(f"{op.name}: operands have different block shapes {sorted(shapes)}")


# ---------------------------------------------------------------- kernels and launches


@irdl_op_definition
class KernelOp(IRDLOperation):
    """One `@triton.jit` function; arguments are pointers and scalars.

        tile.kernel @k(%x: !tile.ptr<f32>) { tile.return }
    """

    name = "tile.kernel"
    sym_name = prop_def(SymbolNameConstraint())
    function_type = prop_def(FunctionType)
    body = region_def("single_block")
    traits = lazy_traits_def(lambda: (SymbolOpInterface(), IsolatedFromAbove()))

    def __init__(self, name: str, body: Region):
        arg_types = [a.type for a in body.block.args]
        super().__init__(properties={"sym_name": StringAttr(name),
                                     "function_type": FunctionType.from_lists(arg_types, [])},
                         regions=[body])

    def verify_(self) -> None:
        if not isinstance(self.body.block.last_op, ReturnOp):
            raise VerifyException(f"tile.kernel @{self.sym_name.data} must end in tile.return")
        check_kernel_body(self.body.block, f"tile.kernel @{self.sym_name.data}")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        with printer.in_parens():
            printer.print_list(self.body.block.args, printer.print_block_argument)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    @classmethod
    def parse(cls, parser: Parser) -> KernelOp:
        name = parser.parse_symbol_name().data
        args = parser.parse_comma_separated_list(parser.Delimiter.PAREN, parser.parse_argument)
        return cls(name, parser.parse_region(args))


@irdl_op_definition
class ReturnOp(IRDLOperation):
    """Terminator of a `tile.kernel`: `tile.return`."""

    name = "tile.return"
    traits = traits_def(IsTerminator(), HasParent(KernelOp))
    assembly_format = "attr-dict"


@irdl_op_definition
class LaunchOp(IRDLOperation):
    """Host side: launch a kernel on a grid with buffers and scalars as arguments.

        tile.launch @k grid array<i64: 4, 1, 1> warps 4 stages 2 (%x) : memref<64xf32>
    """

    name = "tile.launch"
    kernel = prop_def(SymbolRefAttr)
    grid = prop_def(DenseArrayBase)
    num_warps = prop_def(IntegerAttr[I64])
    num_stages = prop_def(IntegerAttr[I64])
    args = var_operand_def()
    assembly_format = ("$kernel `grid` qualified($grid) `warps` $num_warps `stages` $num_stages "
                       "`(` $args `)` attr-dict `:` type($args)")

    def __init__(self, kernel: str, grid: Sequence[int], args: Sequence[SSAValue],
                 num_warps: int = 4, num_stages: int = 2):
        grid3 = [int(g) for g in grid] + [1] * (3 - len(grid))
        super().__init__(operands=[list(args)], properties={
            "kernel": SymbolRefAttr(kernel), "grid": DenseArrayBase.from_list(i64, grid3),
            "num_warps": _int(num_warps), "num_stages": _int(num_stages)})

    @property
    def grid_sizes(self) -> tuple[int, ...]:
        return tuple(int(g) for g in self.grid.get_values())

    def verify_(self) -> None:
        if len(self.grid_sizes) != 3 or min(self.grid_sizes) < 1:
            raise VerifyException("tile.launch: grid must be 3 positive sizes")


# ---------------------------------------------------------------- block creation


@irdl_op_definition
class ProgramIdOp(IRDLOperation):
    """`tl.program_id(axis)`: `%p = tile.program_id 0`."""

    name = "tile.program_id"
    axis = prop_def(IntegerAttr[I64])
    result = result_def(I32)
    traits = traits_def(Pure())
    assembly_format = "$axis attr-dict"

    def __init__(self, axis: int):
        super().__init__(properties={"axis": _int(axis)}, result_types=[i32])

    def verify_(self) -> None:
        if self.axis.value.data not in (0, 1, 2):
            raise VerifyException("tile.program_id: axis must be 0, 1 or 2")


@irdl_op_definition
class ArangeOp(IRDLOperation):
    """`tl.arange(start, end)`: `%r = tile.arange 0, 128 : tensor<128xi32>`."""

    name = "tile.arange"
    start = prop_def(IntegerAttr[I64])
    end = prop_def(IntegerAttr[I64])
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$start `,` $end attr-dict `:` type($result)"

    def __init__(self, start: int, end: int):
        super().__init__(properties={"start": _int(start), "end": _int(end)},
                         result_types=[TensorType(i32, [end - start])])

    def verify_(self) -> None:
        n = self.end.value.data - self.start.value.data
        if n <= 0 or n & (n - 1):
            raise VerifyException(f"tile.arange: length {n} is not a power of two")
        if shape_of(self.result.type) != (n,) or element_of(self.result.type) != i32:
            raise VerifyException(f"tile.arange: result must be tensor<{n}xi32>")


@irdl_op_definition
class SplatOp(IRDLOperation):
    """A scalar broadcast to a block: `%b = tile.splat %s : f32 -> tensor<128xf32>`."""

    name = "tile.splat"
    input = operand_def()
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, value: SSAValue, shape: Sequence[int]):
        super().__init__(operands=[value], result_types=[TensorType(value.type, list(shape))])

    def verify_(self) -> None:
        if element_of(self.result.type) != self.input.type:
            raise VerifyException("tile.splat: element type differs from the scalar's")


@irdl_op_definition
class ExpandDimsOp(IRDLOperation):
    """`tl.expand_dims(x, axis)`: `%e = tile.expand_dims %r 1 : tensor<4xi32> -> tensor<4x1xi32>`."""

    name = "tile.expand_dims"
    input = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input $axis attr-dict `:` type($input) `->` type($result)"

    def __init__(self, value: SSAValue, axis: int):
        shape = list(shape_of(value.type))
        shape.insert(axis, 1)
        super().__init__(operands=[value], properties={"axis": _int(axis)},
                         result_types=[TensorType(element_of(value.type), shape)])

    def verify_(self) -> None:
        shape = list(shape_of(self.input.type))
        shape.insert(self.axis.value.data, 1)
        if tuple(shape) != shape_of(self.result.type):
            raise VerifyException("tile.expand_dims: wrong result shape")


@irdl_op_definition
class BroadcastOp(IRDLOperation):
    """`tl.broadcast_to`: size-1 dims grow, e.g. `tensor<4x1xi32> -> tensor<4x8xi32>`."""

    name = "tile.broadcast"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, value: SSAValue, shape: Sequence[int]):
        super().__init__(operands=[value],
                         result_types=[TensorType(element_of(value.type), list(shape))])

    def verify_(self) -> None:
        src, dst = shape_of(self.input.type), shape_of(self.result.type)
        if len(src) != len(dst) or any(s not in (1, d) for s, d in zip(src, dst, strict=True)):
            raise VerifyException(f"tile.broadcast: cannot broadcast {src} to {dst}")


@irdl_op_definition
class TransOp(IRDLOperation):
    """`tl.trans(x)` of a 2-d block: `%t = tile.trans %x : tensor<64x32xf32> -> tensor<32x64xf32>`."""

    name = "tile.trans"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, value: SSAValue):
        rows, cols = shape_of(value.type)
        super().__init__(operands=[value],
                         result_types=[TensorType(element_of(value.type), [cols, rows])])

    def verify_(self) -> None:
        src = shape_of(self.input.type)
        if len(src) != 2 or shape_of(self.result.type) != src[::-1] or \
                element_of(self.result.type) != element_of(self.input.type):
            raise VerifyException(f"tile.trans: {self.input.type} -> {self.result.type} is not "
                                  "a 2-d transpose")


# ---------------------------------------------------------------- memory


@irdl_op_definition
class LoadOp(IRDLOperation):
    """`tl.load(ptr + offsets, mask=mask, other=0)`; scalar offsets load a scalar.

        %v = tile.load %x[%offs] mask %m : !tile.ptr<f32>, tensor<128xi32> -> tensor<128xf32>
    """

    name = "tile.load"
    ptr = operand_def(PtrType)
    offsets = operand_def()
    mask = opt_operand_def()
    result = result_def()
    assembly_format = ("$ptr `[` $offsets `]` (`mask` $mask^)? attr-dict `:` type($ptr) `,` "
                       "type($offsets) `->` type($result) (`,` type($mask)^)?")

    def __init__(self, ptr: SSAValue, offsets: SSAValue, mask: SSAValue | None = None):
        assert isinstance(ptr.type, PtrType)
        result = block_of(shape_of(offsets.type), ptr.type.pointee)
        super().__init__(operands=[ptr, offsets, [mask] if mask else []], result_types=[result])

    def verify_(self) -> None:
        assert isinstance(self.ptr.type, PtrType)
        if element_of(self.result.type) != self.ptr.type.pointee:
            raise VerifyException("tile.load: result element type differs from the pointee")
        _check_shapes(self, self.offsets, self.result, *([self.mask] if self.mask else []))


@irdl_op_definition
class StoreOp(IRDLOperation):
    """`tl.store(ptr + offsets, value, mask=mask)`.

        tile.store %v, %out[%offs] : tensor<128xf32>, !tile.ptr<f32>, tensor<128xi32>
    """

    name = "tile.store"
    value = operand_def()
    ptr = operand_def(PtrType)
    offsets = operand_def()
    mask = opt_operand_def()
    assembly_format = ("$value `,` $ptr `[` $offsets `]` (`mask` $mask^)? attr-dict `:` "
                       "type($value) `,` type($ptr) `,` type($offsets) (`,` type($mask)^)?")

    def __init__(self, value: SSAValue, ptr: SSAValue, offsets: SSAValue,
                 mask: SSAValue | None = None):
        super().__init__(operands=[value, ptr, offsets, [mask] if mask else []])

    def verify_(self) -> None:
        assert isinstance(self.ptr.type, PtrType)
        if element_of(self.value.type) != self.ptr.type.pointee:
            raise VerifyException("tile.store: value element type differs from the pointee")
        _check_shapes(self, self.offsets, self.value, *([self.mask] if self.mask else []))


# ---------------------------------------------------------------- compute


@irdl_op_definition
class CmpOp(IRDLOperation):
    """Elementwise compare (arith predicate names): `%c = tile.cmp "olt", %a, %b : tensor<4xf32>`."""

    name = "tile.cmp"
    predicate = prop_def(StringAttr)
    lhs = operand_def()
    rhs = operand_def()
    result = result_def()
    traits = traits_def(Pure())

    def __init__(self, predicate: str, lhs: SSAValue, rhs: SSAValue):
        super().__init__(operands=[lhs, rhs], properties={"predicate": StringAttr(predicate)},
                         result_types=[block_of(shape_of(lhs.type), i1)])

    def verify_(self) -> None:
        if self.predicate.data not in CMP_PREDICATES:
            raise VerifyException(f"tile.cmp: unknown predicate {self.predicate.data!r}")
        if self.lhs.type != self.rhs.type:
            raise VerifyException("tile.cmp: operands differ in type")
        if self.result.type != block_of(shape_of(self.lhs.type), i1):
            raise VerifyException("tile.cmp: result must be i1 of the operands' shape")

    @classmethod
    def parse(cls, parser: Parser) -> CmpOp:  # the result type follows from the operands
        pred = parser.parse_str_literal()
        parser.parse_punctuation(",")
        a = parser.parse_unresolved_operand()
        parser.parse_punctuation(",")
        b = parser.parse_unresolved_operand()
        parser.parse_punctuation(":")
        t = parser.parse_type()
        lhs, rhs = parser.resolve_operands([a, b], [t, t], parser.pos)
        return cls(pred, lhs, rhs)

    def print(self, printer: Printer) -> None:
        printer.print_string(f' "{self.predicate.data}", ')
        printer.print_operand(self.lhs)
        printer.print_string(", ")
        printer.print_operand(self.rhs)
        printer.print_string(" : ")
        printer.print_attribute(self.lhs.type)


@irdl_op_definition
class WhereOp(IRDLOperation):
    """`tl.where(c, a, b)`: `%r = tile.where %c, %a, %b : tensor<4xi1>, tensor<4xf32>`."""

    name = "tile.where"
    T: ClassVar = VarConstraint("T", AnyAttr())
    cond = operand_def()
    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())
    assembly_format = "$cond `,` $lhs `,` $rhs attr-dict `:` type($cond) `,` type($result)"

    def __init__(self, cond: SSAValue, lhs: SSAValue, rhs: SSAValue):
        super().__init__(operands=[cond, lhs, rhs], result_types=[lhs.type])

    def verify_(self) -> None:
        if element_of(self.cond.type) != i1:
            raise VerifyException("tile.where: condition must be i1")
        if not (self.lhs.type == self.rhs.type == self.result.type):
            raise VerifyException("tile.where: both branches and the result need one type")
        _check_shapes(self, self.cond, self.lhs)


@irdl_op_definition
class CastOp(IRDLOperation):
    """`x.to(dtype)`; kind "unsigned" reads integers as unsigned, "bitcast" keeps bits.

        %f = tile.cast %i "signed" : tensor<4xi32> -> tensor<4xf32>
    """

    name = "tile.cast"
    input = operand_def()
    kind = prop_def(StringAttr)
    result = result_def()
    traits = traits_def(Pure())
    assembly_format = "$input $kind attr-dict `:` type($input) `->` type($result)"

    def __init__(self, value: SSAValue, element: Attribute, kind: str = "signed"):
        super().__init__(operands=[value], properties={"kind": StringAttr(kind)},
                         result_types=[block_of(shape_of(value.type), element)])

    def verify_(self) -> None:
        if self.kind.data not in CAST_KINDS:
            raise VerifyException(f"tile.cast: kind must be one of {CAST_KINDS}")
        _check_shapes(self, self.input, self.result)


@irdl_op_definition
class ReduceOp(IRDLOperation):
    """`tl.sum/tl.max/...(x, axis)`; max/min propagate NaN (torch semantics).

        %s = tile.reduce "sum" %x 0 : tensor<128xf32> -> f32
    """

    name = "tile.reduce"
    kind = prop_def(StringAttr)
    input = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    result = result_def()
    traits = traits_def(Pure())
    assembly_format = "$kind $input $axis attr-dict `:` type($input) `->` type($result)"

    def __init__(self, kind: str, value: SSAValue, axis: int = 0):
        shape = list(shape_of(value.type))
        del shape[axis]
        super().__init__(operands=[value], properties={"kind": StringAttr(kind),
                                                       "axis": _int(axis)},
                         result_types=[block_of(shape, element_of(value.type))])

    def verify_(self) -> None:
        if self.kind.data not in REDUCE_KINDS:
            raise VerifyException(f"tile.reduce: kind must be one of {REDUCE_KINDS}")
        shape = list(shape_of(self.input.type))
        del shape[self.axis.value.data]
        if self.result.type != block_of(shape, element_of(self.input.type)):
            raise VerifyException("tile.reduce: wrong result type")


@irdl_op_definition
class ArgReduceOp(IRDLOperation):
    """Value and index of the first extremum (NaN wins) along an axis, via `tl.reduce`.

        %v, %i = tile.argreduce "argmax" %x, %idx 0 : tensor<128xf32>, tensor<128xi64> -> f32, i64
    """

    name = "tile.argreduce"
    kind = prop_def(StringAttr)
    values = operand_def(TensorType)
    indices = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    value = result_def()
    index = result_def()
    traits = traits_def(Pure())
    assembly_format = ("$kind $values `,` $indices $axis attr-dict `:` type($values) `,` "
                       "type($indices) `->` type($value) `,` type($index)")

    def __init__(self, kind: str, values: SSAValue, indices: SSAValue, axis: int = 0):
        shape = list(shape_of(values.type))
        del shape[axis]
        super().__init__(operands=[values, indices],
                         properties={"kind": StringAttr(kind), "axis": _int(axis)},
                         result_types=[block_of(shape, element_of(values.type)),
                                       block_of(shape, element_of(indices.type))])

    def verify_(self) -> None:
        if self.kind.data not in ARG_KINDS:
            raise VerifyException(f"tile.argreduce: kind must be one of {ARG_KINDS}")
        _check_shapes(self, self.values, self.indices)


@irdl_op_definition
class DotOp(IRDLOperation):
    """`tl.dot(a, b, acc, input_precision=...)`: [M,K] x [K,N] + [M,N].

        %c = tile.dot %a, %b, %acc "ieee" : tensor<16x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
    """

    name = "tile.dot"
    ACC: ClassVar = VarConstraint("ACC", base(TensorType))
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    acc = operand_def(ACC)
    precision = prop_def(StringAttr)
    result = result_def(ACC)
    traits = traits_def(Pure())
    assembly_format = ("$lhs `,` $rhs `,` $acc $precision attr-dict `:` type($lhs) `,` "
                       "type($rhs) `->` type($result)")

    def __init__(self, lhs: SSAValue, rhs: SSAValue, acc: SSAValue, precision: str = "ieee"):
        super().__init__(operands=[lhs, rhs, acc], result_types=[acc.type],
                         properties={"precision": StringAttr(precision)})

    def verify_(self) -> None:
        (m, k), (k2, n) = shape_of(self.lhs.type), shape_of(self.rhs.type)
        if k != k2 or shape_of(self.acc.type) != (m, n) or self.acc.type != self.result.type:
            raise VerifyException("tile.dot: shapes do not chain ([M,K] x [K,N] -> [M,N])")
        if min(m, n, k) < 16:
            raise VerifyException("tile.dot: every block dim must be at least 16")
        if self.precision.data not in ("ieee", "tf32"):
            raise VerifyException("tile.dot: precision must be 'ieee' or 'tf32'")


Tile = Dialect("tile", [
    KernelOp, ReturnOp, LaunchOp, ProgramIdOp, ArangeOp, SplatOp, ExpandDimsOp, BroadcastOp, TransOp,
    LoadOp, StoreOp, CmpOp, WhereOp, CastOp, ReduceOp, ArgReduceOp, DotOp,
], [PtrType])

__all__ = ["Tile", "PtrType", "shape_of", "element_of", "block_of"]
