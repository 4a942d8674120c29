"""The base every `hl` op is declared on.

An `hl` op is one IRDL class that carries everything about the op:

- its operands, result and properties (IRDL fields);
- `infer`: the shape/dtype rule, used both by the builder and by the verifier,
  so a hand-written op and a traced one are checked by the same code;
- `reference`: its numpy semantics (the interpreter is a loop over these);
- `vjp`: its gradient rule, written with the value-level builder
  (`lamina.dialects.hl.builder`) so that it emits ordinary `hl` ops (see
  `lamina.passes.autodiff`);
- `scalar` (elementwise ops): the op on one element, as arith/math ops of the
  scalar-op table -- its lowering on every backend;
- a docstring with one line of sample IR.

All hl ops share one readable assembly format, printed and parsed here:

    %r = hl.transpose %x perm=[1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
    %s = hl.add %a, %b : tensor<4x8xf32>
    %c = hl.splat value=1.5 : tensor<4xf32>

Properties print as `name=value`: integer lists `[1, 0]`, integers `3`, floats
with a decimal point or `inf`/`nan` (`1.5`, `-inf`), booleans `true`/`false`,
strings as quoted literals, dense elements as builtin attributes. The trailing
type is the single shared type when every operand and the result agree,
otherwise `(operand types) -> result type`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    f64,
    i1,
    i64,
)
from xdsl.interfaces import HasCanonicalizationPatternsInterface
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import IRDLOperation, prop_def
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from lamina import dtypes
from lamina.errors import DTypeError, GradientError, LaminaError, ShapeError, with_location

if TYPE_CHECKING:
    from lamina.dialects.hl.builder import Value
    from lamina.dialects.scalar import Scalars


class HlTypeError(Exception):
    """Raised by shape rules; turned into a VerifyException or a user-facing LaminaError."""

    def __init__(self, message: str, kind: type[LaminaError] = ShapeError):
        super().__init__(message)
        self.kind = kind


# ---------------------------------------------------------------- properties


def ints_prop():
    """A property holding a tuple of integers (printed `[1, 0]`)."""
    return prop_def(DenseArrayBase)


def int_prop():
    return prop_def(IntegerAttr)


def float_prop():
    return prop_def(FloatAttr)


def str_prop():
    return prop_def(StringAttr)


def to_attr(value: Any) -> Attribute:
    """Python value -> property attribute (memoized: attributes are immutable, and
    eager code stores the same few values over and over)."""
    if isinstance(value, Attribute):
        return value
    # floats by their bits: 0.0 == -0.0 and NaN != NaN would confuse a dict
    key = (type(value), float(value).hex() if isinstance(value, float | np.floating) else value)
    try:
        attr = _ATTRS.get(key)
    except TypeError:  # unhashable (a list)
        return _to_attr(value)
    if attr is None:
        attr = _to_attr(value)
        if len(_ATTRS) < 65536:
            _ATTRS[key] = attr
    return attr


_ATTRS: dict[tuple, Attribute] = {}


def _to_attr(value: Any) -> Attribute:
    if isinstance(value, bool | np.bool_):
        return IntegerAttr(int(bool(value)), i1)
    if isinstance(value, int | np.integer):
        return IntegerAttr(int(value), i64)
    if isinstance(value, float | np.floating):
        return FloatAttr(float(value), f64)
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, tuple | list):
        return DenseArrayBase.from_list(i64, [int(v) for v in value])
    raise TypeError(f"cannot store {value!r} as an hl property")


def from_attr(attr: Attribute) -> Any:
    """Property attribute -> Python value."""
    if isinstance(attr, DenseArrayBase):
        return tuple(int(v) for v in attr.get_values())
    if isinstance(attr, IntegerAttr):
        if attr.type == i1:
            return bool(attr.value.data)
        return int(attr.value.data)
    if isinstance(attr, FloatAttr):
        return float(attr.value.data)
    if isinstance(attr, StringAttr):
        return attr.data
    return attr


def _float_literal(value: float) -> str:
    """repr() round-trips exactly, but MLIR's lexer needs a '.' in `1e-05`: `1.0e-05`."""
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + ("e" + exponent if exponent else "")


def _print_prop(printer: Printer, attr: Attribute) -> None:
    value = from_attr(attr)
    if isinstance(value, bool):
        printer.print_string("true" if value else "false")
    elif isinstance(value, tuple):
        printer.print_string("[" + ", ".join(str(v) for v in value) + "]")
    elif isinstance(value, int):
        printer.print_string(str(value))
    elif isinstance(value, float):
        if math.isnan(value):
            printer.print_string("nan")
        elif math.isinf(value):
            printer.print_string("inf" if value > 0 else "-inf")
        else:
            printer.print_string(_float_literal(value))
    elif isinstance(value, str):
        printer.print_string_literal(value)
    else:
        printer.print_attribute(attr)


def _parse_prop(parser: Parser) -> Attribute:
    if parser.parse_optional_punctuation("[") is not None:
        values: list[int] = []
        if parser.parse_optional_punctuation("]") is None:
            values.append(parser.parse_integer())
            while parser.parse_optional_punctuation(",") is not None:
                values.append(parser.parse_integer())
            parser.parse_punctuation("]")
        return to_attr(values)
    if (word := parser.parse_optional_keyword_in(("true", "false", "inf", "nan"))) is not None:
        return {"true": to_attr(True), "false": to_attr(False), "inf": to_attr(math.inf),
                "nan": to_attr(math.nan)}[word]
    if parser.parse_optional_punctuation("-") is not None:
        if parser.parse_optional_keyword("inf") is not None:
            return to_attr(-math.inf)
        return to_attr(-parser.parse_number())
    if (text := parser.parse_optional_str_literal()) is not None:
        return StringAttr(text)
    if (number := parser.parse_optional_number()) is not None:
        return to_attr(number)
    return parser.parse_attribute()


# ---------------------------------------------------------------- types


def tensor_type(element: Attribute, shape: Sequence[int]) -> TensorType:
    """The tensor type (memoized: building and verifying one is ~40 us)."""
    key = (element, tuple(shape))
    t = _TYPES.get(key)
    if t is None:
        t = TensorType(element, [int(d) for d in shape])
        if len(_TYPES) < 65536:
            _TYPES[key] = t
    return t


_TYPES: dict[tuple, TensorType] = {}


def shape_of(t: Attribute) -> tuple[int, ...]:
    assert isinstance(t, TensorType), t
    return tuple(int(d) for d in t.get_shape())


def element_of(t: Attribute) -> Attribute:
    assert isinstance(t, TensorType), t
    return t.get_element_type()


def dtype_of(t: Attribute) -> dtypes.DType:
    return dtypes.from_ir(element_of(t))


def fmt_types(types: Sequence[Attribute]) -> str:
    return ", ".join(str(t) for t in types)


def require(cond: bool, message: str | Callable[[], str],
            kind: type[LaminaError] = ShapeError) -> None:
    """Shape rules state their preconditions with this; the message names the problem.
    A message that prints a type is passed as a lambda: `str(TensorType)` runs xDSL's
    printer (~1 ms), and eager mode checks every op it records."""
    if not cond:
        raise HlTypeError(message() if callable(message) else message, kind)


def require_same_types(op_name: str, types: Sequence[TensorType]) -> None:
    if len(set(types)) > 1:
        same_shape = len({shape_of(t) for t in types}) == 1
        kind = DTypeError if same_shape else ShapeError
        raise HlTypeError(f"operands must have the same type, got {fmt_types(types)}", kind)


def require_dims(dims, rank: int) -> None:
    """`dims` names distinct dims of a rank-`rank` operand (reductions, reverse)."""
    require(len(set(dims)) == len(dims) and all(0 <= d < rank for d in dims),
            f"dims {list(dims)} out of range or repeated for rank {rank}")


def normalize_dim(dim: int, rank: int) -> int:
    require(-rank <= dim < max(rank, 1), f"dim {dim} is out of range for rank {rank}",
            ShapeError)
    return dim % max(rank, 1)


# ---------------------------------------------------------------- the base op


class HlOp(IRDLOperation, HasCanonicalizationPatternsInterface):
    """Common behaviour of hl ops. Subclasses are `@irdl_op_definition` classes."""

    # False for ops whose rule has no derivative at all (integer results, comparisons).
    DIFFERENTIABLE: ClassVar[bool] = True
    # ops whose operand values can make the program fail at run time (an index out of
    # range) record the user's line at build, as the attribute `lamina.at`
    RECORDS_LOCATION: ClassVar[bool] = False

    # ---- rules a subclass states

    @classmethod
    def infer(
        cls, types: Sequence[TensorType], props: dict[str, Any], result_type: TensorType | None
    ) -> TensorType:
        """The shape/dtype rule: the result type for these operand types and properties.

        Ops whose result cannot be derived from operands (reshape, broadcast, cast,
        splat, ...) receive the requested `result_type`, check it and return it.
        """
        raise NotImplementedError(cls.name)

    def reference(self, *args: np.ndarray) -> np.ndarray:
        """The numpy semantics of this op: the spec every backend is tested against."""
        raise NotImplementedError(self.name)

    def vjp(self, ct: Value, out: Value, *primals: Value) -> Sequence[Value | None]:
        """Cotangents of the operands given the cotangent `ct` of the result (None
        where no gradient flows), built with `ct.builder`."""
        raise GradientError(f"hl op '{self.name}' has no gradient rule")

    def scalar(self, b: Scalars, *args: SSAValue) -> SSAValue:
        """Elementwise ops: the op on one element of each operand (in its compute type),
        as arith/math ops of the scalar-op table placed with `b`. This is the op's
        lowering in every kernel, on every backend."""
        raise NotImplementedError(f"hl op '{self.name}' is not elementwise")

    @classmethod
    def has_scalar_rule(cls) -> bool:
        return cls.scalar is not HlOp.scalar

    @classmethod
    def get_canonicalization_patterns(cls) -> tuple:
        # the patterns are declared in canonical.py, which imports the ops (hence late)
        from lamina.dialects.hl.canonical import patterns_for

        return patterns_for(cls)

    # ---- construction

    @classmethod
    def build(
        cls, *operands: SSAValue, result_type: TensorType | None = None, **props: Any
    ) -> HlOp:
        """Create the op, inferring its result type; a bad combination raises a LaminaError
        naming the op, the operand types and the user's line."""
        types = [o.type for o in operands]
        try:
            rtype = cls.infer(types, props, result_type)  # type: ignore[arg-type]
        except HlTypeError as err:
            details = f"{cls.name}: {err} (operand types: {fmt_types(types) or 'none'})"
            raise err.kind(with_location(details)) from None
        attrs = {k: to_attr(v) for k, v in props.items() if v is not None}
        shape = cls.__dict__.get("_build_shape") or cls._init_build_shape()
        if shape == "variadic" or (shape == "plain" and len(operands) == cls._n_operands):
            # IRDL's builder would only regroup the same operands (~25 % of an eager op)
            op = cls.create(operands=operands, result_types=[rtype], properties=attrs)
        else:  # IRDL's builder (and its errors)
            grouped = [list(operands)] if shape == "variadic" else list(operands)
            op = cls(operands=grouped, result_types=[rtype], properties=attrs)
        if cls.RECORDS_LOCATION:
            _record_location(op)
        return op

    @classmethod
    def _init_build_shape(cls) -> str:
        """How `build` constructs this op: "plain" (fixed operands) or "variadic" (one
        variadic operand group), both by `Operation.create` (no operand segments,
        regions or successors: nothing IRDL's builder would add), or "irdl"."""
        op_def = cls.get_irdl_definition()
        variadic = [d for _, d in op_def.operands if "Var" in type(d).__name__
                    or "Opt" in type(d).__name__]
        if op_def.options or op_def.regions or op_def.successors or \
                len(op_def.results) != 1 or "Var" in type(op_def.results[0][1]).__name__:
            shape = "irdl"
        elif not variadic:
            shape = "plain"
        elif len(op_def.operands) == 1 and "Var" in type(op_def.operands[0][1]).__name__:
            shape = "variadic"
        else:
            shape = "irdl"
        cls._build_shape = shape
        cls._n_operands = len(op_def.operands)
        return shape

    # ---- accessors

    def prop(self, name: str) -> Any:
        attr = self.properties.get(name)
        return None if attr is None else from_attr(attr)

    def props(self) -> dict[str, Any]:
        return {k: from_attr(v) for k, v in self.properties.items()}

    @property
    def out(self) -> SSAValue:
        return self.results[0]

    # ---- verification: the same rule as the builder

    def verify_(self) -> None:
        types = [o.type for o in self.operands]
        for t in [*types, self.out.type]:
            if not isinstance(t, TensorType):
                raise VerifyException(f"{self.name}: expected tensor types, got {t}")
        try:
            expected = self.infer(types, self.props(), self.out.type)  # type: ignore[arg-type]
        except HlTypeError as err:
            raise VerifyException(
                f"{self.name}: {err} (operand types: {fmt_types(types) or 'none'})"
            ) from None
        if expected != self.out.type:
            raise VerifyException(
                f"{self.name}: result type {self.out.type} does not match the inferred "
                f"{expected} (operand types: {fmt_types(types) or 'none'})"
            )

    # ---- assembly format

    def print(self, printer: Printer) -> None:
        if self.operands:
            printer.print_string(" ")
            printer.print_list(self.operands, printer.print_operand)
        for name, attr in self.properties.items():
            printer.print_string(f" {name}=")
            _print_prop(printer, attr)
        if self.attributes:
            printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        types = [o.type for o in self.operands]
        rtype = self.out.type
        if not types:
            printer.print_attribute(rtype)
        elif all(t == rtype for t in types):
            printer.print_attribute(rtype)
        else:
            if len(types) == 1:
                printer.print_attribute(types[0])
            else:
                printer.print_string("(")
                printer.print_list(types, printer.print_attribute)
                printer.print_string(")")
            printer.print_string(" -> ")
            printer.print_attribute(rtype)

    @classmethod
    def parse(cls, parser: Parser) -> HlOp:
        start = parser.pos
        unresolved = (
            parser.parse_optional_undelimited_comma_separated_list(
                parser.parse_optional_unresolved_operand, parser.parse_unresolved_operand
            )
            or []
        )
        props: dict[str, Attribute] = {}
        while (name := parser.parse_optional_identifier()) is not None:
            parser.parse_punctuation("=")
            props[name] = _parse_prop(parser)
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        if parser.parse_optional_punctuation("(") is not None:
            operand_types = parser.parse_comma_separated_list(
                parser.Delimiter.NONE, parser.parse_type
            )
            parser.parse_punctuation(")")
            parser.parse_punctuation("->")
            rtype = parser.parse_type()
        else:
            first = parser.parse_type()
            if parser.parse_optional_punctuation("->") is not None:
                operand_types, rtype = [first], parser.parse_type()
            else:
                operand_types, rtype = [first] * len(unresolved), first
        if len(operand_types) != len(unresolved):
            parser.raise_error(
                f"{cls.name}: {len(unresolved)} operands but {len(operand_types)} types"
            )
        operands = parser.resolve_operands(unresolved, operand_types, parser.pos)
        defs = cls.get_irdl_definition().operands
        variadic = len(defs) == 1 and "Var" in type(defs[0][1]).__name__
        if not variadic and len(operands) != len(defs):
            parser.raise_error(f"{cls.name}: expected {len(defs)} operand"
                               f"{'s' * (len(defs) != 1)}, got {len(operands)}", start)
        grouped: list[Any] = [list(operands)] if variadic else list(operands)
        op = cls(operands=grouped, result_types=[rtype], properties=props)
        op.attributes |= attrs
        return op


def dense_to_numpy(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    t = attr.get_type()
    dt = dtypes.from_ir(t.get_element_type())
    values = np.array(attr.get_values())
    if dt == dtypes.bool_:
        values = values != 0
    return values.astype(dt.np_dtype).reshape(shape_of(t))


def numpy_to_dense(value: np.ndarray, element: Attribute) -> DenseIntOrFPElementsAttr:
    t = tensor_type(element, value.shape)
    flat = value.reshape(-1)
    if isinstance(element, IntegerType):
        data = [int(v) for v in flat.astype(np.int64)]
    else:
        data = [float(v) for v in flat.astype(np.float64)]
    return DenseIntOrFPElementsAttr.from_list(t, data)


def _record_location(op: HlOp) -> None:
    """`lamina.at`: the user's file:line, for an op traced from user code (not for one a
    pass builds, called from xDSL's pass driver: lamina-opt has no user line)."""
    import os

    import xdsl
    from xdsl.dialects.builtin import StringAttr

    from lamina.errors import user_location

    at = user_location()
    if at != "<unknown>" and not os.path.abspath(at).startswith(
            os.path.dirname(os.path.abspath(xdsl.__file__)) + os.sep):
        op.attributes["lamina.at"] = StringAttr(at)
