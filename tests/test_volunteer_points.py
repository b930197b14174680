"""Volunteer points (我的积分, 积分榜): one point per line reported delivered, per year (issue 17),
said through the /wechat callback."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.context import SHANGHAI
from canteen.cli import grant_role
from delivery import roster, service
from handlers.keys import bot_key
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
    assert "积分：0分" in await chat("o-vol-b", "我的志愿者积分")

    board = await chat("o-staff", "积分榜")
    assert "1. 志愿者…ol-a（1-5号楼）：2分" in board and "ol-b" not in board
    assert "只给食堂工作人员" in await chat("o-vol-a", "积分榜")
    assert "送餐志愿者" in await chat("o-home-0", "我的积分")

    # Points are per year: a line delivered last year no longer counts.
    line = await Signup.get(line_no=1)
    last_year = dt.datetime(2025, 12, 31, 12, 0, tzinfo=SHANGHAI)
    await Signup.filter(pk=line.pk).update(reported_at=last_year)
    assert "积分：1分" in await chat("o-vol-a", "我的积分")


async def test_a_volunteer_who_cannot_go_offers_the_round_to_the_area_s_others(
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
    assert "2户已发给同片区的1位志愿者" in said
    [help_] = await OutboxMessage.filter(target="o-vol-b", subject="handover:2026-11-25")
    text = help_.payload["text"]
    assert "3号楼102、3号楼103" in text and "3号楼101" not in text and "我来送" in text
    far = OutboxMessage.filter(target="o-vol-far", subject__startswith="handover")
    assert await far.count() == 0
    [fyi] = await OutboxMessage.filter(target="o-staff", subject="handover:2026-11-25")
    assert "同片区的1位志愿者帮忙" in fyi.payload["text"]
    # The helper takes it, reports the lines as usual, and earns the points: 2 lines, each
    # taken over (+1), and the handover (+2).
    assert "交给您了" in await chat("o-vol-b", "我来送")
    assert "已记下" in await chat("o-vol-b", "2 3 送到")
    assert "积分：6分" in await chat("o-vol-b", "我的积分")
    assert "没有还没送的户" in await chat("o-vol-b", "今天我去不了")
    assert "志愿者的功能" in await chat("o-home-0", "今天我去不了")


async def test_points_are_weighted_by_floor_and_tasks_count_and_last_year_stays(
    driven_client: Any,
) -> None:
    from delivery import points
    from models.grid import GridReport

    chat = _chat_on(driven_client)  # 2026-11-25 09:05
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    await grant_role("o-vol-a", Role.VOLUNTEER, None, "1-5号楼")
    await grant_role("o-courier", Role.VOLUNTEER, None, "6-10号楼")
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    for i, address in enumerate(["3号楼2单元601", "3号楼1单元401", "3号楼1单元201"]):
        r = await Recipient.create(
            openid=f"o-home-{i}", label="本人", address=address, building="3", phone=""
        )
        await service.book(r, lunch, TODAY, 1, BOOKING)
    await roster.build_roster(await service.slot_for(lunch, TODAY), CUTOFF)
    assert "已记下" in await chat("o-vol-a", "1 2 3 送到")
    # 6th floor: 1 + 2; 4th floor: 1 + 1; 2nd floor: 1. A problem reported to the grid: 1.
    await GridReport.create(
        openid="o-vol-a", text="3号楼楼道灯坏了", address="3号楼", building="3", phone=""
    )
    mine = await chat("o-vol-a", "我的积分")
    assert "2026年的志愿者积分：7分（本月7分）" in mine
    assert "本月送餐3户，其中高楼层2户；另有任务1项" in mine
    assert "4楼以上（没电梯）加1分" in mine  # the weights, said once

    # Another module credits a task through the public function; twice is once.
    at = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
    assert await points.credit_task("o-courier", points.COURIER, "courier:42", at)
    assert not await points.credit_task("o-courier", points.COURIER, "courier:42", at)
    assert await points.credit_task("o-courier", "errand", "errand:7", at, points=3)
    board = await chat("o-staff", "积分榜")
    assert "1. 志愿者…ol-a（1-5号楼）：7分" in board
    assert "2. 志愿者…rier（6-10号楼）：5分" in board

    # A new year starts from zero; last year's stay readable.
    await Signup.all().update(reported_at=dt.datetime(2025, 6, 1, 10, 0, tzinfo=SHANGHAI))
    await GridReport.all().update(created_at=dt.datetime(2025, 6, 1, 10, 0, tzinfo=SHANGHAI))
    assert "2026年的志愿者积分：0分" in await chat("o-vol-a", "我的积分")
    last = await chat("o-vol-a", "去年积分")
    assert "2025年的志愿者积分：7分" in last and "2025年送餐3户，其中高楼层2户" in last
    assert "2025年的志愿者积分：7分" in await chat("o-vol-a", "我2025年的积分")
    assert "1. 志愿者…ol-a（1-5号楼）：7分" in await chat("o-staff", "去年积分榜")
    assert points.floor_of("12号楼1单元1502") == 15 and points.floor_of("5号楼东边") is None


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


async def test_the_console_points_page_lists_the_year_and_today_s_handovers(
    driven_client: Any, fake_wechat: Any
) -> None:
    import csv
    import io

    from tests.console_support import console_login, make_staff

    chat = _chat_on(driven_client)  # 2026-11-25 09:05
    canteen = await lunch_and_dinner_canteen()
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)
    await grant_role("o-vol-a", Role.VOLUNTEER, None, "1-5号楼")
    await grant_role("o-vol-b", Role.VOLUNTEER, None, "1-5号楼")
    await _round(3)
    await chat("o-vol-a", "1 送到")
    await chat("o-vol-a", "今天我去不了")
    await chat("o-vol-b", "我来送")
    await chat("o-vol-b", "2 送到")
    # A formula typed as an area must come out of the CSV as text.
    await grant_role("o-vol-c", Role.VOLUNTEER, None, "=HYPERLINK(1)")
    now = dt.datetime(2026, 11, 25, 9, 10, tzinfo=SHANGHAI)
    from delivery import points

    await points.credit_task("o-vol-c", points.COURIER, "courier:1", now)
    await console_login(driven_client, fake_wechat, staff)

    page = await (await driven_client.get("/console/points")).text()
    assert "2026年志愿者积分" in page
    ranking = page[page.index('id="ranking"') : page.index("</table>")]
    # b: 1 line taken over (1 + 1) and the handover (2) = 4; c: the courier task 2; a: 1.
    assert (
        ranking.index("志愿者…ol-b") < ranking.index("志愿者…ol-c") < ranking.index("志愿者…ol-a")
    )
    assert "<b>4</b>" in ranking
    assert "志愿者…ol-a（1-5号楼，2户）去不了" in page and "<b>志愿者…ol-b</b>接了" in page

    resp = await driven_client.get("/console/points.csv?year=2026")
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO((await resp.text()).lstrip("\ufeff"))))
    assert rows[0][:3] == ["rank", "volunteer", "openid"]
    assert rows[1][1:3] == ["志愿者…ol-b", "o-vol-b"] and rows[1][-1] == "4"
    assert rows[2][3] == "'=HYPERLINK(1)"  # neutralised
    last_year = await (await driven_client.get("/console/points?year=2025")).text()
    assert "2025年还没有志愿者积分记录" in last_year
    assert (await driven_client.get("/console/points?year=abc")).status == 200
    driven_client.session.cookie_jar.clear()  # signed out: the login page
    resp = await driven_client.get("/console/points", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/console/login"


async def test_a_community_changes_the_weights_in_its_settings(driven_client: Any) -> None:
    import dataclasses

    import pytest

    from delivery import points
    from settings import POINT_WEIGHT_KEYS, SettingsError, load_settings

    fields = {f.name for f in dataclasses.fields(points.Weights)} - {"tasks", "lift_buildings"}
    assert set(POINT_WEIGHT_KEYS) == fields | set(points.WEIGHTS.tasks)
    with pytest.raises(SettingsError):
        load_settings(None, volunteer_point_weights="floor=3")

    chat = _chat_on(driven_client)  # 2026-11-25 09:05
    bot = driven_client.app[bot_key]
    bot.services.settings = bot.services.settings.model_copy(
        update={"volunteer_point_weights": "line=2,taken_over=3", "buildings_with_lift": "3、7"}
    )
    await lunch_and_dinner_canteen()
    await grant_role("o-vol-a", Role.VOLUNTEER, None, "1-5号楼")
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    r = await Recipient.create(
        openid="o-home-0", label="本人", address="3号楼2单元601", building="3", phone=""
    )
    await service.book(r, lunch, TODAY, 1, BOOKING)
    await roster.build_roster(await service.slot_for(lunch, TODAY), CUTOFF)
    await chat("o-vol-a", "1 送到")
    mine = await chat("o-vol-a", "我的积分")
    # 2 for the home; the 6th floor of building 3 has a lift: no extra.
    assert "积分：2分" in mine and "每送到一户2分" in mine and "接手的每户再加3分" in mine
    assert "高楼层" not in mine.splitlines()[1]
