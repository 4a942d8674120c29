"""The `lower-hl-to-loop` pass: `func.func` on tensors -> destination-passing buffers.

Takes hl (after canonicalize/cse/dce), gives the loop level of
`lamina/dialects/loop.py`: every function becomes `(inputs..., outputs...) -> ()`
on `memref`s; each materialized value (see `plan.py`) is written by one
`loop.kernel` or one producer op (`loop.matmul`); intermediates are
`memref.alloc`ed before their writer and `memref.dealloc`ed after their last
reader; non-uniform constants are `memref.global`s. A returned input, or a value
returned twice, is copied. The function records its arguments' lamina dtypes
(`lamina.dtypes`), since buffers store bool and uint8 as signless i8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import (
    ArrayAttr,
    FunctionType,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Block, Operation, OpResult, SSAValue
from xdsl.passes import ModulePass

from lamina import dtypes
from lamina.dialects import loop
from lamina.dialects.hl import shape as sh
from lamina.dialects.hl.base import HlOp
from lamina.errors import CompileError
from lamina.passes.levels import expect_level
from lamina.passes.lower_hl_to_loop import plan as planning
from lamina.passes.lower_hl_to_loop.gemm_outputs import written_in_place
from lamina.passes.lower_hl_to_loop.kernel import KernelBuilder, elem_type, memref_of, shape
from lamina.passes.lower_hl_to_loop.memory import insert_deallocs, reuse_buffers
from lamina.passes.lower_hl_to_loop.producers import PRODUCERS, MatmulProducer
from lamina.passes.lower_hl_to_loop.registry import REDUCING, RULES
from lamina.passes.lower_hl_to_loop.reuse import keep_reduced_values


class FunctionLowering:
    """Lowers one function; `module` receives the globals of its constants."""

    def __init__(self, fn: func.FuncOp, module: ModuleOp, gemm_views: bool = True):
        self.fn, self.module = fn, module
        self.producers = PRODUCERS if gemm_views else \
            {**PRODUCERS, "hl.matmul": MatmulProducer(views=False)}
        planner = planning.Planner(fn, RULES, REDUCING, self.producers)
        self.plan = planner.run()
        # single-element results computed without reductions (an optimizer's step count):
        # their readers recompute them rather than wait for their kernel
        self.scalars = frozenset(
            v for v, inlined in planner.probed.items()
            if math.prod(shape(v)) == 1 and v.owner.name not in REDUCING  # type: ignore[union-attr]
            and all(u.owner.name not in REDUCING for u in inlined))  # type: ignore[union-attr]
        # GEMM results written straight into the buffer of a value made of them
        self.in_place = written_in_place(self.plan.materialized) if gemm_views else {}
        # a value GEMMs write in place is only in its buffer: its parts have none of
        # their own to recompute it from (`(x @ y, x @ y)` of 1-d x, y: a copy read it)
        self.scalars -= {whole for whole, _ in self.in_place.values()}
        ins = [memref_of(t) for t in fn.function_type.inputs.data]  # type: ignore[arg-type]
        outs = [memref_of(t) for t in fn.function_type.outputs.data]  # type: ignore[arg-type]
        self.block = Block(arg_types=[*ins, *outs])
        self.buffers: dict[SSAValue, SSAValue] = dict(
            zip(fn.body.block.args, self.block.args[: len(ins)], strict=True))
        self.outs = self.block.args[len(ins):]
        self.allocs: list[memref.AllocOp] = []
        # open kernels by parallel bounds: (builder, [(root, its buffer)])
        self.groups: dict[tuple[int, ...], tuple[KernelBuilder, list]] = {}
        self.kernels = 0

    # ---- helpers used by producers

    def is_buffer(self, v: SSAValue) -> bool:
        return v in self.plan.materialized or not isinstance(v.owner, HlOp)

    def buffer(self, v: SSAValue) -> SSAValue:
        return self.buffers[v]

    def add(self, op: Operation) -> None:
        self.block.add_op(op)

    # ---- the lowering

    def run(self) -> func.FuncOp:
        ret = self.fn.body.block.last_op
        assert isinstance(ret, func.ReturnOp)
        destination: dict[SSAValue, SSAValue] = {}
        copies: list[tuple[SSAValue, SSAValue]] = []
        for v, out in zip(ret.operands, self.outs, strict=True):
            if isinstance(v, OpResult) and v not in destination:
                destination[v] = out
            else:
                copies.append((v, out))
        for op in self.fn.body.block.ops:
            if not isinstance(op, HlOp) or op.results[0] not in self.plan.materialized:
                continue
            v = op.results[0]
            if isinstance(op, sh.ConstantOp) and _needs_global(op):
                self.buffers[v] = self._global(op)
                if v in destination:
                    self._copy(v, destination[v])
                continue
            if v in self.buffers:
                continue  # written in place by the GEMMs of its parts
            if v in self.in_place:
                whole, at = self.in_place[v]
                self._flush()
                if whole not in self.buffers:
                    self.buffers[whole] = destination.get(whole) or self._alloc(whole)
                self.producers[op.name].lower(op, self, self.buffers[whole], at)  # type: ignore[attr-defined]
                self.kernels += 1
                continue
            buf = destination.get(v) or self._alloc(v)
            if op.name in self.producers:
                self._flush()
                self.producers[op.name].lower(op, self, buf)  # type: ignore[attr-defined]
                self.kernels += 1
            else:
                self._extend(v, buf)
            self.buffers[v] = buf
        self._flush()
        for v, out in copies:
            self._copy(v, out)
        insert_deallocs(self.block, self.allocs)
        reuse_buffers(self.block)
        self.add(func.ReturnOp())
        lowered = func.FuncOp(self.fn.sym_name.data, FunctionType.from_lists(
            [a.type for a in self.block.args], []))
        lowered.body.block.add_ops(_detach_all(self.block))
        for old, new in zip(self.block.args, lowered.body.block.args, strict=True):
            old.replace_all_uses_with(new)
        io = [*self.fn.function_type.inputs.data, *self.fn.function_type.outputs.data]
        lowered.attributes["lamina.dtypes"] = ArrayAttr(
            [StringAttr(dtypes.from_ir(t.get_element_type()).name) for t in io])  # type: ignore[attr-defined]
        if "lamina.donate" in self.fn.attributes:  # for donate-buffers (C backend only)
            lowered.attributes["lamina.donate"] = self.fn.attributes["lamina.donate"]
        return lowered

    def _alloc(self, v: SSAValue) -> SSAValue:
        alloc = memref.AllocOp([], [], memref_of(v.type))  # type: ignore[arg-type]
        self.add(alloc)
        self.allocs.append(alloc)
        return alloc.memref

    def _global(self, op: sh.ConstantOp) -> SSAValue:
        from lamina.passes.lower_hl_to_loop.constants import global_buffer

        return global_buffer(self, op)

    # ---- kernels: consecutive roots over the same parallel space share one

    def _parallel(self, root: SSAValue, copy: bool) -> tuple[int, ...]:
        return tuple(range(len(shape(root)))) if copy else self.plan.parallel[root]

    def _bounds(self, root: SSAValue, copy: bool = False) -> list[int]:
        return [shape(root)[d] for d in self._parallel(root, copy)]

    def _extend(self, root: SSAValue, dest: SSAValue) -> None:
        """Put `root` in the open kernel over its parallel space, if it reads that
        kernel's results only at the same point (reused as scalars there). Open kernels
        whose results it reads otherwise are closed (emitted) first."""
        bounds = tuple(self._bounds(root))
        trial = self._builder(root, False, trial=True)
        self._emit_root(trial, root, dest, self._parallel(root, False))
        point = tuple(trial.kernel.body.block.args)
        loads = [(op.buf, tuple(op.indices)) for op in trial.kernel.walk()
                 if isinstance(op, loop.LoadOp)]
        trial.kernel.erase()
        for key, (_, group) in list(self.groups.items()):
            results = {d: v for v, d in group}
            reads = [(buf, idx) for buf, idx in loads if buf in results]
            at_point = all(idx == point and self._parallel(results[buf], False)
                           == tuple(range(len(shape(results[buf])))) for buf, idx in reads)
            if reads and not (key == bounds and at_point):
                if key == bounds:
                    planning.log(f"{planning.describe(root)} starts a new kernel: it reads "
                                 f"the open kernel's values at other points")
                self._flush(key)
        if bounds not in self.groups:
            self.groups[bounds] = (self._builder(root, False), [])
        kb, group = self.groups[bounds]
        kb.buffers = dict(self.buffers)
        self._emit_root(kb, root, dest, self._parallel(root, False))
        group.append((root, dest))

    def _flush(self, key: tuple[int, ...] | None = None) -> None:
        """Emit the open kernel over `key` (all open kernels when None)."""
        for k in [key] if key is not None else list(self.groups):
            kb, _ = self.groups.pop(k)
            self.add(_without_dead_scalars(keep_reduced_values(kb.kernel)))

    def _copy(self, value: SSAValue, dest: SSAValue) -> None:
        self._flush()
        kb = self._builder(value, True)
        self._emit_root(kb, value, dest, self._parallel(value, True))
        self.add(_without_dead_scalars(kb.kernel))

    def _builder(self, root: SSAValue, copy: bool, trial: bool = False) -> KernelBuilder:
        name = "copy" if copy else root.owner.name.removeprefix("hl.")  # type: ignore[union-attr]
        self.kernels += not trial
        return KernelBuilder(f"{name}_{self.kernels - 1}", self._bounds(root, copy),
                             self._parallel(root, copy), dict(self.buffers), RULES, REDUCING,
                             self.scalars)

    def _emit_root(self, kb: KernelBuilder, root: SSAValue, dest: SSAValue,
                   parallel: tuple[int, ...]) -> None:
        dims = shape(root)
        inner = [d for d in range(len(dims)) if d not in parallel]
        idx: dict[int, SSAValue] = dict(zip(parallel, kb.kernel.body.block.args, strict=True))
        if inner:
            loop_op = loop.ForOp([dims[d] for d in inner])
            kb.nest(loop_op, 0)
            idx |= dict(zip(inner, loop_op.body.block.args, strict=True))
        full = tuple(idx[d] for d in range(len(dims)))
        kb.store(kb.element(root, full), dest, full, elem_type(root))
        kb.stack = kb.stack[:1]


def _without_dead_scalars(kernel: loop.KernelOp) -> loop.KernelOp:
    """Drop unused constants and scalar ops (left by index folding and CSE)."""
    for op in reversed(list(kernel.walk())):
        if op.name.startswith(("arith.", "math.")) and all(not r.uses for r in op.results):
            op.detach()
            op.erase()
    return kernel


def _needs_global(op: sh.ConstantOp) -> bool:
    from lamina.dialects.hl.base import dense_to_numpy

    flat = dense_to_numpy(op.properties["value"]).reshape(-1)  # type: ignore[arg-type]
    return bool(flat.size) and not (flat == flat[0]).all()


def _detach_all(block: Block) -> list[Operation]:
    ops = list(block.ops)
    for op in ops:
        op.detach()
    return ops


def lower_module(module: ModuleOp, gemm_views: bool = True) -> None:
    """Replace every hl function of `module` by its loop-level form, in place;
    `gemm_views=False` keeps every `loop.matmul` on contiguous operands."""
    for fn in [op for op in module.ops if isinstance(op, func.FuncOp)]:
        if not any(isinstance(t, TensorType) for t in
                   [*fn.function_type.inputs.data, *fn.function_type.outputs.data]):
            continue
        lowered = FunctionLowering(fn, module, gemm_views).run()
        module.body.block.insert_op_before(lowered, fn)
        fn.detach()
        fn.erase()


@dataclass(frozen=True)
class LowerHlToLoopPass(ModulePass):
    """hl (tensors, value semantics) -> loop (buffers, fused kernels), per function.
    `gemm_views=False` (the Triton backend: its GEMM reads contiguous operands only)
    copies strided GEMM operands instead of giving `loop.matmul` a views clause."""

    name = "lower-hl-to-loop"
    gemm_views: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        expect_level(op, "hl", self.name)
        from lamina.passes.instantiate_dims import is_dynamic

        if is_dynamic(op):
            raise CompileError(
                "lower-hl-to-loop: the program has dynamic dims (`?`); the levels below "
                "hl take static sizes: run instantiate-dims{size=N} first (lm.jit lowers "
                "a symbolic program at two probe sizes, docs/dynamic_shapes.md)")
        lower_module(op, self.gemm_views)
