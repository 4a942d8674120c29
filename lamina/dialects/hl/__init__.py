"""The `hl` dialect: tensor algebra on builtin `tensor<...>` values (value semantics).

Each op family lives in its own module; every op class carries its shape rule
(`infer`), numpy semantics (`reference`) and gradient rule (`vjp`).
"""

from xdsl.ir import Dialect

from lamina.dialects.hl import elementwise, reduce, shape  # noqa: F401  (register ops)
from lamina.dialects.hl.base import HlOp, HlTypeError
from lamina.dialects.hl.collective import *  # noqa: F403
from lamina.dialects.hl.contract import *  # noqa: F403
from lamina.dialects.hl.elementwise import *  # noqa: F403
from lamina.dialects.hl.indexing import *  # noqa: F403
from lamina.dialects.hl.random import *  # noqa: F403
from lamina.dialects.hl.reduce import *  # noqa: F403
from lamina.dialects.hl.scan import *  # noqa: F403
from lamina.dialects.hl.scatter_reduce import *  # noqa: F403
from lamina.dialects.hl.shape import *  # noqa: F403
from lamina.dialects.hl.window import *  # noqa: F403


def _all_ops() -> list[type[HlOp]]:
    found: dict[str, type[HlOp]] = {}
    stack = list(HlOp.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        name = getattr(cls, "name", None)
        if isinstance(name, str) and name.startswith("hl."):
            found[name] = cls
    return [found[n] for n in sorted(found)]


OPS: list[type[HlOp]] = _all_ops()
OPS_BY_NAME: dict[str, type[HlOp]] = {op.name: op for op in OPS}
HL = Dialect("hl", OPS, [])

__all__ = ["HL", "OPS", "OPS_BY_NAME", "HlOp", "HlTypeError", *(op.__name__ for op in OPS)]
