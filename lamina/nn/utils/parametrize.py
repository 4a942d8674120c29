"""`nn.utils.parametrize`: a tensor of a module computed from other tensors.

`register_parametrization(module, "weight", P())` moves `module.weight` into
`module.parametrizations.weight.original` (or `original0`, `original1`, ... when
`P.right_inverse` returns several tensors) and makes `module.weight` a property that
evaluates `P(original)` on every read, as torch does: through a subclass of the
module's class made for it, so `state_dict` keys, `parameters()` and `type(module)`
look as they do in torch. Reads inside `lm.jit` are ordinary traced ops, so the
parametrization is part of the compiled step and is differentiated with it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lamina.errors import ArgumentError, with_location
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.nn.containers import ModuleDict, ModuleList
from lamina.nn.module import Module, Parameter

__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization",
           "remove_parametrizations", "type_before_parametrizations"]


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to the original(s)."""

    def __init__(self, modules: list[Module], original: Tensor, unsafe: bool = False):
        super().__init__(modules)
        self.unsafe = unsafe
        first = modules[0]
        with O.no_grad():
            new = first.right_inverse(original) if hasattr(first, "right_inverse") \
                else original
        if isinstance(new, Tensor):
            self.is_tensor, self.ntensors = True, 1
            if isinstance(original, Parameter) and new is not original:
                original.data = new  # the Parameter object stays the same (optimizers hold it)
                new = original
            self.original = new if isinstance(new, Parameter) else \
                Parameter(new.detach(), requires_grad=original.requires_grad)
        else:
            self.is_tensor, self.ntensors = False, len(new)
            for i, t in enumerate(new):
                setattr(self, f"original{i}",
                        Parameter(t.detach(), requires_grad=original.requires_grad))

    def right_inverse(self, value: Tensor) -> None:
        """Assigning `module.weight = value`: the originals become the preimage."""
        with O.no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise ArgumentError(with_location(
                        f"parametrization {type(module).__name__} has no right_inverse: "
                        f"the tensor cannot be assigned"))
                value = module.right_inverse(value)
            if self.is_tensor:
                self.original.data = value
            else:
                for i, t in enumerate(value):
                    getattr(self, f"original{i}").data = t

    def forward(self) -> Tensor:
        modules = list(self)
        if self.is_tensor:
            x = modules[0](self.original)
        else:
            x = modules[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in modules[1:]:
            x = module(x)
        return x


def _property(name: str) -> property:
    def get(self: Module) -> Tensor:
        return self.parametrizations[name]()

    def set_(self: Module, value: Tensor) -> None:
        self.parametrizations[name].right_inverse(value)

    return property(get, set_)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        return module
    original = getattr(module, tensor_name, None)
    if not isinstance(original, Tensor):
        raise ArgumentError(with_location(
            f"register_parametrization: module has no parameter or buffer {tensor_name!r}"))
    if not is_parametrized(module):
        cls = type(module)
        subclass = type(f"Parametrized{cls.__name__}", (cls,), {"_unparametrized": cls})
        object.__setattr__(module, "__class__", subclass)
        module.parametrizations = ModuleDict()
    plist = ParametrizationList([parametrization], original, unsafe)
    delattr(module, tensor_name)
    module.parametrizations[tensor_name] = plist
    setattr(type(module), tensor_name, _property(tensor_name))
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    table = module.__dict__.get("_modules", {}).get("parametrizations")
    if table is None or not isinstance(table, ModuleDict):
        return False
    return tensor_name is None or tensor_name in table


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    if not is_parametrized(module, tensor_name):
        raise ArgumentError(with_location(
            f"remove_parametrizations: module has no parametrization on {tensor_name!r}"))
    plist = module.parametrizations[tensor_name]
    with O.no_grad():
        value = plist() if leave_parametrized else plist.original
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    if plist.is_tensor and isinstance(plist.original, Parameter):
        plist.original.data = value
        setattr(module, tensor_name, plist.original)
    else:
        setattr(module, tensor_name, Parameter(value.detach()))
    if not len(module.parametrizations):
        delattr(module, "parametrizations")
        object.__setattr__(module, "__class__", type(module)._unparametrized)
    return module


def type_before_parametrizations(module: Module) -> type:
    return type(module)._unparametrized if is_parametrized(module) else type(module)


@contextmanager
def cached() -> Iterator[None]:
    """torch caches parametrized tensors inside this block; lamina recomputes them (a
    jitted step computes each once anyway)."""
    yield
