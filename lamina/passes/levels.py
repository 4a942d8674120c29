"""Which level a module is at, so that a lowering given the wrong one says so.

A module's level is read off its ops: `hl.*` ops or functions on tensors are hl;
`loop.*`, `cpu.*` and `tile.*` ops are their dialects' levels. A lowering accepts only
its own input level (an empty module is any level), instead of exiting 0 without
changing anything.
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation

from lamina.errors import CompileError

_DIALECT_LEVELS = {"hl": "hl", "loop": "loop", "cpu": "cpu", "tile": "tile"}


def levels_in(module: ModuleOp) -> dict[str, Operation]:
    """Each level present, with the first op that shows it."""
    found: dict[str, Operation] = {}
    for op in module.walk():
        level = _DIALECT_LEVELS.get(op.name.partition(".")[0])
        if level is None and isinstance(op, func.FuncOp) and any(
                isinstance(t, TensorType) for t in
                [*op.function_type.inputs.data, *op.function_type.outputs.data]):
            level = "hl"
        if level is not None:
            found.setdefault(level, op)
    return found


def expect_level(module: ModuleOp, level: str, pass_name: str, hint: str = "") -> None:
    """Raise a CompileError naming the pass and the first op of another level (`hint`,
    when given, ends the message: what to run first, say)."""
    for other, op in levels_in(module).items():
        if other != level:
            what = f"@{op.sym_name.data} on tensors" if isinstance(op, func.FuncOp) \
                else f"'{op.name}'"
            raise CompileError(f"{pass_name}: expects {level}-level IR, but the input "
                               f"holds {other}-level IR ({what}){hint and '; ' + hint}")
