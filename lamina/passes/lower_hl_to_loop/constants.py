"""Non-uniform `hl.constant`s live in `memref.global`s, read with `memref.get_global`."""

from __future__ import annotations

from xdsl.dialects import memref
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, StringAttr, UnitAttr
from xdsl.ir import SSAValue

from lamina.dialects.hl import shape as sh
from lamina.dialects.hl.base import dense_to_numpy, numpy_to_dense
from lamina.passes.lower_hl_to_loop.kernel import memref_of, storage_type


def global_buffer(lowering, op: sh.ConstantOp) -> SSAValue:
    """Declare the constant as a module-level global; return its buffer in the function."""
    t = memref_of(op.results[0].type)  # type: ignore[arg-type]
    values = dense_to_numpy(op.properties["value"])  # type: ignore[arg-type]
    if values.dtype == bool:
        values = values.astype("int8")
    dense: DenseIntOrFPElementsAttr = numpy_to_dense(values, storage_type(t.element_type))
    taken = {getattr(o, "sym_name", StringAttr("")).data for o in lowering.module.ops}
    n = 0
    while f"__constant_{n}" in taken:
        n += 1
    name = f"__constant_{n}"
    glob = memref.GlobalOp.get(StringAttr(name), t, dense, constant=UnitAttr())
    lowering.module.body.block.insert_op_before(glob, lowering.fn)
    get = memref.GetGlobalOp(name, t)
    lowering.add(get)
    return get.memref
