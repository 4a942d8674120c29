"""The tables the lowering dispatches on, keyed by hl op name: the element rule of
every fusible op, which of them reduce, and the producers (ops lowered whole)."""

from __future__ import annotations

from collections.abc import Callable

from lamina.passes.lower_hl_to_loop import rules, rules_index, rules_select, rules_window, scalar

RULES: dict[str, Callable] = {cls.name: rule for cls, rule in
                              {**scalar.RULES, **rules.RULES, **rules_index.RULES,
                               **rules_window.RULES, **rules_select.RULES}.items()}
REDUCING: frozenset[str] = frozenset(cls.name for cls in rules.REDUCING | rules_window.REDUCING
                                     | rules_select.REDUCING)


def _non_uniform(op) -> bool:
    from lamina.passes.lower_hl_to_loop.pass_ import _needs_global

    return _needs_global(op)


rules.constant_rule.needs_buffer = _non_uniform  # type: ignore[attr-defined]
