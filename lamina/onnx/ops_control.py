"""ONNX -> lamina converters for control flow: If, Loop, Scan.

Subgraphs are converted like the main graph, node by node, seeing the enclosing
scope's values by name. The common exporter patterns are imported:

* `If` on a condition known at import time (a constant, a shape comparison) converts
  only the branch taken; on a computed condition both branches are converted and
  selected elementwise (`where`), which needs outputs of equal shapes and dtypes.
* `Loop` is unrolled: its trip count must be known at import time, or its condition
  must become known (false) after a bounded number of iterations. Scan outputs are
  stacked along a new leading axis.
* `Scan` (opset 9+) is unrolled over its (static) sequence length, with the input/output
  axes and directions the spec allows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from lamina.frontend import movement, ops
from lamina.frontend.tensor import Tensor
from lamina.onnx import prims
from lamina.onnx.node import Node, axis_of, converter, tensor
from lamina.onnx.types import to_lamina_array

__all__: list[str] = []  # importing registers the converters in `node.CONVERTERS`

# A Loop without a static trip count stops when its condition becomes a known false;
# past this many iterations it is refused instead of unrolled further.
MAX_UNROLL = 4096


def run_subgraph(n: Node, graph: onnx.GraphProto, bindings: list[Any]) -> list[Any]:
    """Convert `graph` with its inputs bound to `bindings`, in the enclosing scope."""
    if n.function is None or n.scope is None:
        raise n.unsupported("a subgraph outside an imported model")
    env: dict[str, Any] = dict(n.scope)
    for init in graph.initializer:
        env[init.name] = to_lamina_array(numpy_helper.to_array(init))
    if len(bindings) != len(graph.input):
        raise n.unsupported(f"subgraph '{graph.name}' takes {len(graph.input)} inputs, "
                            f"given {len(bindings)}")
    for info, value in zip(graph.input, bindings, strict=True):
        env[info.name] = value
    for proto in graph.node:
        inner = Node(proto, n.opset, env, n.function)
        inputs = [env[i] if i else None for i in proto.input]
        if proto.domain not in ("", "ai.onnx") or proto.op_type not in _converters():
            raise inner.unsupported()
        outs = n.function._convert(inner, inputs)
        outs = outs if isinstance(outs, tuple | list) else (outs,)
        for name, value in zip(proto.output, outs, strict=False):
            if name:
                env[name] = value
    return [env[o.name] for o in graph.output]


def _converters() -> dict:
    from lamina.onnx.node import CONVERTERS

    return CONVERTERS


def _static_bool(v: Any) -> bool | None:
    if isinstance(v, np.ndarray):
        return bool(v.reshape(-1)[0])
    return None


@converter("If")
def if_(n: Node, cond):
    then_graph, else_graph = n.attr("then_branch"), n.attr("else_branch")
    known = _static_bool(cond)
    if known is not None:
        return tuple(run_subgraph(n, then_graph if known else else_graph, []))
    then_outs = run_subgraph(n, then_graph, [])
    else_outs = run_subgraph(n, else_graph, [])
    c = tensor(cond).reshape(())
    outs = []
    for a, b in zip(then_outs, else_outs, strict=True):
        a, b = tensor(a), tensor(b)
        if tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
            raise n.unsupported(
                f"a computed condition with branches of different shapes or dtypes "
                f"({list(a.shape)} {a.dtype} vs {list(b.shape)} {b.dtype})")
        outs.append(ops.where(c, a, b))
    return tuple(outs)


def _stack(items: list[Any], axis: int) -> Any:
    if all(isinstance(v, np.ndarray) for v in items):
        return np.stack(items, axis=axis)
    return movement.stack([tensor(v) for v in items], axis)


# a trip count or condition fed by a graph input: the program is specialized on its value
@converter("Loop", static=(0, 1))
def loop(n: Node, trip=None, cond=None, *carried):
    body = n.attr("body")
    if trip is not None and isinstance(trip, Tensor):
        raise n.unsupported("a trip count computed at run time (only a static count is "
                            "unrolled)")
    count = None if trip is None else int(np.asarray(trip).reshape(-1)[0])
    keep_going = True if cond is None else _static_bool(cond)
    if keep_going is None:
        raise n.unsupported("a loop condition computed at run time")
    state = list(carried)
    n_carried = len(state)
    scans: list[list[Any]] = []
    i = 0
    while keep_going and (count is None or i < count):
        if count is None and i >= MAX_UNROLL:
            raise n.unsupported(f"a loop that does not stop within {MAX_UNROLL} iterations "
                                "at import time")
        outs = run_subgraph(n, body, [np.array(i, dtype=np.int64), np.array(True)] + state)
        keep = outs[0]
        state = list(outs[1:1 + n_carried])
        step_scans = outs[1 + n_carried:]
        if not scans:
            scans = [[] for _ in step_scans]
        for acc, v in zip(scans, step_scans, strict=True):
            acc.append(v)
        known = _static_bool(keep)
        if known is None:
            if count is None:
                raise n.unsupported("a loop condition computed at run time")
            # a computed condition with a static trip count: only a condition that stays
            # true can be unrolled; a test of that is not possible at import, so refuse
            raise n.unsupported("a loop condition computed at run time (with a trip count)")
        keep_going = known
        i += 1
    n_scans = len(body.output) - 1 - n_carried
    if n_scans and not scans:
        raise n.unsupported("scan outputs of a loop that runs zero times")
    return tuple(state) + tuple(_stack(acc, 0) for acc in scans)


@converter("Scan")
def scan(n: Node, *inputs):
    if n.opset < 9:
        raise n.unsupported("Scan-8 (sequence_lens and batch axis); opset 9+ is imported")
    body = n.attr("body")
    m = int(n.attr("num_scan_inputs"))
    n_state = len(inputs) - m
    state = [v for v in inputs[:n_state]]
    xs = [tensor(v) for v in inputs[n_state:]]
    in_axes = list(n.attr("scan_input_axes") or [0] * m)
    in_dirs = list(n.attr("scan_input_directions") or [0] * m)
    n_out = len(body.output) - n_state
    out_axes = list(n.attr("scan_output_axes") or [0] * n_out)
    out_dirs = list(n.attr("scan_output_directions") or [0] * n_out)
    axes = [axis_of(a, x.ndim) for a, x in zip(in_axes, xs, strict=True)]
    lengths = {x.shape[a] for x, a in zip(xs, axes, strict=True)}
    if len(lengths) != 1:
        raise n.unsupported(f"scan inputs of different lengths {sorted(lengths)}")
    (length,) = lengths
    collected: list[list[Any]] = [[] for _ in range(n_out)]
    for t in range(length):
        elems = []
        for x, a, d in zip(xs, axes, in_dirs, strict=True):
            k = length - 1 - t if d else t
            elems.append(prims.slice_axis(x, a, k, k + 1, 1).squeeze(a))
        outs = run_subgraph(n, body, state + elems)
        state = list(outs[:n_state])
        for acc, v in zip(collected, outs[n_state:], strict=True):
            acc.append(v)
    results = []
    for acc, a, d in zip(collected, out_axes, out_dirs, strict=True):
        if d:
            acc = acc[::-1]
        rank = np.ndim(acc[0]) if isinstance(acc[0], np.ndarray) else acc[0].ndim
        results.append(_stack(acc, axis_of(a, rank + 1)))
    return tuple(state) + tuple(results)
