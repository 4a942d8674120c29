"""`lower-hl-to-loop`: hl tensors -> loop kernels over buffers (bufferize + fuse).

    lamina-opt prog.mlir -p canonicalize,cse,dce,lower-hl-to-loop

The package, in the order the pass runs:

| module | what it does |
|---|---|
| `prepare.py` | hl -> hl rewrites: batch-reduced matmuls fold into one, large full reductions split in two stages |
| `conv_gemm.py` | (called first, re-exported by `prepare.py`) large f32/f64 `hl.conv` -> im2col `hl.gather` + `hl.matmul` (BLAS) |
| `plan.py` | which values get a buffer and each kernel's parallel dims (fusion decisions, by probing) |
| `pass_.py` | the pass: destination-passing function, kernels (consecutive roots share one), copies |
| `kernel.py` | `KernelBuilder`: scopes, hoisting, CSE, element emission -- the fusion engine |
| `scalar.py`, `rules.py`, `rules_index.py`, `rules_window.py` | element rules, one per hl op |
| `producers.py` | ops lowered whole: `hl.matmul` -> `loop.matmul`, `hl.scatter_add` |
| `constants.py`, `memory.py` | `memref.global` constants; dealloc after last use and buffer reuse |

Adding an hl op means one element rule (or a producer) registered in
`registry.py`; `tests/test_lower_hl_to_loop.py` then runs its op-table rows
through `lamina.runtime.loop_interp` against the hl interpreter.

Importing this package registers the `loop` dialect and the pass (lamina's
`_PLUGIN_MODULES` imports it at `import lamina`).
"""

from lamina.dialects import loop  # noqa: F401  (registers the dialect)
from lamina.passes import registry


def _pass():
    from lamina.passes.lower_hl_to_loop.pass_ import LowerHlToLoopPass

    return LowerHlToLoopPass


registry.register("lower-hl-to-loop", _pass)
