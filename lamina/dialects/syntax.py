"""Small helpers shared by the custom assembly formats of the loop, cpu and tile
dialects: integer lists as properties and as `[a, b]` text, iteration spaces, sizes."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DenseArrayBase, IndexType, MemRefType, i64
from xdsl.parser import Parser


def int_array(values: Sequence[int]) -> DenseArrayBase:
    """A tuple of ints as an `array<i64: ...>` property."""
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def int_tuple(attr: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())


def parse_int_list(parser: Parser) -> list[int]:
    """`[1, 2, 3]`"""
    return parser.parse_comma_separated_list(parser.Delimiter.SQUARE, parser.parse_integer)


def parse_index_vars(parser: Parser, count: int | None = None) -> list[Parser.Argument]:
    """`(%i, %j)`: the index variables of an iteration space, typed `index`."""
    unresolved = parser.parse_comma_separated_list(
        parser.Delimiter.PAREN, lambda: parser.parse_argument(expect_type=False)
    )
    if count is not None and len(unresolved) != count:
        parser.raise_error(f"{count} bounds but {len(unresolved)} index variables")
    return [u.resolve(IndexType()) for u in unresolved]


def numel(t: MemRefType) -> int:
    n = 1
    for d in t.get_shape():
        n *= int(d)
    return n
