"""A tensor's state (`Concrete | Lazy | Traced`) is owned by lamina/frontend/tensor.py,
and `trace()` is the one tracer behind `lm.jit` and ONNX export.

The encapsulation is checked on the source: outside tensor.py no module of lamina/
reads or writes a tensor's private fields (it uses the properties and the
transition methods), and no module reaches into `Jitted`'s private members."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import lamina as lm
from lamina.frontend.compile import compile_module
from lamina.frontend.jit import Jitted
from lamina.frontend.tensor import Concrete, Lazy, Traced
from lamina.frontend.trace import Trace, trace

LAMINA = pathlib.Path(lm.__file__).parent
OWNER = LAMINA / "frontend" / "tensor.py"
# Tensor's fields (and the three it had before the state became one field)
TENSOR_FIELDS = {"_state", "_dtype", "_shape", "_requires_grad", "_needs_grad", "_grad",
                 "_is_leaf", "_data", "_value", "_graph"}
JITTED_PRIVATE = {"_trace_module", "_trace", "_compile", "_run", "_cache", "_fast"}
TENSOR_CLASSES = {"Tensor", "Parameter"}


class _PrivateAccess(ast.NodeVisitor):
    """Finds `x._field` (read, write or delete), `setattr/getattr/delattr(x, "_field")`
    and `Tensor.__new__`. `self._field` is allowed in classes that are not tensors
    (another class may have its own `_shape`)."""

    def __init__(self, names: set[str]):
        self.names = names
        self.found: list[tuple[int, str]] = []
        self._classes: list[bool] = []  # for each enclosing class: is it a tensor class?

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
        self._classes.append(bool(bases & TENSOR_CLASSES) or node.name in TENSOR_CLASSES)
        self.generic_visit(node)
        self._classes.pop()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") \
            and self._classes and not self._classes[-1]
        if node.attr in self.names and not own:
            self.found.append((node.lineno, ast.unparse(node)))
        if node.attr == "__new__" and isinstance(node.value, ast.Name) \
                and node.value.id in TENSOR_CLASSES:
            self.found.append((node.lineno, ast.unparse(node)))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in ("setattr", "getattr", "delattr") \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and node.args[1].value in self.names:
            self.found.append((node.lineno, ast.unparse(node)))
        self.generic_visit(node)


def private_accesses(source: str, names: set[str]) -> list[tuple[int, str]]:
    visitor = _PrivateAccess(names)
    visitor.visit(ast.parse(source))
    return visitor.found


def _violations(names: set[str], allowed: set[pathlib.Path]) -> list[str]:
    return [f"{path.relative_to(LAMINA.parent)}:{line}: {text}"
            for path in sorted(LAMINA.rglob("*.py")) if path not in allowed
            for line, text in private_accesses(path.read_text(), names)]


def test_only_tensor_py_touches_a_tensors_private_fields():
    assert _violations(TENSOR_FIELDS, {OWNER}) == []


def test_only_jit_py_touches_jitteds_private_members():
    assert _violations(JITTED_PRIVATE, {LAMINA / "frontend" / "jit.py"}) == []


def _constructor_calls(source: str) -> list[tuple[int, str]]:
    """Calls of `Tensor(...)` / `lm.Tensor(...)`: torch's legacy constructor, which
    converts to the default float dtype (lamina's own code wants `Tensor._wrap`)."""
    return [(node.lineno, ast.unparse(node)) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id == "Tensor")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "Tensor"))]


def test_lamina_never_calls_the_legacy_tensor_constructor():
    # lm.Tensor([1, 2]) is float32 as torch.Tensor; an index array or a program's int64
    # result wrapped that way would silently become float
    found = [f"{path.relative_to(LAMINA.parent)}:{line}: {text}"
             for path in sorted(LAMINA.rglob("*.py")) if path != OWNER
             for line, text in _constructor_calls(path.read_text())]
    assert found == []
    assert _constructor_calls("x = Tensor(np.arange(3))") and \
        not _constructor_calls("x = Tensor._wrap(a)")


@pytest.mark.parametrize("source", [
    "t._data = a",
    "t._value, t._graph = None, None",
    "t._grad += g",
    "t.weight._data[0] = 0",
    "x = t._needs_grad",
    "del t._state",
    "setattr(t, '_requires_grad', True)",
    "t = Tensor.__new__(Tensor)",
    "class P(Tensor):\n    def f(self):\n        self._is_leaf = False",
])
def test_the_scan_finds_private_access(source):
    assert private_accesses(source, TENSOR_FIELDS), source


@pytest.mark.parametrize("source", [
    "t._set_array(a)",
    "x = t.state.value",
    "class Interp:\n    def f(self):\n        self._shape = (1,)",
])
def test_the_scan_allows_the_api_and_other_classes_fields(source):
    assert private_accesses(source, TENSOR_FIELDS) == []


# ---------------------------------------------------------------- the states


def test_concrete_lazy_and_realized():
    t = lm.tensor([1.0, 2.0])
    assert isinstance(t.state, Concrete) and t.state.array is t.numpy()
    u = t * 2
    assert isinstance(u.state, Lazy) and u.state.graph.kind == "eager"
    np.testing.assert_array_equal(u.numpy(), [2.0, 4.0])
    assert isinstance(u.state, Concrete)  # realized: no gradient flows through it


def test_a_value_gradients_flow_through_stays_lazy_once_realized():
    w = lm.tensor([1.0, 2.0], requires_grad=True)
    v = w * 3
    np.testing.assert_array_equal(v.numpy(), [3.0, 6.0])
    assert isinstance(v.state, Lazy) and v.state.array is not None
    v.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_in_place_update_inside_jit_is_traced_then_written_back():
    p = lm.tensor([1.0, 2.0])
    array = p.numpy()
    seen = []

    @lm.jit(backend="interp")
    def bump(x):
        p.add_(x)
        seen.append((x.state, p.state))
        return p * 1

    bump(np.ones(2, np.float32))
    (x_state, p_state), = seen
    assert isinstance(x_state, Traced) and x_state.before is None
    assert isinstance(p_state, Traced) and isinstance(p_state.before, Concrete)
    assert p_state.before.array is array
    assert isinstance(p.state, Concrete)
    np.testing.assert_array_equal(p.numpy(), [2.0, 3.0])


# ---------------------------------------------------------------- trace()


def _sgd_like():
    p = lm.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def step(x, scale):
        loss = (p * x).sum() * scale
        loss.backward()
        with lm.no_grad():
            p.sub_(p.grad * 0.5)
        return {"loss": loss, "scale": scale}

    return p, step


def test_trace_gives_the_module_and_the_plan_and_leaves_tensors_as_they_were():
    p, step = _sgd_like()
    x = np.array([1.0, 1.0, 2.0], np.float32)
    state = p.state
    traced = trace(step, x, scale=2.0)
    assert isinstance(traced, Trace) and traced.name == "step"
    assert p.state is state and p.grad is None  # the trace changed nothing
    assert traced.inputs == [0]  # x; `scale` is static
    assert traced.captured == [p]
    assert [t for t, _ in traced.data_writebacks] == [p]
    assert [t for t, _ in traced.grad_writebacks] == [p]
    assert traced.outputs[1] == ("static", 2.0)
    assert traced.guards_hold()
    assert "hl." in str(traced.module) and str(traced.module).count("func.func") == 1
    arrays = traced.input_arrays(x, scale=2.0)
    assert arrays[0] is x and arrays[1] is p.numpy()


def test_finish_writes_back_after_a_run():
    p, step = _sgd_like()
    x = np.array([1.0, 1.0, 2.0], np.float32)
    traced = trace(step, x, scale=2.0)
    program = compile_module(traced.module, "interp")
    result = traced.finish(program(traced.input_arrays(x, scale=2.0)))
    assert float(result["loss"]) == pytest.approx(2.0 * (1 + 2 + 6))
    np.testing.assert_allclose(p.grad.numpy(), 2.0 * x)
    np.testing.assert_allclose(p.numpy(), [1.0, 2.0, 3.0] - x)


def test_jit_and_jitted_trace_use_the_same_tracer():
    p, step = _sgd_like()
    x = np.array([1.0, 1.0, 2.0], np.float32)
    assert str(Jitted(step).trace(x, scale=2.0)) == str(trace(step, x, scale=2.0).module)
    jitted = lm.jit(step, backend="interp")
    jitted(x, scale=2.0)
    (entry,) = jitted._cache.values()
    assert isinstance(entry.trace, Trace) and entry.trace.captured == [p]
    np.testing.assert_allclose(p.numpy(), [1.0, 2.0, 3.0] - x)


def test_onnx_export_traces_with_trace(monkeypatch):
    pytest.importorskip("onnx")
    from lamina.onnx import exporter

    calls = []

    def counting(fn, *args, **kwargs):
        calls.append(fn)
        return trace(fn, *args, **kwargs)

    monkeypatch.setattr(exporter, "trace", counting)
    w = lm.tensor(np.ones((3, 2), np.float32))
    model = exporter.export(lambda x: x @ w, np.ones((4, 3), np.float32))
    assert len(calls) == 1 and len(model.graph.initializer) >= 1
