"""When lm.jit compiles a dim symbolic (docs/dynamic_shapes.md), and how it probes one.

- `lm.jit(fn, dynamic=True)`: the leading dim of every array argument whose size is
  the first argument's is symbolic from the first call (duck sizing, as torch: dims of
  the same size are one symbol);
- `lm.mark_dynamic(x, dim)`: that dim of that array (plus every leading dim of the
  same size) is symbolic when `x` is passed;
- by default (`dynamic=None`): the first call compiles for its shapes; a later call
  that differs from it only in sizes compiles once more with the dims that changed
  symbolic (those that changed together are one symbol) and that program serves
  every later size of them (`dynamic=False`: every shape compiles anew).

One symbol per program: sizes that change independently (two symbols) compile for
their static shape, with the reason logged. A symbolic dim is >= 2: a call with size
1 there runs a static program, so a size-1 dim never broadcasts by accident (torch's
0/1 specialization). Reasons are kept in `Jitted.compile_log` and printed with
`LAMINA_LOG_RECOMPILES=1`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, DimError, with_location
from lamina.frontend.tensor import Tensor
from lamina.runtime.dynamic import MAX_SIZE

__all__ = ["mark_dynamic"]

# id(array or tensor) -> (weak reference, marked dims)
_MARKS: dict[int, tuple[weakref.ref, set[int]]] = {}


def mark_dynamic(x: Any, dim: int | list[int] | tuple[int, ...]) -> None:
    """Compile `dim` of `x` symbolic when `x` is passed to an `lm.jit` function
    (`torch._dynamo.mark_dynamic`)."""
    if not isinstance(x, Tensor | np.ndarray):
        raise ArgumentError(with_location(
            f"mark_dynamic: expected a Tensor or ndarray, got {type(x).__name__}"))
    rank = len(x.shape)
    dims = {dim} if isinstance(dim, int) else set(dim)
    for d in dims:
        if not -rank <= d < rank:
            raise DimError(with_location(
                f"mark_dynamic: dim {d} out of range for a tensor of {rank} dims"))
    key = id(x)
    _MARKS[key] = (weakref.ref(x, lambda _r, k=key: _MARKS.pop(k, None)),
                   {d % rank for d in dims})


def marked(x: Any) -> set[int]:
    found = _MARKS.get(id(x))
    return found[1] if found is not None and found[0]() is x else set()


def _shape(leaf: Any) -> tuple[int, ...] | None:
    if isinstance(leaf, Tensor):
        return tuple(leaf.shape)
    if isinstance(leaf, np.ndarray | np.generic):
        return tuple(np.shape(leaf))
    return None


def shapes_of(leaves: list[Any]) -> list[tuple[int, ...] | None]:
    return [_shape(x) for x in leaves]


def rank_key(key: tuple) -> tuple:
    """A signature with each array's shape replaced by its rank."""
    treedef, sig, backend = key
    return (treedef, tuple((s[0], len(s[1]), *s[2:]) if s[0] == "A" else s for s in sig),
            backend)


Dims = tuple[tuple[int, int], ...]  # (leaf index, dim) pairs: one symbol


def _duck(shapes: list, size: int, leading_only: bool) -> Dims:
    return tuple((i, d) for i, sh in enumerate(shapes) if sh
                 for d in (range(min(1, len(sh))) if leading_only else range(len(sh)))
                 if sh[d] == size)


def requested(leaves: list[Any], shapes: list, dynamic: bool | None) -> tuple[Dims, str]:
    """The symbol asked for by `dynamic=True` or `mark_dynamic` (else `()`), and why."""
    marks = [(i, d) for i, x in enumerate(leaves) for d in marked(x)]
    if marks:
        sizes = {shapes[i][d] for i, d in marks}
        if len(sizes) > 1:
            return (), f"marked dims have different sizes {sorted(sizes)} (one symbol only)"
        size = sizes.pop()
        return tuple(sorted(set(marks) | set(_duck(shapes, size, True)))), "mark_dynamic"
    if dynamic:
        first = next((sh for sh in shapes if sh), None)
        if first is None:
            return (), "no array argument has a dim"
        return _duck(shapes, first[0], True), "dynamic=True"
    return (), ""


def changed(before: list, now: list) -> tuple[Dims, str]:
    """The dims that changed between two calls of one rank signature, as one symbol,
    or `()` and why not."""
    pairs = {}
    for i, (a, b) in enumerate(zip(before, now, strict=True)):
        for d, (x, y) in enumerate(zip(a or (), b or (), strict=True)):
            if x != y:
                pairs.setdefault((x, y), []).append((i, d))
    if not pairs:
        return (), ""
    if len(pairs) != 1:
        return (), f"{len(pairs)} sizes changed independently: {sorted(pairs)} (one symbol only)"
    (old, new), dims = next(iter(pairs.items()))
    # dims that did not change but had the old size stay static (they may be bound to
    # a parameter); the ones that changed together are the symbol
    return tuple(dims), f"size {old} -> {new} at " + ", ".join(f"arg {i} dim {d}" for i, d in dims)


def admissible(dims: Dims, shapes: list) -> str:
    """'' when these dims can be one symbol for this call, else the reason."""
    sizes = {shapes[i][d] for i, d in dims}
    if len(sizes) != 1:
        return f"the dims of one symbol have sizes {sorted(sizes)}"
    size = sizes.pop()
    if size < 2:
        return "size 1 (and 0) stay static: a symbolic dim is >= 2"
    if size > MAX_SIZE:
        return f"sizes above {MAX_SIZE} compile for their shape (the probes are larger)"
    return ""


def probe_leaves(leaves: list[Any], dims: Dims, size: int) -> list[Any]:
    """The call's leaves with the symbolic dims at `size`: zero-strided arrays (no
    memory); tensors that require grad stay tensors (the trace differentiates them)."""
    by_leaf: dict[int, list[int]] = {}
    for i, d in dims:
        by_leaf.setdefault(i, []).append(d)
    out = list(leaves)
    for i, ds in by_leaf.items():
        x = leaves[i]
        shape = list(_shape(x))  # type: ignore[arg-type]
        for d in ds:
            shape[d] = size
        dt = x.dtype.np_dtype if isinstance(x, Tensor) else \
            dtypes.from_numpy(np.asarray(x).dtype).np_dtype
        view = np.broadcast_to(np.zeros((), dt), shape)
        out[i] = Tensor._wrap(view, requires_grad=True) if isinstance(x, Tensor) \
            and x.requires_grad else view
    return out


@dataclass
class Symbolic:
    """A compiled dynamic program of one rank signature: which dims are the symbol,
    the static sizes of the others (per leaf, None at symbolic dims)."""

    entry: Any  # jit._Entry
    dims: Dims
    static: list[tuple[int | None, ...] | None]
    guards: list  # lamina.frontend.sizes.Guard: what the trace asked of the size

    def static_fits(self, shapes: list) -> bool:
        """Whether the dims this program keeps static have their traced sizes."""
        return all(a is None or (b is not None and len(a) == len(b) and all(
            x is None or x == y for x, y in zip(a, b, strict=True)))
            for a, b in zip(self.static, shapes, strict=True))

    def refuses(self, shapes: list) -> str:
        """'' when the program runs this call, else why not."""
        reason = admissible(self.dims, shapes)
        if reason:
            return reason
        for i, (a, b) in enumerate(zip(self.static, shapes, strict=True)):
            if a is not None and (b is None or len(a) != len(b) or any(
                    x is not None and x != y for x, y in zip(a, b, strict=True))):
                return f"arg {i} has shape {b}; the symbolic program has {_text(a)}"
        i, d = self.dims[0]
        size = shapes[i][d]
        for g in self.guards:
            if not g.holds(size):
                return f"s = {size} fails the guard {g} (the trace asked it of the size)"
        return ""

    @classmethod
    def of(cls, entry: Any, dims: Dims, shapes: list, guards: list) -> Symbolic:
        sym = set(dims)
        static = [None if sh is None else tuple(None if (i, d) in sym else n
                                                 for d, n in enumerate(sh))
                  for i, sh in enumerate(shapes)]
        return cls(entry, dims, static, guards)


def slice_guards(m0: Any, m1: Any) -> list:
    """A slice with a static bound on a symbolic dim (`x[:10]`: the frontend clamped
    10 to the probe size) is valid only where the size reaches the bound: a guard."""
    from lamina.dialects.hl.indexing import SliceOp
    from lamina.frontend.sizes import Guard
    from lamina.runtime.dynamic import Poly, decode

    guards = []
    for a, b in zip(m0.walk(), m1.walk(), strict=True):
        if not isinstance(a, SliceOp):
            continue
        dims0, dims1 = a.input.type.get_shape(), b.input.type.get_shape()
        for d, (n0, n1) in enumerate(zip(dims0, dims1, strict=True)):
            stop = a.prop("stop")[d]
            if n0 != n1 and stop == b.prop("stop")[d]:
                poly = decode(n0, n1)
                g = Guard(Poly((poly.coeffs[0] - stop, *poly.coeffs[1:])), ">=", True)
                if g not in guards:
                    guards.append(g)
    return guards


def _text(shape: tuple) -> str:
    return "(" + ", ".join("s" if n is None else str(n) for n in shape) + ")"


def structure(module: Any) -> list[str]:
    """The op sequence of a traced module (what a size must not change)."""
    return [op.name for op in module.walk()]
