"""A closed day (停餐) after the roster went out (issue 17's bug): the volunteers who were sent
that meal's roster are told, through the push outbox, that their round is off; before the
roster was built nobody but the residents needs telling."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.context import SHANGHAI
from canteen.cli import grant_role
from delivery import handover, roster, service
from models.canteen import CanteenMeal, Meal
from models.delivery import Recipient
from models.push import OutboxMessage, PushUrgency
from models.users import Role
from tests.conftest import lunch_and_dinner_canteen
from tests.test_grid import _chat_on

TODAY = dt.date(2026, 11, 25)
BOOKING = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
CUTOFF = dt.datetime(2026, 11, 25, 9, 31, tzinfo=SHANGHAI)


async def _book(i: int, address: str, building: str, day: dt.date = TODAY) -> None:
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    r = await Recipient.create(
        openid=f"o-home-{i}", label="本人", address=address, building=building, phone="13800001111"
    )
    assert (await service.book(r, lunch, day, 1, BOOKING)).result is service.Result.BOOKED


async def _round_off(openid: str) -> list[OutboxMessage]:
    return list(await OutboxMessage.filter(target=openid, dedupe_key__contains=":volunteer:"))


async def test_volunteers_sent_the_roster_are_told_the_round_is_off(driven_client: Any) -> None:
    chat = _chat_on(driven_client)
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    await grant_role("o-vol-a", Role.VOLUNTEER, None, "1-5号楼")
    await grant_role("o-vol-b", Role.VOLUNTEER, None, "1-5号楼")
    await grant_role("o-vol-far", Role.VOLUNTEER, None, "6-10号楼")
    await grant_role("o-vol-idle", Role.VOLUNTEER, None, "11-15号楼")  # no line today
    await _book(0, "3号楼101", "3")
    await _book(1, "3号楼102", "3")
    await _book(2, "8号楼101", "8")
    await _book(3, "3号楼301", "3", TODAY + dt.timedelta(days=1))  # tomorrow: no roster yet
    await roster.build_roster(
        await service.slot_for(await CanteenMeal.get(meal=Meal.LUNCH), TODAY), CUTOFF
    )
    # o-vol-a could not go and o-vol-b took the round over: b is told, once, like the others.
    await handover.hand_over("o-vol-a", CUTOFF)
    await handover.accept("o-vol-b", CUTOFF)

    queued = await OutboxMessage.all().count()  # the roster and the handover's
    asked = await chat("o-staff", "停餐 今天午餐")
    assert "会取消3份报名，并通知3位居民（送餐志愿者也会收到通知）" in asked
    assert await OutboxMessage.all().count() == queued  # nobody told before 确认
    said = await chat("o-staff", "确认")
    assert "取消了3份报名" in said
    [a] = await _round_off("o-vol-a")
    assert "停餐" in a.payload["text"] and "2户" in a.payload["text"]
    assert a.urgency == PushUrgency.IMPORTANT and a.escalate_to == ["o-staff"]
    [b] = await _round_off("o-vol-b")
    assert "作废，不用去送了" in b.payload["text"] and "（2户）" in b.payload["text"]
    [far] = await _round_off("o-vol-far")
    assert "1户" in far.payload["text"]
    assert await _round_off("o-vol-idle") == []
    assert await _round_off("o-staff") == []  # they closed it

    # Tomorrow's lunch has no roster yet: only the resident is told.
    asked = await chat("o-staff", "停餐 明天午餐")
    assert "会取消1份报名，并通知1位居民。" in asked and "志愿者" not in asked
    said = await chat("o-staff", "确认")
    assert "取消了1份报名" in said
    assert len(await _round_off("o-vol-a")) == 1
    assert await OutboxMessage.filter(target="o-home-3").count() == 1


async def test_an_offer_waiting_when_the_day_closes_asks_the_staff_for_nothing(
    driven_client: Any,
) -> None:
    from delivery import scheduler

    chat = _chat_on(driven_client)
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    await grant_role("o-vol-a", Role.VOLUNTEER, None, "1-5号楼")
    await grant_role("o-vol-b", Role.VOLUNTEER, None, "1-5号楼")
    await _book(0, "3号楼101", "3")
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    await roster.build_roster(await service.slot_for(lunch, TODAY), CUTOFF)
    offer = await handover.hand_over("o-vol-a", CUTOFF)
    await chat("o-staff", "停餐 今天午餐")
    assert "已停餐" in await chat("o-staff", "确认")
    assert await scheduler.tick(offer.handover.expires_at) == {
        "rosters": 0,
        "overdue": 0,
        "handovers": 1,
    }
    expired = OutboxMessage.filter(dedupe_key__contains=":expired:")
    assert [m.target for m in await expired] == ["o-vol-b"]  # told not to answer; nobody else
    assert "已经交给食堂安排了" in await chat("o-vol-b", "我来送")
