"""`lm.compile`: torch.compile's spelling over lamina's two ways of running a program.

lamina compiles everything it runs, eagerly recorded graphs included, so `lm.compile`
chooses between them rather than switching compilation on:

- when gradients can flow (grad mode on, and a parameter or an argument requires grad),
  the call runs eagerly: its results carry the autograd graph, so the caller's
  `loss.backward()` and `optimizer.step()` work exactly as on the uncompiled model;
- otherwise (inference: `no_grad`, `inference_mode`, frozen weights) it runs through
  `lm.jit`: one traced, cached program per input signature, guarded on what the trace
  read (a module's training flag, its parameters).

A compiled module is a `Module` holding the original as `_orig_mod`, as torch's
`OptimizedModule` does: its parameters are the original's, and its state_dict keys
carry the `_orig_mod.` prefix."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from lamina.frontend.jit import jit
from lamina.frontend.ops import is_grad_enabled
from lamina.frontend.pytree import flatten
from lamina.frontend.tensor import Tensor
from lamina.nn.module import Module

__all__ = ["compile", "OptimizedModule"]


def _wants_grad(args: tuple, kwargs: dict, params: Any = ()) -> bool:
    if not is_grad_enabled():
        return False
    leaves = flatten((args, kwargs))[0]
    return any(isinstance(x, Tensor) and x.requires_grad for x in leaves) or \
        any(p.requires_grad for p in params)


class OptimizedModule(Module):
    """What `lm.compile(module)` returns (torch's class name)."""

    def __init__(self, mod: Module, backend: str | None = None,
                 dynamic: bool | None = None) -> None:
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_jitted", jit(mod, backend=backend, dynamic=dynamic))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if _wants_grad(args, kwargs, self._orig_mod.parameters()):
            return self._orig_mod(*args, **kwargs)
        return self._jitted(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            orig = self.__dict__.get("_modules", {}).get("_orig_mod")
            if orig is None:
                raise
            return getattr(orig, name)


def _compiled_function(fn: Callable, backend: str | None, dynamic: bool | None) -> Callable:
    jitted = jit(fn, backend=backend, dynamic=dynamic)

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if _wants_grad(args, kwargs):
            return fn(*args, **kwargs)
        return jitted(*args, **kwargs)

    run._orig_fn = fn  # type: ignore[attr-defined]
    return run


_TORCH_BACKENDS = ("inductor", "eager", "aot_eager", "cudagraphs")


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str | Callable = "inductor", mode: str | None = None,
            options: dict | None = None, disable: bool = False) -> Any:
    """torch.compile's signature. `backend` may name a lamina backend ("c", "triton",
    "interp"); torch's backend names and `mode`/`options` select lamina's default;
    `dynamic` is lm.jit's (and torch's). As a decorator: `@lm.compile` or
    `@lm.compile(mode="max-autotune")`."""
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if disable:
        return model
    ours = None if callable(backend) or backend in _TORCH_BACKENDS else backend
    if isinstance(model, Module):
        return OptimizedModule(model, ours, dynamic)
    return _compiled_function(model, ours, dynamic)
