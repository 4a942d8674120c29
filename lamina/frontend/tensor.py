"""`lm.Tensor` and its state.

A tensor's value is in exactly one of three states, held in one field and changed
only by the methods of this module (a test scans lamina/ for assignments to a
tensor's private fields anywhere else):

- `Concrete(array)`: known, a numpy array (made from data, realized, written back);
- `Lazy(value, graph)`: an op of the eager graph, computed when its value is needed
  (`lamina.frontend.lazy`);
- `Traced(value, graph)`: a value of a trace (`lm.jit`, an autodiff pass), unknown
  until the compiled program runs.

Operators and methods build `hl` ops through `lamina.frontend.ops`; nothing here
computes numbers directly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue

from lamina import dtypes
from lamina.errors import (
    ArgumentError,
    DTypeError,
    GradientError,
    ShapeError,
    TraceError,
    with_location,
)
from lamina.frontend import graph as graphs
from lamina.frontend import guards

__all__ = ["Concrete", "Device", "Lazy", "State", "Tensor", "Traced"]

_LEGACY_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                 "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor",
                 "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
                 "bool": "BoolTensor"}


class Device:
    """torch.device's CPU answer: `t.device`, `lm.device("cpu")`; lamina computes on the
    CPU (C), or on a GPU through Triton without tensors living there, so every tensor
    reports the CPU."""

    def __init__(self, type: str = "cpu", index: int | None = None):
        kind, _, number = str(type).partition(":")
        self.type, self.index = kind, (int(number) if number else index)

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + (
            "" if self.index is None else f", index={self.index}") + ")"


@dataclass(frozen=True, eq=False)
class Concrete:
    """A value known as a numpy array."""

    array: np.ndarray


@dataclass(frozen=True, eq=False)
class Lazy:
    """An op of the eager graph, computed when its value is needed.

    `array` is the value once computed, kept for a non-leaf that gradients flow
    through: it stays in the graph so that `.backward()` sees the ops that made it."""

    value: SSAValue
    graph: graphs.Graph
    array: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Traced:
    """A value of a trace (`lm.jit`, or the graph of an autodiff pass).

    `before`: for a tensor from outside the trace that the traced function updated
    in place, its state before the update; it returns to it when the trace ends
    (`Tensor._end_trace`) and takes the program's result after each call."""

    value: SSAValue
    graph: graphs.Graph
    before: Concrete | Lazy | None = None


State = Concrete | Lazy | Traced
_ACCUMULATING = threading.Lock()  # see Tensor._accumulate_grad


class Tensor:
    """Fields (private to this module): `_state`, `_dtype`, `_shape` and the autograd
    flags `_requires_grad` (set by the user), `_needs_grad` (gradients flow through
    this value), `_is_leaf` and `_grad`. Other modules read them through the public
    properties and change them through the underscore methods of the sections
    "values in graphs", "state transitions" and "gradients"."""

    __array_priority__ = 1000  # numpy defers `ndarray + Tensor` to Tensor.__radd__

    def __init__(self, *args: Any, dtype: Any = None, requires_grad: bool = False):
        """torch.Tensor's legacy constructor: `Tensor(data)` holds data (a sequence or an
        array) converted to the default float dtype (an ndarray already of that dtype is
        shared, not copied), `Tensor(*sizes)` a zero-filled tensor of that shape,
        `Tensor(tensor)` that tensor's data and dtype. `lm.tensor(data)` infers the dtype
        from the data instead. `dtype=` is a lamina extension (torch.Tensor has none)."""
        if not args:
            data: Any = np.zeros((0,), dtypes.default_float().np_dtype)
        elif all(isinstance(a, int | np.integer) and not isinstance(a, bool | np.bool_)
                 for a in args):
            data = np.zeros(tuple(int(a) for a in args), dtypes.default_float().np_dtype)
        elif len(args) > 1:
            raise TypeError(f"Tensor(): expected data or sizes (ints), got {len(args)} "
                            "arguments that are not all ints")
        else:
            data = args[0]
            if np.ndim(data) == 0 and not isinstance(data, np.ndarray | Tensor):
                raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        if isinstance(data, Tensor):
            dtype = dtype if dtype is not None else data.dtype
        self._init_value(data, dtype if dtype is not None else dtypes.default_float(),
                         requires_grad)

    @classmethod
    def _wrap(cls, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """A concrete tensor of `data` in the dtype the data has (lamina's own
        constructor; Python floats become float32, as in torch): `lm.tensor`, program
        results, optimizer state. An ndarray of a lamina dtype is held, not copied."""
        t = cls.__new__(cls)
        t._init_value(data, dtype, requires_grad)
        return t

    def _init_value(self, data: Any, dtype: Any, requires_grad: bool) -> None:
        """Set up a concrete leaf holding `data` (in `dtype`, else the data's own)."""
        if isinstance(data, Tensor):
            data = data.numpy()
        array = np.asarray(data)
        if dtype is not None:
            np_dtype = dtypes.as_dtype(dtype).np_dtype
            if array.dtype != np_dtype:
                array = array.astype(np_dtype)
        elif array.dtype == np.float64 and not isinstance(data, np.ndarray):
            array = array.astype(np.float32)  # Python floats default to float32, as torch
        elif array.dtype.kind in "US" or array.dtype == object:
            dtypes.from_numpy(array.dtype)  # raises DTypeError naming the dtype and line
        self._dtype = dtypes.from_numpy(array.dtype)
        if array.dtype != self._dtype.np_dtype:
            array = array.astype(self._dtype.np_dtype)
        self._state: State = Concrete(array)
        self._shape = tuple(int(d) for d in array.shape)
        self._requires_grad = bool(requires_grad)
        self._needs_grad = self._requires_grad
        self._grad: Tensor | None = None
        self._is_leaf = True
        if requires_grad and not self._dtype.is_floating_point:
            raise DTypeError(with_location(
                f"only floating-point tensors can require gradients, not {self._dtype.name}"))

    @classmethod
    def _from_value(cls, value: SSAValue, graph: graphs.Graph, needs_grad: bool) -> Tensor:
        """A tensor standing for `value` of `graph`: lazy in the eager graph, else traced."""
        t = cls.__new__(cls)
        assert isinstance(value.type, TensorType)
        t._dtype = dtypes.from_ir(value.type.get_element_type())
        t._shape = tuple(int(d) for d in value.type.get_shape())
        if graph.sizes is not None:  # a probe trace of a symbolic program: guarded sizes
            t._shape = graph.sizes.wrap(t._shape)
        t._state = Lazy(value, graph) if graph.kind == "eager" else Traced(value, graph)
        t._requires_grad = False
        # as torch, integer and bool results never carry gradients (argmax, comparisons)
        needs_grad = needs_grad and t._dtype.is_floating_point
        t._needs_grad = needs_grad
        t._grad = None
        t._is_leaf = not needs_grad  # as torch: a result no gradient flows through is a leaf
        if graph.kind == "eager":
            graph.track(t)
        return t

    # ------------------------------------------------------------ metadata

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self._shape if dim is None else self._shape[dim]

    @property
    def dtype(self) -> dtypes.DType:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def dim(self) -> int:
        return len(self._shape)

    def numel(self) -> int:
        return int(np.prod(self._shape, dtype=np.int64))

    nelement = numel

    # torch's device and legacy-type spellings, as a CPU-only torch answers them
    is_cuda = False

    @property
    def device(self) -> Device:
        return Device("cpu")

    def pin_memory(self) -> Tensor:
        return self

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """`t.type()`: the legacy type name ('torch.FloatTensor', as torch spells it);
        `t.type(dtype)` (a dtype or such a name): `t.to(dtype)`."""
        if dtype is None:
            return "torch." + _LEGACY_NAMES.get(self._dtype.name, self._dtype.name + "Tensor")
        if isinstance(dtype, str):
            short = dtype.rsplit(".", 1)[-1]
            names = {v: k for k, v in _LEGACY_NAMES.items()}
            if short not in names:
                raise ArgumentError(with_location(f"type: invalid type {dtype!r}"))
            dtype = names[short]
        return self.to(dtype)

    def __format__(self, spec: str) -> str:
        """`f"{loss:.4f}"` formats a one-element tensor's value, as torch does."""
        if self.numel() == 1 and self.ndim == 0:
            return format(self.item(), spec)
        return format(str(self), spec)

    def __len__(self) -> int:
        if not self._shape:
            raise ArgumentError(with_location("len() of a 0-d tensor"))
        return self._shape[0]

    @property
    def state(self) -> State:
        """`Concrete`, `Lazy` or `Traced` (read-only; see the module docstring)."""
        self._follow_base()
        return self._state

    @property
    def is_traced(self) -> bool:
        self._follow_base()
        return isinstance(self._state, Traced)

    @property
    def is_leaf(self) -> bool:
        return self._is_leaf

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad or (not self._is_leaf and self._needs_grad)

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        guards.changed()  # a trace that read this tensor checks it again
        if flag and not self._dtype.is_floating_point:
            raise DTypeError(with_location(
                f"only floating-point tensors can require gradients, not {self._dtype.name}"))
        self._requires_grad = bool(flag)
        self._needs_grad = self._needs_grad or bool(flag)
        state = self._state
        if flag and self._is_leaf and isinstance(state, Traced):
            # a leaf made inside a trace (`lm.randn(3).requires_grad_()`): backward()
            # there fills its .grad
            state.graph.leaf_owners[state.value] = self

    def requires_grad_(self, flag: bool = True) -> Tensor:
        self.requires_grad = flag
        return self

    @property
    def needs_grad(self) -> bool:
        """Gradients flow through this value: ops on it record what backward needs."""
        return self._needs_grad

    @property
    def accumulates_grad(self) -> bool:
        """`backward()` accumulates into this tensor's `.grad` (requires_grad was set on
        it, as on a leaf)."""
        return self._requires_grad

    def _ir_type(self) -> TensorType:
        return TensorType(self._dtype.ir_type, list(self._shape))

    # ------------------------------------------------------------ values in graphs

    def _ssa(self, graph: graphs.Graph) -> SSAValue:
        """This tensor's value inside `graph`, lifting it in if it lives elsewhere."""
        self._follow_base()
        state = self._state
        if not isinstance(state, Concrete) and state.graph is graph:
            if not (isinstance(state, Lazy) and self._is_leaf and self._requires_grad):
                return state.value
            from lamina.frontend import lazy

            lazy.realize(self)  # a leaf updated in place is realized so that it stays a leaf
        state = self._state
        if not isinstance(state, Concrete):
            if state.graph.finished or isinstance(state, Traced):
                raise TraceError(with_location(
                    "a tensor traced inside an lm.jit function was used after the trace "
                    "ended (return it from the function instead)"))
            from lamina.frontend import lazy

            lazy.realize(self)
            state = self._state
            if isinstance(state, Lazy) and graph.kind == "eager":
                # realized, but gradients flow through it: an older eager graph (a segment
                # of the tape, or another thread's) stays linked for backward()
                return graph.capture_link(self, state.graph, state.value)
        if graph.kind == "eager":
            return graph.capture_array(self)
        return graph.capture(self)

    def _lazy_value(self, graph: graphs.Graph) -> SSAValue | None:
        """Its value if it is a lazy op of the eager graph `graph`, else None."""
        self._follow_base()
        state = self._state
        return state.value if isinstance(state, Lazy) and state.graph is graph else None

    def _known_array(self) -> np.ndarray | None:
        """The value if it is known without running anything (None: lazy or traced)."""
        self._follow_base()
        state = self._state
        return None if isinstance(state, Traced) else state.array

    def _concrete(self) -> np.ndarray:
        """The value as a numpy array, realizing a lazy tensor (an error if traced)."""
        self._follow_base()
        if isinstance(self._state, Traced) and self._state.graph.finished:
            raise TraceError(with_location(
                "a tensor traced inside an lm.jit function was read after the trace ended "
                "(return it from the function instead)"))
        if isinstance(self._state, Traced):
            raise TraceError(with_location(
                "cannot read the value of a traced tensor inside lm.jit (a Python "
                "`if`, `float()` or `.item()` on a traced value); use lm.where or "
                "return the value"))
        if self._known_array() is None:
            from lamina.frontend import lazy

            lazy.realize(self)
        array = self._known_array()
        assert array is not None
        return array

    # ------------------------------------------------------------ state transitions

    def _set_array(self, array: np.ndarray, dtype: dtypes.DType | None = None) -> None:
        """Hold `array` from now on, as a concrete tensor (a jitted call's write-back,
        load_state_dict, an initializer, the RNG state); `dtype` converts in place."""
        assert tuple(array.shape) == self._shape, (array.shape, self._shape)
        if dtype is not None and dtype is not self._dtype:
            guards.changed()  # a trace that read this tensor checks it again
            self._dtype = dtype
        self._state = Concrete(array)
        self._version += 1

    def _materialize(self, array: np.ndarray) -> None:
        """An uninitialized parameter or buffer (nn's lazy modules) takes its first
        value, shape and dtype included; the object stays the same (optimizers hold it)."""
        guards.changed()
        self._shape = tuple(int(d) for d in array.shape)
        self._dtype = dtypes.from_numpy(array.dtype)
        self._state = Concrete(array)
        self._version += 1

    def _set_realized(self, array: np.ndarray) -> None:
        """`lazy.realize` computed this lazy tensor: leaves and values no gradient flows
        through become concrete; the others keep their place in the eager graph."""
        state = self._state
        assert isinstance(state, Lazy)
        if self._is_leaf or not self._needs_grad:
            self._state = Concrete(array)
        else:
            self._state = Lazy(state.value, state.graph, array)

    def _assign(self, new: Tensor) -> Tensor:
        """Make this tensor hold `new`'s value (the core of every in-place method).

        In a trace, a tensor from outside it (one with a known value) is recorded in
        the graph's `mutated`: the program returns its new value, written back after
        every call."""
        from lamina.frontend import ops

        if new.shape != self._shape:
            new = ops.broadcast_to(new, self._shape)
        if new.dtype != self._dtype:
            new = new.to(self._dtype)
        self._follow_base()
        graph = graphs.current()
        value = new._ssa(graph)
        self._version += 1
        if graph.kind == "eager":
            # lazy until realized (an optimizer realizes its step at once)
            self._took_gradient_history(new)
            self._state = Lazy(value, graph)
            graph.track(self)  # the eager graph now holds its value
            return self._write_through()
        before = self._state_outside_trace()
        if before is not None:
            graph.mutated[id(self)] = self
        else:  # a tensor of the trace (one from outside gets its flags back afterwards)
            self._took_gradient_history(new)
        self._state = Traced(value, graph, before)
        return self._write_through()

    def _assign_reshaped(self, new: Tensor) -> Tensor:
        """An in-place op that changes the shape (`t_`, `squeeze_`, `unsqueeze_`, ...):
        this tensor takes `new`'s shape and value. Refused for a view (its base could
        no longer be written through it) and, in a trace, for a tensor from outside it
        (the caller's tensor cannot change shape after the call)."""
        if tuple(new.shape) != self._shape:
            if self._view_of is not None or (
                    graphs.tracing() and self._state_outside_trace() is not None):
                raise TraceError(with_location(
                    f"an in-place op changing shape {list(self._shape)} to "
                    f"{list(new.shape)} on a view or on a tensor from outside lm.jit; "
                    f"use the out-of-place op (x = x.t()) instead"))
            self._shape = tuple(int(d) for d in new.shape)
        return self._assign(new)

    # ---- views: an in-place update of a view writes its base (torch's aliasing)

    _view_of: tuple[Tensor, Any] | None = None  # (base, the view's function of a base)
    # torch's strides where a view op would leave them non-contiguous (frontend/strides.py)
    _strides: tuple[int, ...] | None = None
    _version = 0  # bumped by every new value (in-place update, write-back, end of trace)
    _view_version = 0  # the base's version this view's value was computed from

    def _link_view(self, base: Tensor, view_fn: Any) -> None:
        """`self` is `view_fn(base)`, a view in torch (a slice, transpose, reshape...):
        an in-place update of `self` also writes the elements of `base` it shows."""
        if self is not base:
            self._view_of = (base, view_fn)
            self._view_version = base._version

    def _layout(self) -> tuple[int, ...]:
        """The strides torch would give this tensor (row-major unless a view op said)."""
        from lamina.frontend import strides

        return self._strides if self._strides is not None else strides.contiguous(self._shape)

    def _set_layout(self, value: tuple[int, ...] | None) -> None:
        from lamina.frontend import strides

        contiguous = value is None or strides.is_contiguous(self._shape, value)
        self._strides = None if contiguous else tuple(int(v) for v in value)

    def _is_view(self) -> bool:
        return self._view_of is not None

    def _write_through(self) -> Tensor:
        """After an in-place update of a view: scatter its new elements into its base,
        at the positions the view function picks from an arange of the base's size."""
        if self._view_of is None:
            return self
        from lamina.frontend import indexing, ops

        base, view_fn = self._view_of
        n = int(np.prod(base.shape, dtype=np.int64))
        if n == 0:  # an empty base: nothing to write
            return self
        where = view_fn(Tensor._wrap(np.arange(n, dtype=np.int64).reshape(base.shape)))
        flat = indexing.setitem(ops.reshape(base, (n,)), ops.reshape(where, (-1,)),
                                ops.reshape(self, (-1,)))
        base._assign(ops.reshape(flat, base.shape))
        self._view_version = base._version  # this view already holds its new value
        return self

    def _follow_base(self) -> None:
        """A view reads its base's current value (torch's aliasing): if the base was
        updated since this view's value was computed, the view is computed again from
        it. In a trace, a base updated by the trace gives the view a traced value that
        the trace also returns (the view is recorded as updated); a base updated before
        the trace is followed in the eager graph."""
        view = self._view_of
        if view is None:
            return
        base, view_fn = view
        base._follow_base()
        if self._view_version == base._version:
            return
        self._view_version = base._version
        if isinstance(base._state, Traced):
            graph = base._state.graph
            new = view_fn(base)
            state = self._state  # its value outside, which the trace's end restores
            before = state.before if isinstance(state, Traced) else state
            if before is not None:
                graph.mutated[id(self)] = self
            self._took_gradient_history(new)
            self._state = Traced(new._ssa(graph), graph, before)
        else:
            with graphs.outside_traces():
                new = view_fn(base)
                graph = graphs.current()
                value = new._ssa(graph)
            self._took_gradient_history(new)
            self._state = Lazy(value, graph)
            graph.track(self)
        self._version += 1

    def _took_gradient_history(self, new: Tensor) -> None:
        """An in-place update wrote a value gradients flow through (`y[i] = v`, v
        requiring grad): as in torch, the tensor is now a result of that op."""
        if new._needs_grad and not self._needs_grad:
            guards.changed()  # it requires grad now
            self._needs_grad = True
            self._is_leaf = False

    def _state_outside_trace(self) -> Concrete | Lazy | None:
        """The state to return to when a trace updating this tensor ends (None for a
        tensor whose value is not known outside: one made by the trace)."""
        state = self._state
        if isinstance(state, Traced):
            return state.before
        return state if state.array is not None else None

    def _end_trace(self) -> None:
        """The trace that updated this tensor in place is over: back to its prior state."""
        state = self._state
        if isinstance(state, Traced) and state.before is not None:
            self._state = state.before
            self._version += 1

    # ------------------------------------------------------------ conversion

    def numpy(self) -> np.ndarray:
        return self._concrete()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self._concrete()
        return data.astype(dtype) if dtype is not None else data

    def item(self) -> bool | int | float:
        data = self._concrete()
        if data.size != 1:  # torch: RuntimeError (ValueError through float())
            raise ShapeError(with_location(
                f"item() needs a tensor with one element, got shape {list(self._shape)}"))
        return data.reshape(()).item()

    def tolist(self) -> Any:
        return self._concrete().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._dtype.category != 1:
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self.is_traced:
            raise TraceError(with_location(
                f"a Python `if`/`while`/`bool()` on a traced tensor of shape {self._shape} "
                "inside lm.jit: the value is not known while tracing; use lm.where(cond, a, b)"))
        return bool(self.item())

    def __repr__(self) -> str:
        if self.is_traced:
            return f"Tensor(traced, shape={self._shape}, dtype={self._dtype.name})"
        body = np.array2string(self._concrete(), separator=", ", prefix="tensor(")
        extra = "" if self._dtype in (dtypes.float32, dtypes.int64, dtypes.bool_) \
            else f", dtype={self._dtype!r}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __str__ = __repr__

    def __hash__(self) -> int:
        return id(self)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self._concrete().__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> Any:
        return self._concrete().__dlpack_device__()

    # ------------------------------------------------------------ in-place updates

    def copy_(self, src: Any) -> Tensor:
        from lamina.frontend import ops

        return self._assign(ops.as_tensor(src, like=self))

    def detach(self) -> Tensor:
        """The same values without gradient history, sharing them as torch's detach
        does: an in-place update of either is seen by the other."""
        from lamina.frontend import ops

        out = ops.stop_gradient(self)
        out._link_view(self, ops.stop_gradient)
        return out

    def detach_(self) -> Tensor:
        """Cut this tensor from its graph in place: it becomes a leaf that requires no
        gradient, holding the same value (torch's `detach_`)."""
        from lamina.frontend import ops

        self._assign(ops.stop_gradient(self))
        self._requires_grad = self._needs_grad = False
        self._is_leaf = True
        return self

    def clone(self) -> Tensor:
        from lamina.frontend import ops

        return ops.add(self, 0) if self._dtype != dtypes.bool_ else ops.logical_or(self, False)

    @property
    def data(self) -> Tensor:
        """The same value without gradient history, as torch's `.data`: in-place ops on
        it update this tensor (`p.data.add_(-lr * p.grad)` trains `p`), and it reads
        this tensor's current value, but no gradient flows through it."""
        view = _DataView.__new__(_DataView)
        view._init_view(self)
        return view

    @data.setter
    def data(self, value: Any) -> None:
        self.copy_(value)

    # ------------------------------------------------------------ gradients

    @property
    def grad(self) -> Tensor | None:
        if graphs.tracing() and id(self) not in graphs.current().grad_touched:
            graphs.current().grad_read.add(id(self))  # the program depends on .grad's state
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None and getattr(value, "shape", self._shape) != self._shape:
            raise ShapeError(with_location(  # torch: RuntimeError
                f"grad: assigning a gradient of shape {list(value.shape)} to a tensor of "
                f"shape {list(self._shape)}"))
        if graphs.tracing():
            graph = graphs.current()
            graph.grad_touched[id(self)] = self
            graph.grad_original.setdefault(id(self), (self, self._grad))
        self._grad = value

    def _reset_grad(self, value: Tensor | None) -> None:
        """Set `.grad` without recording it in a trace: a jitted call's write-back, or
        the end of a trace putting back what the traced function changed."""
        self._grad = value

    def _accumulate_grad(self, array: np.ndarray) -> None:
        """Add a computed gradient to `.grad` (eager `backward()`; two threads may
        backpropagate into one leaf at once), after the tensor's hooks."""
        if self._grad_hooks:
            from lamina.frontend.autograd import run_grad_hooks

            array = run_grad_hooks(self._grad_hooks, Tensor._wrap(array)).numpy()
        with _ACCUMULATING:
            self._grad = Tensor._wrap(array) if self._grad is None \
                else Tensor._wrap(np.asarray(self._grad) + array)

    def _mark_differentiable(self) -> Tensor:
        """Gradients flow through this value from now on (a primal `lm.grad` differentiates)."""
        self._needs_grad = True
        return self

    def backward(self, gradient: Any = None, retain_graph: bool | None = None) -> None:
        from lamina.frontend import autograd

        autograd.backward(self, gradient)

    _grad_hooks: dict | None = None  # register_hook's table (None: no hook)

    def register_hook(self, hook: Any) -> Any:
        """`hook(grad)` runs when this tensor's gradient is computed and may return a
        replacement, as torch's. On a leaf it sees the gradient about to be accumulated
        into `.grad`; on a result of ops, the gradient flowing back through it (from
        its uses after this call). Under `lm.jit` it runs while the backward is traced."""
        if not self.requires_grad:
            raise GradientError(with_location(
                "register_hook: cannot register a hook on a tensor that doesn't require "
                "gradient"))
        from lamina.frontend.handles import RemovableHandle

        first = self._grad_hooks is None
        if first:
            self._grad_hooks = {}
        handle = RemovableHandle(self._grad_hooks)
        self._grad_hooks[handle.id] = hook
        if first and not self._is_leaf:
            state = self._state
            if isinstance(state, Lazy):
                # eager: cut the tape here; the gradient of this value then reaches
                # backward() as an array, and the hooks see a concrete tensor
                state.graph.value_hooks[state.value] = self._grad_hooks
                if state.graph is graphs.current():
                    graphs.new_segment()
            else:  # traced: an identity whose (traced) backward calls the hooks
                from lamina.frontend.autograd import hook_identity, run_grad_hooks

                hooks = self._grad_hooks
                (hooked,) = hook_identity([self], lambda cts: (run_grad_hooks(hooks, cts[0]),))
                self._assign(hooked)
        return handle

    _retains_grad = False

    def retain_grad(self) -> None:
        """Keep this non-leaf's gradient in `.grad` after backward (accumulated over
        backward calls, as torch); a no-op on leaves."""
        if not self.requires_grad:
            raise GradientError(with_location(
                "retain_grad: can't retain_grad on Tensor that has requires_grad=False"))
        if self._is_leaf or self._retains_grad:
            return
        self._retains_grad = True

        def keep(grad: Tensor) -> None:
            self._grad = grad if self._grad is None else self._grad + grad

        self.register_hook(keep)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad


class _DataView(Tensor):
    """`t.data`: holds no value of its own. Its state, dtype and shape are `t`'s (read
    and written through), so in-place updates of the view are updates of `t`; its
    autograd flags are its own (a leaf that requires no grad), and its value enters a
    graph through a stop_gradient when gradients flow through `t`."""

    def _init_view(self, base: Tensor) -> None:
        self._base = base
        self._requires_grad = False
        self._needs_grad = False
        self._grad = None
        self._is_leaf = True

    @property
    def _state(self) -> State:  # type: ignore[override]
        return self._base._state

    @_state.setter
    def _state(self, state: State) -> None:
        self._base._state = state

    @property
    def _dtype(self) -> dtypes.DType:  # type: ignore[override]
        return self._base._dtype

    @_dtype.setter
    def _dtype(self, dtype: dtypes.DType) -> None:
        self._base._dtype = dtype

    @property
    def _shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return self._base._shape

    def _ssa(self, graph: graphs.Graph) -> SSAValue:
        value = self._base._ssa(graph)
        if not self._base._needs_grad:
            return value
        from lamina.dialects import hl

        return graph.append(hl.StopGradientOp.build(value)).results[0]

    def _assign(self, new: Tensor) -> Tensor:
        self._base._assign(new)
        return self

    def _set_realized(self, array: np.ndarray) -> None:
        self._base._set_realized(array)

    def _concrete(self) -> np.ndarray:
        return self._base._concrete()


def _install_methods() -> None:
    """Attach the operator overloads and PyTorch-named methods from `ops`."""
    from lamina.frontend import methods

    methods.install(Tensor)
