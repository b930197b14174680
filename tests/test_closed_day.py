"""A closed day (停餐 12月3日): the canteen staff say it once; every booking of that day is
cancelled and each booking account told; nobody can book it afterwards (issue 17)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.context import SHANGHAI
from canteen.cli import grant_role
from community.errors import DomainError
from delivery import service
from models.canteen import CanteenMeal, Meal
from models.delivery import MealSlot, Recipient, Signup, SignupStatus
from models.push import OutboxMessage
from models.users import Role
from tests.conftest import lunch_and_dinner_canteen
from tests.test_grid import _chat_on

NOW = dt.datetime(2026, 11, 25, 9, 5, tzinfo=SHANGHAI)  # _chat_on's clock
DEC3 = dt.date(2026, 12, 3)


@pytest.fixture
async def setup(driven_client: Any) -> Any:
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    return canteen


async def _book(openid: str, label: str, meal: Meal, day: dt.date = DEC3, count: int = 1) -> None:
    recipient = await Recipient.create(
        openid=openid, label=label, address="3号楼101", building="3", phone="13800001111"
    )
    offered = await CanteenMeal.get(meal=meal)
    booking = await service.book(recipient, offered, day, count, NOW)
    assert booking.result is service.Result.BOOKED


async def test_staff_close_a_day_everyone_booked_is_told_and_nobody_can_book_it(
    setup: Any, driven_client: Any
) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    await _book("o-b", "妈妈", Meal.DINNER, count=2)
    await _book("o-c", "本人", Meal.LUNCH, day=DEC3 + dt.timedelta(days=1))  # another day

    said = await chat("o-staff", "停餐 12月3日")
    assert "12月3日午餐、晚餐" in said and "取消了2份报名，已通知2位居民" in said
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 1  # o-c's, the 4th
    told = {m.target: m.payload["text"] for m in await OutboxMessage.all()}
    assert set(told) == {"o-a", "o-b"}
    assert "12月3日午餐停餐" in told["o-a"] and "给妈妈订的" in told["o-b"]
    assert {s.booked for s in await MealSlot.filter(date=DEC3)} == {0}

    # Nobody can book the closed day; the day after is untouched.
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    late = await Recipient.create(
        openid="o-d", label="本人", address="3号楼102", building="3", phone="13800003333"
    )
    assert (await service.book(late, lunch, DEC3, 1, NOW)).result is service.Result.FULL
    assert (await service.book(late, lunch, DEC3 + dt.timedelta(days=2), 1, NOW)).result is (
        service.Result.BOOKED
    )
    # Saying it again tells nobody twice.
    assert "还没有人报名" in await chat("o-staff", "停餐 12月3日")
    assert await OutboxMessage.all().count() == 2


async def test_closing_one_meal_keeps_the_other(setup: Any, driven_client: Any) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    await _book("o-b", "本人", Meal.DINNER)
    said = await chat("o-staff", "12月3日午餐停餐")
    assert "12月3日午餐" in said and "晚餐" not in said
    kept = await Signup.filter(status=SignupStatus.BOOKED).prefetch_related("recipient")
    assert [s.recipient.openid for s in kept] == ["o-b"]


async def test_only_staff_close_and_never_a_past_day(setup: Any, driven_client: Any) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    # A resident saying it cancels at most their own booking (o-z has none), never the canteen.
    assert "已停餐" not in await chat("o-z", "停餐 12月3日")
    with pytest.raises(DomainError) as refused:
        await service.close_day("o-a", setup, DEC3, NOW)
    assert refused.value.code == "not_staff"
    with pytest.raises(DomainError) as past:
        await service.close_day("o-staff", setup, dt.date(2026, 11, 24), NOW)
    assert past.value.code == "past"
    assert "哪天停餐" in await chat("o-staff", "停餐 过几天")
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 1
    assert await OutboxMessage.all().count() == 0


async def test_sold_out_stops_new_sign_ups_and_keeps_the_booked(
    setup: Any, driven_client: Any
) -> None:
    chat = _chat_on(driven_client)  # 09:05, before lunch's 09:30 cutoff
    today = NOW.date()
    await _book("o-a", "本人", Meal.LUNCH, day=today, count=2)
    said = await chat("o-staff", "售罄 午餐")
    assert "11月25日" in said and "午餐不再接受报名" in said and "已报名的2份照常送" in said
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    late = await Recipient.create(
        openid="o-d", label="本人", address="3号楼102", building="3", phone="13800003333"
    )
    assert (await service.book(late, lunch, today, 1, NOW)).result is service.Result.FULL
    dinner = await CanteenMeal.get(meal=Meal.DINNER)
    assert (await service.book(late, dinner, today, 1, NOW)).result is service.Result.BOOKED
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 2  # o-a's still goes
    assert "晚餐不再接受报名" in await chat("o-staff", "明天晚餐售罄")
    tomorrow = await MealSlot.get(date=today + dt.timedelta(days=1), meal=Meal.DINNER)
    assert tomorrow.capacity == 0
    assert "哪一餐" in await chat("o-staff", "售罄")
    assert "售罄" not in await chat("o-a", "午餐售罄了")  # residents cannot
    assert (await MealSlot.get(date=today, meal=Meal.DINNER)).capacity == 30
