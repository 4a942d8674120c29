"""The core layer: lamina's dialects, one per level, and the one list of them.

| dialect | level | module |
|---|---|---|
| `hl` | tensors, value semantics | `lamina/dialects/hl/` |
| `loop` | buffers, structured loop kernels | `lamina/dialects/loop.py` |
| `cpu` | C-shaped kernels over linear offsets | `lamina/dialects/cpu.py` |
| `tile` | Triton programs | `lamina/dialects/tile.py` |

Nothing here imports a layer above (passes, codegen, runtime, frontend): the layer
contract in `pyproject.toml` says so and `make test` checks it.
"""

from __future__ import annotations

from xdsl.context import Context
from xdsl.ir import Dialect

from lamina.dialects import xdsl_patches  # noqa: F401  (linear-time string lexing)


def all_dialects() -> list[Dialect]:
    """Every dialect lamina's IR may contain: xDSL's builtin, func, arith, math, memref
    and scf, then lamina's own."""
    from xdsl.dialects import func, math, memref, scf
    from xdsl.dialects.builtin import Builtin

    from lamina.dialects.check import CHECK
    from lamina.dialects.cpu import CPU
    from lamina.dialects.hl import HL
    from lamina.dialects.loop import LOOP
    from lamina.dialects.scalar import ARITH
    from lamina.dialects.tile import Tile

    return [Builtin, func.Func, ARITH, math.Math, memref.MemRef, scf.Scf,
            HL, LOOP, CPU, Tile, CHECK]


# lamina's own dialects: name -> (module, attribute), for contexts that load a dialect
# only when IR names it (`lamina-opt --help` and a loop-level lit test never import hl)
OWN_DIALECTS = {
    "hl": ("lamina.dialects.hl", "HL"),
    "loop": ("lamina.dialects.loop", "LOOP"),
    "cpu": ("lamina.dialects.cpu", "CPU"),
    "tile": ("lamina.dialects.tile", "Tile"),
    "check": ("lamina.dialects.check", "CHECK"),
}


def register_own_dialects(ctx: Context) -> None:
    """Register lamina's dialects in `ctx` without importing them: xDSL loads one the
    first time IR names it. A name the context already knows is left as it is."""
    from importlib import import_module

    for name, (module, attr) in OWN_DIALECTS.items():
        if name not in ctx.registered_dialect_names:
            ctx.register_dialect(name, lambda m=module, a=attr: getattr(import_module(m), a))


def context() -> Context:
    """A context that parses and verifies IR of every lamina level."""
    ctx = Context()
    for dialect in all_dialects():
        ctx.load_dialect(dialect)
    return ctx
