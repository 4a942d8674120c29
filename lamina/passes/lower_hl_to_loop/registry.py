"""The element-rule table of every fusible hl op, and which of them reduce."""

from __future__ import annotations

from collections.abc import Callable

from lamina.passes.lower_hl_to_loop import rules, scalar

RULES: dict[type, Callable] = {**scalar.RULES, **rules.RULES}
REDUCING: frozenset[type] = frozenset(rules.REDUCING)


def _non_uniform(op) -> bool:
    from lamina.passes.lower_hl_to_loop.pass_ import _needs_global

    return _needs_global(op)


rules.constant_rule.needs_buffer = _non_uniform  # type: ignore[attr-defined]
