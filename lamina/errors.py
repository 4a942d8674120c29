"""Errors a user sees. Each names the op, the shapes/dtypes and the user's file:line."""

from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class LaminaError(Exception):
    """Base of every error lamina raises on purpose.

    Each kind also subclasses the builtin exceptions PyTorch raises for the same
    mistake, so that a ported `except RuntimeError:` (or IndexError, TypeError,
    ValueError) still catches it; `like` adds another builtin at a site where torch
    raises an unusual one (tests/test_torch_exceptions.py compares them with torch)."""


class ShapeError(LaminaError, RuntimeError, ValueError):
    """Operands whose shapes do not fit the op (torch: RuntimeError; ValueError for a
    few nn.functional checks)."""


class DTypeError(LaminaError, TypeError, RuntimeError):
    """Operands whose dtypes do not fit the op (torch: RuntimeError for tensor dtypes,
    TypeError for Python objects that are no tensors)."""


class DimError(LaminaError, IndexError):
    """A dim (axis) argument out of range for the tensor's rank (torch: IndexError)."""


class ArgumentError(LaminaError, TypeError, ValueError, RuntimeError):
    """Wrong number or kind of arguments (torch raises TypeError, ValueError or
    RuntimeError, op by op: this is all three)."""


class OutOfMemoryError(LaminaError, RuntimeError, MemoryError):
    """A tensor larger than the machine's memory (torch: RuntimeError from its CPU
    allocator; also a MemoryError, as numpy's)."""


class LinAlgError(LaminaError, RuntimeError):
    """A singular or non-positive-definite matrix that a decomposition or solve cannot
    handle (torch: torch.linalg.LinAlgError, a RuntimeError)."""


class TraceError(LaminaError, RuntimeError):
    """Something a traced program cannot do (a Python `if` on a traced tensor, say)."""


class CompileError(LaminaError, RuntimeError):
    """A backend failed to compile, or a tool it needs is missing."""


class GradientError(LaminaError, TypeError, RuntimeError):
    """An op without a gradient rule was differentiated, or backward() was called on a
    tensor gradients do not flow through (torch: RuntimeError)."""


class DistributedError(LaminaError, RuntimeError):
    """A collective failed: ranks disagree on the program (shapes, order of collectives),
    a rank stopped answering within the timeout, or the process group is missing or
    misconfigured (torch: RuntimeError / DistBackendError)."""


_LIKE: dict[tuple[type, type], type] = {}


def like(kind: type[LaminaError], builtin: type[Exception]) -> type[LaminaError]:
    """`kind`, also a subclass of `builtin`: for a site where torch raises `builtin`
    (an index tensor of the wrong dtype is a DTypeError and, as in torch, an
    IndexError). The class keeps `kind`'s name."""
    if issubclass(kind, builtin):
        return kind
    key = (kind, builtin)
    if key not in _LIKE:
        _LIKE[key] = type(kind.__name__, (kind, builtin), {
            "__module__": __name__, "__qualname__": f"{kind.__name__}",
            "__doc__": f"{kind.__name__} raised where torch raises {builtin.__name__}."})
    return _LIKE[key]


def user_location() -> str:
    """file:line of the innermost frame outside the lamina package (the user's call)."""
    frame = sys._getframe(1)
    internal = _INTERNAL
    while frame is not None:
        name = frame.f_code.co_filename
        inside = internal.get(name)
        if inside is None:
            inside = internal[name] = _is_internal(name)
        if not inside:
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


# file name -> inside lamina (or frozen)? Every eager op asks (measured: abspath was
# 40 % of user_location, itself ~10 % of recording an op), and the answer for a file
# name never changes within a process
_INTERNAL: dict[str, bool] = {}


def _is_internal(name: str) -> bool:
    path = os.path.abspath(name)
    return path.startswith(_PACKAGE_DIR + os.sep) or "<frozen" in path


def with_location(message: str, location: str | None = None) -> str:
    return f"{message}\n  at {location or user_location()}"
