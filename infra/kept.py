"""Rows that answers read often and people change rarely, kept in process for a few seconds.

Each `Kept` names the models it depends on: any save or delete of one of them in this process
(Tortoise's signals) drops everything it keeps at once, and a caller whose writes bypass the
signals (a bulk update, a transaction that commits later) calls `clear` itself. A change made
by another process (a CLI command, the other worker of `serve --workers 2`) is seen within
`fresh_for` seconds. Callers get the kept objects themselves: read them, never change them
without saving.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.signals import Signals

T = TypeVar("T")

_ALL: list[Kept] = []  # every Kept of the process (they live as long as their modules)


def clear_all() -> None:
    """Forget everything every Kept holds (the tables were emptied: tests)."""
    for kept in _ALL:
        kept.clear()


class Kept:
    """`fields`: only a save that may change one of them drops what is kept (a save naming
    other `update_fields`, e.g. a craftsman's rating after a review, does not)."""

    def __init__(
        self, fresh_for: float, *models: type[Model], fields: frozenset[str] | None = None
    ) -> None:
        self.fresh_for = fresh_for
        self.fields = fields
        self._rows: dict[Hashable, tuple[float, Any]] = {}
        self._generation = 0
        _ALL.append(self)
        for model in models:
            model.register_listener(Signals.post_save, self._changed)
            model.register_listener(Signals.post_delete, self._changed)

    async def _changed(self, *args: Any, **kwargs: Any) -> None:
        # post_save: (sender, instance, created, using_db, update_fields); post_delete: 3 args
        update_fields = args[4] if len(args) > 4 else kwargs.get("update_fields")
        if self.fields and update_fields and not self.fields.intersection(update_fields):
            return
        self.clear()

    def clear(self) -> None:
        """Forget everything kept (a change was written, or the tables were emptied)."""
        self._generation += 1
        self._rows.clear()

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """The value under `key`, loaded afresh when missing or older than `fresh_for`. A
        change made while it was loading leaves it unkept (it may predate the change)."""
        now = time.monotonic()
        hit = self._rows.get(key)
        if hit is not None and now - hit[0] < self.fresh_for:
            return hit[1]  # type: ignore[no-any-return]
        generation = self._generation
        value = await load()
        if generation == self._generation:
            self._rows[key] = (now, value)
        return value
