"""lamina's own passes, by name (imported lazily, as xDSL registers its own)."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass

_PASSES: dict[str, Callable[[], type[ModulePass]]] = {}


def register(name: str, loader: Callable[[], type[ModulePass]]) -> None:
    _PASSES[name] = loader


def lamina_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    return dict(_PASSES)


def _autodiff():
    from lamina.passes.autodiff import AutodiffPass

    return AutodiffPass


register("autodiff", _autodiff)


def _strip_stop_gradient():
    from lamina.passes.canonicalize import StripStopGradientPass

    return StripStopGradientPass


register("strip-stop-gradient", _strip_stop_gradient)
