"""cpu dialect -> C99 source: a table from op to C text, strings made only here.

The program is the prelude (`c_prelude.h`, helpers: half conversions, NaN-aware
max/min, integer division without traps, the GEMM microkernel), one `static`
function per `cpu.kernel`, and one exported entry function

    void lamina_main(void **bufs);

taking the buffers of `func.func @main` in order (inputs, then outputs), so that
a call is one ctypes foreign call; a program with `check.index` ops takes one more,
the fault buffer (`lamina.dialects.check`), passed on to the kernels that check. Every SSA value becomes one C local.

The emitter decides nothing: which loops run on threads or as vector loops, which
reductions share a loop and where a division became a product were decided by the
cpu -> cpu passes of the `c-pipeline` and are read off the ops (see
`lamina.dialects.cpu` for the table from op to C). It only places each op of a kernel
in the outermost loop of its nest whose indices the op reads (`_loop_depths`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Callable, Iterator

from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    MemRefType,
    ModuleOp,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from lamina import knobs
from lamina.codegen import c_kernels
from lamina.codegen.c_scalar import (
    ctype,
    expression,
    float_literal,
    int_literal,
    is_float,
    is_half,
    load_expr,
    signed,
    storage_ctype,
    store_expr,
)
from lamina.dialects import check, cpu, gemm_layout
from lamina.errors import CompileError

ENTRY = "lamina_main"
_PRELUDE_PATH = os.path.join(os.path.dirname(__file__), "c_prelude.h")


def prelude() -> str:
    with open(_PRELUDE_PATH) as f:
        return f.read()


class SourceWriter:
    """Lines of C with the current indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str = "") -> None:
        self.lines.append("  " * self.depth + text if text else "")

    @contextlib.contextmanager
    def block(self, head: str) -> Iterator[None]:
        self.line(head + " {")
        self.depth += 1
        yield
        self.depth -= 1
        self.line("}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# ---------------------------------------------------------------- statements


class CEmitter:
    """Walks a cpu-level module and writes C. Kernels become functions, `@main`'s
    body becomes the entry function."""

    def __init__(self) -> None:
        self.out = SourceWriter()
        self.names: dict[SSAValue, str] = {}
        self.counter = 0
        self.gemms: dict[str, tuple[str, str, str, str]] = {}
        self.kernels: dict[cpu.KernelOp, str] = {}
        self.profiled: list[str] = []  # label of each timed statement (LAMINA_PROFILE)
        self.profiled_flops: list[int] = []  # its floating-point operations (GEMMs), or 0
        self.prototypes: list[str] = []  # one per kernel function, for the entry's unit
        self.fault_sites: list[str] = []  # check.sites of the module: `lm_fault` slots
        self.live: dict[SSAValue, None] = {}  # the entry's pool buffers not yet freed

    def kernel_name(self, op: cpu.KernelOp) -> str:
        """A unique C name for the kernel's function (kernel names need not be unique)."""
        if op not in self.kernels:
            clean = "".join(ch if ch.isalnum() else "_" for ch in op.sym_name.data)
            self.kernels[op] = f"lm_k{len(self.kernels)}_{clean}"
        return self.kernels[op]

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def name(self, value: SSAValue) -> str:
        if value not in self.names:
            raise CompileError(f"C codegen: value {value} used before definition")
        return self.names[value]

    def define(self, value: SSAValue, expr: str, prefix: str = "v") -> str:
        n = self.fresh(prefix)
        self.names[value] = n
        c = ctype(value.type)
        qualified = f"{c} const" if c.endswith("*") else f"const {c}"
        self.out.line(f"{qualified} {n} = {expr};")
        return n

    def emit_block(self, block: Block) -> None:
        for op in block.ops:
            self.emit_op(op)

    def emit_timed_block(self, block: Block) -> None:
        """The entry's body with a timer around every kernel, GEMM and copy
        (`LAMINA_PROFILE=1`); the totals are printed when the process exits."""
        for op in block.ops:
            label = _profile_label(self, op)
            if label is None:
                self.emit_op(op)
                continue
            slot = len(self.profiled)
            self.profiled.append(label)
            self.profiled_flops.append(_profile_flops(op))
            with self.out.block(""):
                self.out.line("const double lm_t0 = lm_prof_now();")
                self.emit_op(op)
                self.out.line(f"lm_prof_add({slot}, lm_prof_now() - lm_t0);")

    def emit_op(self, op: Operation) -> None:
        rule = _STATEMENTS.get(type(op))
        if rule is not None:
            rule(self, op)
        elif isinstance(op, cpu.YieldOp):
            pass  # read by the enclosing reduce
        else:
            self.define(op.results[0], expression(op, [self.name(v) for v in op.operands]))

    def loop_nest(self, bounds, ivs, pragma: str | None, inner_pragma: str | None = None,
                  at_depth: Callable[[int], None] | None = None) -> contextlib.ExitStack:
        """Nested `for`s; `pragma` before the outermost, `inner_pragma` before the last;
        `at_depth(d)` writes the first statements of loop d's body."""
        stack = contextlib.ExitStack()
        for depth, (bound, iv) in enumerate(zip(bounds, ivs, strict=True)):
            if depth == 0 and pragma:
                self.out.line(pragma)
            if depth == len(bounds) - 1 and inner_pragma:
                self.out.line(inner_pragma)
            n = self.fresh("i")
            self.names[iv] = n
            stack.enter_context(self.out.block(f"for (int64_t {n} = 0; {n} < {bound}; ++{n})"))
            if at_depth is not None:
                at_depth(depth)
        return stack


def _emit_load(em: CEmitter, op: cpu.LoadOp) -> None:
    elem = op.buffer.type.element_type  # type: ignore[attr-defined]
    ref = load_expr(elem, f"{em.name(op.buffer)}[{em.name(op.offset)}]")
    if op.mask is not None and op.other is not None:
        ref = f"{em.name(op.mask)} ? {ref} : {em.name(op.other)}"
    em.define(op.result, ref)


def _emit_store(em: CEmitter, op: cpu.StoreOp) -> None:
    elem = op.buffer.type.element_type  # type: ignore[attr-defined]
    value = store_expr(elem, em.name(op.value))
    em.out.line(f"{em.name(op.buffer)}[{em.name(op.offset)}] = {value};")


def _emit_for(em: CEmitter, op: cpu.ForOp) -> None:
    n = len(op.space)
    pragma = f"#pragma omp simd collapse({n})" if op.simd is not None and n else None
    with em.loop_nest(op.space, op.ivs, pragma):
        em.emit_block(op.body.block)


def _emit_if(em: CEmitter, op: cpu.IfOp) -> None:
    with em.out.block(f"if ({em.name(op.cond)})"):
        em.emit_block(op.then_region.block)
    if op.else_region.block.ops:
        with em.out.block("else"):
            em.emit_block(op.else_region.block)


_REDUCE_C = {"add": ("+", "{acc} = {acc} + {v};"), "mul": ("*", "{acc} = {acc} * {v};"),
             "max": ("max", "{acc} = {v} > {acc} ? {v} : {acc};"),
             "min": ("min", "{acc} = {v} < {acc} ? {v} : {acc};")}
# cpu.reduce's `simd`: (pragma before the outermost loop, pragma before the innermost)
_REDUCE_SIMD = {None: (None, None),
                "nest": ("#pragma omp simd collapse({n}) {clauses}", None),
                "inner": (None, "#pragma omp simd {clauses}")}


def _emit_reduce(em: CEmitter, op: cpu.ReduceOp) -> None:
    """One loop and one accumulator per kind (argmax/argmin: alone)."""
    kinds = op.kind_names
    yielded = op.body.block.last_op
    assert isinstance(yielded, cpu.YieldOp)
    if kinds[0] in cpu.ARG_KINDS:
        t = op.inits[0].type
        acc = em.fresh("acc")
        em.out.line(f"{ctype(t) if is_float(t) else signed(t)} {acc} = {em.name(op.inits[0])};")
        _emit_arg_reduce(em, op, acc, yielded)
        return
    states, clauses = [], []
    for kind, init in zip(kinds, op.inits, strict=True):
        t = init.type
        acc = em.fresh("acc")
        # integer max/min compare signed (the loop level widens unsigned bytes first)
        acc_type = ctype(t) if is_float(t) or kind in ("add", "mul") else signed(t)
        em.out.line(f"{acc_type} {acc} = {em.name(init)};")
        omp_op, update = _REDUCE_C[kind]
        nan = em.fresh("nan") if kind in ("max", "min") and is_float(t) else None
        clauses.append(f"reduction({omp_op}:{acc})")
        if nan:
            em.out.line(f"int {nan} = 0;")
            clauses.append(f"reduction(|:{nan})")
        states.append((t, acc, acc_type, update, nan))
    pragma, inner = (p and p.format(n=len(op.space), clauses=" ".join(clauses))
                     for p in _REDUCE_SIMD[op.simd_name])
    with em.loop_nest(op.space, op.ivs, pragma, inner):
        em.emit_block(op.body.block)
        for (t, acc, acc_type, update, nan), value in zip(states, yielded.operands,
                                                          strict=True):
            v = em.name(value)
            if acc_type != ctype(t):
                v = f"(({acc_type}){v})"
            em.out.line(update.format(acc=acc, v=v))
            if nan:
                em.out.line(f"{nan} |= {v} != {v};")
    for (t, acc, acc_type, _, nan), result in zip(states, op.res, strict=True):
        if nan:
            em.out.line(f"if ({nan}) {acc} = NAN;")
        em.names[result] = acc if acc_type == ctype(t) else f"(({ctype(t)}){acc})"


def _emit_arg_reduce(em: CEmitter, op: cpu.ReduceOp, acc: str, yielded: cpu.YieldOp) -> None:
    """First index of the extremum; a NaN is the extremum (numpy/torch)."""
    idx, lin = em.fresh("idx"), em.fresh("lin")
    em.out.line(f"int64_t {idx} = 0, {lin} = 0;")
    cmp = ">" if op.kind_names[0] == "argmax" else "<"
    t = op.inits[0].type
    with em.loop_nest(op.space, op.ivs, None):
        em.emit_block(op.body.block)
        v = em.name(yielded.operands[0])
        if not is_float(t):
            v = f"(({signed(t)}){v})"
        better = f"{v} {cmp} {acc}"
        if is_float(t):
            better = f"{better} || ({v} != {v} && {acc} == {acc})"
        with em.out.block(f"if ({better})"):
            em.out.line(f"{acc} = {v};")
            em.out.line(f"{idx} = {lin};")
        em.out.line(f"++{lin};")
    em.names[op.res[0]] = acc if is_float(t) else f"(({ctype(t)}){acc})"
    em.names[op.res[1]] = f"((uint64_t){idx})"


def _emit_view(em: CEmitter, op: cpu.ViewOp) -> None:
    em.define(op.result, em.name(op.source), prefix="p")


def _emit_gemm(em: CEmitter, op: cpu.GemmOp) -> None:
    """One call of the element type's GEMM routine with the op's layout as an
    `lm_gemm_layout` literal; the operands' offsets are applied to the pointers."""
    elem = op.c.type.element_type  # type: ignore[attr-defined]
    fn = _gemm_function(em, elem)
    batch, m, n, k = (op.dim(d) for d in cpu.GemmOp.DIMS)
    ta, tb, accumulate = (op.flag(f) for f in cpu.GEMM_FLAGS)
    layout = op.views().merged()  # the fewest batch dims: the C struct holds a few
    nb = len(layout.batch)
    assert nb <= gemm_layout.MAX_BATCH_DIMS, "producers keep GEMM batch dims mergeable"

    def ints(values: tuple[int, ...]) -> str:
        return "{" + ", ".join(str(v) for v in values or (0,)) + "}"

    g = (f"&(const lm_gemm_layout){{{nb}, {ints(layout.batch)}, {layout.a.ld}, "
         f"{layout.b.ld}, {layout.c.ld}, {ints(layout.a.strides)}, {ints(layout.b.strides)}, "
         f"{ints(layout.c.strides)}}}")
    ptrs = ", ".join(em.name(v) + (f" + {view.offset}" if view.offset else "") for v, view in
                     ((op.a, layout.a), (op.b, layout.b), (op.c, layout.c)))
    flags = ", ".join("1" if f else "0" for f in (ta, tb, accumulate))
    em.out.line(f"{fn}({ptrs}, {batch}, {m}, {n}, {k}, {g}, {flags});")


def _numel(t: Attribute) -> int:
    assert isinstance(t, MemRefType)
    return math.prod(t.get_shape())


def _gemm_function(em: CEmitter, elem: Attribute) -> str:
    storage = storage_ctype(elem)
    if isinstance(elem, Float16Type):
        acc, load, store = "float", "lm_f16_to_f32", "lm_f32_to_f16"
    elif isinstance(elem, BFloat16Type):
        acc, load, store = "float", "lm_bf16_to_f32", "lm_f32_to_bf16"
    elif is_float(elem):
        acc, load, store = storage, "LM_ID", "LM_ID"
    else:
        acc, load, store = "uint64_t", "LM_ID", f"({storage})"
    name = f"lm_gemm_{str(elem)}"
    em.gemms[name] = (storage, acc, load, store)
    return name


def _emit_alloc(em: CEmitter, op: memref.AllocOp) -> None:
    t = op.memref.type
    assert isinstance(t, MemRefType)
    c = storage_ctype(t.element_type)
    em.define(op.memref, f"({c}*)lm_pool_alloc({_numel(t)} * (int64_t)sizeof({c}))", prefix="t")
    em.live[op.memref] = None


def _emit_alloca(em: CEmitter, op: memref.AllocaOp) -> None:
    """A small scratch array on the stack (e.g. the lanes of a column reduction)."""
    t = op.memref.type
    assert isinstance(t, MemRefType)
    arr = em.fresh("s")
    em.out.line(f"{storage_ctype(t.element_type)} {arr}[{max(_numel(t), 1)}];")
    em.names[op.memref] = arr


def _emit_dealloc(em: CEmitter, op: memref.DeallocOp) -> None:
    em.out.line(f"lm_pool_free((void*){em.name(op.memref)});")
    em.live.pop(op.memref, None)


def _emit_copy(em: CEmitter, op: memref.CopyOp) -> None:
    t = op.source.type
    assert isinstance(t, MemRefType)
    size = f"{_numel(t)} * sizeof({storage_ctype(t.element_type)})"
    em.out.line(f"memcpy({em.name(op.destination)}, {em.name(op.source)}, {size});")


def _emit_get_global(em: CEmitter, op: memref.GetGlobalOp) -> None:
    t = op.memref.type
    assert isinstance(t, MemRefType)
    c = storage_ctype(t.element_type)
    em.define(op.memref, f"({c}*){_global_name(op.name_.root_reference.data)}", prefix="g")


def _global_name(symbol: str) -> str:
    return "lm_g_" + "".join(ch if ch.isalnum() else "_" for ch in symbol)


def _emit_global(em: CEmitter, op: memref.GlobalOp) -> None:
    """`static const T name[n] = {...};` (zero-filled and writable without a value)."""
    t = op.type
    assert isinstance(t, MemRefType)
    elem, n = t.element_type, max(_numel(t), 1)
    name = _global_name(op.sym_name.data)
    init = op.initial_value
    if not hasattr(init, "get_values"):
        em.out.line(f"static {storage_ctype(elem)} {name}[{n}];")
        return
    values = list(init.get_values())  # type: ignore[union-attr]
    if len(values) == 1 and _numel(t) > 1:  # a splat
        values = values * _numel(t)
    if is_half(elem):
        items = [_half_bits(float(v), elem) for v in values]
    elif is_float(elem):
        items = [float_literal(float(v), elem) for v in values]
    else:
        items = [int_literal(int(v), elem) for v in values]
    body = ", ".join(items) or "0"
    em.out.line(f"static const {storage_ctype(elem)} {name}[{n}] = {{{body}}};")


def _half_bits(value: float, elem: Attribute) -> str:
    import ml_dtypes
    import numpy as np

    dt = np.float16 if isinstance(elem, Float16Type) else ml_dtypes.bfloat16
    return str(int(np.array(value, dtype=dt).view(np.uint16)))


def _emit_kernel_call(em: CEmitter, op: cpu.KernelOp) -> None:
    args = [em.name(a) for a in op.args] + (["lm_fault"] if _checks(op) else [])
    em.out.line(f"{em.kernel_name(op)}({', '.join(args)});")
    if _checks(op):  # stop at a fault: later kernels may write donated inputs
        frees = "".join(f"lm_pool_free((void*){em.name(v)}); " for v in em.live)
        em.out.line(f"if (lm_faulted(lm_fault, {len(em.fault_sites)})) {{ {frees}return; }}")


def _checks(op: Operation) -> bool:
    return any(isinstance(o, check.IndexOp) for o in op.walk())


def _emit_check_index(em: CEmitter, op: check.IndexOp) -> None:
    """The index clamped into [0, size); outside, the fault recorded (site, index)."""
    n = em.fresh("j")
    em.names[op.result] = n
    size = op.size_value
    em.out.line(f"{ctype(op.result.type)} {n} = {em.name(op.index)};")
    signed = f"(int64_t){n}"  # integers compute in unsigned C types (wrapping is defined)
    with em.out.block(f"if (__builtin_expect({signed} < 0 || {signed} >= {size}, 0))"):
        em.out.line(f"lm_fault_at(lm_fault, {check.site_of(op, em.fault_sites)}, {signed});")
        em.out.line(f"{n} = {signed} < 0 ? 0 : {size - 1};")


_STATEMENTS: dict[type[Operation], Callable] = {
    cpu.LoadOp: _emit_load, cpu.StoreOp: _emit_store, cpu.ForOp: _emit_for,
    cpu.IfOp: _emit_if, cpu.ReduceOp: _emit_reduce, cpu.ViewOp: _emit_view, cpu.GemmOp: _emit_gemm,
    cpu.KernelOp: _emit_kernel_call, memref.AllocOp: _emit_alloc,
    memref.DeallocOp: _emit_dealloc, memref.CopyOp: _emit_copy,
    memref.GetGlobalOp: _emit_get_global, memref.AllocaOp: _emit_alloca,
    func.ReturnOp: lambda em, op: None, check.IndexOp: _emit_check_index,
}


# ---------------------------------------------------------------- functions


def _written(kernel: cpu.KernelOp) -> set[SSAValue]:
    """Kernel params stored to (the others are `const`)."""
    params = set(kernel.params)
    return {op.buffer for op in kernel.walk() if isinstance(op, cpu.StoreOp)
            and op.buffer in params}


def _emit_kernel(em: CEmitter, op: cpu.KernelOp, aliased: set[int]) -> None:
    written = _written(op)
    decls = []
    for i, p in enumerate(op.params):
        n = em.fresh("a")
        em.names[p] = n
        if isinstance(p.type, MemRefType):
            const = "" if p in written else "const "
            restrict = "" if i in aliased else " restrict"
            decls.append(f"{const}{ctype(p.type)}{restrict} {n}")
        else:
            decls.append(f"{ctype(p.type)} {n}")
    if _checks(op):
        decls.append("int64_t *restrict lm_fault")
    pragma, inner = _kernel_pragmas(op)
    head = f"LM_KERNEL void {em.kernel_name(op)}({', '.join(decls) or 'void'})"
    em.prototypes.append(head + ";")
    em.out.line(UNIT_KERNEL)
    depth = _loop_depths(op, written, aliased)

    def statements(d: int) -> None:
        for o in op.body.block.ops:
            if depth[o] == d:
                em.emit_op(o)

    with em.out.block(head):
        if not op.space:
            em.emit_block(op.body.block)
        threshold = _omp_if(op) if op.threaded_dims else ""
        if threshold:  # threads per call: the nest twice, no OpenMP call when serial
            with em.out.block(f"if ({threshold})"):
                with em.loop_nest(op.space, op.ivs, pragma, inner, statements):
                    pass
            serial = "#pragma omp simd" if op.simd is not None and \
                op.threaded_dims == len(op.space) else None
            with em.out.block("else"):
                with em.loop_nest(op.space, op.ivs, serial, inner, statements):
                    pass
        else:
            with em.loop_nest(op.space, op.ivs, pragma, inner, statements):
                pass
    em.out.line()


def _loop_depths(op: cpu.KernelOp, written: set[SSAValue], aliased: set[int]
                 ) -> dict[Operation, int]:
    """The loop of the kernel's nest each op of its body is written in (0: the
    outermost). Pure scalar ops and loads of unwritten buffers that read only outer
    loops' indices go in the outer loop (not between collapsed OpenMP loops), the rest
    in the innermost. Why: GCC 12.2 + AVX-512 miscompiles `omp simd` loops computing a
    row's float invariant (`s[i] * 100`) that feeds selects (tests/data/
    gcc12_sink_ifcvt_miscompile.c); computed outside the vector loop, nothing copies it."""
    block, n = op.body.block, len(op.space)
    inner = n - 1
    lowest = inner if 0 in op.space else max(op.threaded_dims - 1, 0)
    read_only = {p for i, p in enumerate(op.params) if p not in written and i not in aliased}
    level: dict[SSAValue, int] = {iv: d for d, iv in enumerate(op.ivs)}
    depth: dict[Operation, int] = {}
    for o in block.ops:
        movable = not o.regions and len(o.results) == 1 and (
            o.buffer in read_only if isinstance(o, cpu.LoadOp)
            else o.dialect_name() in ("arith", "math"))
        d = max((level.get(v, lowest) for v in o.operands), default=lowest)
        depth[o] = max(d, lowest) if movable else inner
        for r in o.results:
            level[r] = depth[o]
    for o in reversed(list(block.ops)):  # a constant goes where its first user is
        if isinstance(o, arith.ConstantOp):
            depth[o] = min((depth[u.operation] for u in o.result.uses
                            if u.operation in depth), default=inner)
    return depth


def _kernel_pragmas(op: cpu.KernelOp) -> tuple[str | None, str | None]:
    """The pragmas before the outermost and the innermost loop of the kernel's nest:
    `omp parallel for` over the threaded dims, `simd` on the innermost (joined with the
    threads' pragma when they split it too)."""
    n, threads, simd = len(op.space), op.threaded_dims, op.simd is not None
    outer = inner = None
    if threads:
        clauses = (" simd" if simd and threads == n else "") + \
            (f" collapse({threads})" if threads > 1 else "")
        outer = f"#pragma omp parallel for{clauses} schedule(static)"
    if simd and threads < n:
        inner = "#pragma omp simd"
    return outer, inner


# the work below which `lower-loop-to-cpu` keeps a kernel on one thread
_OMP_MIN_WORK = 1 << 15


def _omp_if(op: cpu.KernelOp) -> str:
    """`work >= min` for a kernel whose bounds may stand for a symbolic dim (a dynamic
    program, `lamina.runtime.dynamic`): `lower-loop-to-cpu` chose threads for the probe
    size, the program decides per call. Static sizes: decided already ('')."""
    bounds = [b for o in op.walk() if isinstance(o, cpu.KernelOp | cpu.ForOp | cpu.ReduceOp)
              for b in o.space]
    if not bounds or max(bounds) < check.MAY_BE_SYMBOLIC:
        return ""
    space = "*".join(f"(int64_t){b}" for b in op.space)
    return f"{space}*({_work_text(op.body.block)}) >= {_OMP_MIN_WORK}"


def _work_text(block: Block) -> str:
    """Rough count of scalar steps of one execution of `block`, as a C expression (the
    estimate `lower-loop-to-cpu` decides threads by)."""
    plain, terms = 0, []
    for o in block.ops:
        if isinstance(o, cpu.ForOp | cpu.ReduceOp):
            terms.append("*".join(str(b) for b in o.space) + f"*({_work_text(o.body.block)})")
        else:
            plain += 1
    return " + ".join([str(plain), *terms])


def _aliased_params(main: func.FuncOp, kernel: cpu.KernelOp) -> set[int]:
    """Positions of kernel args that share memory with another arg (no `restrict`)."""
    def root(v: SSAValue) -> SSAValue:
        while isinstance(v.owner, cpu.ViewOp):
            v = v.owner.source
        return v

    roots = [root(a) if isinstance(a.type, MemRefType) else None for a in kernel.args]
    return {i for i, r in enumerate(roots) if r is not None and roots.count(r) > 1}


def emit_c(module: ModuleOp, entry: str | None = None) -> str:
    """The C source of a cpu-level module whose `func.func @entry` (default: the first
    function) is the program."""
    main = next((op for op in module.ops if isinstance(op, func.FuncOp)
                 and entry in (None, op.sym_name.data)), None)
    if main is None:
        raise CompileError(f"C codegen: no func.func {'@' + entry if entry else ''} in the module")
    em = CEmitter()
    em.fault_sites = check.sites(module)
    for op in module.ops:
        if isinstance(op, memref.GlobalOp):
            _emit_global(em, op)
    constants, em.out = em.out, SourceWriter()
    kernels = [op for op in main.body.block.ops if isinstance(op, cpu.KernelOp)]
    for k in kernels:
        _emit_kernel(em, k, _aliased_params(main, k))
    body = em.out
    em.out = SourceWriter()
    with em.out.block(f"void {ENTRY}(void **bufs)"):
        for i, arg in enumerate(main.body.block.args):
            c = ctype(arg.type)
            em.names[arg] = em.fresh("b")
            em.out.line(f"{c} {em.names[arg]} = ({c})bufs[{i}];")
        if em.fault_sites:  # after the program's buffers: two int64 per site, zeroed
            n_bufs = len(main.body.block.args)
            em.out.line(f"int64_t *const lm_fault = (int64_t *)bufs[{n_bufs}];")
        if knobs.profile():
            em.emit_timed_block(main.body.block)
        else:
            em.emit_block(main.body.block)
    gemms = [c_kernels.define_gemm(name, s, acc, load, store)
             for name, (s, acc, load, store) in em.gemms.items()]
    parts = [prelude(), c_kernels.SOURCE, _KERNEL_LINKAGE, body.text(), UNIT_MAIN,
             "\n".join(gemms), constants.text(), _profile_support(em.profiled, em.profiled_flops),
             "\n".join(em.prototypes), em.out.text()]
    return "\n".join(p for p in parts if p)


# The source is one translation unit, cut by these marker lines so that the runtime may
# compile a big program as several units in parallel (`lamina.runtime.cache`): the text
# before the first marker is included by every unit, each kernel follows a
# UNIT_KERNEL line, and everything after UNIT_MAIN (GEMM wrappers, constants, the
# entry) is the main unit. Compiled as one file, kernels are `static`; split, they are
# hidden globals that the main unit's prototypes name.
UNIT_KERNEL = "/* lamina-unit: kernel */"
UNIT_MAIN = "/* lamina-unit: main */"
_KERNEL_LINKAGE = """#ifndef LM_KERNEL
#define LM_KERNEL static
#endif
"""


def _profile_label(em: CEmitter, op: Operation) -> str | None:
    if isinstance(op, cpu.KernelOp):
        return em.kernel_name(op)
    if isinstance(op, cpu.GemmOp):
        dims = "x".join(str(op.dim(d)) for d in cpu.GemmOp.DIMS)
        return f"gemm b,m,n,k={dims}"
    if isinstance(op, memref.CopyOp):
        return "copy"
    return None


def _profile_flops(op: Operation) -> int:
    """A GEMM's multiply-adds, twice (a conv's GEMM: the conv layer's); 0 otherwise."""
    if isinstance(op, cpu.GemmOp):
        return 2 * math.prod(op.dim(d) for d in cpu.GemmOp.DIMS)
    return 0


def _profile_support(labels: list[str], flops: list[int]) -> str:
    """Timers and the exit-time report of a profiled program (empty when not profiling):
    per statement its time per call, share, and GFLOP/s where it counts flops."""
    if not labels:
        return ""
    names = ", ".join(json.dumps(label) for label in labels)
    counts = ", ".join(f"{f}.0" for f in flops)
    n = len(labels)
    return f"""#include <stdio.h>
#include <time.h>
static double lm_prof_total[{n}];
static long lm_prof_calls[{n}];
static const char *lm_prof_names[{n}] = {{{names}}};
static const double lm_prof_flops[{n}] = {{{counts}}};
static double lm_prof_now(void) {{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}}
static void lm_prof_add(int slot, double seconds) {{
  lm_prof_total[slot] += seconds;
  lm_prof_calls[slot] += 1;
}}
__attribute__((destructor)) static void lm_prof_report(void) {{
  double all = 0;
  for (int i = 0; i < {n}; i++) all += lm_prof_total[i];
  if (lm_prof_calls[0] == 0) return;
  fprintf(stderr, "lamina profile: %ld calls, %.3f ms per call in timed statements\\n",
          lm_prof_calls[0], 1e3 * all / lm_prof_calls[0]);
  for (int i = 0; i < {n}; i++) {{
    double each = lm_prof_total[i] / lm_prof_calls[i];
    char rate[32] = "";
    if (lm_prof_flops[i] > 0 && each > 0)
      snprintf(rate, sizeof rate, "  %7.1f GFLOP/s", 1e-9 * lm_prof_flops[i] / each);
    fprintf(stderr, "  %8.3f ms %5.1f%%  %s%s\\n", 1e3 * each,
            100.0 * lm_prof_total[i] / (all > 0 ? all : 1), lm_prof_names[i], rate);
  }}
}}
"""
