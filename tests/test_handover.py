"""今天我去不了 with acceptance (issue 17): the round is offered to the area's other volunteers,
the first to answer 我来送 takes it and the roster follows; later answers hear it is taken;
nobody within the wait: back to the staff (on the scheduler's tick, at the clock's time); the
volunteer can take it back while nobody has accepted. Said through the /wechat callback."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from bot.context import SHANGHAI
from canteen.cli import grant_role
from community.errors import DomainError
from delivery import handover, roster, scheduler, service
from models.canteen import CanteenMeal, Meal
from models.delivery import Recipient
from models.push import OutboxMessage
from models.users import Role
from models.volunteers import Handover, HandoverStatus, VolunteerTask
from tests.conftest import lunch_and_dinner_canteen
from tests.test_grid import _chat_on

TODAY = dt.date(2026, 11, 25)
BOOKING = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
CUTOFF = dt.datetime(2026, 11, 25, 9, 31, tzinfo=SHANGHAI)
NOW = dt.datetime(2026, 11, 25, 9, 5, tzinfo=SHANGHAI)  # _chat_on's clock


async def _round(addresses: list[str]) -> None:
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    for i, address in enumerate(addresses):
        r = await Recipient.create(
            openid=f"o-home-{i}",
            label="本人",
            address=address,
            building="3",
            phone=f"1380000{i:04d}",
        )
        assert (await service.book(r, lunch, TODAY, 1, BOOKING)).result is service.Result.BOOKED
    assert await roster.build_roster(await service.slot_for(lunch, TODAY), CUTOFF) == len(addresses)


@pytest.fixture
async def crew(driven_client: Any) -> Any:
    """Staff, three volunteers of 1-5号楼 and one of 6-10号楼; lunch lines 1-3 in 3号楼."""
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    for who in ("o-vol-a", "o-vol-b", "o-vol-c"):
        await grant_role(who, Role.VOLUNTEER, None, "1-5号楼")
    await grant_role("o-vol-far", Role.VOLUNTEER, None, "6-10号楼")
    await _round(["3号楼101", "3号楼2单元601", "3号楼103"])
    return _chat_on(driven_client)


async def _texts(target: str, step: str = "") -> list[str]:
    rows = await OutboxMessage.filter(target=target, dedupe_key__contains=f":{step}").order_by("id")
    return [m.payload["text"] for m in rows if str(m.dedupe_key).startswith("handover:")]


async def test_the_first_to_answer_takes_the_round_and_the_roster_follows(crew: Any) -> None:
    chat = crew
    assert "已记下" in await chat("o-vol-a", "1 送到")

    said = await chat("o-vol-a", "今天我去不了")
    assert "2户已发给同片区的2位志愿者" in said and "09:35前没人接" in said
    [offer] = await _texts("o-vol-b", "offer")
    # Each is told how many homes and where (no phone numbers before someone takes it).
    assert "有2户还没送：3号楼103、3号楼2单元601" in offer and "我来送" in offer
    assert "13800001" not in offer
    assert await _texts("o-vol-far") == []
    [fyi] = await _texts("o-staff", "staff")
    assert "已请同片区的2位志愿者帮忙" in fyi
    assert "已经发出了" in await chat("o-vol-a", "今天去不了")  # asked twice: one offer

    taken = await chat("o-vol-b", "我来送")
    assert "这2户交给您了" in taken and "3. 3号楼2单元601" in taken and "13800000001" in taken
    assert "1. 3号楼101" not in taken  # delivered already
    [told] = await _texts("o-staff", "taken")
    assert "志愿者…ol-a今天去不了的2户，志愿者…ol-b接了" in told
    [giver] = await _texts("o-vol-a", "taken")
    assert "志愿者…ol-b接了您今天的2户" in giver
    assert "已经有志愿者接了" in (await _texts("o-vol-c", "taken"))[0]

    # Later answers are told it is taken; the winner asking again is told it is theirs.
    assert "已经有别的志愿者接了" in await chat("o-vol-c", "好的我去")
    assert "已经交给您了" in await chat("o-vol-b", "我接")

    # The roster follows: the lines are the taker's alone.
    mine = await chat("o-vol-b", "我的名单")
    assert "2. 3号楼103" in mine and "3. 3号楼2单元601" in mine
    gone = await chat("o-vol-a", "我的名单")
    assert "3号楼2单元601" not in gone and "1. 3号楼101" in gone
    assert "3号楼103" not in await chat("o-vol-c", "我的名单")
    assert "没有您负责的第2号" in await chat("o-vol-a", "2 送到")
    assert "已经有志愿者接了" in await chat("o-vol-a", "我又能去了")

    # The taker reports as usual and earns the weighted points: line 3 is a 6th floor walk-up
    # (1 + 2), line 2 a ground floor (1), each taken over (+1 each), the handover task (+2): 8.
    assert "已记下：第2、3号已送达" in await chat("o-vol-b", "2 3 送到")
    points = await chat("o-vol-b", "我的积分")
    assert "2026年的志愿者积分：8分（本月8分）" in points
    assert "本月送餐2户，其中高楼层1户、接手的2户；另有任务1项" in points
    assert await VolunteerTask.filter(openid="o-vol-b", kind="handover").count() == 1


async def test_two_volunteers_accepting_at_once_exactly_one_wins(crew: Any) -> None:
    done = await handover.hand_over("o-vol-a", NOW)
    assert done.to_volunteers == ["o-vol-b", "o-vol-c"]
    results = await asyncio.gather(
        handover.accept("o-vol-b", NOW),
        handover.accept("o-vol-c", NOW),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, handover.Taken)]
    lost = [r for r in results if isinstance(r, DomainError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].code == "taken"
    h = await Handover.get(pk=done.handover.pk)
    assert h.status == HandoverStatus.TAKEN and h.taker == won[0].handover.taker
    assert await VolunteerTask.all().count() == 1  # the task is credited once
    assert len(await roster.volunteer_lines(str(h.taker), TODAY)) == 3
    loser = ({"o-vol-b", "o-vol-c"} - {h.taker}).pop()
    assert [s.line_no for s in await roster.volunteer_lines(loser, TODAY)] == []


async def test_nobody_accepts_in_time_the_staff_get_it(crew: Any, driven_client: Any) -> None:
    chat = crew
    said = await chat("o-vol-a", "去不了")
    assert "09:35前没人接" in said  # 30 minutes (the setting), sooner than lunch at 11:00
    assert await scheduler.tick(dt.datetime(2026, 11, 25, 9, 34, tzinfo=SHANGHAI)) == {
        "rosters": 0,
        "overdue": 0,
    }
    done = await scheduler.tick(dt.datetime(2026, 11, 25, 9, 35, tzinfo=SHANGHAI))
    assert done["handovers"] == 1
    assert "handovers" not in await scheduler.tick(
        dt.datetime(2026, 11, 25, 9, 36, tzinfo=SHANGHAI)
    )  # once
    [staff] = await _texts("o-staff", "expired")
    assert "3户没有志愿者接，请安排人送" in staff and "3. 3号楼2单元601" in staff
    assert "已交给食堂安排" in (await _texts("o-vol-a", "expired"))[0]
    assert "交给食堂" in (await _texts("o-vol-b", "expired"))[0]
    # Too late to accept, too late to take back; the lines left the volunteer's roster.
    assert "已经交给食堂安排了" in await chat("o-vol-b", "我来送")
    assert "交给食堂安排了" in await chat("o-vol-a", "我又能去了")
    assert "3号楼101" not in await chat("o-vol-a", "我的名单")
    # Others of the area still see the lines, and may help as they always could.
    assert "3号楼101" in await chat("o-vol-b", "我的名单")


async def test_the_wait_ends_at_the_meal_s_delivery_time(crew: Any, driven_client: Any) -> None:
    late = dt.datetime(2026, 11, 25, 10, 50, tzinfo=SHANGHAI)
    done = await handover.hand_over("o-vol-a", late, dt.timedelta(minutes=30))
    assert done.handover.expires_at == dt.datetime(2026, 11, 25, 11, 0, tzinfo=SHANGHAI)
    await handover.take_back("o-vol-a", late)
    later = dt.datetime(2026, 11, 25, 10, 58, tzinfo=SHANGHAI)
    again = await handover.hand_over("o-vol-a", later, dt.timedelta(minutes=30))
    assert again.handover.expires_at == later + handover.MIN_WAIT


async def test_the_volunteer_takes_it_back_while_nobody_has_accepted(crew: Any) -> None:
    chat = crew
    await chat("o-vol-a", "今天俺去不成了 腰疼")
    said = await chat("o-vol-a", "我又能去了")
    assert "3户还是您送" in said
    assert "又能去了，不用帮忙了" in (await _texts("o-vol-b", "withdrawn"))[0]
    assert "又能去了" in (await _texts("o-staff", "withdrawn"))[0]
    assert "原来的志愿者又能去了" in await chat("o-vol-b", "我来送")
    assert "2. 3号楼103" in await chat("o-vol-a", "我的名单")
    assert (await Handover.get(giver="o-vol-a")).status == HandoverStatus.WITHDRAWN


async def test_two_offers_are_taken_by_number(crew: Any) -> None:
    chat = crew
    await grant_role("o-vol-far2", Role.VOLUNTEER, None, "1-5号楼")
    first = await handover.hand_over("o-vol-a", NOW)
    # A second volunteer of the area gives up too (their lines overlap: the area's roster).
    second = await handover.hand_over("o-vol-c", NOW)
    asked = await chat("o-vol-b", "我来送")
    assert f"接{first.handover.pk}：1-5号楼 3户" in asked and f"接{second.handover.pk}" in asked
    taken = await chat("o-vol-b", f"接 {second.handover.pk}")
    assert "交给您了" in taken
    assert (await Handover.get(pk=first.handover.pk)).status == HandoverStatus.OFFERED
    assert "交给您了" in await chat("o-vol-far2", "我接")  # the one still waiting


async def test_nobody_else_in_the_area_the_staff_get_it_at_once(driven_client: Any) -> None:
    chat = _chat_on(driven_client)
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    await grant_role("o-vol-a", Role.VOLUNTEER, None, "1-5号楼")
    await _round(["3号楼101"])
    assert "转给食堂工作人员" in await chat("o-vol-a", "有事去不了")
    h = await Handover.get(giver="o-vol-a")
    assert h.status == HandoverStatus.TO_STAFF and h.offered_to == []
    assert "没有别的志愿者" in (await _texts("o-staff", "staff"))[0]


async def test_a_volunteer_in_the_middle_of_a_form_takes_the_round_offered(crew: Any) -> None:
    """我来送 while a sign-up asks 给谁送 answers the offer (it was taken for a wrong answer to
    给谁送); the sign-up waits and is asked again."""
    chat = crew
    assert "给谁送" in await chat("o-vol-c", "报名送餐")
    await chat("o-vol-a", "今天我去不了")
    taken = await chat("o-vol-c", "我来送")
    assert "交给您了" in taken and "给谁送" in taken
    assert "送到哪里" not in taken
