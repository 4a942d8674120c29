"""A numpy interpreter of the `loop` level: the executable spec of `lower-hl-to-loop`.

Each `loop.kernel` runs vectorized over its parallel dims: every scalar of the
body is a numpy array broadcast over the kernel's iteration space, loads are
fancy indexing, stores are indexed assignment. Nested `loop.for`, `loop.seq_for`
and `loop.reduce` iterate in Python, in order. Slow, but small and obviously
faithful; tests run it on small shapes and compare with the hl interpreter.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import ml_dtypes
import numpy as np
from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import (
    BFloat16Type,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerType,
    MemRefType,
    ModuleOp,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from lamina import dtypes
from lamina.dialects import check, loop
from lamina.dialects.hl.indexing import IndexOutOfRangeError
from lamina.dialects.scalar import SCALAR_OPS


def np_type(t: Attribute) -> np.dtype:
    if isinstance(t, IndexType):
        return np.dtype(np.int64)
    if isinstance(t, IntegerType):
        w = t.width.data
        return np.dtype(np.bool_) if w == 1 else np.dtype(f"int{w}")
    return {Float16Type: np.dtype(np.float16), BFloat16Type: np.dtype(ml_dtypes.bfloat16),
            Float32Type: np.dtype(np.float32), Float64Type: np.dtype(np.float64)}[type(t)]


def _unsigned(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(np.uint8) if x.dtype == np.bool_ else x.view(f"uint{x.dtype.itemsize * 8}")


_FCMP = {"oeq": np.equal, "une": lambda a, b: ~np.equal(a, b), "olt": np.less,
         "ole": np.less_equal, "ogt": np.greater, "oge": np.greater_equal,
         "uno": lambda a, b: np.isnan(a) | np.isnan(b),
         "ord": lambda a, b: ~(np.isnan(a) | np.isnan(b))}
_ICMP = {"eq": np.equal, "ne": np.not_equal, "slt": np.less, "sle": np.less_equal,
         "sgt": np.greater, "sge": np.greater_equal}


def _cmpi(pred: str, a, b):
    if pred in _ICMP:
        return _ICMP[pred](a, b)
    return _ICMP["s" + pred[1:]](_unsigned(a), _unsigned(b))


_CASTS = (arith.IndexCastOp, arith.SIToFPOp, arith.FPToSIOp, arith.FPToUIOp, arith.ExtFOp,
          arith.TruncFOp, arith.ExtSIOp, arith.TruncIOp)


class LoopInterpreter:
    def __init__(self, module: ModuleOp):
        self.globals: dict[str, np.ndarray] = {}
        for op in module.ops:
            if isinstance(op, memref.GlobalOp):
                value = op.initial_value
                assert isinstance(value, DenseIntOrFPElementsAttr)
                t = op.type
                self.globals[op.sym_name.data] = np.array(
                    value.get_values(), dtype=np_type(t.element_type)).reshape(t.get_shape())
        self.module = module

    # ---- entry point

    def run(self, args: Sequence[np.ndarray], name: str | None = None) -> list[np.ndarray]:
        fn = next(op for op in self.module.ops if isinstance(op, func.FuncOp)
                  and (name is None or op.sym_name.data == name))
        block = fn.body.block
        kinds = [dtypes.as_dtype(s.data) for s in fn.attributes["lamina.dtypes"].data]  # type: ignore[attr-defined]
        env: dict[SSAValue, object] = {}
        for arg, value in zip(block.args[: len(args)], args, strict=True):
            env[arg] = self._to_storage(np.asarray(value), arg.type)
        outs = []
        for arg in block.args[len(args):]:
            buf = np.zeros(arg.type.get_shape(), np_type(arg.type.element_type))  # type: ignore[attr-defined]
            env[arg] = buf
            outs.append(buf)
        self._block(block, env)
        # after `donate-buffers`, output j lives in (the copy made above of) input i's buffer
        from lamina.passes.donate_buffers import donation_map

        for j, i in donation_map(fn).items():
            outs[j] = env[block.args[i]]
        return [self._from_storage(o, k) for o, k in zip(outs, kinds[len(args):], strict=True)]

    @staticmethod
    def _to_storage(x: np.ndarray, t: MemRefType) -> np.ndarray:
        x = np.asarray(x).reshape(t.get_shape())
        want = np_type(t.element_type)
        if x.dtype.kind in "iu" and want.kind == "i" and x.dtype.itemsize == want.itemsize:
            return x.copy(order="C").view(want)  # uint8 data in a signless i8 buffer
        return x.astype(want, order="C")  # (np.ascontiguousarray would make 0-d arrays 1-d)

    @staticmethod
    def _from_storage(x: np.ndarray, kind: dtypes.DType) -> np.ndarray:
        if kind == dtypes.bool_:
            return x != 0
        return x.view(kind.np_dtype)

    # ---- top-level ops

    def _block(self, block: Block, env: dict) -> None:
        for op in block.ops:
            if isinstance(op, loop.KernelOp):
                self._kernel(op, env)
            elif isinstance(op, memref.AllocOp):
                t = op.memref.type
                buf = np.zeros(t.get_shape(), np_type(t.element_type))  # type: ignore[attr-defined]
                if buf.dtype.kind == "f":
                    buf[...] = np.nan  # reading before writing shows up
                env[op.memref] = buf
            elif isinstance(op, memref.DeallocOp):
                del env[op.memref]
            elif isinstance(op, memref.GetGlobalOp):
                env[op.memref] = self.globals[op.name_.root_reference.data]
            elif isinstance(op, loop.ViewOp):
                env[op.res] = env[op.source].reshape(op.res.type.get_shape())  # type: ignore[attr-defined]
            elif isinstance(op, loop.MatmulOp):
                self._matmul(op, env)
            elif isinstance(op, func.ReturnOp):
                return
            else:
                raise NotImplementedError(f"loop interpreter: {op.name}")

    def _matmul(self, op: loop.MatmulOp, env: dict) -> None:
        from lamina.dialects import gemm_layout

        bt, m, n, k = (op.size(s) for s in op.SIZES)
        layout = op.views()
        shapes = gemm_layout.stored_shapes(m, n, k, op.flag("transpose_a"),
                                           op.flag("transpose_b"))
        if bt * m * n == 0:
            return

        def view(name: str) -> np.ndarray:
            """The batch x rows x cols matrices of operand `name`, in place."""
            flat, v = env[getattr(op, name)].reshape(-1), layout.operand(name)
            steps = (*v.strides, v.ld, 1)
            return np.lib.stride_tricks.as_strided(
                flat[v.offset:], (*layout.batch, *shapes[name]),
                tuple(s * flat.itemsize for s in steps))

        a, b, c = view("a"), view("b"), view("c")
        wide = np.float32 if a.dtype.kind == "f" and a.dtype.itemsize < 4 else a.dtype
        a = a.swapaxes(-1, -2) if op.flag("transpose_a") else a
        b = b.swapaxes(-1, -2) if op.flag("transpose_b") else b
        out = np.matmul(a.astype(wide), b.astype(wide)) if k else \
            np.zeros(c.shape, wide)
        if op.flag("accumulate"):
            out = out + c
        c[...] = out.astype(c.dtype)

    # ---- kernels (vectorized over the parallel dims)

    def _kernel(self, op: loop.KernelOp, env: dict) -> None:
        bounds = op.bound_values
        grids = np.indices(bounds, dtype=np.int64) if bounds else []
        local = dict(env)
        for arg, grid in zip(op.body.block.args, grids, strict=True):
            local[arg] = grid
        self._shape = tuple(bounds)
        self._body(op.body.block, local)

    def _body(self, block: Block, env: dict) -> None:
        for op in block.ops:
            self._scalar_op(op, env)

    def _scalar_op(self, op: Operation, env: dict) -> None:
        get = lambda v: env[v]  # noqa: E731
        if isinstance(op, arith.ConstantOp):
            value = op.value.value.data  # type: ignore[attr-defined]
            env[op.result] = np.array(value, dtype=np_type(op.result.type))
        elif isinstance(op, check.IndexOp):  # raises at once (compiled code: after the call)
            i = np.asarray(get(op.index))
            bad = (i < 0) | (i >= op.size_value)
            if bad.any():
                raise IndexOutOfRangeError(check.message(op.what.data, int(i[bad].flat[0])))
            env[op.result] = i
        elif isinstance(op, loop.LoadOp):
            buf = get(op.buf)
            idx = [np.asarray(get(i)) for i in op.indices]
            if op.mask is not None:
                mask = np.broadcast_to(get(op.mask), np.broadcast_shapes(
                    *(i.shape for i in idx), np.shape(get(op.mask))))
                safe = [np.where(mask, i, 0) for i in idx]
                env[op.res] = np.where(mask, buf[tuple(safe)] if buf.ndim else buf,
                                       get(op.other))
            else:
                env[op.res] = buf[tuple(idx)] if buf.ndim else buf[()]
        elif isinstance(op, loop.StoreOp):
            buf = get(op.buf)
            idx = [np.asarray(get(i)) for i in op.indices]
            shape = np.broadcast_shapes(self._shape, *(i.shape for i in idx))
            idx = [np.broadcast_to(i, shape) for i in idx]
            value = np.broadcast_to(get(op.value), shape)
            if buf.ndim:
                buf[tuple(idx)] = value
            else:
                buf[()] = value.reshape(-1)[-1] if value.size else buf[()]
        elif isinstance(op, loop.ForOp | loop.SeqForOp):
            for point in itertools.product(*(range(b) for b in op.bound_values)):
                for arg, i in zip(op.body.block.args, point, strict=True):
                    env[arg] = np.array(i, dtype=np.int64)
                self._body(op.body.block, env)
        elif isinstance(op, loop.ReduceOp):
            self._reduce(op, env)
        else:
            env[op.results[0]] = self._arith(op, [get(o) for o in op.operands])

    def _reduce(self, op: loop.ReduceOp, env: dict) -> None:
        kind = op.kind_name
        acc = np.asarray(env[op.init])
        pos = np.zeros((), np.int64)
        yield_op = op.body.block.last_op
        for n, point in enumerate(itertools.product(*(range(b) for b in op.bound_values))):
            for arg, i in zip(op.body.block.args, point, strict=True):
                env[arg] = np.array(i, dtype=np.int64)
            for inner in op.body.block.ops:
                if inner is not yield_op:
                    self._scalar_op(inner, env)
            v = np.asarray(env[yield_op.operands[0]])  # type: ignore[union-attr]
            if kind == "add":
                acc = (acc + v).astype(acc.dtype)
            elif kind == "mul":
                acc = (acc * v).astype(acc.dtype)
            elif kind in ("max", "min"):
                acc = (np.maximum if kind == "max" else np.minimum)(acc, v)
            else:
                better = v > acc if kind == "argmax" else v < acc
                if v.dtype.kind == "f":
                    better = better | (np.isnan(v) & ~np.isnan(acc))
                acc, pos = np.where(better, v, acc), np.where(better, n, pos)
        env[op.results[0]] = acc
        if len(op.results) == 2:
            env[op.results[1]] = pos.astype(np.int64)

    def _arith(self, op: Operation, args: list) -> np.ndarray:
        args = [np.asarray(a) for a in args]
        row = SCALAR_OPS.get(type(op))
        with np.errstate(all="ignore"):
            if row is not None:  # the op's numpy column, in the type of its result
                return np.asarray(row.numpy(*args)).astype(np_type(op.results[0].type))
            if isinstance(op, arith.CmpfOp):
                return _FCMP[_pred(op, arith.CMPF_COMPARISON_OPERATIONS)](*args)
            if isinstance(op, arith.CmpiOp):
                return _cmpi(_pred(op, arith.CMPI_COMPARISON_OPERATIONS), *args)
            if isinstance(op, arith.SelectOp):
                return np.where(*args)
            out_t = np_type(op.results[0].type)
            if isinstance(op, arith.ExtUIOp | arith.UIToFPOp):
                return _unsigned(args[0]).astype(out_t)
            if isinstance(op, arith.TruncIOp) and out_t == np.bool_:
                return (args[0] & 1).astype(np.bool_)
            if isinstance(op, _CASTS):
                return args[0].astype(out_t)
        raise NotImplementedError(f"loop interpreter: {op.name}")


def _pred(op: Operation, names: Sequence[str]) -> str:
    return names[op.predicate.value.data]  # type: ignore[attr-defined]


def run(module: ModuleOp, args: Sequence[np.ndarray]) -> list[np.ndarray]:
    return LoopInterpreter(module).run(args)
