"""`Optimizer`: parameter groups, per-parameter state tensors, `step()` and `zero_grad()`.

The state (momentum buffers, Adam moments, the step count) lives in concrete
tensors created when the optimizer is built, and every update is an in-place
tensor op under `no_grad`. That one design serves both ways of training:

- inside `lm.jit`, the parameters and state tensors are captured as program
  inputs and their in-place updates become outputs written back after each
  call, so forward + backward + step compile to one program. The step count is
  a tensor for this reason: a Python int would be baked into the trace. On the
  C backend those outputs are donated: written into the tensors' own arrays
  (`lamina/passes/donate_buffers.py`; every parameter, momentum buffer and Adam
  moment of torch's optimizers qualifies, the 0-d step counters do not).
- outside jit (eager), `step()` runs the same update as a jitted program of the
  gradients (`_update_all` through `lm.jit`): traced once per optimizer and
  signature, then one call per step, where recording its ops op by op cost half
  of an eager training step (measured on the port suite's CNN and LSTM:
  `python -m bench.eager`). It donates like any jitted step; eager ops still
  pending on a parameter's old array (a lazy `loss` printed after `step()`) get a
  copy first (`graph.keep_snapshots`). Optimizers that override `step` (LBFGS),
  gradients that require grad (`create_graph=True`), and `LAMINA_EAGER_STEP_JIT=0`
  record the update lazily and realize it at the end of `step()` instead.

Every numeric hyperparameter (lr, betas, momentum, weight_decay, eps, ...) is a
tensor too (see `ParamGroup`), so a schedule that assigns `group["lr"]` or
`group["betas"]` works with a jitted step without a retrace. What the update's
Python branches on (a number being zero or not, amsgrad, nesterov, maximize) is
guarded (`lamina.frontend.guards`), so changing that retraces a jitted step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from lamina import errors, knobs
from lamina.errors import ArgumentError, with_location
from lamina.frontend import graph as graphs
from lamina.frontend import guards
from lamina.frontend import ops as O
from lamina.frontend.lazy import realize
from lamina.frontend.tensor import Tensor

__all__ = ["Optimizer", "ParamGroup", "full_like", "step_counter", "zeros_like"]


def _numeric(value: Any) -> bool:
    """A hyperparameter mirrored in tensors: a number, or a tuple of numbers (betas)."""
    if isinstance(value, tuple):
        return bool(value) and all(_numeric(v) for v in value)
    if isinstance(value, Tensor):  # torch accepts a tensor lr
        return value.numel() == 1 and not value.requires_grad
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _shape_of(value: Any) -> Any:
    """What a trace may branch on in a numeric hyperparameter: whether it is zero
    (weight decay on or off, momentum buffer or none). Its value is a program input."""
    if isinstance(value, tuple):
        return tuple(_shape_of(v) for v in value)
    return float(value) != 0


class ParamGroup(dict):
    """A parameter group (a dict, as in torch). Each numeric hyperparameter (lr, betas,
    weight_decay, momentum, eps, ...) is mirrored in concrete 0-d float64 tensors that a
    jitted step captures as inputs, so assigning `group["lr"]` (a schedule) or any other
    number takes effect at the next call without a retrace; only a change between zero
    and non-zero, or of a non-numeric option (amsgrad, nesterov), retraces."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()
        self._tensors: dict[str, Any] = {}
        self.version = 0  # bumped when an option the update branches on changes
        self.update(dict(*args, **kwargs))

    def __setitem__(self, key: str, value: Any) -> None:
        old = self.get(key)
        super().__setitem__(key, value)
        if key == "params":
            return
        mirror = self._tensors.get(key)
        if mirror is not None and _numeric(value) and _shape_of(old) == _shape_of(value):
            # same layout, same zeros: only the program's inputs change
            for t, v in zip(_items(mirror), _items(value), strict=True):
                t._set_array(np.array(float(v), np.float64))
            return
        if _numeric(value):
            self._tensors[key] = (tuple(_scalar(v) for v in value) if isinstance(value, tuple)
                                  else _scalar(value))
        else:
            self._tensors.pop(key, None)
        self.version += 1
        guards.changed()  # a constant of a jitted step, or the set of its inputs

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        if key not in self:
            self[key] = default
        return self[key]

    def hp(self, key: str, dtype: Any = None) -> Any:
        """The hyperparameter `key` as a 0-d tensor (a tuple of them for `betas`), in
        float64 or converted to `dtype`: read when tracing, an input of the program."""
        mirror = self._tensors[key]
        if dtype is None:
            return mirror
        return tuple(t.to(dtype) for t in mirror) if isinstance(mirror, tuple) \
            else mirror.to(dtype)

    @property
    def lr_tensor(self) -> Tensor:
        return self._tensors["lr"]

    def lr(self, dtype: Any) -> Tensor:
        """The learning rate as a tensor of the parameters' dtype (read when tracing)."""
        return self.hp("lr", dtype)


def _export(value: Any) -> Any:
    """A copy of one state entry: tensors (and LBFGS's arrays) as lamina tensors."""
    if isinstance(value, Tensor | np.ndarray):
        return Tensor._wrap(np.array(np.asarray(value), copy=True))
    if isinstance(value, list | tuple):
        return type(value)(_export(v) for v in value)
    return value


def _items(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _scalar(value: Any) -> Tensor:
    return Tensor._wrap(np.array(float(value), np.float64))


class Optimizer:
    """The base of lamina's optimizers, with torch's API: `param_groups`, `state`,
    `add_param_group`, `step(closure)`, `zero_grad`, `state_dict`/`load_state_dict`."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.param_groups: list[ParamGroup] = []
        self.state: dict[Tensor, dict[str, Tensor]] = {}
        self._checked: dict[int, int] = {}  # group -> the version its states were completed at
        groups = list(params)
        if not groups:
            raise ArgumentError(with_location(
                f"{type(self).__name__}: got an empty parameter list"))
        for group in (groups if isinstance(groups[0], dict) else [{"params": groups}]):
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (its own hyperparameters override the defaults), as torch does:
        a parameter may belong to one group only."""
        if not isinstance(param_group, dict):
            raise errors.like(ArgumentError, TypeError)(with_location(
                f"{type(self).__name__}.add_param_group: param_group must be a dict, got "
                f"{type(param_group).__name__}"))
        group = ParamGroup({**self.defaults, **param_group})
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.is_leaf or not p.dtype.is_floating_point:
                raise ArgumentError(with_location(
                    f"{type(self).__name__} can only optimize floating-point leaf tensors, "
                    f"got {type(p).__name__}"))
            if id(p) in seen:
                raise errors.like(ArgumentError, ValueError)(with_location(
                    f"{type(self).__name__}.add_param_group: some parameters appear in more "
                    "than one parameter group"))
            seen.add(id(p))
        for p in group["params"]:
            self.state[p] = self._init_state(p, group)
        self.param_groups.append(group)
        guards.changed()

    # ------------------------------------------------------------ what each optimizer defines

    def _init_state(self, p: Tensor, group: ParamGroup) -> dict[str, Tensor]:
        return {}

    def _update(self, p: Tensor, grad: Tensor, state: dict[str, Tensor],
                group: ParamGroup) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ public API

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with O.enable_grad():
                loss = closure()
        if not graphs.tracing() and knobs.eager_step_jit() and self._jittable():
            # eager: the update of every parameter as one cached jitted program (its
            # ops are recorded once, at the trace, not at every step)
            grads = [p.grad for group in self.param_groups for p in group["params"]]
            realize(*(g for g in grads if g is not None))  # one program (clip_grad_norm_)
            # the program captured the state tensors: one replaced by assignment
            # (`opt.state[p]["exp_avg"] = t`) means a new trace
            states = tuple(id(t) for st in self.state.values() for t in st.values())
            if self._jitted_update is None or self._jitted_update[0] != states:
                from lamina.frontend.jit import jit

                self._jitted_update = (states, jit(self._update_all))
            self._jitted_update[1](grads)
            return loss
        touched = self._update_all(None)
        if not graphs.tracing():
            realize(*touched)  # eager: the whole update is one compiled program
        return loss

    _jitted_update: tuple[tuple[int, ...], Any] | None = None  # (state ids, lm.jit)

    def _jittable(self) -> bool:
        """Whether `step()` may run the update as a jitted program: optimizers whose
        update is `_update` per parameter (LBFGS overrides `step`), with gradients
        (a gradient that requires grad, `create_graph`, stays eager)."""
        return type(self).step is Optimizer.step and not any(
            p.grad is not None and p.grad.requires_grad
            for group in self.param_groups for p in group["params"])

    def _update_all(self, grads: list[Tensor | None] | None) -> list[Tensor]:
        """Update every parameter with a gradient (`grads`: the gradients in parameter
        order, the program inputs of a jitted step; None: read `p.grad`). Returns the
        tensors updated."""
        touched: list[Tensor] = []
        flat = iter(grads) if grads is not None else None
        with O.no_grad():
            for group in self.param_groups:
                if self._checked.get(id(group)) != group.version:
                    for p in group["params"]:
                        self._state_for(p, group)
                    self._checked[id(group)] = group.version
                for p in group["params"]:
                    grad = next(flat) if flat is not None else p.grad
                    if grad is None:
                        continue
                    state = self.state[p]
                    self._update(p, grad, state, group)
                    touched += [p, *state.values()]
        return touched

    def _state_for(self, p: Tensor, group: ParamGroup) -> dict[str, Tensor]:
        """The state of `p`, completed when an option that needs more state was turned
        on after construction (momentum from 0 to 0.9): new buffers start as torch's."""
        state = self.state[p]
        for key, value in self._init_state(p, group).items():
            if key not in state:
                state[key] = value
                guards.changed()
        return state

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = O.zeros_like(p)

    def state_dict(self) -> dict[str, Any]:
        """torch's layout: {"state": {index: {name: tensor}}, "param_groups": [{...,
        "params": [indices]}]}; the tensors are copies (loadable by torch.optim after
        `torch.as_tensor(np.asarray(t))`, and by `load_state_dict`)."""
        params = [p for g in self.param_groups for p in g["params"]]
        index = {id(p): i for i, p in enumerate(params)}
        state = {index[id(p)]: {k: _export(v) for k, v in self.state[p].items()}
                 for p in params if self.state.get(p)}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Copy the arrays into the existing state tensors (a jitted step that captured
        them keeps working) and take the groups' hyperparameters; a state dict from
        torch.optim (torch tensors) loads as well."""
        saved_groups = state_dict["param_groups"]
        name = type(self).__name__
        if len(saved_groups) != len(self.param_groups) or any(
                len(s["params"]) != len(g["params"])
                for s, g in zip(saved_groups, self.param_groups, strict=False)):
            raise errors.like(ArgumentError, ValueError)(with_location(
                f"{name}.load_state_dict: loaded state dict has {len(saved_groups)} groups of "
                f"sizes {[len(s['params']) for s in saved_groups]}, the optimizer "
                f"{[len(g['params']) for g in self.param_groups]}"))
        by_id = {i: p for s, g in zip(saved_groups, self.param_groups, strict=True)
                 for i, p in zip(s["params"], g["params"], strict=True)}
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
        for i, entries in state_dict["state"].items():
            p = by_id[int(i)]
            own = self._state_for(p, next(g for g in self.param_groups
                                          if any(q is p for q in g["params"])))
            for key, value in entries.items():
                if value is None:
                    continue
                if not hasattr(value, "shape"):  # LBFGS's counters and histories
                    own[key] = value if not isinstance(value, list) else \
                        [np.array(np.asarray(v), copy=True) for v in value]
                    continue
                array = np.asarray(value)
                if key in own and isinstance(own[key], Tensor):
                    t = own[key]
                    t._set_array(np.array(array, dtype=t.dtype.np_dtype).reshape(t.shape))
                else:
                    own[key] = Tensor._wrap(np.array(array, copy=True))
                    guards.changed()

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _guard_snapshot(opt: Optimizer) -> dict[str, Any]:
    """What a jitted step reads from the optimizer's Python state: each group's
    hyperparameters (its `lr` is an input, not a constant) and parameters."""
    out: dict[str, Any] = {".param_groups": len(opt.param_groups)}
    for i, group in enumerate(opt.param_groups):
        for key, value in group.items():
            if key == "params":
                value = tuple(guards.Same(p) for p in value)
            elif _numeric(value):
                value = _shape_of(value)
            elif not guards.is_scalar(value):
                value = guards.Same(value)
            out[f".param_groups[{i}][{key!r}]"] = value
    return out


guards.register(Optimizer, _guard_snapshot)


def zeros_like(p: Tensor) -> Tensor:
    """A concrete state tensor (a captured input under jit, never a traced constant)."""
    return Tensor._wrap(np.zeros(p.shape, p.dtype.np_dtype))


def full_like(p: Tensor, value: float) -> Tensor:
    return Tensor._wrap(np.full(p.shape, value, p.dtype.np_dtype))


def step_counter() -> Tensor:
    return Tensor._wrap(np.zeros((), np.float32))  # torch keeps `step` as a float32 tensor too
