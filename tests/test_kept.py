"""Rows kept in process (infra/kept.py), as the compound centres use them: read once, dropped
by any save in the process, never older than `fresh_for` for another process's change."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import connections

from craftsman_directory.service import compound_location
from infra import kept
from tests.directory_support import make_craftsman


async def test_compound_centres_are_read_once_and_follow_a_new_craftsman(
    bot: Any, queries: list[str]
) -> None:
    wang = await make_craftsman(bot, "王师傅", ["tailor"], 200, compound="幸福小区")
    found = await compound_location("幸福小区")
    assert found is not None and found[0] == "幸福小区"
    queries.clear()
    assert await compound_location("我住幸福小区") == found
    assert await compound_location("和平里") is None
    wang.rating_avg, wang.rating_count = 4.5, 2  # a review's save: no compound changed
    await wang.save(update_fields=["rating_avg", "rating_count", "updated_at"])
    queries.clear()
    assert await compound_location("幸福小区") == found
    assert queries == []  # kept: no query for the later lookups
    await make_craftsman(bot, "李师傅", ["shoe_repair"], 400, compound="和平里")  # a save
    again = await compound_location("和平里")
    assert again is not None and again[0] == "和平里"


async def test_another_process_s_change_shows_within_fresh_for(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(kept.time, "monotonic", lambda: clock[0])
    await make_craftsman(bot, "王师傅", ["tailor"], 200, compound="幸福小区")
    assert await compound_location("阳光花园") is None
    await connections.get("default").execute_query(
        "UPDATE craftsmen SET compound = '阳光花园'", []
    )  # raw SQL: no signal reaches this process
    assert await compound_location("阳光花园") is None
    clock[0] += 61
    found = await compound_location("阳光花园")
    assert found is not None and found[0] == "阳光花园"
