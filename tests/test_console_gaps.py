"""What the console shows and asks (issue 11, item 13): today's sign-ups with what volunteers
reported, today's breakfast cutoff (the evening before), each dish label once, and 拒绝 / 成立
asked before they act. (A second code within a minute: tests/test_console.py.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.context import SHANGHAI
from canteen.cli import add_canteen, grant_role
from delivery import scheduler
from handlers.keys import bot_key
from models.directory import Complaint, Craftsman, Status
from models.users import Role, User
from tests.chat_support import Chat
from tests.console_support import console_login, make_staff
from tests.directory_support import make_craftsman

WED, THU = dt.date(2026, 11, 25), dt.date(2026, 11, 26)


def at(day: dt.date, hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=SHANGHAI)


class Clock:
    def __init__(self, bot: Any, now: dt.datetime) -> None:
        self.now = now
        bot.services.clock = lambda: self.now


async def test_todays_sign_ups_show_what_the_volunteer_reported(
    driven_client: Any, fake_wechat: Any
) -> None:
    bot = driven_client.app[bot_key]
    clock = Clock(bot, at(WED, "08:00"))
    canteen = await add_canteen(
        "幸福里爱心食堂", "3号楼底商", 31.23, 121.47, [],
        ["lunch=11:00-12:30,cutoff=09:30,capacity=50,price=10"],
    )  # fmt: skip
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    await grant_role("o-vol", Role.VOLUNTEER, None, "1-10号楼")

    say = Chat(bot)

    for user, address in (("o-a", "3号楼401"), ("o-b", "5号楼101")):
        for text in ("给我自己订明天午饭", address, "1", "无", "13800000001", "没有", "确认"):
            reply = await say(user, text)
        assert "报名成功" in reply, reply
    await scheduler.tick(at(THU, "09:30"))  # the roster: lines 1 and 2
    clock.now = at(THU, "11:40")
    await say("o-vol", "1 送到")
    await say("o-vol", "2 没人")
    clock.now = at(THU, "12:10")
    await console_login(driven_client, fake_wechat, await User.get(openid="o-staff"))
    page = await (await driven_client.get("/console/")).text()
    signups = page[page.index('id="signups"') :]
    assert "送餐结果：已送达（11:40报告）" in signups
    assert "送餐结果：敲门无人应答（11:40报告）" in signups


async def test_todays_breakfast_cutoff_is_last_evenings_and_labels_are_not_repeated(
    client: Any, fake_wechat: Any
) -> None:
    bot = client.app[bot_key]
    Clock(bot, at(THU, "06:30"))
    canteen = await add_canteen(
        "幸福里爱心食堂", "3号楼底商", 31.23, 121.47, [],
        ["breakfast=07:00-08:30,cutoff=20:00,capacity=20,price=5",
         "lunch=11:00-12:30,cutoff=09:30,capacity=50,price=10"],
    )  # fmt: skip
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)
    csrf = await console_login(client, fake_wechat, staff)
    menu = "发布菜单 明天午餐\n热菜：红烧肉、西红柿炒鸡蛋\n汤：紫菜蛋花汤\n10元"
    await client.post("/console/menus/publish", data={"csrf": csrf, "text": menu})
    page = await (await client.get("/console/")).text()
    # Today's breakfast closed at 20:00 yesterday; lunch closes at 09:30 today.
    assert "昨天20:00已截止" in page and "今天09:30截止" in page
    assert "热菜：红烧肉、西红柿炒鸡蛋；汤：紫菜蛋花汤" in page
    assert "热菜：红烧肉；热菜" not in page


async def test_reject_and_upheld_ask_before_acting(
    client: Any, bot: Any, fake_wechat: Any
) -> None:
    admin = await make_staff("o-admin", Role.ADMIN)
    pending = await make_craftsman(bot, "新师傅", ["tailor"], 100, status=Status.PENDING)
    target = await make_craftsman(bot, "王师傅", ["tailor"], 200)
    complaint = await Complaint.create(craftsman=target, reason="迟到很久", complainant="o-r")
    csrf = await console_login(client, fake_wechat, admin)

    ask = await client.post(f"/console/craftsmen/{pending.pk}/reject", data={"csrf": csrf})
    html = await ask.text()
    assert ask.status == 200 and "确定拒绝师傅" in html and "新师傅" in html
    assert 'name="confirm" value="1"' in html
    assert (await Craftsman.get(pk=pending.pk)).status is Status.PENDING  # nothing done yet
    done = await client.post(
        f"/console/craftsmen/{pending.pk}/reject", data={"csrf": csrf, "confirm": "1"}
    )
    assert "已拒绝" in await done.text()
    assert not await Craftsman.exists(pk=pending.pk)  # a rejected registration is removed

    url = f"/console/complaints/{complaint.pk}/decision"
    ask = await client.post(url, data={"csrf": csrf, "upheld": "1"})
    assert "确定投诉" in await ask.text() and "迟到很久" in await ask.text()
    assert (await Complaint.get(pk=complaint.pk)).upheld is None
    done = await client.post(url, data={"csrf": csrf, "upheld": "1", "confirm": "1"})
    assert "已记为成立" in await done.text()
    assert (await Complaint.get(pk=complaint.pk)).upheld is True
