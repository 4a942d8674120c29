"""`lower-hl-to-loop`: hl tensors -> loop kernels over buffers (bufferize + fuse).

Importing this package registers the `loop` dialect and the pass (lamina's
`_PLUGIN_MODULES` imports it at `import lamina`).
"""

from lamina.dialects import loop  # noqa: F401  (registers the dialect)
from lamina.passes import registry


def _pass():
    from lamina.passes.lower_hl_to_loop.pass_ import LowerHlToLoopPass

    return LowerHlToLoopPass


registry.register("lower-hl-to-loop", _pass)
