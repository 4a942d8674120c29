"""Guards: the Python state a trace was built from, checked before a call reuses it.

A trace runs the function's Python once; whatever Python values it read are baked
into the program: `module.training` (dropout or not), a float from a closure or a
global (a constant), which tensor object a name or a module attribute holds (which
array the program reads). As Dynamo's guards do, `lm.jit` records that state when it
traces and retraces when it changed; `LAMINA_LOG_RECOMPILES=1` says which guard failed.

What is guarded, from the traced function outwards (`collect`):

- its closure cells and the globals its code names (nested lambdas and comprehensions
  included): a Python scalar (bool, int, float, str, None, tuples of them) by value,
  anything else by identity (a re-bound global tensor or module is a new trace);
- functions reached through them, recursively: user functions with their closures and
  globals, lamina's and libraries' own functions through their closures only (a
  `lm.grad(loss)` wrapper holds the user's `loss`); bound methods through their object;
- lists, tuples and dicts reached (up to 64 items): their length and items;
- objects of a registered type (`register`): a snapshot the type defines. `nn.Module`
  registers its whole tree: every submodule's `training` flag and other scalar
  attributes, and which parameter, buffer and submodule each name holds; optimizers
  their hyperparameters. These types call `changed()` whenever such state is set, so
  their guards are re-checked only after a change (a call costs one integer compare);
- other objects of user classes: their scalar attributes and, recursively, the
  tensors, modules and functions among their attributes.

Tensors captured by the trace are guarded by the trace itself (dtype, requires_grad,
whether `.grad` was None where the program read it).

Limits: state reached another way is not guarded: attributes of objects read through
a call into a library, class attributes, module-level state of imported modules, the
contents of arrays (a numpy array the trace reads is an input, so its values are not
baked in), state changed without going through `__setattr__` (a module's
`__dict__` written directly), and collections beyond 64 items or 6 references deep.
The guards are taken when the trace ends, from the state the traced function left:
its own Python side effects (appending to a list, bumping a global counter) happen
when it is traced, not on every call, and do not fail its guards.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GuardSet", "Same", "add_captured", "changed", "collect", "is_scalar", "register", "same"]

_MAX_DEPTH = 6
_MAX_ITEMS = 64
_MAX_GUARDS = 512

# bumped by registered types whenever guarded state changes (see `changed`)
_EPOCH = [0]
# type -> snapshot(obj) -> {name: scalar or Same(object)}, and the objects inside it
# whose classes' code a trace runs (a module's submodules)
_SNAPSHOTS: dict[type, Callable[[Any], dict[str, Any]]] = {}
_PARTS: dict[type, Callable[[Any], Iterator[Any]]] = {}


def changed() -> None:
    """State that registered snapshots read has changed (a module's attribute, its
    training flag, an optimizer's hyperparameter): their guards are checked again."""
    _EPOCH[0] += 1


def register(cls: type, snapshot: Callable[[Any], dict[str, Any]],
             parts: Callable[[Any], Iterator[Any]] | None = None) -> None:
    """Objects of `cls` (and subclasses) reached by a trace are guarded by `snapshot`:
    a dict of what the trace may have read (scalars by value; wrap other objects in
    `Same` to compare them by identity). The type must call `changed()` whenever that
    changes. `parts(obj)`: objects inside it (a module's submodules) whose user-written
    `forward` the trace may have run, so that the globals it read are guarded too."""
    _SNAPSHOTS[cls] = snapshot
    if parts is not None:
        _PARTS[cls] = parts


@dataclass(frozen=True, eq=False)
class Same:
    """An object compared by identity in a snapshot (and kept alive by it: an id alone
    could be reused by a later object)."""

    obj: Any

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __repr__(self) -> str:
        return f"{type(self.obj).__name__} at {id(self.obj):#x}"


_SCALARS = (bool, int, float, complex, str, bytes, type(None))


def is_scalar(value: Any) -> bool:
    """A value a trace bakes into the program (guarded by value)."""
    if type(value) in _SCALARS:
        return True
    return type(value) is tuple and len(value) <= _MAX_ITEMS and all(map(is_scalar, value))


def same(a: Any, b: Any) -> bool:
    """Equal as a trace would see it: same type and value (NaN equals NaN), or for
    other objects the same object."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if type(a) is Same:
        return a.obj is b.obj
    if type(a) is float:
        return a == b or (a != a and b != b)
    if type(a) is tuple:
        return len(a) == len(b) and all(map(same, a, b))
    return type(a) in _SCALARS and a == b


def _value(obj: Any) -> Any:
    return obj if is_scalar(obj) else Same(obj)


# ---------------------------------------------------------------- the guards


@dataclass(eq=False)
class _Guard:
    """One place the trace read, and what it held."""

    source: str  # where, for the log: "global 'lr'", "closure 'm'"

    def holds(self) -> bool:
        raise NotImplementedError

    def why(self) -> str:
        raise NotImplementedError


def _changed(source: str, before: Any, now: Any) -> str:
    if isinstance(before, Same) or not is_scalar(now):
        return f"{source} is a different object ({type(now).__name__})"
    return f"{source} changed: {before!r} -> {now!r}"


_MISSING = object()


@dataclass(eq=False)
class _Cell(_Guard):
    cell: Any = None
    expected: Any = None

    def holds(self) -> bool:
        try:
            return same(self.cell.cell_contents, self.expected)
        except ValueError:  # the variable was deleted
            return False

    def why(self) -> str:
        try:
            return _changed(self.source, _value(self.expected), self.cell.cell_contents)
        except ValueError:
            return f"{self.source} was deleted"


@dataclass(eq=False)
class _Entry(_Guard):
    """An item of a dict: a module's globals, or a dict the function reads."""

    table: dict = field(default_factory=dict)
    key: Any = None
    expected: Any = None

    def holds(self) -> bool:
        return same(self.table.get(self.key, _MISSING), self.expected)

    def why(self) -> str:
        now = self.table.get(self.key, _MISSING)
        if now is _MISSING:
            return f"{self.source} was deleted"
        return _changed(self.source, _value(self.expected), now)


@dataclass(eq=False)
class _Attr(_Guard):
    obj: Any = None
    name: str = ""
    expected: Any = None

    def holds(self) -> bool:
        return same(self.obj.__dict__.get(self.name, _MISSING), self.expected)

    def why(self) -> str:
        now = self.obj.__dict__.get(self.name, _MISSING)
        if now is _MISSING:
            return f"{self.source} was deleted"
        return _changed(self.source, _value(self.expected), now)


@dataclass(eq=False)
class _Items(_Guard):
    """A list or tuple: its length and which items it holds."""

    seq: Any = None
    expected: tuple = ()

    def holds(self) -> bool:
        seq = self.seq
        return len(seq) == len(self.expected) and all(map(same, seq, self.expected))

    def why(self) -> str:
        if len(self.seq) != len(self.expected):
            return f"{self.source} changed length: {len(self.expected)} -> {len(self.seq)}"
        i = next(i for i, (a, b) in enumerate(zip(self.seq, self.expected, strict=True))
                 if not same(a, b))
        return _changed(f"{self.source}[{i}]", _value(self.expected[i]), self.seq[i])


@dataclass(eq=False)
class _Keys(_Guard):
    """A dict's keys, in order."""

    table: dict = field(default_factory=dict)
    expected: tuple = ()

    def holds(self) -> bool:
        return tuple(self.table) == self.expected

    def why(self) -> str:
        return f"{self.source} changed keys: {list(self.expected)} -> {list(self.table)}"


@dataclass(eq=False)
class _Captured(_Guard):
    """A tensor the program reads as an input: its dtype and whether it requires grad
    (tensor.py calls `changed()` when either changes: checked after a change only)."""

    tensor: Any = None
    dtype: Any = None
    requires_grad: bool = False

    def holds(self) -> bool:
        t = self.tensor
        return t.dtype is self.dtype and t.requires_grad == self.requires_grad

    def why(self) -> str:
        t = self.tensor
        what = f"a tensor of shape {list(t.shape)} that the program reads"
        if t.dtype is not self.dtype:
            return f"{what} changed dtype: {self.dtype.name} -> {t.dtype.name}"
        return f"{what} changed requires_grad: {self.requires_grad} -> {t.requires_grad}"


@dataclass(eq=False)
class _GradNone(_Guard):
    """Whether a captured tensor's `.grad` is None, where the program read `.grad`
    before setting it (checked on every call: `.grad` changes every step)."""

    tensor: Any = None
    none: bool = True

    def holds(self) -> bool:
        return (self.tensor.grad is None) == self.none

    def why(self) -> str:
        return (f"the .grad of a tensor of shape {list(self.tensor.shape)} that the program "
                f"reads was {'' if self.none else 'not '}None when traced")


@dataclass(eq=False)
class _Snapshot(_Guard):
    """An object of a registered type: its snapshot, re-taken after `changed()`."""

    obj: Any = None
    take: Callable[[Any], dict[str, Any]] = dict
    expected: dict[str, Any] = field(default_factory=dict)

    def holds(self) -> bool:
        now, expected = self.take(self.obj), self.expected
        return len(now) == len(expected) and all(
            same(value, expected.get(key, _MISSING)) for key, value in now.items())

    def why(self) -> str:
        now = self.take(self.obj)
        for key in list(self.expected) + [k for k in now if k not in self.expected]:
            before, after = self.expected.get(key, _MISSING), now.get(key, _MISSING)
            if not same(before, after):
                where = f"{self.source}{key}"
                if before is _MISSING or after is _MISSING:
                    return f"{where} was {'added' if before is _MISSING else 'removed'}"
                shown = after.obj if isinstance(after, Same) else after
                return _changed(where, before, shown)
        return f"{self.source} changed"


@dataclass(eq=False)
class GuardSet:
    """The guards of one trace. `holds()` runs on every call of a jitted function:
    the plain guards each time, the others (`snapshots`: registered objects, captured
    tensors) only after `changed()`."""

    plain: list[_Guard] = field(default_factory=list)
    snapshots: list[_Guard] = field(default_factory=list)
    epoch: int = -1  # the epoch at which the snapshots were last found to hold

    def holds(self) -> bool:
        for guard in self.plain:
            if not guard.holds():
                return False
        if self.snapshots and self.epoch != _EPOCH[0]:
            epoch = _EPOCH[0]
            for guard in self.snapshots:
                if not guard.holds():
                    return False
            self.epoch = epoch
        return True

    def failure(self) -> str | None:
        """Why the guards fail (the first one that does), or None."""
        for guard in [*self.plain, *self.snapshots]:
            if not guard.holds():
                return guard.why()
        return None

    def __len__(self) -> int:
        return len(self.plain) + len(self.snapshots)


# ---------------------------------------------------------------- collecting


def collect(fn: Callable) -> GuardSet:
    """The guards on the Python state `fn` can read (see the module docstring)."""
    walker = _Walker()
    walker.callable(fn, _name(fn), 0, top=True)
    guards = GuardSet(plain=walker.plain, snapshots=walker.snapshots)
    guards.epoch = _EPOCH[0]
    return guards


def add_captured(guards: GuardSet, tensor: Any, grad_none: bool | None) -> None:
    """Guard a tensor the program reads: its dtype and requires_grad, and whether its
    `.grad` is None if the program read that (`grad_none` not None)."""
    guards.snapshots.insert(0, _Captured("", tensor, tensor.dtype, tensor.requires_grad))
    if grad_none is not None:
        guards.plain.insert(0, _GradNone("", tensor, grad_none))


def _name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
               or type(fn).__name__)


class _Walker:
    def __init__(self) -> None:
        self.plain: list[_Guard] = []
        self.snapshots: list[_Snapshot] = []
        self.seen: set[int] = set()

    def full(self) -> bool:
        return len(self.plain) + len(self.snapshots) >= _MAX_GUARDS

    # a place that holds a value: guard it, then look inside the value
    def value(self, obj: Any, source: str, depth: int) -> None:
        if is_scalar(obj) or depth > _MAX_DEPTH or self.full() or id(obj) in self.seen:
            return
        if isinstance(obj, types.ModuleType | type):
            return  # code: read through, not baked in
        self.seen.add(id(obj))
        snapshot = _registered(_SNAPSHOTS, obj)
        if snapshot is not None:
            self.snapshots.append(_Snapshot(source, obj, snapshot, snapshot(obj)))
            parts = _registered(_PARTS, obj)
            for part in parts(obj) if parts is not None else [obj]:
                for method in _user_methods(part):
                    if id(method) not in self.seen:
                        self.seen.add(id(method))
                        self.callable(method, f"{type(part).__name__}.{method.__name__}",
                                      depth + 1)
        elif isinstance(obj, list | tuple):
            if len(obj) <= _MAX_ITEMS:
                self.plain.append(_Items(source, obj, tuple(obj)))
                for i, item in enumerate(obj):
                    self.value(item, f"{source}[{i}]", depth + 1)
        elif isinstance(obj, dict):
            if len(obj) <= _MAX_ITEMS:
                self.plain.append(_Keys(f"{source}.keys()", obj, tuple(obj)))
                for key, item in list(obj.items()):
                    self.plain.append(_Entry(f"{source}[{key!r}]", obj, key, item))
                    self.value(item, f"{source}[{key!r}]", depth + 1)
        elif callable(obj) and not hasattr(obj, "__array__"):
            self.callable(obj, source, depth + 1)
        elif _is_user_object(obj):
            for name, item in list(vars(obj).items()):
                self.plain.append(_Attr(f"{source}.{name}", obj, name, item))
                self.value(item, f"{source}.{name}", depth + 1)

    def callable(self, fn: Any, source: str, depth: int, top: bool = False) -> None:
        if depth > _MAX_DEPTH or self.full():
            return
        if isinstance(fn, types.MethodType):
            self.value(fn.__self__, f"{source}.__self__", depth)
            fn = fn.__func__
        if hasattr(fn, "func") and hasattr(fn, "keywords"):  # functools.partial
            self.value(fn.func, f"{source}.func", depth + 1)
            self.value(fn.args, f"{source}.args", depth + 1)
            self.value(fn.keywords, f"{source}.keywords", depth + 1)
            return
        if not isinstance(fn, types.FunctionType):
            wrapped = getattr(fn, "__wrapped__", None)  # lm.jit, lm.custom_vjp, wraps()
            if wrapped is not None and wrapped is not fn:
                self.value(wrapped, f"{source}.__wrapped__", depth + 1)
            if top:
                self.value(fn, source, depth)  # a module or object called as the function
            elif not isinstance(fn, types.BuiltinFunctionType) and _is_user_object(fn):
                for method in _user_methods(fn):
                    self.callable(method, f"{source}.{method.__name__}", depth + 1)
            return
        code = fn.__code__
        for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=True):
            try:
                contents = cell.cell_contents
            except ValueError:
                continue  # not assigned yet
            where = f"closure '{name}' of {_name(fn)}" if not top else f"closure '{name}'"
            self.plain.append(_Cell(where, cell, contents))
            self.value(contents, where, depth + 1)
        if _is_library(fn):
            return  # lamina's and libraries' globals are code, not the user's state
        table = fn.__globals__
        for name in _global_names(code):
            if name in table:
                item = table[name]
                if isinstance(item, types.ModuleType | type):
                    continue
                where = f"global '{name}'" if top else f"global '{name}' of {_name(fn)}"
                self.plain.append(_Entry(where, table, name, item))
                self.value(item, where, depth + 1)


def _registered(table: dict[type, Any], obj: Any) -> Any:
    for cls in type(obj).__mro__:
        if cls in table:
            return table[cls]
    return None


def _global_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_names(const)


def _is_library(fn: types.FunctionType) -> bool:
    module = fn.__module__ or ""
    if module.split(".")[0] in ("lamina", "numpy", "torch") or module in sys.stdlib_module_names:
        return True
    path = fn.__code__.co_filename
    return "site-packages" in path or "dist-packages" in path


def _is_user_object(obj: Any) -> bool:
    module = type(obj).__module__ or ""
    return hasattr(obj, "__dict__") and module.split(".")[0] not in (
        "lamina", "numpy", "torch", "builtins") and module not in sys.stdlib_module_names


def _user_methods(obj: Any) -> Iterator[types.FunctionType]:
    """`forward`/`__call__` of a user class: code the trace ran, whose globals it read."""
    for name in ("forward", "__call__"):
        method = getattr(type(obj), name, None)
        if isinstance(method, types.FunctionType) and not _is_library(method):
            yield method
