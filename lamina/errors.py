"""Errors a user sees. Each names the op, the shapes/dtypes and the user's file:line."""

from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class LaminaError(Exception):
    """Base of every error lamina raises on purpose."""


class ShapeError(LaminaError, ValueError):
    """Operands whose shapes do not fit the op."""


class DTypeError(LaminaError, TypeError):
    """Operands whose dtypes do not fit the op."""


class DimError(LaminaError, IndexError):
    """A dim (axis) argument out of range for the tensor's rank."""


class ArgumentError(LaminaError, TypeError):
    """Wrong number or kind of arguments."""


class TraceError(LaminaError, RuntimeError):
    """Something a traced program cannot do (a Python `if` on a traced tensor, say)."""


class CompileError(LaminaError, RuntimeError):
    """A backend failed to compile, or a tool it needs is missing."""


class GradientError(LaminaError, TypeError):
    """An op without a gradient rule was differentiated."""


def user_location() -> str:
    """file:line of the innermost frame outside the lamina package (the user's call)."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR + os.sep) and "<frozen" not in path:
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def with_location(message: str, location: str | None = None) -> str:
    return f"{message}\n  at {location or user_location()}"
