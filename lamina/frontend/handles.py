"""torch.utils.hooks.RemovableHandle: what every `register_*_hook` returns (module hooks
in `lamina.nn`, tensor hooks here)."""

from __future__ import annotations

from collections.abc import MutableMapping

from lamina.frontend import guards

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """What a `register_*_hook` returns: `.remove()` unregisters the hook."""

    _next_id = 0

    def __init__(self, table: MutableMapping):
        self.table = table
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        if self.table.pop(self.id, None) is not None:
            guards.changed()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
