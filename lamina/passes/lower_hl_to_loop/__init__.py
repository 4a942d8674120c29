"""`lower-hl-to-loop`: hl tensors -> loop kernels over buffers (bufferize + fuse).

    lamina-opt prog.mlir -p hl-simplify,lower-hl-to-loop

The package, in the order the pass runs (the hl -> hl rewrites that prepare its
input, `conv-to-gemm`, `fold-batch-matmul`, `fold-transposed-matmul` and
`split-reductions`, are passes of their own, run before it by the pipelines):

| module | what it does |
|---|---|
| `plan.py` | which values get a buffer and each kernel's parallel dims (fusion decisions, by probing) |
| `pass_.py` | the pass: destination-passing function, kernels (consecutive roots share one), copies |
| `kernel.py` | `KernelBuilder`: scopes, hoisting, CSE, element emission -- the fusion engine |
| `scalar.py`, `rules.py`, `rules_index.py`, `rules_window.py` | element rules, one per hl op |
| `producers.py` | ops lowered whole: `hl.matmul` -> `loop.matmul`, `hl.scatter_add` |
| `constants.py`, `memory.py` | `memref.global` constants; dealloc after last use and buffer reuse |

`tests/test_lower_hl_to_loop.py` runs the op-table rows through
`lamina.runtime.loop_interp` against the hl interpreter.
"""
