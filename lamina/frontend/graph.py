"""Graphs under construction: the block that traced ops are appended to.

Every traced or lazy tensor lives in one `Graph`, a `func.func` body being
built. There is a stack of active graphs: `lm.jit` pushes a fresh one while it
traces; below them all sits the *eager* graph that records operations on
concrete tensors outside any jit, realized on demand (`lamina.frontend.lazy`).

A tensor from outside the active graph (a concrete array, a module parameter
captured by closure, a lazy tensor of the eager graph) is *lifted*: it becomes
a new block argument, remembered so that its current data is passed on each
call. In-place updates of such tensors inside a jit are recorded as
`mutations` and become outputs written back after each call (on the C backend
usually written into the tensor's own array: see `lamina/passes/donate_buffers.py`).

Eager graphs are segments of one autograd tape. An eager graph is replaced by a
fresh one when no live tensor refers to it, or when it grows past `_EAGER_MAX_OPS`;
a lazy tensor of an older graph that gradients flow through is then lifted into the
new one as a *link* (`Graph.links`): its realized value is the new graph's input,
and `backward()` carries the cotangent of that input back into the older graph
(`lamina.frontend.autograd`). So no internal boundary changes what `.backward()`
computes.

Threads: the stack of traces and the eager graph are per thread (`threading.local`):
two threads computing eagerly record into two graphs and never see each other's
ops. A tensor made in one thread and used in another works: it is read through its
graph, whose `lock` serializes every change and every read of the block (appending,
sweeping, realizing, differentiating).
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.errors import user_location

__all__ = ["CustomRule", "Graph", "current", "eager_graph", "keep_snapshots", "live_tensors",
           "new_segment", "outside_traces", "probing", "push", "tracing"]

if TYPE_CHECKING:
    from lamina.frontend.tensor import Tensor


@dataclass
class CustomRule:
    """A user-written VJP (`lm.custom_vjp`) attached to the values a call produced."""

    inputs: list[SSAValue]
    outputs: list[SSAValue]
    backward: Callable[..., Any]
    residuals: Any


@dataclass(eq=False)
class Graph:
    kind: str  # "jit", "eager" or "pass" (autodiff over an existing function)
    block: Block = field(default_factory=Block)
    # lifted tensors, in block-argument order (None where the argument is a program input)
    # what each block argument stands for: a lifted Tensor (jit), a snapshot array
    # (eager), or None for an explicit program input
    captured: list[Any] = field(default_factory=list)
    captured_ids: dict[int, SSAValue] = field(default_factory=dict)
    locations: dict[Operation, str] = field(default_factory=dict)
    # op -> its append number: slices sort by it instead of walking the whole block
    order: dict[Operation, int] = field(default_factory=dict)
    # op -> interned id of its signature (name, properties, result types): computed at
    # the first realize that reads the op, so a slice's structural key is a tuple of
    # ints (hashing xDSL attributes at every realize cost ~10 % of an eager step)
    signatures: dict[Operation, int] = field(default_factory=dict)
    custom_rules: dict[SSAValue, CustomRule] = field(default_factory=dict)
    leaf_owners: dict[SSAValue, Tensor] = field(default_factory=dict)  # args of grad leaves
    mutated: dict[int, Tensor] = field(default_factory=dict)  # id -> tensor updated in place
    grad_touched: dict[int, Tensor] = field(default_factory=dict)  # id -> tensor whose .grad changed
    grad_original: dict[int, tuple[Tensor, Any]] = field(default_factory=dict)  # restored after
    grad_read: set[int] = field(default_factory=set)  # ids whose .grad was read before set
    value_hooks: dict[SSAValue, Any] = field(default_factory=dict)  # register_hook tables
    # (values, callback(cotangent arrays or None) -> replacements or None): module hooks
    group_hooks: list[tuple[list[SSAValue], Any]] = field(default_factory=list)
    finished: bool = False
    sizes: Any = None  # a probe trace's record of symbolic sizes (lamina.frontend.sizes)
    n_ops: int = 0  # ops appended (len(block.ops) walks the whole block)
    checked_at: int = -1  # n_ops at the last check whether it is referenced (eager graphs)
    swept_at: int = 0  # n_ops at the last sweep of dead ops, and the ops it kept
    kept: int = 0
    # eager graphs: block argument -> (older eager graph, the value there) it stands for
    links: dict[SSAValue, tuple[Graph, SSAValue]] = field(default_factory=dict)
    linked: dict[SSAValue, SSAValue] = field(default_factory=dict)  # older value -> argument
    # eager graphs: id -> lazy tensor whose value is an op of this graph (a WeakSet
    # would compare tensors with Tensor.__eq__)
    live: weakref.WeakValueDictionary = field(default_factory=weakref.WeakValueDictionary)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    serial: int = field(default_factory=lambda: next(_SERIAL))  # creation order

    def add_input(self, t: TensorType, name: str | None = None) -> SSAValue:
        arg = self.block.insert_arg(t, len(self.block.args))
        if name and name.isidentifier():
            arg.name_hint = name
        self.captured.append(None)
        return arg

    def capture(self, tensor: Tensor) -> SSAValue:
        """The block argument standing for an outside tensor (created once per tensor)."""
        key = id(tensor)
        if key in self.captured_ids:
            return self.captured_ids[key]
        arg = self.block.insert_arg(tensor._ir_type(), len(self.block.args))
        self.captured.append(tensor)
        self.captured_ids[key] = arg
        self.leaf_owners[arg] = tensor
        return arg

    def capture_array(self, tensor: Tensor) -> SSAValue:
        """Eager graphs lift a snapshot of the tensor's current data (it may change later)."""
        data = tensor._known_array()
        key = id(data)
        with self.lock:
            if key in self.captured_ids:
                return self.captured_ids[key]
            arg = self.block.insert_arg(tensor._ir_type(), len(self.block.args))
            self.captured.append(data)
            self.captured_ids[key] = arg
            if tensor.accumulates_grad:
                self.leaf_owners[arg] = tensor
            return arg

    def capture_link(self, tensor: Tensor, older: Graph, value: SSAValue) -> SSAValue:
        """An eager graph lifts a realized lazy tensor of an older eager graph that
        gradients flow through: its data is the input, and `links` remembers where the
        value came from, so that backward() continues into `older`."""
        with self.lock:
            arg = self.linked.get(value)
            if arg is not None and self.links.get(arg, (None,))[0] is older:
                return arg
            arg = self.block.insert_arg(tensor._ir_type(), len(self.block.args))
            data = tensor._known_array()
            self.captured.append(data)
            self.captured_ids.setdefault(id(data), arg)  # keep_snapshots finds it
            self.links[arg] = (older, value)
            self.linked[value] = arg
            return arg

    def forget_arg(self, arg: SSAValue) -> None:
        """Drop what the graph keeps for a block argument no op reads any more."""
        self.captured[arg.index] = None  # type: ignore[attr-defined]
        self.leaf_owners.pop(arg, None)
        link = self.links.pop(arg, None)
        if link is not None and self.linked.get(link[1]) is arg:
            del self.linked[link[1]]

    def track(self, tensor: Tensor) -> None:
        """`tensor`'s value is now an op of this (eager) graph."""
        with self.lock:
            self.live[id(tensor)] = tensor

    def append(self, op: Operation) -> Operation:
        location = user_location()
        with self.lock:
            self.block.add_op(op)
            self.locations[op] = location
            self.order[op] = self.n_ops
            self.n_ops += 1
        return op

    def to_module(self, outputs: list[SSAValue], name: str = "main") -> ModuleOp:
        """Close the block with a return and wrap it as `func.func @name` in a module."""
        self.block.add_op(func.ReturnOp(*outputs))
        fn = func.FuncOp(
            name,
            ([a.type for a in self.block.args], [o.type for o in outputs]),
            Region(self.block),
        )
        self.finished = True
        return ModuleOp([fn])


_SERIAL = itertools.count()


class _PerThread(threading.local):
    """The graphs of one thread: the stack of traces, and its eager graph."""

    def __init__(self) -> None:
        self.stack: list[Graph] = []
        self.eager: Graph | None = None


_THREAD = _PerThread()
# every eager graph still referenced (the threads' current ones, older ones lazy tensors
# or links point to): `keep_snapshots` looks in all of them
_ALL_EAGER: weakref.WeakSet[Graph] = weakref.WeakSet()
_ALL_EAGER_LOCK = threading.Lock()


def current() -> Graph:
    """The graph new ops go into: the innermost trace, else the eager graph (this
    thread's)."""
    stack = _THREAD.stack
    if stack:
        return stack[-1]
    return eager_graph()


_EAGER_CHECK_EVERY = 64  # ops between checks whether the eager graph is still referenced
_EAGER_MAX_OPS = 20000  # ops after which a new segment starts (autograd links them)


def eager_graph() -> Graph:
    """This thread's eager graph. Every 64 ops: a fresh one if no live lazy tensor
    refers to the current one, else the current one swept of what no live tensor can
    reach, once it has grown by as many ops as the last sweep kept (a sweep walks
    what it keeps: so each op costs O(1) sweeping however long the graph lives). Past
    `_EAGER_MAX_OPS` ops: a fresh one (a new segment: lazy tensors of the old one are
    linked in when used, see the module docstring).

    Realized tensors let go of the graph, but the graph keeps their ops and the data
    snapshots it captured (`captured`): an eager loop would otherwise hold every
    iteration's arrays until the op cap (measured: +1 MiB per step of a 512x512
    update). Tensors still pointing at an old graph keep it alive, so starting a
    fresh one is always safe."""
    local = _THREAD
    graph = local.eager
    if graph is None or graph.n_ops > _EAGER_MAX_OPS:
        graph = local.eager = _new_eager()
    elif graph.n_ops % _EAGER_CHECK_EVERY == 0 and graph.n_ops != graph.checked_at:
        graph.checked_at = graph.n_ops
        if not _referenced(graph):
            graph = local.eager = _new_eager()
        elif graph.n_ops - graph.swept_at >= graph.kept:
            from lamina.frontend import lazy

            graph.kept = lazy.sweep(graph)  # keep what live tensors need, drop the rest
            graph.swept_at = graph.n_ops
    return graph


def new_segment() -> None:
    """Start a new eager graph for this thread now (lazy tensors of the old one that
    later ops use are linked in: `Tensor.register_hook` cuts the tape so that the
    gradient of the hooked tensor arrives as a concrete array)."""
    _THREAD.eager = _new_eager()


def _new_eager() -> Graph:
    graph = Graph("eager")
    with _ALL_EAGER_LOCK:
        _ALL_EAGER.add(graph)
    return graph


def live_tensors(graph: Graph) -> list[Tensor]:
    """The live lazy tensors whose value is (or was) an op of `graph`."""
    with graph.lock:
        return list(graph.live.values())


def keep_snapshots(arrays: list[Any]) -> None:
    """`arrays` are about to be overwritten in place (a jitted step's donated
    parameters): eager graphs that captured one of them as a snapshot for ops not yet
    realized (`q = p * 2` before the step, `q.numpy()` after) get a private copy, so
    those ops still see the old value. Costs a dict lookup per array and live eager
    graph (usually one) when nothing is pending."""
    with _ALL_EAGER_LOCK:
        graphs = list(_ALL_EAGER)
    for graph in graphs:
        with graph.lock:
            for a in arrays:
                arg = graph.captured_ids.get(id(a))
                if arg is not None and graph.captured[arg.index] is a:  # type: ignore[attr-defined]
                    graph.captured[arg.index] = a.copy()  # type: ignore[attr-defined]
                    del graph.captured_ids[id(a)]  # later captures of `a` see its new data


def _referenced(graph: Graph) -> bool:
    return any(t._lazy_value(graph) is not None for t in live_tensors(graph))


def tracing() -> bool:
    return bool(_THREAD.stack)


def probing() -> bool:
    """Whether a probe trace of a symbolic program runs (sizes are stand-ins: a tensor
    "too big for memory" is only the probe size; `lamina.frontend.sizes`)."""
    return bool(_THREAD.stack) and _THREAD.stack[-1].sizes is not None


class outside_traces:
    """`with outside_traces():` runs eagerly even inside `lm.jit` (a lazy module creating
    its parameters on its first, traced, call: their values are data, not program)."""

    def __enter__(self) -> None:
        self.saved = _THREAD.stack
        _THREAD.stack = []

    def __exit__(self, *exc: object) -> None:
        _THREAD.stack = self.saved


class push:
    """`with push(graph):` makes `graph` the target of new ops."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def __enter__(self) -> Graph:
        _THREAD.stack.append(self.graph)
        return self.graph

    def __exit__(self, *exc: object) -> None:
        popped = _THREAD.stack.pop()
        assert popped is self.graph
