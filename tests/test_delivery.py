"""Meal delivery: the sign-up form, cutoff and capacity, cancelling, status, the roster pushed
to each area's volunteers at the cutoff, their reports, and the alerts that follow."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import io
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.context import SHANGHAI
from canteen.cli import grant_role
from delivery import roster, scheduler, service
from delivery.days import parse_days
from delivery.places import AddressError, area_for, buildings_of, parse_address
from handlers.keys import bot_key, redis_key
from infra import keys
from models.canteen import CanteenMeal, Meal
from models.delivery import MealSlot, Outcome, Recipient, Signup, SignupStatus
from models.push import OutboxMessage
from models.users import Role
from server.lifecycle import push_worker_key, run_delivery_scheduler
from tests.chat_support import Chat
from tests.conftest import lunch_and_dinner_canteen
from wechat_api.fake import FakeWeChat

WED = dt.date(2026, 11, 25)
THU = WED + dt.timedelta(days=1)
STAFF = "o-staff"
VOL_A, VOL_B, GRID_A = "o-vol-a", "o-vol-b", "o-grid-a"
# The last answers of a sign-up: count, diet, phone, emergency contact, confirm.
TAIL = ("1", "没有", "13812345678", "没有", "确认")


def at(day: dt.date, hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=SHANGHAI)


@pytest.fixture
async def canteen(driven_client: TestClient) -> Any:
    c = await lunch_and_dinner_canteen()
    await grant_role(STAFF, Role.CANTEEN_STAFF, c.pk, None)
    await grant_role(VOL_A, Role.VOLUNTEER, None, "1-5号楼")
    await grant_role(GRID_A, Role.VOLUNTEER, None, "1-5号楼", grid=True)
    await grant_role(VOL_B, Role.VOLUNTEER, None, "6、7、8号楼")
    return c


@pytest.fixture
def say(driven_client: TestClient, canteen: Any) -> Chat:
    return Chat(driven_client.app[bot_key], when=at(WED, "08:00"))


async def lunch(canteen: Any) -> CanteenMeal:
    return await CanteenMeal.get(canteen=canteen, meal=Meal.LUNCH)


async def sign_up(say: Chat, user: str, *answers: str) -> str:
    reply = ""
    for text in answers:
        reply = await say(user, text)
    return reply


# ---- pure parts ------------------------------------------------------------------------------


def test_addresses_and_areas() -> None:
    assert parse_address("3号楼2单元401") == ("3号楼2单元401", "3")
    assert parse_address(" 12栋 1单元 302室") == ("12栋1单元302室", "12")
    assert parse_address("三号楼201") == ("三号楼201", "3")
    for bad, why in (("家里", "楼号"), ("5号楼", "门牌")):
        with pytest.raises(AddressError, match=why):
            parse_address(bad)
    assert buildings_of("1-5号楼") == {"1", "2", "3", "4", "5"}
    assert buildings_of("6、7、8号楼") == {"6", "7", "8"}
    assert buildings_of("东区") is None
    assert area_for(["6、7、8号楼", "1-5号楼"], "3", "3号楼2单元401") == "1-5号楼"
    assert area_for(["东区"], "3", "东区3号楼401") == "东区"
    assert area_for(["1-5号楼"], "12", "12号楼101") == "未分片区"


@pytest.mark.parametrize(
    ("text", "first", "n", "recurring"),
    [
        ("明天", THU, 1, False),
        ("周一到周三", dt.date(2026, 11, 30), 3, False),
        ("周五到下周二", dt.date(2026, 11, 27), 5, False),
        ("每个工作日", WED, 10, True),
        ("天天都送", WED, 14, True),
        ("28号", dt.date(2026, 11, 28), 1, False),
        ("明天后天", THU, 2, False),  # said back to back, no separator
        ("从明天开始每天", THU, 14, True),  # starts where it says, not today
        ("下周一起每个工作日", dt.date(2026, 11, 30), 10, True),
    ],
)
def test_days(text: str, first: dt.date, n: int, recurring: bool) -> None:
    days = parse_days(text, WED)
    assert days is not None
    assert days.dates[0] == first and len(days.dates) == n and days.recurring is recurring


def test_breakfast_cutoff_is_the_evening_before() -> None:
    breakfast = CanteenMeal(meal=Meal.BREAKFAST, serve_from="07:00", signup_cutoff="20:00")
    assert service.cutoff_at(breakfast, THU) == at(WED, "20:00")
    lunch_ = CanteenMeal(meal=Meal.LUNCH, serve_from="11:00", signup_cutoff="09:30")
    assert service.cutoff_at(lunch_, THU) == at(THU, "09:30")


# ---- the sign-up form ------------------------------------------------------------------------


async def test_sign_up_for_a_relative_step_by_step(say: Chat, canteen: Any) -> None:
    reply = await say("o-daughter", "能给我妈送饭吗")
    assert "送到哪里" in reply  # 我妈 was understood; the form asks the next thing
    assert "送哪一餐" in await say("o-daughter", "3号楼2单元401")
    assert "哪几天" in await say("o-daughter", "午饭")
    assert "几份" in await say("o-daughter", "明天和后天")
    assert "忌口" in await say("o-daughter", "两份")
    assert "电话" in await say("o-daughter", "少盐，要软烂")
    assert "紧急联系人" in await say("o-daughter", "138 1234 5678")
    summary = await say("o-daughter", "13900001111")
    assert "给谁：我妈" in summary and "3号楼2单元401" in summary and "每餐2份" in summary
    done = await say("o-daughter", "确认")
    assert "报名成功" in done and "明天" in done and "后天" in done
    rows = await Signup.filter(status=SignupStatus.BOOKED).prefetch_related("slot", "recipient")
    assert sorted(s.slot.date for s in rows) == [THU, THU + dt.timedelta(days=1)]
    assert {s.count for s in rows} == {2}
    r = rows[0].recipient
    assert (r.label, r.phone, r.emergency_phone, r.diet) == (
        "我妈",
        "13812345678",
        "13900001111",
        "少盐，要软烂",
    )
    assert [s.booked for s in await MealSlot.all().order_by("date")] == [2, 2]


async def test_each_step_re_asks_with_the_reason(say: Chat, canteen: Any) -> None:
    assert "给谁送" in await say("o-r", "报名助餐")
    assert "送到哪里" in await say("o-r", "自己")
    reply = await say("o-r", "家里")
    assert "没看到楼号" in reply and "送到哪里" in reply
    await say("o-r", "5号楼301")
    assert "食堂只送午餐、晚餐" in await say("o-r", "早饭")
    await say("o-r", "晚饭")
    assert "不能报过去的日子" in await say("o-r", "昨天")
    assert "没听明白" in await say("o-r", "随便")
    await say("o-r", "明天")
    assert "最多送5份" in await say("o-r", "8")
    await say("o-r", "1")
    await say("o-r", "没有")
    assert "电话号码不对" in await say("o-r", "12345")
    await say("o-r", "13812345678")
    assert "没有紧急联系人" in await say("o-r", "abc")
    assert "请核对" in await say("o-r", "没有")
    assert "2. 地址" in await say("o-r", "修改")  # the fields by number
    assert await Signup.all().count() == 0


async def test_returning_resident_skips_what_is_known(say: Chat, canteen: Any) -> None:
    await sign_up(say, "o-r", "给我送饭", "5号楼301", "午饭", "明天", *TAIL)
    reply = await say("o-r", "后天晚饭也给我送一份")
    assert "请核对" in reply and "5号楼301" in reply and "晚餐" in reply  # nothing asked again
    assert "报名成功" in await say("o-r", "确认")
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 2
    assert await Recipient.all().count() == 1


async def test_past_cutoff_says_so_and_offers_the_next_day(say: Chat, canteen: Any) -> None:
    say.when = at(WED, "10:00")  # lunch sign-ups closed at 09:30
    reply = await sign_up(say, "o-r", "今天中午给我送饭", "5号楼301", *TAIL)
    assert "已过报名截止时间" in reply and "明天" in reply and "送餐 11月26日午餐1份" in reply
    assert await Signup.all().count() == 0
    reply = await say("o-r", "送餐 11月26日午餐1份")
    assert "请核对" in reply
    assert "报名成功" in await say("o-r", "确认")


async def test_full_meal_offers_the_next_day(say: Chat, canteen: Any) -> None:
    await CanteenMeal.filter(canteen=canteen, meal=Meal.LUNCH).update(delivery_capacity=1)
    await sign_up(say, "o-a", "明天午饭给我送", "5号楼301", *TAIL)
    reply = await sign_up(
        say, "o-b", "明天午饭给我送", "6号楼301", "1", "没有", "13812345679", "没有", "确认"
    )
    assert "名额已满" in reply and "后天" in reply
    assert (await MealSlot.get(date=THU)).booked == 1


async def test_capacity_holds_under_200_concurrent_sign_ups_for_50_places(canteen: Any) -> None:
    meal = await lunch(canteen)
    recipients = [
        await Recipient.create(
            openid=f"o-{i}",
            label="本人",
            address=f"{i % 9 + 1}号楼{i}",
            building=str(i % 9 + 1),
            phone="13812345678",
        )
        for i in range(200)
    ]
    now = at(WED, "08:00")
    results = await asyncio.gather(*(service.book(r, meal, THU, 1, now) for r in recipients))
    accepted = [b for b in results if b.result is service.Result.BOOKED]
    assert len(accepted) == 50
    assert {b.result for b in results} == {service.Result.BOOKED, service.Result.FULL}
    slot = await MealSlot.get(date=THU, meal=Meal.LUNCH)
    assert slot.booked == 50
    assert await Signup.filter(slot=slot, status=SignupStatus.BOOKED).count() == 50


async def test_the_same_sign_up_twice_at_once_books_once(canteen: Any) -> None:
    meal = await lunch(canteen)
    r = await Recipient.create(
        openid="o-a", label="本人", address="3号楼401", building="3", phone="13812345678"
    )
    now = at(WED, "08:00")
    results = await asyncio.gather(*(service.book(r, meal, THU, 2, now) for _ in range(10)))
    assert sum(b.result is service.Result.BOOKED for b in results) == 1
    assert (await MealSlot.get(date=THU)).booked == 2
    assert await Signup.all().count() == 1


# ---- cancel and status -----------------------------------------------------------------------


async def test_cancel_a_day_a_range_and_all(say: Chat, canteen: Any) -> None:
    await sign_up(say, "o-r", "给我送午饭", "5号楼301", "明天到下周三", *TAIL)
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 7
    status = await say("o-r", "我订了几天")
    assert "7天" in status and "5号楼301" in status

    assert "已取消" in await say("o-r", "周五不用送了")
    assert "已取消" in await say("o-r", "下周一到下周二的饭不要了")
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 4
    assert "取消哪天" in await say("o-r", "取消送餐")
    assert "已取消" in await say("o-r", "全部")
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 0
    assert sum(s.booked for s in await MealSlot.all()) == 0
    assert "没有送餐报名" in await say("o-r", "我订了几天")


async def test_cancel_after_the_cutoff_is_refused(say: Chat, canteen: Any) -> None:
    await sign_up(say, "o-r", "明天给我送午饭", "5号楼301", *TAIL)
    say.when = at(THU, "10:00")
    reply = await say("o-r", "今天不用送了")
    assert "取消不了" in reply
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 1


# ---- roster, reports, alerts -----------------------------------------------------------------


async def _three_sign_ups(say: Chat) -> None:
    for user, who, address, phone in (
        ("o-daughter", "给我妈", "3号楼2单元401", "13800000001"),
        ("o-old", "给我自己", "7号楼101", "13800000002"),
        ("o-far", "给我自己", "12号楼502", "13800000003"),
    ):
        answers = (address, "1", "少盐", phone, "13900000000", "确认")
        reply = await sign_up(say, user, f"{who}订明天午饭", *answers)
        assert "报名成功" in reply, reply


async def test_roster_is_built_at_the_cutoff_and_pushed_per_area(say: Chat, canteen: Any) -> None:
    await _three_sign_ups(say)
    assert await scheduler.tick(at(THU, "09:29")) == {"rosters": 0, "overdue": 0}
    assert await scheduler.tick(at(THU, "09:30")) == {"rosters": 1, "overdue": 0}
    assert await scheduler.tick(at(THU, "09:31")) == {"rosters": 0, "overdue": 0}  # once
    pushes = {m.target: m.payload["text"] for m in await OutboxMessage.all()}
    assert set(pushes) == {VOL_A, GRID_A, VOL_B, STAFF}
    assert "3号楼2单元401" in pushes[VOL_A] and "7号楼" not in pushes[VOL_A]
    assert "1. 3号楼2单元401｜1份｜忌口：少盐｜电话 13800000001｜家属代订（我妈）" in pushes[VOL_A]
    assert "2. 7号楼101" in pushes[VOL_B] and "3号楼" not in pushes[VOL_B]
    assert "无人负责" in pushes[STAFF] and "3. 12号楼502" in pushes[STAFF]
    assert "1 送到" in pushes[VOL_A]


async def test_roster_reaches_volunteers_through_the_worker(
    driven_client: TestClient, say: Chat, canteen: Any, fake_wechat: FakeWeChat
) -> None:
    await _three_sign_ups(say)
    await scheduler.tick(at(THU, "09:30"))
    await driven_client.app[push_worker_key].drain()
    [text] = fake_wechat.texts_to(VOL_B)
    assert text.startswith("【送餐名单】幸福里爱心食堂") and "7号楼101" in text


async def test_reports_and_the_no_answer_alert(say: Chat, canteen: Any) -> None:
    await _three_sign_ups(say)
    await scheduler.tick(at(THU, "09:30"))
    await OutboxMessage.all().delete()
    say.when = at(THU, "11:40")
    assert "第1号已送达" not in await say("o-stranger", "1 送到")  # only volunteers report
    assert (await Signup.get(line_no=1)).outcome is None

    assert "不在您今天的名单" in await say(VOL_A, "1 2 送到")  # line 2 is building 7
    assert (await Signup.get(line_no=1)).outcome is Outcome.DELIVERED
    assert await OutboxMessage.all().count() == 0  # delivered: nobody is alerted

    reply = await say(VOL_B, "2 没人开门")
    assert "已通知网格员" in reply
    alerts = {m.target: m.payload["text"] for m in await OutboxMessage.all()}
    # Building 7 has no grid worker: the area's other volunteers would be told, and with none
    # left the canteen staff are; the emergency contact's number is in the alert.
    assert set(alerts) == {STAFF}
    assert "7号楼101" in alerts[STAFF] and "13900000000" in alerts[STAFF]
    assert "无人应答" in alerts[STAFF]


async def test_no_answer_for_a_relative_tells_the_grid_worker_and_the_family(
    say: Chat, canteen: Any
) -> None:
    await _three_sign_ups(say)
    await scheduler.tick(at(THU, "09:30"))
    await OutboxMessage.all().delete()
    say.when = at(THU, "11:50")
    await say(VOL_A, "1号没人")
    alerts = {m.target: m.payload["text"] for m in await OutboxMessage.all()}
    assert set(alerts) == {GRID_A, "o-daughter"}
    assert "3号楼2单元401" in alerts[GRID_A] and "紧急联系人 13900000000" in alerts[GRID_A]
    assert "您为我妈订的" in alerts["o-daughter"]
    await say(VOL_A, "1号没人")  # said twice: one alert
    assert await OutboxMessage.all().count() == 2


async def test_unreported_lines_alert_an_hour_after_the_meal(say: Chat, canteen: Any) -> None:
    await _three_sign_ups(say)
    await scheduler.tick(at(THU, "09:30"))
    await OutboxMessage.all().delete()
    say.when = at(THU, "12:00")
    await say(VOL_A, "1 送到")
    assert await scheduler.tick(at(THU, "13:29")) == {"rosters": 0, "overdue": 0}
    assert await scheduler.tick(at(THU, "13:31")) == {"rosters": 0, "overdue": 2}
    assert await scheduler.tick(at(THU, "13:40")) == {"rosters": 0, "overdue": 0}
    texts = [m.payload["text"] for m in await OutboxMessage.all()]
    assert any("7号楼101" in t and "还没有人报告" in t for t in texts)
    assert not any("3号楼2单元401" in t for t in texts)  # line 1 was delivered


async def test_staff_see_the_day_and_export_csv(say: Chat, canteen: Any) -> None:
    await _three_sign_ups(say)
    await scheduler.tick(at(THU, "09:30"))
    say.when = at(THU, "12:00")
    await say(VOL_A, "1 送到")
    summary = await say(STAFF, "今日送餐")
    assert "午餐：3户3份" in summary and "已送达1" in summary and "未报告2" in summary
    assert "3户3份" not in await say("o-old", "今日送餐名单")  # residents don't see it
    text = await roster.export_csv(canteen.pk, THU)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["line"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["outcome"] == "delivered" and rows[1]["outcome"] == ""
    assert rows[0]["ordered_for"] == "我妈" and rows[0]["phone"] == "13800000001"


async def test_delivery_status_today(say: Chat, canteen: Any) -> None:
    await _three_sign_ups(say)
    await scheduler.tick(at(THU, "09:30"))
    say.when = at(THU, "11:45")
    assert "11:00到12:30之间送到，志愿者正在送" in await say("o-old", "饭怎么还没到")
    await say(VOL_B, "2 送到")
    assert "已在11:45送到" in await say("o-old", "饭怎么还没到")


async def test_a_silent_volunteer_gets_the_roster_as_a_notice_and_reads_it_in_full(
    driven_client: TestClient, say: Chat, canteen: Any, fake_wechat: FakeWeChat
) -> None:
    """WeChat refuses customer-service messages to users silent for 48 hours (45015): the
    roster goes out as the notice template, and "消息" brings the whole text."""
    worker = driven_client.app[push_worker_key]
    worker.config = dataclasses.replace(worker.config, notice_template="tmpl-notice")
    fake_wechat.silent_users.add(VOL_B)
    await _three_sign_ups(say)
    await scheduler.tick(at(THU, "09:30"))
    await worker.drain()
    assert fake_wechat.texts_to(VOL_B) == []
    [notice] = [
        b for b in fake_wechat.sent("/cgi-bin/message/template/send") if b["touser"] == VOL_B
    ]
    assert notice["template_id"] == "tmpl-notice"
    assert notice["data"]["first"]["value"].startswith("【送餐名单】")
    assert "7号楼101" in notice["data"]["keyword1"]["value"]
    assert "回复“消息”" in notice["data"]["remark"]["value"]
    assert len(fake_wechat.texts_to(VOL_A)) == 1  # the others got it as usual

    full = await say(VOL_B, "消息")
    assert "2. 7号楼101｜1份｜忌口：少盐｜电话 13800000002" in full and "1 送到" in full
    assert "没有待看的消息" in await say(VOL_B, "消息")


async def test_the_scheduler_loop_builds_the_roster_and_wakes_the_worker(
    driven_client: TestClient, say: Chat, canteen: Any
) -> None:
    """run_delivery_scheduler, as `serve` and `main.py worker` run it: ticks on its clock,
    queues the roster, signals the push worker, and stops when told."""
    await _three_sign_ups(say)
    redis = driven_client.app[redis_key]
    await redis.delete(keys.PUSH_WAKE)
    stop = asyncio.Event()
    task = asyncio.create_task(run_delivery_scheduler(stop, redis, lambda: at(THU, "09:31")))
    for _ in range(200):
        if await OutboxMessage.filter(target=VOL_A).exists():
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert await OutboxMessage.filter(target=VOL_A).count() == 1
    assert await redis.llen(keys.PUSH_WAKE) >= 1  # the idle worker was told at once
