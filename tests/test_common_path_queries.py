"""The common messages answer without asking the database (issue 18), and every write that
changes their answer shows in the next one: a location (is the sender an approved courier?), a
search from someone who never sent a location (their compound), a sign-up's steps (its
canteen). Writes that fire no save signal (a conditional UPDATE, a bulk DELETE) included."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from tortoise import connections

from bot.context import SHANGHAI
from canteen.cli import grant_role
from grid import service as grid_service
from grid import texts as grid_texts
from handlers.keys import bot_key
from infra import kept
from models.grid import VolunteerStatus
from models.users import Role, User
from privacy import service as privacy
from tests.chat_support import Chat
from tests.conftest import lunch_and_dinner_canteen
from tests.directory_support import HOME, freeze, make_craftsman, say, send_location
from tests.test_grid_photos import NOW, Wechat, _register

ASK = "请发送您的位置"


def _about(queries: list[str], table: str) -> list[str]:
    return [q for q in queries if f'FROM "{table}"' in q]


@pytest.fixture
async def wx(driven_client: Any) -> Wechat:
    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    return Wechat(driven_client)


async def _place(wx: Wechat, user: str) -> str:
    return await wx.place(user, "31.2290", "121.4700", "幸福里小区3号楼")


# ---- a location: is the sender an approved courier? ---------------------------------------


async def test_a_resident_s_locations_ask_nobody_whether_they_are_a_courier(
    wx: Wechat, queries: list[str]
) -> None:
    assert grid_texts.PLACE_KEPT.strip() in await _place(wx, "o-resident")
    queries.clear()
    assert grid_texts.PLACE_KEPT.strip() in await _place(wx, "o-resident")
    assert grid_texts.PLACE_KEPT.strip() in await _place(wx, "o-neighbour")
    assert _about(queries, "grid_courier_volunteers") == []


async def test_an_approval_shows_at_once_and_an_erasure_forgets_it(wx: Wechat) -> None:
    await grant_role("o-admin", Role.ADMIN, None, None)
    courier = await _register(wx)
    # Still waiting: a resident's location (and the approved set is now kept without them).
    assert grid_texts.PLACE_KEPT.strip() in await _place(wx, "o-courier")
    # A conditional UPDATE: no save signal, the next location must know all the same.
    await grid_service.decide_volunteer("o-admin", courier.pk, True, NOW)
    assert (await _place(wx, "o-courier")).startswith(grid_texts.PLACE_FIRST)
    await wx.text("o-courier", "取消")
    assert "已删除" in await wx.text("o-courier", "确认删除我的信息")  # a bulk DELETE
    assert grid_texts.PLACE_KEPT.strip() in await _place(wx, "o-courier")


async def test_a_rejection_after_a_resubmission_never_shows_as_approved(wx: Wechat) -> None:
    await grant_role("o-admin", Role.ADMIN, None, None)
    courier = await _register(wx)
    await grid_service.decide_volunteer("o-admin", courier.pk, False, NOW)
    assert grid_texts.PLACE_KEPT.strip() in await _place(wx, "o-courier")
    assert await grid_service.kept_volunteer("o-courier") is None


async def test_another_process_s_approval_shows_within_fresh_for(
    wx: Wechat, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(kept.time, "monotonic", lambda: clock[0])
    courier = await _register(wx)
    assert await grid_service.kept_volunteer("o-courier") is None
    # e.g. `main.py approve-grid-volunteer` in another process: no signal reaches this one
    # (literal SQL, as test_kept does, so it runs on SQLite and PostgreSQL alike)
    await connections.get("default").execute_query(
        f"UPDATE grid_courier_volunteers SET status = '{VolunteerStatus.APPROVED.value}'"
        f" WHERE id = {int(courier.pk)}"
    )
    clock[0] += grid_service.VOLUNTEERS_FRESH_FOR + 1
    found = await grid_service.kept_volunteer("o-courier")
    assert found is not None and found.pk == courier.pk


# ---- a search without a location: the resident's compound ---------------------------------


async def test_a_search_without_a_location_asks_the_database_once(
    bot: Any, queries: list[str]
) -> None:
    freeze(bot)
    await make_craftsman(bot, "王师傅", ["tailor"], 300, compound="幸福小区")
    assert ASK in await say(bot, "找裁缝")
    assert await say(bot, "取消") == "好的，已取消。"
    queries.clear()
    assert ASK in await say(bot, "找裁缝")
    assert _about(queries, "users") == []


async def test_a_typed_compound_and_an_erasure_show_in_the_next_search(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "王师傅", ["tailor"], 300, compound="幸福小区")
    assert ASK in await say(bot, "找裁缝")  # kept: no compound
    assert "1. 王师傅" in await say(bot, "我住幸福小区")
    assert "1. 王师傅" in await say(bot, "找裁缝")  # the compound typed, without asking
    now = dt.datetime.now(SHANGHAI)
    await privacy.erase(bot.services.redis, "o-resident", "o-resident", now)
    assert await User.get_or_none(openid="o-resident") is None
    assert ASK in await say(bot, "找裁缝")


async def test_an_erasure_forgets_the_walking_pace_searches_kept(bot: Any) -> None:
    freeze(bot)
    await make_craftsman(bot, "王师傅", ["tailor"], 300)
    await say(bot, "我走得慢")
    await send_location(bot, *HOME)
    assert "步行约4分钟" not in await say(bot, "找裁缝")  # the elderly pace
    await privacy.erase(bot.services.redis, "o-resident", "o-resident", dt.datetime.now(SHANGHAI))
    await send_location(bot, *HOME)
    assert "1. 王师傅（裁缝）步行约4分钟" in await say(bot, "找裁缝")


# ---- a sign-up's steps: its canteen -----------------------------------------------------------


async def test_a_sign_up_s_steps_ask_nobody_for_the_canteen(
    driven_client: TestClient, queries: list[str]
) -> None:
    await lunch_and_dinner_canteen()
    wed_8 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
    chat = Chat(driven_client.app[bot_key], when=wed_8)
    steps = [
        ("报名助餐", "给谁送"),
        ("自己", "送到哪里"),
        ("5号楼301", ""),
        ("早饭", "只送午餐、晚餐"),
    ]
    steps += [("晚饭", ""), ("明天", "")]
    for said, heard in steps:
        assert heard in await chat("o-r", said)
    queries.clear()
    for said, heard in steps:  # a neighbour signs up: the canteen is known by now
        assert heard in await chat("o-s", said)
    assert _about(queries, "canteens") == []


async def test_a_status_question_reads_the_bookings_in_one_query(
    driven_client: TestClient, queries: list[str]
) -> None:
    """我订了几天: the bookings with their day and recipient, joined in one statement (it was
    three: the bookings, then their slots, then their recipients)."""
    from delivery import service as delivery
    from models.canteen import CanteenMeal, Meal
    from models.delivery import Recipient

    await lunch_and_dinner_canteen()
    wed_8 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
    me = await Recipient.create(
        openid="o-r", label="本人", address="3号楼401", building="3", phone="13812345678"
    )
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    dinner = await CanteenMeal.get(meal=Meal.DINNER)
    for meal, day in ((dinner, 26), (lunch, 27), (lunch, 26)):
        booked = await delivery.book(me, meal, dt.date(2026, 11, day), 1, wed_8)
        assert booked.result is delivery.Result.BOOKED
    chat = Chat(driven_client.app[bot_key], when=wed_8)
    queries.clear()
    said = await chat("o-r", "我订了几天")
    # by day, lunch before dinner, as before
    shown = ("3号楼401", "26日（周四）午餐", "26日（周四）晚餐", "27日（周五）午餐")
    at = [said.find(x) for x in shown]
    assert -1 not in at and at == sorted(at), said
    assert len([q for q in queries if '"delivery_signups"' in q]) == 1
    assert _about(queries, "delivery_slots") == _about(queries, "delivery_recipients") == []
