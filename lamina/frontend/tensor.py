"""`lm.Tensor`: concrete (a numpy array), lazy (an op in the eager graph) or traced
(an op in a jit trace). Operators and methods build `hl` ops through
`lamina.frontend.ops`; nothing here computes numbers directly."""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue

from lamina import dtypes
from lamina.errors import TraceError, with_location
from lamina.frontend import graph as graphs


class Tensor:
    __array_priority__ = 1000  # numpy defers `ndarray + Tensor` to Tensor.__radd__

    def __init__(self, data: Any = None, dtype: Any = None, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.numpy()
        array = np.asarray(data)
        if dtype is not None:
            array = array.astype(dtypes.as_dtype(dtype).np_dtype)
        elif array.dtype == np.float64 and not isinstance(data, np.ndarray):
            array = array.astype(np.float32)  # Python floats default to float32, as torch
        elif array.dtype.kind in "US" or array.dtype == object:
            dtypes.from_numpy(array.dtype)  # raises DTypeError naming the dtype and line
        self._dtype = dtypes.from_numpy(array.dtype)
        if array.dtype != self._dtype.np_dtype:
            array = array.astype(self._dtype.np_dtype)
        self._data: np.ndarray | None = array
        self._shape = tuple(int(d) for d in array.shape)
        self._value: SSAValue | None = None
        self._graph: graphs.Graph | None = None
        self._requires_grad = bool(requires_grad)
        self._needs_grad = self._requires_grad
        self._grad: Tensor | None = None
        self._is_leaf = True
        if requires_grad and not self._dtype.is_floating_point:
            raise TypeError("only floating-point tensors can require gradients")

    # ------------------------------------------------------------ construction

    @classmethod
    def _from_value(cls, value: SSAValue, graph: graphs.Graph, needs_grad: bool) -> Tensor:
        t = cls.__new__(cls)
        assert isinstance(value.type, TensorType)
        t._dtype = dtypes.from_ir(value.type.get_element_type())
        t._shape = tuple(int(d) for d in value.type.get_shape())
        t._data = None
        t._value = value
        t._graph = graph
        t._requires_grad = False
        t._needs_grad = needs_grad
        t._grad = None
        t._is_leaf = False
        if graph.kind == "eager":
            graphs._LIVE_EAGER[id(t)] = t
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

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    @property
    def is_leaf(self) -> bool:
        return self._is_leaf

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad or (not self._is_leaf and self._needs_grad)

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self._requires_grad = bool(flag)
        self._needs_grad = self._needs_grad or bool(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        self.requires_grad = flag
        return self

    @property
    def grad(self) -> Tensor | None:
        if graphs.tracing() and id(self) not in graphs.current().grad_touched:
            graphs.current().grad_read.add(id(self))  # the program depends on .grad's state
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if graphs.tracing():
            graph = graphs.current()
            graph.grad_touched[id(self)] = self
            graph.grad_original.setdefault(id(self), (self, self._grad))
        self._grad = value

    def _ir_type(self) -> TensorType:
        return TensorType(self._dtype.ir_type, list(self._shape))

    @property
    def is_traced(self) -> bool:
        return self._value is not None and self._graph is not None \
            and self._graph.kind != "eager"

    # ------------------------------------------------------------ values in graphs

    def _ssa(self, graph: graphs.Graph) -> SSAValue:
        """This tensor's value inside `graph`, lifting it in if it lives elsewhere."""
        if self._value is not None and self._graph is graph:
            if not (graph.kind == "eager" and self._is_leaf and self._requires_grad):
                return self._value
            from lamina.frontend import lazy

            lazy.realize(self)  # a leaf updated in place is realized so that it stays a leaf
        if self._value is not None and self._graph is not None:
            if self._graph.finished or self._graph.kind != "eager":
                raise TraceError(with_location(
                    "a tensor traced inside an lm.jit function was used after the trace "
                    "ended (return it from the function instead)"))
            from lamina.frontend import lazy

            lazy.realize(self)
        if graph.kind == "eager":
            return graph.capture_array(self)
        return graph.capture(self)

    def _concrete(self) -> np.ndarray:
        if self._data is None or self.is_traced:
            if self.is_traced:
                raise TraceError(with_location(
                    "cannot read the value of a traced tensor inside lm.jit (a Python "
                    "`if`, `float()` or `.item()` on a traced value); use lm.where or "
                    "return the value"))
            from lamina.frontend import lazy

            lazy.realize(self)
        assert self._data is not None
        return self._data

    # ------------------------------------------------------------ conversion

    def numpy(self) -> np.ndarray:
        return self._concrete()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self._concrete()
        return data.astype(dtype) if dtype is not None else data

    def item(self) -> bool | int | float:
        data = self._concrete()
        if data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self._shape}")
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

    def _assign(self, new: Tensor) -> Tensor:
        """Make this tensor hold `new`'s value (the core of every in-place method)."""
        from lamina.frontend import ops

        if new.shape != self._shape:
            new = ops.broadcast_to(new, self._shape)
        if new.dtype != self._dtype:
            new = new.to(self._dtype)
        graph = graphs.current()
        value = new._ssa(graph)
        if graph.kind != "eager":
            if self._data is not None:  # a tensor from outside the trace: written back
                graph.mutated[id(self)] = self  # after every call of the program
        else:
            self._data = None  # lazy until realized (an optimizer realizes its step at once)
            graphs._LIVE_EAGER[id(self)] = self  # the eager graph now holds its value
        self._value, self._graph = value, graph
        return self

    def copy_(self, src: Any) -> Tensor:
        from lamina.frontend import ops

        return self._assign(ops.as_tensor(src, like=self))

    def detach(self) -> Tensor:
        from lamina.frontend import ops

        return ops.stop_gradient(self)

    def clone(self) -> Tensor:
        from lamina.frontend import ops

        return ops.add(self, 0) if self._dtype != dtypes.bool_ else ops.logical_or(self, False)

    @property
    def data(self) -> Tensor:
        return self.detach()

    @data.setter
    def data(self, value: Any) -> None:
        self.copy_(value)

    # ------------------------------------------------------------ autograd

    def backward(self, gradient: Any = None, retain_graph: bool | None = None) -> None:
        from lamina.frontend import autograd

        autograd.backward(self, gradient)

    def retain_grad(self) -> None:  # gradients of non-leaves are not kept; accepted for porting
        return None


def _install_methods() -> None:
    """Attach the operator overloads and PyTorch-named methods from `ops`."""
    from lamina.frontend import methods

    methods.install(Tensor)
