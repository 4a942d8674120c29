"""`lm.autograd`: torch.autograd's user-facing names on lamina's machinery.

`Function` (static `forward(ctx, *args)` / `backward(ctx, *grads)`, `ctx.save_for_backward`,
`ctx.saved_tensors`, `ctx.needs_input_grad`, `Fn.apply`) is a `custom_vjp` whose
residuals are the context and the tensors it saved — so it works eagerly and inside
`lm.jit`, where its backward becomes part of the compiled program. `Variable` is
torch's legacy wrapper (the tensor itself); `backward` and `grad` are the functional
forms."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from lamina.errors import GradientError, with_location
from lamina.frontend import ops as O
from lamina.frontend.autograd import backward as _backward
from lamina.frontend.autograd import custom_vjp, grad_of
from lamina.frontend.tensor import Tensor

__all__ = ["Function", "FunctionCtx", "Variable", "backward", "grad", "once_differentiable"]


class FunctionCtx:
    """What `forward` and `backward` of a `Function` share."""

    def __init__(self, inputs: Sequence[Any]):
        self.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad
                                      for a in inputs)
        self._saved: tuple[Tensor, ...] = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Tensor) -> None:
        self._saved = tuple(tensors)

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        return self._saved

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Accepted for torch compatibility: lamina gives such outputs no gradient only
        if backward returns None for them."""

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Accepted for torch compatibility (lamina's tensors are values)."""

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)`,
    call `YourFunction.apply(*args)`; backward returns one gradient (or None) per
    argument of forward."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Tensor) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        tensors = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not tensors:
            return cls.forward(FunctionCtx(args), *args)

        def run(*tensor_args: Tensor) -> Any:  # the function of the tensor arguments only
            full = list(args)
            for i, t in zip(tensors, tensor_args, strict=True):
                full[i] = t
            ctx = FunctionCtx(args)
            return cls.forward(ctx, *full), ctx

        def fwd(*tensor_args: Tensor) -> tuple[Any, tuple]:
            out, ctx = run(*tensor_args)
            return out, (ctx, ctx.saved_tensors)

        def bwd(residuals: tuple, *cts: Tensor) -> tuple:
            ctx, saved = residuals
            if len(cts) == 1 and isinstance(cts[0], tuple | list):  # several outputs
                cts = tuple(cts[0])
            ctx._saved = tuple(saved)  # (the tensors as the backward program sees them)
            grads = cls.backward(ctx, *cts)
            grads = grads if isinstance(grads, tuple) else (grads,)
            if len(grads) != len(args):
                raise GradientError(with_location(
                    f"{cls.__name__}.backward returned {len(grads)} gradients, expected "
                    f"{len(args)} (one per argument of forward, None where there is none)"))
            return tuple(grads[i] for i in tensors)

        op = custom_vjp(lambda *tensor_args: run(*tensor_args)[0])
        op.defvjp(fwd, bwd)
        return op(*(args[i] for i in tensors))


def once_differentiable(fn: Callable) -> Callable:
    """torch's decorator for a backward that is not itself differentiable: lamina's
    backward is traced like any program, so it only marks intent."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)
    return wrapper


def Variable(data: Any, requires_grad: bool = False) -> Tensor:  # noqa: N802 (torch's name)
    """torch's legacy `autograd.Variable(t)`: the tensor itself (requires_grad set)."""
    t = data if isinstance(data, Tensor) else O.tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False) -> None:
    """`torch.autograd.backward`: `.backward()` of each tensor (with its gradient)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    grads = [grad_tensors] if isinstance(grad_tensors, Tensor) or grad_tensors is None \
        else list(grad_tensors)
    if grad_tensors is None:
        grads = [None] * len(tensors)
    for t, g in zip(tensors, grads, strict=True):
        _backward(t, g)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True,
         allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """`torch.autograd.grad`: the gradients of `outputs` w.r.t. `inputs` as a tuple,
    without touching any `.grad`. `create_graph=True` keeps them differentiable
    (lamina keeps graphs as long as a tensor refers to them: `retain_graph` is accepted
    and needs nothing)."""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched=True is not supported "
                                  "(use lm.vmap-free loops over grad_outputs)")
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        gos = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    else:
        gos = list(grad_outputs)
    if len(gos) != len(outs):
        raise GradientError(with_location(
            f"autograd.grad: grad_outputs has {len(gos)} entries for {len(outs)} outputs"))
    return grad_of(outs, ins, gos, create_graph, bool(allow_unused), materialize_grads)
