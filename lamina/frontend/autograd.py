"""Differentiation in the frontend: `lm.grad`, `value_and_grad`, `vjp`, `jvp`,
`custom_vjp` and `Tensor.backward()`, all built on the IR transformation
`lamina.passes.autodiff.emit_vjp` (`_emit_vjp` below is the one bridge to it).

Inside a trace these emit the backward ops into the trace (so they nest:
`grad(grad(f))` differentiates the backward ops of the inner grad). Called
eagerly, a transformed function is traced and compiled once per signature,
exactly as `lm.jit` would.
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lamina.dialects.hl.builder import Builder, Value
from lamina.errors import ArgumentError, GradientError, with_location
from lamina.frontend import graph as graphs
from lamina.frontend import lazy, pytree
from lamina.frontend import ops as F
from lamina.frontend.tensor import Concrete, Tensor
from lamina.passes.autodiff import emit_vjp

__all__ = ["backward", "custom_vjp", "grad", "jvp", "value_and_grad", "vjp"]


def _fresh(x: Any) -> Tensor:
    """A new SSA value equal to x, so that differentiating w.r.t. it sees only fn's uses."""
    from lamina.dialects import hl

    x = x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))
    if not x.dtype.is_floating_point:
        raise GradientError(with_location(
            f"grad: can only differentiate with respect to floating-point tensors, got "
            f"{x.dtype.name} of shape {list(x.shape)}"))
    return F.emit(hl.ReshapeOp, x, result_type=x._ir_type())._mark_differentiable()


class _UserRule:
    """An `lm.custom_vjp` rule as the autodiff pass sees it: cotangents in and out as
    builder Values, the user's backward called on tensors in between."""

    def __init__(self, graph: graphs.Graph, rule: graphs.CustomRule):
        self.graph, self.rule = graph, rule
        self.inputs, self.outputs = rule.inputs, rule.outputs

    def backward(self, builder: Builder, cts: list[Value]) -> list[Value | None]:
        tensors = [Tensor._from_value(c.ssa, self.graph, True) for c in cts]
        grads = self.rule.backward(self.rule.residuals,
                                   tensors[0] if len(tensors) == 1 else tuple(tensors))
        grads = grads if isinstance(grads, tuple | list) else (grads,)
        if len(grads) != len(self.inputs):
            return [None] * len(grads)  # emit_vjp reports the mismatch
        return [None if g is None else builder.wrap(
                    F.as_tensor(g, like=Tensor._from_value(v, self.graph, True))._ssa(self.graph))
                for v, g in zip(self.inputs, grads, strict=True)]


def _emit_vjp(graph: graphs.Graph, outputs: Sequence[Any], cotangents: Sequence[Tensor],
              wrt: Sequence[Any]) -> list[Tensor | None]:
    """`emit_vjp` on the graph's block: ops go in through `graph.append` (which records
    the user's line), custom rules are the graph's, results come back as tensors."""
    rules = {id(r): _UserRule(graph, r) for r in graph.custom_rules.values()}
    custom = {v: rules[id(r)] for v, r in graph.custom_rules.items()}
    grads = emit_vjp(Builder(graph.append), outputs, [c._ssa(graph) for c in cotangents],
                     wrt, custom, graph.locations.get)
    return [None if g is None else Tensor._from_value(g, graph, True) for g in grads]


def _ssa_values(tensors: Sequence[Tensor]) -> list:
    graph = graphs.current()
    return [t._ssa(graph) for t in tensors]


def _traced_vjp(fn: Callable, primals: Sequence[Any], has_aux: bool = False):
    """Trace fn on fresh copies of the primal leaves; return (out, aux, backward(cts))."""
    leaves, treedef = pytree.flatten(tuple(primals))
    fresh = [_fresh(x) for x in leaves]
    result = fn(*pytree.unflatten(treedef, fresh))
    out, aux = (result if has_aux else (result, None))
    out_leaves, out_def = pytree.flatten(out)
    out_tensors = [o if isinstance(o, Tensor) else F.as_tensor(o) for o in out_leaves]

    def backward(cts: Any) -> Any:
        ct_leaves, _ = pytree.flatten(cts)
        if len(ct_leaves) != len(out_tensors):
            raise ArgumentError(with_location(
                f"vjp: {len(ct_leaves)} cotangents given for {len(out_tensors)} outputs"))
        cts_t = [F.as_tensor(c, like=o).to(o.dtype) if not isinstance(c, Tensor) else c
                 for c, o in zip(ct_leaves, out_tensors, strict=True)]
        graph = graphs.current()
        grads = _emit_vjp(graph, _ssa_values(out_tensors), cts_t, _ssa_values(fresh))
        filled = [g if g is not None else F.zeros_like(x) for g, x in zip(grads, fresh, strict=True)]
        return pytree.unflatten(treedef, filled)

    return pytree.unflatten(out_def, out_tensors), aux, backward


def _in_trace(fn: Callable) -> Callable:
    """Run `fn` as is inside a trace; outside one, through an auto-jit (cached)."""
    jitted = None

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal jitted
        if graphs.tracing():
            return fn(*args, **kwargs)
        if jitted is None:
            from lamina.frontend.jit import jit

            jitted = jit(fn)
        return jitted(*args, **kwargs)

    return wrapper


def _argnums(argnums: int | Sequence[int]) -> tuple[tuple[int, ...], bool]:
    if isinstance(argnums, int):
        return (argnums,), True
    return tuple(argnums), False


def value_and_grad(fn: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """`lm.value_and_grad(f)(*args) -> (f(*args), df/dargs[argnums])` (f returns a scalar)."""
    nums, single = _argnums(argnums)

    def inner(*args: Any) -> Any:
        for n in nums:
            if n >= len(args):
                raise ArgumentError(with_location(
                    f"grad: argnums {n} is out of range for {len(args)} arguments"))
        chosen = [args[n] for n in nums]

        def partial(*picked: Any) -> Any:
            full = list(args)
            for n, p in zip(nums, picked, strict=True):
                full[n] = p
            return fn(*full)

        out, aux, backward = _traced_vjp(partial, chosen, has_aux)
        if not isinstance(out, Tensor) or out.numel() != 1:
            shape = out.shape if isinstance(out, Tensor) else type(out).__name__
            raise GradientError(with_location(
                f"grad: the function must return a scalar tensor, got {shape}"))
        grads = backward(F.ones_like(out))
        grads = grads[0] if single else tuple(grads)
        value = (out, aux) if has_aux else out
        return value, grads

    return _in_trace(inner)


def grad(fn: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """`lm.grad(f)(*args)`: the gradient of a scalar function, as an IR transformation."""
    vg = value_and_grad(fn, argnums, has_aux)

    @functools.wraps(fn)
    def inner(*args: Any) -> Any:
        value, grads = vg(*args)
        return (grads, value[1]) if has_aux else grads

    return inner


def vjp(fn: Callable, *primals: Any, has_aux: bool = False):
    """`out, vjp_fn = lm.vjp(f, *primals)`; `vjp_fn(ct)` returns one cotangent per primal."""
    if graphs.tracing():
        out, aux, backward = _traced_vjp(fn, primals, has_aux)
        vjp_fn = lambda ct: tuple(backward(ct))
        return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)

    def both(primals_: tuple, cts: Any) -> Any:
        _, _, backward = _traced_vjp(fn, primals_, has_aux)
        return tuple(backward(cts))

    def forward(primals_: tuple) -> Any:
        out, aux, _ = _traced_vjp(fn, primals_, has_aux)
        return (out, aux) if has_aux else out

    from lamina.frontend.jit import jit

    result = jit(forward)(tuple(primals))
    out, aux = result if has_aux else (result, None)
    jitted_backward = jit(both)
    vjp_fn = lambda ct: jitted_backward(tuple(primals), ct)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def jvp(fn: Callable, primals: Sequence[Any], tangents: Sequence[Any]):
    """`lm.jvp(f, primals, tangents) -> (f(*primals), J·tangents)`.

    Forward mode by transposition: u ↦ vjp(u) is linear, and its own vjp at any
    u, applied to the tangents, is J·tangents. No op needs a JVP rule."""

    def inner(primals_: tuple, tangents_: tuple) -> Any:
        out, _, backward = _traced_vjp(fn, primals_)
        out_leaves, out_def = pytree.flatten(out)
        us = [_fresh(F.zeros_like(o)) for o in out_leaves]
        cotangents = pytree.flatten(backward(pytree.unflatten(out_def, us)))[0]
        tan_leaves = [F.as_tensor(t).to(c.dtype) for t, c in
                      zip(pytree.flatten(tuple(tangents_))[0], cotangents, strict=True)]
        graph = graphs.current()
        tan_out = _emit_vjp(graph, _ssa_values(cotangents), tan_leaves, _ssa_values(us))
        tan_out = [t if t is not None else F.zeros_like(o) for t, o in
                   zip(tan_out, out_leaves, strict=True)]
        return out, pytree.unflatten(out_def, tan_out)

    if len(tuple(primals)) != len(tuple(tangents)):
        raise ArgumentError(with_location("jvp: primals and tangents differ in length"))
    return _in_trace(inner)(tuple(primals), tuple(tangents))


class custom_vjp:
    """A function with a user-written gradient, as in JAX:

        @lm.custom_vjp
        def f(x): ...
        f.defvjp(fwd, bwd)   # fwd(*args) -> (out, residuals); bwd(residuals, ct) -> grads
    """

    def __init__(self, fn: Callable):
        self.fn = fn
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        functools.update_wrapper(self, fn)

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        if self.fwd is None or self.bwd is None:
            return self.fn(*args)
        inputs = [a if isinstance(a, Tensor) else F.as_tensor(a) for a in args]
        if not (F.is_grad_enabled() and any(x.needs_grad for x in inputs)):
            # no gradient can flow back through this call: no rule (its residuals would
            # otherwise keep the eager graph, and every op after, alive)
            return self.fn(*args)
        out, residuals = self.fwd(*inputs)
        # a trace, or the eager graph (so eager .backward() sees it) — the one current
        # after fwd ran: the eager graph may have been replaced by a fresh one meanwhile
        graph = graphs.current()
        outs, _ = pytree.flatten(out)
        graph.custom_rules.update({
            o._ssa(graph): rule for rule in [graphs.CustomRule(
                inputs=_ssa_values(inputs), outputs=_ssa_values(outs),
                backward=self.bwd, residuals=residuals)] for o in outs})
        return out


def hook_identity(tensors: Sequence[Tensor], on_backward: Callable[[tuple], Any]) -> tuple:
    """New tensors equal to `tensors` whose backward hands their cotangents to
    `on_backward` (tensor and module hooks), which may return replacements. Eagerly and
    under `lm.jit` alike: there the call happens while the backward is traced."""
    def identity(*xs: Tensor) -> tuple:
        return tuple(F.fresh(x) for x in xs)

    def bwd(_: Any, *cts: Any) -> tuple:
        cts = tuple(cts[0]) if len(cts) == 1 and isinstance(cts[0], tuple | list) else cts
        replaced = on_backward(cts)
        return cts if replaced is None else tuple(replaced)

    op = custom_vjp(identity)
    op.defvjp(lambda *xs: (identity(*xs), None), bwd)
    return op(*tensors)


def on_gradients(tensors: Sequence[Tensor], callback: Callable[[tuple], Any]) -> tuple:
    """Copies of `tensors` (results of ops) whose cotangents, together, are handed to
    `callback(cts)` during backward — tensors (None where no gradient flowed); it may
    return replacements. Eagerly the tape is cut after the copies, so the callback sees
    concrete tensors; in a trace it runs while the backward is traced."""
    if graphs.current().kind != "eager":
        return hook_identity(tensors, callback)
    copies = tuple(F.fresh(t) for t in tensors)
    graph = graphs.current()  # (after: making the copies may have started a fresh graph)

    def concrete(arrays: list) -> Any:
        replaced = callback(tuple(None if a is None else Tensor._wrap(np.asarray(a))
                                  for a in arrays))
        if replaced is None:
            return None
        return [None if r is None else np.asarray(r.numpy()) for r in replaced]

    graph.group_hooks.append(([c._ssa(graph) for c in copies], concrete))
    graphs.new_segment()
    return copies


def run_grad_hooks(hooks: Any, grad: Tensor) -> Tensor:
    """`tensor.register_hook` hooks in order: each sees the last one's gradient."""
    for hook in list(hooks.values()):
        new = hook(grad)
        if new is not None:
            if not isinstance(new, Tensor) or new.shape != grad.shape:
                raise GradientError(with_location(
                    f"a tensor hook returned {type(new).__name__} "
                    f"{list(getattr(new, 'shape', []))} for a gradient of shape "
                    f"{list(grad.shape)}"))
            grad = new
    return grad


def _seed_cotangent(output: Tensor, gradient: Any, op: str) -> Any:
    """The cotangent a backward starts from: 1 for a one-element output, else the given
    gradient, which must have the output's shape (torch does not broadcast it)."""
    if gradient is None:
        if output.numel() != 1:
            raise GradientError(with_location(
                f"{op}: grad can be implicitly created only for scalar outputs, got shape "
                f"{list(output.shape)}"))
        return 1.0
    shape = tuple(gradient.shape if isinstance(gradient, Tensor) else np.shape(gradient))
    if shape != output.shape:
        raise GradientError(with_location(
            f"{op}: Mismatch in shape: gradient has shape {list(shape)} and the output "
            f"has shape {list(output.shape)} (torch does not broadcast it)"))
    return gradient


def backward(loss: Tensor, gradient: Any = None) -> None:
    """`loss.backward()`: accumulate d loss / d leaf into `.grad` of every leaf that
    requires grad. Inside `lm.jit` the backward ops join the traced program."""
    gradient = _seed_cotangent(loss, gradient, "backward")
    if not loss.needs_grad or not loss.dtype.is_floating_point:
        raise GradientError(with_location(
            "backward: the tensor does not require grad (no input had requires_grad=True)"))
    if isinstance(loss.state, Concrete):
        raise GradientError(with_location("backward: the tensor has no recorded graph"))
    graph = loss.state.graph
    if graph.kind == "eager":
        grad_array = np.broadcast_to(np.asarray(gradient, dtype=loss.dtype.np_dtype), loss.shape)
        _eager_backward(graph, {loss.state.value: grad_array})
        _backward_ended()
        return
    leaves = [(arg, owner) for arg, owner in graph.leaf_owners.items() if owner.accumulates_grad]
    with graphs.push(graph) if graphs.current() is not graph else contextlib.nullcontext():
        ct = F.as_tensor(gradient, like=loss)
        grads = _emit_vjp(graph, [loss.state.value], [ct], [arg for arg, _ in leaves])
        for (_, owner), g in zip(leaves, grads, strict=True):
            if g is None:
                continue
            if owner._grad_hooks:
                g = run_grad_hooks(owner._grad_hooks, g)
            owner.grad = g if owner.grad is None else F.add(owner.grad, g)
        _backward_ended()


_BACKWARD_END: list = []  # weak references to callbacks (on_backward_end)


def on_backward_end(callback: Callable[[], Any]) -> Callable[[], None]:
    """Call `callback()` after every `backward()` has accumulated its gradients, eagerly
    and in a trace (where it runs while the backward is traced, so what it records joins
    the program): DistributedDataParallel's gradient all-reduce. The callback is held
    weakly (a bound method dies with its object); the returned function removes it."""
    ref = weakref.WeakMethod(callback) if hasattr(callback, "__self__") \
        else weakref.ref(callback)
    _BACKWARD_END.append(ref)
    return lambda: _BACKWARD_END.remove(ref) if ref in _BACKWARD_END else None


def _backward_ended() -> None:
    for ref in list(_BACKWARD_END):
        callback = ref()
        if callback is None:
            _BACKWARD_END.remove(ref)
        else:
            callback()


def grad_of(outputs: Sequence[Tensor], inputs: Sequence[Tensor],
            grad_outputs: Sequence[Any], create_graph: bool,
            allow_unused: bool, materialize: bool) -> tuple[Tensor | None, ...]:
    """`torch.autograd.grad`: d outputs / d inputs (weighted by `grad_outputs`), leaving
    every `.grad` alone. The backward ops join the outputs' graph (a trace, or the eager
    graph), so with `create_graph=True` the gradients are differentiable again
    (gradient penalties, double backward); without it they come back detached."""
    for i, o in enumerate(outputs):
        if not o.needs_grad:
            raise GradientError(with_location(
                f"autograd.grad: element {i} of the outputs does not require grad and "
                f"does not have a grad_fn"))
        if isinstance(o.state, Concrete):
            raise GradientError(with_location(
                f"autograd.grad: element {i} of the outputs has no recorded graph"))
    graph = outputs[0].state.graph
    if any(o.state.graph is not graph for o in outputs):
        raise GradientError(with_location(
            "autograd.grad: the outputs were recorded in different graphs (different "
            "lm.jit traces or threads)"))
    for i, t in enumerate(inputs):
        if not t.needs_grad:
            raise GradientError(with_location(
                f"autograd.grad: element {i} of the inputs does not require grad"))
    cts = []
    for o, g in zip(outputs, grad_outputs, strict=True):
        cts.append(_seed_cotangent(o, g, "autograd.grad"))
    target = contextlib.nullcontext() if graphs.current() is graph else graphs.push(graph)
    with target:
        out_values = [o._ssa(graph) for o in outputs]
        if graph.kind == "eager":
            _check_one_segment(graph, out_values)
        wrt = [t._ssa(graph) for t in inputs]
        ct_tensors = [F.as_tensor(c, like=o) if not isinstance(c, Tensor) else c.to(o.dtype)
                      for c, o in zip(cts, outputs, strict=True)]
        grads = _emit_vjp(graph, out_values, ct_tensors, wrt)
    result = []
    for i, (g, t) in enumerate(zip(grads, inputs, strict=True)):
        if g is None:
            if not (allow_unused or materialize):
                raise GradientError(with_location(
                    f"autograd.grad: element {i} of the inputs appears to not have been "
                    f"used in the graph (pass allow_unused=True if this is intended)"))
            g = F.zeros_like(t) if materialize else None
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


def _check_one_segment(graph: graphs.Graph, outputs: list) -> None:
    """grad_of differentiates within one eager graph: a backward slice that reaches an
    older segment of the tape (a link) would lose the part of the chain rule there."""
    _, args = lazy.backward_slice(outputs)
    if any(a in graph.links for a in args):
        raise GradientError(with_location(
            "autograd.grad: the outputs depend on an older segment of the eager tape "
            "(an eager graph passed 20,000 ops or crossed threads); compute them inside "
            "lm.jit, or use .backward()"))


def _eager_backward(graph: graphs.Graph, cotangents: dict) -> None:
    """Backward through the eager tape: `cotangents` maps values of `graph` to their
    cotangent arrays. Each segment (an eager graph) gives the gradients of its leaves
    and of its links (values of older graphs it read, `Graph.links`); those continue
    in the older graph, newest graph first, so that each runs once per backward()
    (a graph reached again later, across threads, runs again: gradients add up)."""
    pending: dict[graphs.Graph, dict] = {graph: cotangents}
    while pending:
        segment = max(pending, key=lambda g: g.serial)
        cotangents = pending.pop(segment)
        for value, hooks in segment.value_hooks.items():  # (Tensor.register_hook)
            if value in cotangents and hooks:
                cotangents[value] = run_grad_hooks(
                    hooks, Tensor._wrap(np.asarray(cotangents[value]))).numpy()
        for values, callback in segment.group_hooks:  # (module backward hooks)
            if any(v in cotangents for v in values):
                replaced = callback([cotangents.get(v) for v in values])
                for v, new in zip(values, replaced or (), strict=False):
                    if new is not None and v in cotangents:
                        cotangents[v] = new
        with segment.lock:
            leaf_grads, link_grads = _segment_backward(segment, cotangents)
        for owner, g in leaf_grads:
            owner._accumulate_grad(g)
        for (older, value), g in link_grads:
            bucket = pending.setdefault(older, {})
            bucket[value] = bucket[value] + g if value in bucket else g


# structural key of a backward program -> for each link it differentiates: whether the
# program has an output for it (a link the outputs do not depend on has none)
_LINK_OUTPUTS: dict[tuple, tuple[bool, ...]] = {}


def _segment_backward(graph: graphs.Graph, cotangents: dict):
    """Cut the slice of `cotangents`' values from one eager graph, add its backward ops,
    compile (cached), run: ([(leaf tensor, gradient)], [((older graph, value), gradient)]).

    Custom rules (`lm.custom_vjp` called eagerly) travel with the slice: their inputs
    and tensor residuals join it, and the rules are re-attached to the cloned values."""
    from lamina.frontend.compile import cached, compile_module

    outputs = list(cotangents)
    ops_, args, rules = _slice_with_rules(graph, outputs)
    used = set(args)
    leaves = [(a, o) for a, o in graph.leaf_owners.items() if a in used and o.accumulates_grad]
    links = [a for a in args if a in graph.links]
    if not leaves and not links:
        return [], []
    wrt_args = [a for a, _ in leaves] + links
    position = {a: i for i, a in enumerate(args)}
    key = None if rules else (
        "backward", lazy.structural_key(ops_, args, outputs, graph.signatures),
        tuple(position[a] for a in wrt_args))
    program = cached(key) if key is not None and key in _LINK_OUTPUTS else None
    has_grad = _LINK_OUTPUTS.get(key, ()) if program is not None else ()
    sub = graphs.Graph("pass", captured=[graph.captured[a.index] for a in args])
    mapping: dict = dict(zip(args, [sub.block.insert_arg(a.type, i) for i, a in enumerate(args)],
                             strict=True))
    if program is None:
        for op in ops_:
            clone = op.clone(value_mapper=mapping)
            sub.block.add_op(clone)
            mapping.update(zip(op.results, clone.results, strict=True))
        for rule in rules:
            moved = graphs.CustomRule(
                inputs=[mapping[v] for v in rule.inputs],
                outputs=[mapping[v] for v in rule.outputs], backward=rule.backward,
                residuals=pytree.tree_map(lambda r: _move(r, graph, sub, mapping),
                                          rule.residuals))
            sub.custom_rules.update({v: moved for v in moved.outputs})
        with graphs.push(sub):
            cts = [Tensor._from_value(sub.add_input(v.type, "ct"), sub, False) for v in outputs]
            wrt = [mapping[a] for a in wrt_args]
            grads = _emit_vjp(sub, [mapping[v] for v in outputs], cts, wrt)
            # a leaf the loss does not depend on gets zeros (as before); a link without a
            # gradient has nothing to carry back
            n = len(leaves)
            has_grad = tuple(g is not None for g in grads[n:])
            results = [(g if g is not None else F.zeros_like(Tensor._from_value(w, sub, False)))
                       ._ssa(sub) for g, w in zip(grads[:n], wrt[:n], strict=True)]
            results += [g._ssa(sub) for g in grads[n:] if g is not None]
        module = sub.to_module(results, name="backward")
        program = compile_module(module, key=key, name="backward")
        if key is not None:
            _LINK_OUTPUTS[key] = has_grad
    else:
        for v in outputs:
            sub.add_input(v.type, "ct")
    ct_arrays = iter(np.array(c) for c in cotangents.values())  # (np.array keeps 0-d 0-d)
    inputs = [next(ct_arrays) if c is None else c._concrete() if isinstance(c, Tensor) else c
              for c in sub.captured]
    results_ = program(inputs)
    n = len(leaves)
    leaf_grads = [(owner, g) for (_, owner), g in zip(leaves, results_[:n], strict=True)]
    carried = [graph.links[a] for a, has in zip(links, has_grad, strict=True) if has]
    return leaf_grads, list(zip(carried, results_[n:], strict=True))


def _slice_with_rules(graph: graphs.Graph, outputs: list):
    """backward_slice of the outputs, grown until it holds the inputs and tensor
    residuals of every custom rule whose outputs it contains."""
    extra: list = []
    while True:
        ops_, args = lazy.backward_slice([*outputs, *extra], graph.order)
        inside = set(ops_)
        rules = list({id(r): r for v, r in graph.custom_rules.items()
                      if v.owner in inside}.values())
        needed = [v for r in rules for v in r.inputs] + [
            t._lazy_value(graph) for r in rules for t in pytree.flatten(r.residuals)[0]
            if isinstance(t, Tensor) and t._lazy_value(graph) is not None]
        if all(v in extra for v in needed):
            return ops_, args, rules
        extra = list(dict.fromkeys([*extra, *needed]))


def _move(residual: Any, graph: graphs.Graph, sub: graphs.Graph, mapping: dict) -> Any:
    """A residual tensor of the eager graph, as the same value in the backward graph."""
    if isinstance(residual, Tensor) and residual._lazy_value(graph) in mapping:
        return Tensor._from_value(mapping[residual._lazy_value(graph)], sub, False)
    return residual
