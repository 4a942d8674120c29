"""`instantiate-dims` (hl -> hl): every dynamic dim `?` of the program becomes `size`.

hl types may have dynamic dims (`tensor<?x784xf32>`): the shape rules treat every `?`
of a program as one symbolic size `s` (docs/dynamic_shapes.md). The levels below hl
take static sizes; a symbolic program is compiled by lowering it at two probe sizes
and generalizing the result (`lamina.runtime.dynamic`), which is what `lm.jit` does
with the traced program. This pass is that first step for `lamina-opt`:

    lamina-opt mlp.mlir -p 'instantiate-dims{size=65537},c-pipeline'
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp, TensorType
from xdsl.ir import Attribute
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from lamina.passes.levels import expect_level


def _static(t: Attribute, size: int) -> Attribute:
    if isinstance(t, TensorType) and any(d < 0 for d in t.get_shape()):
        return TensorType(t.element_type, [size if d < 0 else d for d in t.get_shape()])
    return t


def is_dynamic(module: ModuleOp) -> bool:
    return any(isinstance(v.type, TensorType) and any(d < 0 for d in v.type.get_shape())
               for op in module.walk() for v in (*op.results, *(
                   a for r in op.regions for b in r.blocks for a in b.args)))


@dataclass(frozen=True)
class InstantiateDimsPass(ModulePass):
    """hl -> hl: every `?` dim becomes `size`; what holds after: no dynamic dims."""

    name = "instantiate-dims"
    size: int = 65537

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        expect_level(op, "hl", self.name)
        for o in list(op.walk()):
            values = [*o.results, *(a for r in o.regions for b in r.blocks for a in b.args)]
            for v in values:
                new = _static(v.type, self.size)
                if new is not v.type:
                    Rewriter.replace_value_with_new_type(v, new)
            if isinstance(o, func.FuncOp):
                ft = o.function_type
                o.function_type = FunctionType.from_lists(
                    [_static(t, self.size) for t in ft.inputs.data],
                    [_static(t, self.size) for t in ft.outputs.data])
