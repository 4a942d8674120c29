"""The pass pipelines the compiler runs, and the registry `lamina-opt` lists.

Each pass verifies its output when `LAMINA_VERIFY=1` (always in tests); a pass
that produces invalid IR fails with the pass's name. With `LAMINA_DUMP=dir`,
the IR after every pass is written to `dir`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.transforms.canonicalize import CanonicalizePass
from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination
from xdsl.transforms.dead_code_elimination import DeadCodeElimination
from xdsl.utils.exceptions import DiagnosticException

from lamina import knobs
from lamina.errors import CompileError


def context() -> Context:
    """A context with every dialect lamina's IR may contain."""
    from xdsl.dialects import arith, func, math, memref, scf
    from xdsl.dialects.builtin import Builtin

    from lamina.dialects.hl import HL

    ctx = Context()
    for dialect in (Builtin, func.Func, arith.Arith, math.Math, memref.MemRef, scf.Scf, HL):
        ctx.load_dialect(dialect)
    for loader in _EXTRA_DIALECTS:
        ctx.load_dialect(loader())
    return ctx


_EXTRA_DIALECTS: list[Callable] = []


def register_dialect(loader: Callable) -> None:
    """Backends register the dialects of their levels (loop, cpu, tile) here."""
    _EXTRA_DIALECTS.append(loader)


def load_backends() -> None:
    """Import the backend packages so they register their dialects and passes."""
    import lamina  # noqa: F401  (its import loads every backend present)


def all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Every pass `lamina-opt -p` accepts: xDSL's generic ones and lamina's."""
    from lamina.passes import registry

    return {
        "canonicalize": lambda: CanonicalizePass,
        "cse": lambda: CommonSubexpressionElimination,
        "dce": lambda: DeadCodeElimination,
    } | registry.lamina_passes()


def run_passes(module: ModuleOp, passes: Sequence[ModulePass], dump_tag: str = "") -> None:
    ctx = context()
    dump = knobs.dump_dir()
    for i, p in enumerate(passes):
        p.apply(ctx, module)
        if knobs.verify_each_pass():
            try:
                module.verify()
            except DiagnosticException as err:
                raise CompileError(f"pass '{p.name}' produced invalid IR:\n{err}") from err
        if dump:
            os.makedirs(dump, exist_ok=True)
            with open(os.path.join(dump, f"{dump_tag}{i:02d}-{p.name}.mlir"), "w") as f:
                f.write(str(module))


def simplify_hl(module: ModuleOp, dump_tag: str = "") -> None:
    """canonicalize, cse, dce on an hl module."""
    run_passes(module, [CanonicalizePass(), CommonSubexpressionElimination(),
                        DeadCodeElimination()], dump_tag)
