"""Elementwise hl ops: unary, binary, comparisons, select and cast.

Operands of a binary op have one type (the frontend broadcasts and promotes first,
so every op sees equal shapes and dtypes). Integer semantics follow PyTorch: `div`
on integers is floor division, `rem` takes the sign of the divisor.

Each op carries, beside its shape rule, reference and gradient, its `scalar` rule:
the op on one element of each operand as `arith`/`math` ops from the scalar-op
table (`lamina/dialects/scalar.py`). That rule is the op's lowering in every kernel,
on every backend: adding an elementwise op touches no lowering and no backend.
"""

from lamina.dialects.hl.elementwise.binary import *  # noqa: F403
from lamina.dialects.hl.elementwise.compare import *  # noqa: F403
from lamina.dialects.hl.elementwise.unary import *  # noqa: F403
