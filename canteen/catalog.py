"""The canteen's standing rows (the canteen, its meals, a day's menus) as answers read them,
kept in process for a few seconds.

"今天吃什么" is one message in eight, and each asked the database the same three questions;
menus change a few times a day. Reads go through `cached`; any save or delete of a Canteen,
CanteenMeal or Menu in this process drops everything at once (Tortoise's signals), as does a
publication when its transaction commits. A write by another process (a CLI command, the
second worker of `serve --workers 2`) is seen within FRESH_FOR seconds.

Callers get the cached model instances (read them, do not change them without saving) in
lists of their own.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tortoise.signals import post_delete, post_save

from models.canteen import Canteen, CanteenMeal, Menu

FRESH_FOR = 5.0  # seconds another process's change may take to show

T = TypeVar("T")

_rows: dict[tuple[Any, ...], tuple[float, Any]] = {}
_generation = 0


def clear() -> None:
    """Forget every cached row (a change was written, or the tables were emptied)."""
    global _generation
    _generation += 1
    _rows.clear()


async def cached(key: tuple[Any, ...], load: Callable[[], Awaitable[T]]) -> T:
    """The value under `key`, loaded afresh when missing or older than FRESH_FOR. A change
    made while it was loading leaves it uncached (it may predate the change)."""
    now = time.monotonic()
    hit = _rows.get(key)
    if hit is not None and now - hit[0] < FRESH_FOR:
        return hit[1]  # type: ignore[no-any-return]
    generation = _generation
    value = await load()
    if generation == _generation:
        _rows[key] = (now, value)
    return value


@post_save(Canteen, CanteenMeal, Menu)
async def _saved(*args: Any) -> None:
    clear()


@post_delete(Canteen, CanteenMeal, Menu)
async def _deleted(*args: Any) -> None:
    clear()
