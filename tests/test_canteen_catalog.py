"""The canteen rows kept in process (canteen/catalog.py): menu questions stop asking the
database, and no answer is older than the change it should show (same process: at once;
another process: within FRESH_FOR seconds)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tortoise import connections

from bot.context import SHANGHAI
from canteen import catalog
from canteen.menu_parser import Dish, MenuDraft
from canteen.service import default_canteen, publish_menu
from infra import kept
from models.canteen import CanteenMeal, DishKind, Meal
from tests.chat_support import Chat
from tests.conftest import lunch_and_dinner_canteen

STAFF = "o-staff"
USER = "o-resident"


async def _menu(canteen: Any, day: dt.date, dishes: list[str]) -> None:
    draft = MenuDraft(day, Meal.LUNCH, [Dish(d, DishKind.HOT) for d in dishes], 1000)
    await publish_menu(canteen, draft, STAFF)


async def test_a_repeated_menu_question_asks_the_database_nothing(
    say: Chat, queries: list[str]
) -> None:
    canteen = await lunch_and_dinner_canteen()
    today = dt.datetime.now(SHANGHAI).date()
    await _menu(canteen, today, ["红烧肉"])
    assert "红烧肉" in await say(USER, "今天吃什么")
    queries.clear()
    assert "红烧肉" in await say("o-other", "今天午饭吃啥")
    assert not [q for q in queries if "canteen" in q or "menus" in q], queries


async def test_a_published_change_shows_in_the_next_answer(say: Chat) -> None:
    canteen = await lunch_and_dinner_canteen()
    today = dt.datetime.now(SHANGHAI).date()
    await _menu(canteen, today, ["红烧肉"])
    assert "红烧肉" in await say(USER, "今天吃什么")
    await _menu(canteen, today, ["清蒸鱼"])  # a correction: the same process, at once
    answer = await say(USER, "今天吃什么")
    assert "清蒸鱼" in answer and "红烧肉" not in answer


async def test_a_saved_meal_shows_at_once(say: Chat) -> None:
    canteen = await lunch_and_dinner_canteen()
    assert "11:00" in await say(USER, "食堂几点开饭")
    meal = await CanteenMeal.get(canteen_id=canteen.pk, meal=Meal.LUNCH)
    meal.serve_from = "10:45"
    await meal.save()
    assert "10:45" in await say(USER, "食堂几点开饭")


async def test_a_change_by_another_process_shows_within_the_freshness_bound(
    say: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    await lunch_and_dinner_canteen()
    clock = [1000.0]
    monkeypatch.setattr(kept.time, "monotonic", lambda: clock[0])
    assert (await default_canteen()) is not None
    assert "幸福里爱心食堂" in await say(USER, "食堂几点开饭")
    # Another process renames it: raw SQL, no signal reaches this process.
    await connections.get("default").execute_query("UPDATE canteens SET name = '阳光食堂'", [])
    assert "幸福里爱心食堂" in await say(USER, "食堂几点开饭")  # still the kept row...
    clock[0] += catalog.FRESH_FOR + 0.1
    assert "阳光食堂" in await say(USER, "食堂几点开饭")  # ...but never for longer than FRESH_FOR
