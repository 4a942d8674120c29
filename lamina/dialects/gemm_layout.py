"""Where the matrices of a (batched) GEMM lie in its three buffers: `GemmLayout`,
shared by `loop.matmul` and `cpu.gemm`.

Each operand is stored as a row-major matrix of `rows x cols` (A: m x k, or k x m
with `transpose_a`; B: k x n, or n x k with `transpose_b`; C: m x n) whose rows are
`ld` elements apart, starting at `offset` plus, for batch index (b0, b1, ...) over
the batch dims, `b0 * strides[0] + b1 * strides[1] + ...` (a stride of 0 shares the
matrix between batches). The contiguous layout (offset 0, ld = cols, batches one
after another, or shared when the buffer holds one matrix) is the default and is
not printed; anything else lets a GEMM read a head-split or sliced view of a buffer
in place (attention's q/k/v inside the fused QKV product) instead of a copy kernel.

Text form, after the flags: `views [8, 4] a=[offset, ld, s0, s1] b=[...] c=[...]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.dialects.builtin import DenseArrayBase
from xdsl.ir import SSAValue
from xdsl.parser import Parser
from xdsl.printer import Printer

from lamina.dialects.syntax import int_array, int_tuple, numel, parse_int_list

# batch dims a layout may have after merging; the C routine walks at most this many
MAX_BATCH_DIMS = 4
OPERANDS = ("a", "b", "c")


@dataclass(frozen=True)
class OperandView:
    offset: int
    ld: int
    strides: tuple[int, ...]  # one per batch dim

    def reach(self, batch: tuple[int, ...], rows: int, cols: int) -> int:
        """One past the last element read or written (0 when there is none)."""
        if rows * cols * math.prod(batch) == 0:
            return 0
        last = self.offset + (rows - 1) * self.ld + cols - 1
        return last + sum((d - 1) * s for d, s in zip(batch, self.strides, strict=True)) + 1


@dataclass(frozen=True)
class GemmLayout:
    batch: tuple[int, ...]
    a: OperandView
    b: OperandView
    c: OperandView

    def operand(self, name: str) -> OperandView:
        return getattr(self, name)

    def flat(self) -> DenseArrayBase:
        """The property: [dims, *batch, then offset, ld, *strides of a, b, c]."""
        values = [len(self.batch), *self.batch]
        for v in (self.a, self.b, self.c):
            values += [v.offset, v.ld, *v.strides]
        return int_array(values)

    @staticmethod
    def from_flat(attr: DenseArrayBase) -> GemmLayout:
        values = int_tuple(attr)
        nb = values[0]
        batch, rest = values[1:1 + nb], values[1 + nb:]
        views = [OperandView(rest[i], rest[i + 1], tuple(rest[i + 2:i + 2 + nb]))
                 for i in range(0, 3 * (nb + 2), nb + 2)]
        return GemmLayout(tuple(batch), *views)

    def merged(self) -> GemmLayout:
        """The same layout with size-1 batch dims dropped and adjacent batch dims merged
        where every operand steps through them as through one dim."""
        dims = [(d, (a, b, c)) for d, a, b, c in
                zip(self.batch, self.a.strides, self.b.strides, self.c.strides, strict=True)
                if d != 1]
        out: list[tuple[int, tuple[int, ...]]] = []
        for d, s in dims:
            if out and all(po == si * d for po, si in zip(out[-1][1], s, strict=True)):
                out[-1] = (out[-1][0] * d, s)
            else:
                out.append((d, s))
        views = [OperandView(v.offset, v.ld, tuple(s[i] for _, s in out))
                 for i, v in enumerate((self.a, self.b, self.c))]
        return GemmLayout(tuple(d for d, _ in out), *views)


def contiguous(batch: int, m: int, n: int, k: int, transpose_a: bool, transpose_b: bool,
               a_numel: int, b_numel: int) -> GemmLayout:
    """The layout `loop.matmul`/`cpu.gemm` have without a `views` clause."""
    dims = (batch,) if batch > 1 else ()
    one = len(dims)

    def view(ld: int, per: int, numel: int) -> OperandView:
        return OperandView(0, ld, (per if numel == batch * per else 0,) * one)

    return GemmLayout(dims, view(m if transpose_a else k, m * k, a_numel),
                      view(k if transpose_b else n, k * n, b_numel),
                      OperandView(0, n, (m * n,) * one))


def implicit(batch: int, m: int, n: int, k: int, transpose_a: bool, transpose_b: bool,
             numels: tuple[int, int, int]) -> GemmLayout | None:
    """The layout an op without a `views` clause has, or None when the buffers' sizes
    do not allow one (a must hold m*k or batch*m*k elements, ...): then a layout
    equal to `contiguous` must still be spelled out."""
    a, b, c = numels
    if a not in (m * k, batch * m * k) or b not in (k * n, batch * k * n) or \
            c != batch * m * n:
        return None
    return contiguous(batch, m, n, k, transpose_a, transpose_b, a, b)


def layout_property(views: GemmLayout | None, dims: tuple[int, int, int, int],
                    transpose_a: bool, transpose_b: bool,
                    operands: tuple[SSAValue, SSAValue, SSAValue]) -> DenseArrayBase | None:
    """The `layout` property a `loop.matmul`/`cpu.gemm` stores for `views`: none when
    the views are the implicit contiguous layout (so plain products print as before)."""
    numels = tuple(numel(v.type) for v in operands)  # type: ignore[arg-type]
    plain = implicit(*dims, transpose_a, transpose_b, numels)
    if views is None or views == plain:
        return None
    if plain is not None and views.batch == plain.batch:
        # where an operand has no element, any view of it is as good as the plain one
        empty = {name: n == 0 for name, n in zip(OPERANDS, numels, strict=True)}
        if plain == GemmLayout(views.batch, *(plain.operand(o) if empty[o]
                                              else views.operand(o) for o in OPERANDS)):
            return None
    return views.flat()


def of_op(layout: DenseArrayBase | None, dims: tuple[int, int, int, int], transpose_a: bool,
          transpose_b: bool, a: SSAValue, b: SSAValue) -> GemmLayout:
    """Where an op's matrices lie: its `views` clause, else the contiguous layout."""
    if layout is not None:
        return GemmLayout.from_flat(layout)
    return contiguous(*dims, transpose_a, transpose_b, numel(a.type), numel(b.type))  # type: ignore[arg-type]


def stored_shapes(m: int, n: int, k: int, transpose_a: bool,
                  transpose_b: bool) -> dict[str, tuple[int, int]]:
    """(rows, cols) of the stored matrix of each operand."""
    return {"a": (k, m) if transpose_a else (m, k), "b": (n, k) if transpose_b else (k, n),
            "c": (m, n)}


def check(layout: GemmLayout, batch: int, shapes: dict[str, tuple[int, int]],
          numels: dict[str, int]) -> str | None:
    """Why `layout` is not valid for buffers of `numels` elements (None when it is)."""
    if math.prod(layout.batch) != batch:
        return f"batch dims {list(layout.batch)} do not multiply to batch={batch}"
    for name in OPERANDS:
        v, (rows, cols) = layout.operand(name), shapes[name]
        if v.offset < 0 or any(s < 0 for s in v.strides):
            return f"{name}: offsets and strides must not be negative"
        if rows > 1 and v.ld < cols:
            return f"{name}: ld={v.ld} is less than the {cols} columns it stores"
        if v.reach(layout.batch, rows, cols) > numels[name]:
            return f"{name}: the view reaches past the buffer's {numels[name]} elements"
    return None


def print_views(printer: Printer, layout: GemmLayout) -> None:
    printer.print_string(f" views {list(layout.batch)}")
    for name in OPERANDS:
        v = layout.operand(name)
        printer.print_string(f" {name}={[v.offset, v.ld, *v.strides]}")


def parse_views(parser: Parser) -> GemmLayout | None:
    if parser.parse_optional_keyword("views") is None:
        return None
    batch = parse_int_list(parser)
    views = []
    for name in OPERANDS:
        parser.parse_keyword(name)
        parser.parse_punctuation("=")
        values = parse_int_list(parser)
        if len(values) != 2 + len(batch):
            parser.raise_error(f"{name}= takes [offset, ld] and one stride per batch dim")
        views.append(OperandView(values[0], values[1], tuple(values[2:])))
    return GemmLayout(tuple(batch), *views)
