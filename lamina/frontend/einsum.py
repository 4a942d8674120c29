"""`lm.einsum` (torch.einsum semantics), written as the ops a compiler already knows:
each pair of operands becomes one batched `hl.matmul` between transposes and
reshapes, and indices that only one side carries are summed first. Gradients come
from those ops' rules; no einsum op reaches the IR.

Supported: explicit (`ij,jk->ik`) and implicit (`ij,jk`) outputs, `...` with
broadcasting, any number of operands (contracted left to right), and an index repeated
within one operand (`ii->i`, `ii`, `bii->b`), which takes that operand's diagonal first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import ops
from lamina.frontend.tensor import Tensor

__all__ = ["einsum"]

_ELLIPSIS_LETTERS = "αβγδεζηθικλμνξοπρστυφχψω"  # stand-ins for the dims `...` covers


def einsum(equation: str, *operands: Any) -> Tensor:
    """torch.einsum: `lm.einsum("bij,bjk->bik", a, b)`."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    tensors = [x if isinstance(x, Tensor) else Tensor._wrap(x) for x in operands]
    specs, out = _parse(equation.replace(" ", ""), tensors)
    for i, spec in enumerate(specs):
        tensors[i], specs[i] = _diagonals(equation, tensors[i], spec)
    _check_sizes(equation, specs, tensors)
    x, spec = tensors[0], specs[0]
    for i in range(1, len(tensors)):
        later = set(out).union(*specs[i + 1:])
        x, spec = _contract(x, spec, tensors[i], specs[i], later)
    return _finish(x, spec, out)


def _error(equation: str, message: str) -> ArgumentError:
    return ArgumentError(with_location(f"einsum: {message} (equation {equation!r})"))


def _parse(equation: str, tensors: Sequence[Tensor]) -> tuple[list[str], str]:
    """Operand index strings and the output string, `...` replaced by stand-in letters
    aligned from the right (as broadcasting aligns dims)."""
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(tensors):
        raise _error(equation, f"{len(inputs)} operand specs for {len(tensors)} operands")
    ranks = [t.ndim - len(spec.replace("...", "")) if "..." in spec else 0
             for spec, t in zip(inputs, tensors, strict=True)]
    width = max([0, *ranks])
    specs = []
    for spec, t, rank in zip(inputs, tensors, ranks, strict=True):
        full = spec.replace("...", _ELLIPSIS_LETTERS[width - rank:width] if rank >= 0 else "")
        if rank < 0 or len(full) != t.ndim or not (full.isalpha() or not full):
            raise _error(equation, f"spec {spec!r} does not fit an operand of shape "
                                   f"{list(t.shape)}")
        specs.append(full)
    if arrow:
        out = rhs.replace("...", _ELLIPSIS_LETTERS[:width])
        if len(set(out)) != len(out) or not set(out) <= set("".join(specs)):
            raise _error(equation, f"output {rhs!r} repeats an index or names one no "
                                   "operand has")
    else:
        joined = "".join(inputs)
        out = _ELLIPSIS_LETTERS[:width] + "".join(
            sorted(c for c in set(joined) if c.isalpha() and joined.count(c) == 1))
    return specs, out


def _diagonals(equation: str, x: Tensor, spec: str) -> tuple[Tensor, str]:
    """An index repeated within one operand (`ii`): that operand's diagonal over the
    two dims, as one dim (moved last) of that index."""
    from lamina.frontend.shape_extra import diagonal

    while len(set(spec)) != len(spec):
        c = next(c for c in spec if spec.count(c) > 1)
        i = spec.index(c)
        j = spec.index(c, i + 1)
        if x.shape[i] != x.shape[j]:
            raise ShapeError(with_location(
                f"einsum: index {c!r} repeated in one operand has sizes {x.shape[i]} and "
                f"{x.shape[j]} (equation {equation!r})"))
        x = diagonal(x, 0, i, j)
        spec = spec[:i] + spec[i + 1:j] + spec[j + 1:] + c
    return x, spec


def _check_sizes(equation: str, specs: Sequence[str], tensors: Sequence[Tensor]) -> None:
    """Every index has one size across operands (or 1, which broadcasts)."""
    sizes: dict[str, int] = {}
    for spec, t in zip(specs, tensors, strict=True):
        for c, n in zip(spec, t.shape, strict=True):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise ShapeError(with_location(
                    f"einsum: index {c!r} has sizes {sizes[c]} and {n} (operand shapes "
                    f"{[list(x.shape) for x in tensors]}, equation {equation!r})"))
            sizes[c] = max(sizes.get(c, 1), n)


def _sum_out(x: Tensor, spec: str, keep: set[str]) -> tuple[Tensor, str]:
    dims = tuple(i for i, c in enumerate(spec) if c not in keep)
    if not dims:
        return x, spec
    return ops.sum(x, dim=dims), "".join(c for c in spec if c in keep)


def _contract(a: Tensor, sa: str, b: Tensor, sb: str, later: set[str]) -> tuple[Tensor, str]:
    """One pairwise step: [batch, a-free, k] @ [batch, k, b-free] as a matmul."""
    from lamina.frontend.linalg import matmul

    a, sa = _sum_out(a, sa, later | set(sb))
    b, sb = _sum_out(b, sb, later | set(sa))
    batch = [c for c in sa if c in sb and c in later]
    inner = [c for c in sa if c in sb and c not in later]
    a_free = [c for c in sa if c not in sb]
    b_free = [c for c in sb if c not in sa]
    size_a, size_b = dict(zip(sa, a.shape, strict=True)), dict(zip(sb, b.shape, strict=True))
    inner_sizes = {c: max(size_a[c], size_b[c]) for c in inner}
    a = _arrange(a, sa, batch + a_free + inner, inner_sizes)
    b = _arrange(b, sb, batch + inner + b_free, inner_sizes)
    nb = len(batch)
    fa = [size_a[c] for c in a_free]
    fb = [size_b[c] for c in b_free]
    k = int(np.prod(list(inner_sizes.values())))
    y = matmul(a.reshape((*a.shape[:nb], int(np.prod(fa)), k)),
               b.reshape((*b.shape[:nb], k, int(np.prod(fb)))))
    return y.reshape((*y.shape[:nb], *fa, *fb)), "".join(batch + a_free + b_free)


def _arrange(x: Tensor, spec: str, order: list[str], stretch: dict[str, int]) -> Tensor:
    """Permute to `order`; contracted dims of size 1 are broadcast to the other side's size."""
    x = ops.permute(x, *(spec.index(c) for c in order))
    target = tuple(stretch.get(c, n) for c, n in zip(order, x.shape, strict=True))
    return ops.broadcast_to(x, target) if target != x.shape else x


def _finish(x: Tensor, spec: str, out: str) -> Tensor:
    x, spec = _sum_out(x, spec, set(out))
    return ops.permute(x, *(spec.index(c) for c in out)) if spec != out else x
