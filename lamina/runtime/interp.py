"""The reference interpreter: runs an `hl` function op by op with each op's numpy
`reference`. It is the spec every compiled backend is tested against, and the
`"interp"` backend a user can pick to debug a program.

Half-precision tensors (f16, bf16) are computed in float32 and rounded back to
their type after every op, which is what the compiled backends do too."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue

from lamina import dtypes
from lamina.dialects.hl.base import HlOp, dtype_of, shape_of
from lamina.errors import LaminaError

_HALF = {np.dtype(np.float16), dtypes.bfloat16.np_dtype}


def _compute_dtype(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32) if a.dtype in _HALF else a


def run_op(op: HlOp, args: Sequence[np.ndarray]) -> np.ndarray:
    out = op.reference(*(_compute_dtype(a) for a in args))
    out = np.asarray(out)
    want = dtype_of(op.out.type).np_dtype
    if out.dtype != want:
        with np.errstate(invalid="ignore", over="ignore"):
            out = out.astype(want)
    if out.shape != shape_of(op.out.type):
        raise LaminaError(f"{op.name}: reference produced shape {out.shape}, "
                          f"expected {shape_of(op.out.type)}")
    return out


def run_function(fn: func.FuncOp, args: Sequence[np.ndarray]) -> list[np.ndarray]:
    block = fn.body.block
    if len(args) != len(block.args):
        raise LaminaError(f"@{fn.sym_name.data} takes {len(block.args)} arguments, "
                          f"got {len(args)}")
    env: dict[SSAValue, np.ndarray] = dict(zip(block.args, args, strict=True))
    for op in block.ops:
        if isinstance(op, func.ReturnOp):
            return [env[v] for v in op.operands]
        if not isinstance(op, HlOp):
            raise LaminaError(f"the interpreter runs hl ops only, found {op.name}")
        env[op.results[0]] = run_op(op, [env[v] for v in op.operands])
    raise LaminaError(f"@{fn.sym_name.data} has no func.return")


def find_function(module: ModuleOp, name: str | None = None) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and (name is None or op.sym_name.data == name):
            return op
    raise LaminaError(f"no function {'@' + name if name else ''} in the module")


def run_module(module: ModuleOp, args: Sequence[np.ndarray], name: str | None = None):
    return run_function(find_function(module, name), args)
