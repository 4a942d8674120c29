"""The `loop` dialect: fused kernels over buffers, between `hl` and the hardware dialects.

A lowered program is one `func.func @main` in destination-passing form: inputs
first, then one output buffer per hl result, no results. Buffers are builtin
`memref<...>` (row-major, contiguous, static shapes); intermediates come from
`memref.alloc` and are freed with `memref.dealloc`.

    func.func @main(%x: memref<64x128xf32>, %out0: memref<64x128xf32>) {
      loop.kernel "exp_0" parallel [64, 128] (%i, %j) {
        %v = loop.load %x[%i, %j] : memref<64x128xf32>
        %e = math.exp %v : f32
        loop.store %e, %out0[%i, %j] : memref<64x128xf32>
      }
      func.return
    }

Ops, with their meaning for the backends (C: one function per kernel, OpenMP
over the parallel dims; Triton: one kernel, parallel dims -> grid, last dim
blocked as a vector):

| op | meaning |
|---|---|
| `loop.kernel` | ONE kernel: parallel iteration space + scalar body (no results) |
| `loop.load` / `loop.store` | one element of a buffer; `load` may be masked (`if %m else %v`) |
| `loop.reduce` | a reduction over an inner iteration space, yielding one value per point |
| `loop.for` | inner loop of independent iterations (vectorizable) |
| `loop.seq_for` | inner loop whose iterations must run in order |
| `loop.yield` | terminator of `loop.reduce` bodies |
| `loop.matmul` | a (batched) GEMM on buffers, outside kernels |
| `loop.view` | reshape of a contiguous buffer without copying |

Conventions shared by every backend:
- scalars are `arith`/`math` values; indices are `index`;
- f16/bf16 buffers load as f16/bf16 and are extended (`arith.extf`) to f32 for
  compute, then truncated (`arith.truncf`) before the store;
- booleans are `i1` in registers and `i8` (0/1) in buffers: `arith.trunci`
  after a load, `arith.extui` before a store;
- integers are signless; unsigned buffers (ui8) are handled with unsigned ops.

Program-level conventions (what `lower-hl-to-loop` produces):
- the function carries `lamina.dtypes = ["float32", "bool", ...]`: the lamina dtype
  of each argument (inputs, then outputs), since bool and uint8 buffers are i8;
- output buffers never alias input buffers; the function writes every output;
- a kernel may compute several results: several top-level `loop.reduce` /
  `loop.for` / `loop.seq_for` and several `loop.store`s to different buffers; a
  kernel point never reads what another point of the same kernel writes, except
  through `loop.seq_for` read-modify-write on buffers it alone owns, and except a
  `loop.reduce` body storing its values into the elements of its own point that a
  later `loop.for` of the point reads back and overwrites (`lower_hl_to_loop/reuse.py`);
- non-uniform constants are `memref.global "private" constant` ops in the module,
  read with `memref.get_global`;
- `loop.reduce "argmax"/"argmin"` start their index at 0: when no element beats
  `init` (all -inf), the result is index 0, as numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    BoolAttr,
    DenseArrayBase,
    IndexType,
    IntegerAttr,
    MemRefType,
    StringAttr,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Dialect, Operation, Region, SSAValue
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
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import (
    IsTerminator,
    MemoryReadEffect,
    MemoryWriteEffect,
    NoTerminator,
    Pure,
    RecursiveMemoryEffect,
)
from xdsl.utils.exceptions import VerifyException

from lamina.dialects import gemm_layout
from lamina.dialects.scalar import check_kernel_body
from lamina.dialects.syntax import int_array as _bounds_attr
from lamina.dialects.syntax import int_tuple as _ints
from lamina.dialects.syntax import numel as _numel
from lamina.dialects.syntax import parse_index_vars
from lamina.dialects.syntax import parse_int_list as _parse_ints

REDUCE_KINDS = ("add", "mul", "max", "min", "argmax", "argmin")
ARG_KINDS = ("argmax", "argmin")


# ---------------------------------------------------------------- helpers


def _print_ints(printer: Printer, values: Sequence[int]) -> None:
    printer.print_string("[" + ", ".join(str(v) for v in values) + "]")


def _print_space(printer: Printer, op: _LoopNest, keyword: str | None) -> None:
    """`[d0, d1] (%i, %j) {body}`: the iteration space and its index variables."""
    printer.print_string(" ")
    if keyword:
        printer.print_string(keyword + " ")
    _print_ints(printer, op.bound_values)
    printer.print_string(" (")
    printer.print_list(op.body.block.args, lambda a: printer.print_block_argument(a, False))
    printer.print_string(")")


def _parse_space(parser: Parser) -> tuple[list[int], list[Parser.Argument]]:
    bounds = _parse_ints(parser)
    return bounds, parse_index_vars(parser, len(bounds))


def _index_block(rank: int) -> Region:
    return Region(Block(arg_types=[IndexType()] * rank))


def _enclosing_kernel(op: Operation) -> KernelOp | None:
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, KernelOp):
        parent = parent.parent_op()
    return parent


# ---------------------------------------------------------------- iteration spaces


class _LoopNest(IRDLOperation):
    """Shared by ops that own an iteration space: bounds + one block of index args."""

    bounds = prop_def(DenseArrayBase)
    body = region_def("single_block")

    @property
    def bound_values(self) -> tuple[int, ...]:
        return _ints(self.bounds)

    @property
    def indices(self) -> tuple[SSAValue, ...]:
        return tuple(self.body.block.args)

    def _verify_space(self) -> None:
        bounds = self.bound_values
        if any(b < 0 for b in bounds):
            raise VerifyException(f"{self.name}: bounds must be >= 0, got {list(bounds)}")
        args = self.body.block.args
        if len(args) != len(bounds) or any(not isinstance(a.type, IndexType) for a in args):
            raise VerifyException(
                f"{self.name}: expected {len(bounds)} index block arguments, got "
                f"{[str(a.type) for a in args]}"
            )

    def _verify_inside_kernel(self) -> None:
        if _enclosing_kernel(self) is None:
            raise VerifyException(f"{self.name} must be nested in a loop.kernel")


@irdl_op_definition
class KernelOp(_LoopNest):
    """One kernel: a parallel iteration space with a scalar body.

    One C function (OpenMP over the parallel dims) or one Triton kernel (parallel
    dims -> launch grid, the last one blocked as a vector). `parallel []` is a
    single-point kernel.

        loop.kernel "add_0" parallel [4, 8] (%i, %j) { ... }
    """

    name = "loop.kernel"
    kernel_name = prop_def(StringAttr)
    traits = traits_def(NoTerminator(), RecursiveMemoryEffect())

    def __init__(self, kernel_name: str, bounds: Sequence[int], body: Region | None = None):
        super().__init__(
            properties={"kernel_name": StringAttr(kernel_name), "bounds": _bounds_attr(bounds)},
            regions=[body or _index_block(len(bounds))],
        )

    def verify_(self) -> None:
        self._verify_space()
        if _enclosing_kernel(self) is not None:
            raise VerifyException("loop.kernel cannot be nested in another loop.kernel")
        check_kernel_body(self.body.block, f"loop.kernel {self.kernel_name.data!r}")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.kernel_name.data)
        _print_space(printer, self, "parallel")
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    @classmethod
    def parse(cls, parser: Parser) -> KernelOp:
        name = parser.parse_str_literal()
        parser.parse_keyword("parallel")
        bounds, args = _parse_space(parser)
        return cls(name, bounds, parser.parse_region(args))


class _InnerLoop(_LoopNest):
    """Shared by loop.for and loop.seq_for (an IRDL op class cannot be subclassed)."""

    traits = traits_def(NoTerminator(), RecursiveMemoryEffect())

    def __init__(self, bounds: Sequence[int], body: Region | None = None):
        super().__init__(
            properties={"bounds": _bounds_attr(bounds)},
            regions=[body or _index_block(len(bounds))],
        )

    def verify_(self) -> None:
        self._verify_space()
        self._verify_inside_kernel()

    def print(self, printer: Printer) -> None:
        _print_space(printer, self, None)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    @classmethod
    def parse(cls, parser: Parser) -> _InnerLoop:
        bounds, args = _parse_space(parser)
        return cls(bounds, parser.parse_region(args))


@irdl_op_definition
class ForOp(_InnerLoop):
    """An inner loop of independent iterations (vectorizable in C, a block in Triton).

        loop.for [128] (%k) { ... }
    """

    name = "loop.for"


@irdl_op_definition
class SeqForOp(_InnerLoop):
    """An inner loop whose iterations must run in order (read-modify-write).

        loop.seq_for [16] (%k) { ... }
    """

    name = "loop.seq_for"


@irdl_op_definition
class ReduceOp(_LoopNest):
    """A reduction over an inner iteration space; the body yields one value per point.

    Kinds: "add", "mul", "max", "min" (max/min propagate NaN, as torch), and
    "argmax"/"argmin", which have two results: the extremum and the i64 linear
    index (row-major within the reduced space) of its FIRST occurrence (a NaN
    counts as the extremum, as numpy/torch). `init` is the identity
    (0, 1, -inf, +inf, ...), given by the producer of the op.

        %s = loop.reduce "add" [128] (%k) init(%zero) {
          %v = loop.load %x[%i, %k] : memref<64x128xf32>
          loop.yield %v : f32
        } : f32
        %m, %idx = loop.reduce "argmax" [8] (%k) init(%ninf) { ... } : f32, i64
    """

    name = "loop.reduce"
    kind = prop_def(StringAttr)
    init = operand_def()
    res = var_result_def()
    traits = lazy_traits_def(lambda: (RecursiveMemoryEffect(),))

    def __init__(self, kind: str, bounds: Sequence[int], init: SSAValue,
                 body: Region | None = None):
        types: list[Attribute] = [init.type] + ([i64] if kind in ARG_KINDS else [])
        super().__init__(
            operands=[init],
            result_types=[types],
            properties={"kind": StringAttr(kind), "bounds": _bounds_attr(bounds)},
            regions=[body or _index_block(len(bounds))],
        )

    @property
    def kind_name(self) -> str:
        return self.kind.data

    def verify_(self) -> None:
        self._verify_space()
        self._verify_inside_kernel()
        kind = self.kind_name
        if kind not in REDUCE_KINDS:
            raise VerifyException(f"loop.reduce: unknown kind {kind!r}; one of {REDUCE_KINDS}")
        expected: list[Attribute] = [self.init.type] + ([i64] if kind in ARG_KINDS else [])
        if list(self.res.types) != expected:
            raise VerifyException(
                f"loop.reduce {kind!r}: results must be {[str(t) for t in expected]}, got "
                f"{[str(t) for t in self.res.types]}"
            )
        last = self.body.block.last_op
        if not isinstance(last, YieldOp) or len(last.values) != 1:
            raise VerifyException("loop.reduce body must end with one-value loop.yield")
        if last.values[0].type != self.init.type:
            raise VerifyException(
                f"loop.reduce yields {last.values[0].type} but init is {self.init.type}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.kind_name)
        _print_space(printer, self, None)
        printer.print_string(" init(")
        printer.print_operand(self.init)
        printer.print_string(") ")
        printer.print_region(self.body, print_entry_block_args=False)
        printer.print_string(" : ")
        printer.print_list(self.res.types, printer.print_attribute)

    @classmethod
    def parse(cls, parser: Parser) -> ReduceOp:
        kind = parser.parse_str_literal()
        bounds, args = _parse_space(parser)
        parser.parse_keyword("init")
        parser.parse_punctuation("(")
        unresolved = parser.parse_unresolved_operand()
        parser.parse_punctuation(")")
        body = parser.parse_region(args)
        parser.parse_punctuation(":")
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        init = parser.resolve_operand(unresolved, types[0])
        op = cls(kind, bounds, init, body)
        if list(op.res.types) != types:
            parser.raise_error(f"loop.reduce {kind!r}: bad result types {types}")
        return op


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminator of a `loop.reduce` body: the value at this point.  `loop.yield %v : f32`"""

    name = "loop.yield"
    values = var_operand_def()
    traits = lazy_traits_def(lambda: (IsTerminator(), Pure()))

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[list(values)])

    def verify_(self) -> None:
        if not isinstance(self.parent_op(), ReduceOp):
            raise VerifyException("loop.yield must terminate a loop.reduce body")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list(self.values, printer.print_operand)
        printer.print_string(" : ")
        printer.print_list(self.values.types, printer.print_attribute)

    @classmethod
    def parse(cls, parser: Parser) -> YieldOp:
        unresolved = parser.parse_comma_separated_list(
            parser.Delimiter.NONE, parser.parse_unresolved_operand
        )
        parser.parse_punctuation(":")
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        return cls(*parser.resolve_operands(unresolved, types, parser.pos))


# ---------------------------------------------------------------- memory access


def _check_indices(op: Operation, buf: SSAValue, indices: Sequence[SSAValue]) -> MemRefType:
    t = buf.type
    if not isinstance(t, MemRefType):
        raise VerifyException(f"{op.name}: expected a memref, got {t}")
    if len(indices) != t.get_num_dims():
        raise VerifyException(
            f"{op.name}: {t} needs {t.get_num_dims()} indices, got {len(indices)}"
        )
    if any(not isinstance(i.type, IndexType) for i in indices):
        raise VerifyException(f"{op.name}: indices must be index values")
    if _enclosing_kernel(op) is None:
        raise VerifyException(f"{op.name} must be nested in a loop.kernel")
    return t


def _print_access(printer: Printer, buf: SSAValue, indices: Sequence[SSAValue]) -> None:
    printer.print_operand(buf)
    printer.print_string("[")
    printer.print_list(indices, printer.print_operand)
    printer.print_string("]")


def _parse_access(parser: Parser):
    buf = parser.parse_unresolved_operand()
    indices = parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, parser.parse_unresolved_operand
    )
    return buf, indices


@irdl_op_definition
class LoadOp(IRDLOperation):
    """Load one element (the buffer's element type). With `if %mask else %other`, the
    load happens only where the i1 mask holds and gives `other` elsewhere (no memory
    access: the indices may be out of bounds there), as `tl.load(mask=, other=)`.

        %v = loop.load %x[%i, %j] : memref<4x8xf32>
        %w = loop.load %x[%i, %j] if %inb else %zero : memref<4x8xf32>
    """

    name = "loop.load"
    buf = operand_def(MemRefType)
    indices = var_operand_def(IndexType())
    mask = opt_operand_def(i1)
    other = opt_operand_def()
    res = result_def()
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(MemoryReadEffect())

    def __init__(self, buf: SSAValue, indices: Sequence[SSAValue],
                 mask: SSAValue | None = None, other: SSAValue | None = None):
        assert isinstance(buf.type, MemRefType)
        super().__init__(
            operands=[buf, list(indices), [mask] if mask else [], [other] if other else []],
            result_types=[buf.type.element_type],
        )

    def verify_(self) -> None:
        t = _check_indices(self, self.buf, self.indices)
        if self.res.type != t.element_type:
            raise VerifyException(f"loop.load: result {self.res.type} is not {t.element_type}")
        if (self.mask is None) != (self.other is None):
            raise VerifyException("loop.load: a mask needs an `other` value and vice versa")
        if self.other is not None and self.other.type != t.element_type:
            raise VerifyException(
                f"loop.load: other value {self.other.type} is not {t.element_type}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        _print_access(printer, self.buf, self.indices)
        if self.mask is not None and self.other is not None:
            printer.print_string(" if ")
            printer.print_operand(self.mask)
            printer.print_string(" else ")
            printer.print_operand(self.other)
        printer.print_string(" : ")
        printer.print_attribute(self.buf.type)

    @classmethod
    def parse(cls, parser: Parser) -> LoadOp:
        buf, indices = _parse_access(parser)
        mask = other = None
        if parser.parse_optional_keyword("if") is not None:
            mask = parser.parse_unresolved_operand()
            parser.parse_keyword("else")
            other = parser.parse_unresolved_operand()
        parser.parse_punctuation(":")
        t = parser.parse_type()
        if not isinstance(t, MemRefType):
            parser.raise_error(f"loop.load: expected a memref type, got {t}")
        buf_v = parser.resolve_operand(buf, t)
        idx = [parser.resolve_operand(i, IndexType()) for i in indices]
        mask_v = parser.resolve_operand(mask, i1) if mask else None
        other_v = parser.resolve_operand(other, t.element_type) if other else None
        return cls(buf_v, idx, mask_v, other_v)


@irdl_op_definition
class StoreOp(IRDLOperation):
    """Store one element.  `loop.store %v, %out[%i, %j] : memref<4x8xf32>`"""

    name = "loop.store"
    value = operand_def()
    buf = operand_def(MemRefType)
    indices = var_operand_def(IndexType())
    traits = traits_def(MemoryWriteEffect())

    def __init__(self, value: SSAValue, buf: SSAValue, indices: Sequence[SSAValue]):
        super().__init__(operands=[value, buf, list(indices)])

    def verify_(self) -> None:
        t = _check_indices(self, self.buf, self.indices)
        if self.value.type != t.element_type:
            raise VerifyException(
                f"loop.store: value {self.value.type} does not match buffer {t}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.value)
        printer.print_string(", ")
        _print_access(printer, self.buf, self.indices)
        printer.print_string(" : ")
        printer.print_attribute(self.buf.type)

    @classmethod
    def parse(cls, parser: Parser) -> StoreOp:
        value = parser.parse_unresolved_operand()
        parser.parse_punctuation(",")
        buf, indices = _parse_access(parser)
        parser.parse_punctuation(":")
        t = parser.parse_type()
        if not isinstance(t, MemRefType):
            parser.raise_error(f"loop.store: expected a memref type, got {t}")
        return cls(
            parser.resolve_operand(value, t.element_type),
            parser.resolve_operand(buf, t),
            [parser.resolve_operand(i, IndexType()) for i in indices],
        )


# ---------------------------------------------------------------- buffer-level ops


@irdl_op_definition
class MatmulOp(IRDLOperation):
    """A (batched) GEMM on contiguous buffers: C[b] (+)= op(A[b]) @ op(B[b]).

    Only element counts are checked against the sizes, so any contiguous shape may
    be passed. Layouts (row-major): A[b, i, p] at b*m*k + i*k + p (transpose_a:
    A[b, p, i] at b*k*m + p*m + i); B[b, p, j] at b*k*n + p*n + j (transpose_b:
    B[b, j, p] at b*n*k + j*k + p); C[b, i, j] at b*m*n + i*n + j. An operand with
    only m*k (resp. k*n) elements is shared by every batch. `accumulate` adds to C
    instead of overwriting it. f16/bf16 accumulate in f32. A `views` clause
    (`lamina.dialects.gemm_layout`) places the matrices elsewhere in the buffers:
    offsets, row strides and per-batch-dim strides (a head-split view, a slice).

        loop.matmul %a, %b, %c batch=1 m=4 n=8 k=16 : memref<4x16xf32>, memref<16x8xf32>, memref<4x8xf32>
        loop.matmul %a, %b, %c batch=2 m=4 n=8 k=16 transpose_b accumulate : ...
        loop.matmul %a, %b, %c batch=8 m=4 n=4 k=2 transpose_b views [2, 4] a=[0, 24, 96, 2] b=[8, 24, 96, 2] c=[0, 4, 64, 16] : memref<2x4x24xf32>, memref<2x4x24xf32>, memref<2x4x4x4xf32>
    """

    name = "loop.matmul"
    a = operand_def(MemRefType)
    b = operand_def(MemRefType)
    c = operand_def(MemRefType)
    batch = prop_def(IntegerAttr)
    m = prop_def(IntegerAttr)
    n = prop_def(IntegerAttr)
    k = prop_def(IntegerAttr)
    transpose_a = prop_def(BoolAttr)
    transpose_b = prop_def(BoolAttr)
    accumulate = prop_def(BoolAttr)
    layout = opt_prop_def(DenseArrayBase)  # GemmLayout.flat(); absent: contiguous
    traits = traits_def(MemoryReadEffect(), MemoryWriteEffect())

    SIZES: ClassVar = ("batch", "m", "n", "k")
    FLAGS: ClassVar = ("transpose_a", "transpose_b", "accumulate")

    def __init__(self, a: SSAValue, b: SSAValue, c: SSAValue, *, batch: int, m: int, n: int,
                 k: int, transpose_a: bool = False, transpose_b: bool = False,
                 accumulate: bool = False, views: gemm_layout.GemmLayout | None = None):
        props: dict[str, Attribute] = {
            "batch": IntegerAttr(batch, i64), "m": IntegerAttr(m, i64),
            "n": IntegerAttr(n, i64), "k": IntegerAttr(k, i64),
            "transpose_a": BoolAttr.from_bool(transpose_a),
            "transpose_b": BoolAttr.from_bool(transpose_b),
            "accumulate": BoolAttr.from_bool(accumulate),
        }
        layout = gemm_layout.layout_property(views, (batch, m, n, k), transpose_a,
                                             transpose_b, (a, b, c))
        if layout is not None:
            props["layout"] = layout
        super().__init__(operands=[a, b, c], properties=props)

    def views(self) -> gemm_layout.GemmLayout:
        """Where the matrices lie (the contiguous layout unless a `views` clause says)."""
        dims = tuple(self.size(s) for s in self.SIZES)
        return gemm_layout.of_op(self.layout, dims, self.flag("transpose_a"),  # type: ignore[arg-type]
                                 self.flag("transpose_b"), self.a, self.b)

    def size(self, name: str) -> int:
        return int(self.properties[name].value.data)  # type: ignore[attr-defined]

    def flag(self, name: str) -> bool:
        return bool(self.properties[name].value.data)  # type: ignore[attr-defined]

    def a_batched(self) -> bool:
        """False when A holds one m*k matrix shared by every batch."""
        return _numel(self.a.type) == self.size("batch") * self.size("m") * self.size("k") \
            and self.size("batch") > 1

    def b_batched(self) -> bool:
        return _numel(self.b.type) == self.size("batch") * self.size("k") * self.size("n") \
            and self.size("batch") > 1

    def verify_(self) -> None:
        bt, m, n, k = (self.size(s) for s in self.SIZES)
        if self.layout is not None:
            shapes = gemm_layout.stored_shapes(m, n, k, self.flag("transpose_a"),
                                               self.flag("transpose_b"))
            numels = {o: _numel(getattr(self, o).type) for o in gemm_layout.OPERANDS}
            why = gemm_layout.check(self.views(), bt, shapes, numels)
            if why is not None:
                raise VerifyException(f"loop.matmul: {why}")
            if _enclosing_kernel(self) is not None:
                raise VerifyException("loop.matmul cannot be nested in a loop.kernel")
            return
        ta, tb, tc = self.a.type, self.b.type, self.c.type
        for name, t, per in (("a", ta, m * k), ("b", tb, k * n)):
            if _numel(t) not in (per, bt * per):  # type: ignore[arg-type]
                raise VerifyException(
                    f"loop.matmul: operand {name} {t} has neither {per} nor {bt * per} "
                    f"elements (batch={bt} m={m} n={n} k={k})"
                )
        if _numel(tc) != bt * m * n:  # type: ignore[arg-type]
            raise VerifyException(
                f"loop.matmul: output {tc} must have {bt * m * n} elements "
                f"(batch={bt} m={m} n={n})"
            )
        if _enclosing_kernel(self) is not None:
            raise VerifyException("loop.matmul cannot be nested in a loop.kernel")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list(self.operands, printer.print_operand)
        for s in self.SIZES:
            printer.print_string(f" {s}={self.size(s)}")
        for f in self.FLAGS:
            if self.flag(f):
                printer.print_string(f" {f}")
        if self.layout is not None:
            gemm_layout.print_views(printer, self.views())
        printer.print_string(" : ")
        printer.print_list(self.operand_types, printer.print_attribute)

    @classmethod
    def parse(cls, parser: Parser) -> MatmulOp:
        unresolved = parser.parse_comma_separated_list(
            parser.Delimiter.NONE, parser.parse_unresolved_operand
        )
        sizes: dict[str, int] = {}
        for s in cls.SIZES:
            parser.parse_keyword(s)
            parser.parse_punctuation("=")
            sizes[s] = parser.parse_integer()
        flags = {f: parser.parse_optional_keyword(f) is not None for f in cls.FLAGS}
        views = gemm_layout.parse_views(parser)
        parser.parse_punctuation(":")
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        if len(unresolved) != 3 or len(types) != 3:
            parser.raise_error("loop.matmul takes three buffers (a, b, c) and their types")
        a, b, c = parser.resolve_operands(unresolved, types, parser.pos)
        return cls(a, b, c, **sizes, **flags, views=views)


@irdl_op_definition
class ViewOp(IRDLOperation):
    """A reshape of a contiguous buffer without a copy (same element type and count).

        %v = loop.view %buf : memref<4x8xf32> -> memref<32xf32>
    """

    name = "loop.view"
    source = operand_def(MemRefType)
    res = result_def(MemRefType)
    traits = traits_def(Pure())

    def __init__(self, source: SSAValue, result_type: MemRefType):
        super().__init__(operands=[source], result_types=[result_type])

    def verify_(self) -> None:
        src, dst = self.source.type, self.res.type
        assert isinstance(src, MemRefType) and isinstance(dst, MemRefType)
        if src.element_type != dst.element_type or _numel(src) != _numel(dst):
            raise VerifyException(f"loop.view: cannot view {src} as {dst}")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.source)
        printer.print_string(" : ")
        printer.print_attribute(self.source.type)
        printer.print_string(" -> ")
        printer.print_attribute(self.res.type)

    @classmethod
    def parse(cls, parser: Parser) -> ViewOp:
        src = parser.parse_unresolved_operand()
        parser.parse_punctuation(":")
        src_t = parser.parse_type()
        parser.parse_punctuation("->")
        dst_t = parser.parse_type()
        if not isinstance(dst_t, MemRefType):
            parser.raise_error(f"loop.view: expected a memref result type, got {dst_t}")
        return cls(parser.resolve_operand(src, src_t), dst_t)


LOOP = Dialect(
    "loop",
    [KernelOp, LoadOp, StoreOp, ReduceOp, ForOp, SeqForOp, YieldOp, MatmulOp, ViewOp],
    [],
)
