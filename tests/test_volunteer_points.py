"""Volunteer points (我的积分, 积分榜): one point per line reported delivered, per year (issue 17),
said through the /wechat callback."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.context import SHANGHAI
from canteen.cli import grant_role
from delivery import roster, service
from models.canteen import CanteenMeal, Meal
from models.delivery import Recipient, Signup
from models.users import Role
from tests.conftest import lunch_and_dinner_canteen
from tests.test_grid import _chat_on

TODAY = dt.date(2026, 11, 25)
BOOKING = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
CUTOFF = dt.datetime(2026, 11, 25, 9, 31, tzinfo=SHANGHAI)


async def _round(homes: int) -> None:
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    for i in range(homes):
        r = await Recipient.create(
            openid=f"o-home-{i}", label="本人", address=f"3号楼{101 + i}", building="3", phone=""
        )
        assert (await service.book(r, lunch, TODAY, 1, BOOKING)).result is service.Result.BOOKED
    assert await roster.build_roster(await service.slot_for(lunch, TODAY), CUTOFF) == homes


async def test_points_per_delivered_line_and_the_staff_s_yearly_list(driven_client: Any) -> None:
    chat = _chat_on(driven_client)  # 2026-11-25 09:05
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    await grant_role("o-vol-a", Role.VOLUNTEER, None, "1-5号楼")
    await grant_role("o-vol-b", Role.VOLUNTEER, None, "1-5号楼")
    await _round(3)

    assert "已记下" in await chat("o-vol-a", "1 2 送到")
    assert "已记下" in await chat("o-vol-b", "3 没人")  # no answer: no point
    assert "2026年的志愿者积分：2分（本月2分）" in await chat("o-vol-a", "我的积分")
    assert "0分" in await chat("o-vol-b", "我的志愿者积分")

    board = await chat("o-staff", "积分榜")
    assert "1. 志愿者…ol-a（1-5号楼）：2分" in board and "ol-b" not in board
    assert "只给食堂工作人员" in await chat("o-vol-a", "积分榜")
    assert "送餐志愿者" in await chat("o-home-0", "我的积分")

    # Points are per year: a line delivered last year no longer counts.
    line = await Signup.get(line_no=1)
    last_year = dt.datetime(2025, 12, 31, 12, 0, tzinfo=SHANGHAI)
    await Signup.filter(pk=line.pk).update(reported_at=last_year)
    assert "积分：1分" in await chat("o-vol-a", "我的积分")


async def test_a_volunteer_who_cannot_go_hands_the_round_to_the_area_s_others(
    driven_client: Any,
) -> None:
    from models.push import OutboxMessage

    chat = _chat_on(driven_client)  # 2026-11-25 09:05
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    await grant_role("o-vol-a", Role.VOLUNTEER, None, "1-5号楼")
    await grant_role("o-vol-b", Role.VOLUNTEER, None, "1-5号楼")
    await grant_role("o-vol-far", Role.VOLUNTEER, None, "6-10号楼")
    await _round(3)
    await chat("o-vol-a", "1 送到")

    said = await chat("o-vol-a", "今天我去不了")
    assert "2户已转给同片区的1位志愿者" in said
    [help_] = await OutboxMessage.filter(target="o-vol-b", subject="handover:2026-11-25")
    text = help_.payload["text"]
    assert "2. 3号楼102" in text and "3. 3号楼103" in text and "1. 3号楼101" not in text
    far = OutboxMessage.filter(target="o-vol-far", subject__startswith="handover")
    assert await far.count() == 0
    [fyi] = await OutboxMessage.filter(target="o-staff", subject="handover:2026-11-25")
    assert "其他志愿者帮忙" in fyi.payload["text"]
    # The helper reports the lines as usual, and earns the points.
    assert "已记下" in await chat("o-vol-b", "2 3 送到")
    assert "积分：2分" in await chat("o-vol-b", "我的积分")
    assert "没有还没送的户" in await chat("o-vol-b", "今天我去不了")
    assert "志愿者的功能" in await chat("o-home-0", "今天我去不了")


async def test_with_nobody_else_in_the_area_the_staff_get_the_round(driven_client: Any) -> None:
    from models.push import OutboxMessage

    chat = _chat_on(driven_client)
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    await grant_role("o-vol-a", Role.VOLUNTEER, None, "1-5号楼")
    await _round(2)
    assert "转给食堂工作人员" in await chat("o-vol-a", "有事去不了")
    [msg] = await OutboxMessage.filter(target="o-staff", subject="handover:2026-11-25")
    assert "没有别的志愿者" in msg.payload["text"] and "3号楼102" in msg.payload["text"]
