"""Typed views of Tortoise ORM calls whose stubs say less than they do."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

from tortoise.queryset import ValuesListQuery


def flat(query: ValuesListQuery[Any]) -> Awaitable[list[Any]]:
    """`query.values_list(field, flat=True)` awaited is a flat list of values, but Tortoise types
    every values_list as tuples: `await flat(Model.filter(...).values_list("id", flat=True))`.
    Returns its argument unchanged."""
    return cast(Awaitable[list[Any]], query)
