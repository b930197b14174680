"""Family: a relative links to an elder (the elder agrees by chat, or the staff link them) and is
then told of the elder's no-answer delivery alerts and emergencies. Real database and Redis,
the bot as WeChat messages reach it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.context import SHANGHAI
from canteen.cli import grant_role
from community.errors import DomainError
from delivery import scheduler
from family import service, texts
from handlers.keys import bot_key
from models.family import FamilyLink, LinkStatus
from models.push import OutboxMessage, PushUrgency
from models.users import Role
from tests.chat_support import Chat
from tests.conftest import lunch_and_dinner_canteen

WED = dt.date(2026, 11, 25)
THU = WED + dt.timedelta(days=1)
STAFF, VOL, GRID = "o-staff", "o-vol-b", "o-grid-a"
ELDER, SON, STRANGER = "o-old", "o-son", "o-stranger"
ELDER_PHONE = "13800000002"


def at(day: dt.date, hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=SHANGHAI)


@pytest.fixture
async def say(driven_client: TestClient) -> Chat:
    c = await lunch_and_dinner_canteen()
    await grant_role(STAFF, Role.CANTEEN_STAFF, c.pk, None)
    await grant_role(VOL, Role.VOLUNTEER, None, "6、7、8号楼")
    await grant_role(GRID, Role.VOLUNTEER, None, "1-5号楼", grid=True)
    chat = Chat(driven_client.app[bot_key], when=at(WED, "08:00"))
    answers = ("给我自己订明天午饭", "7号楼101", "1", "少盐", ELDER_PHONE, "没有", "确认")
    reply = ""
    for text in answers:
        reply = await chat(ELDER, text)
    assert "报名成功" in reply, reply
    return chat


async def pushes_to(openid: str) -> list[OutboxMessage]:
    return list(await OutboxMessage.filter(target=openid).order_by("id"))


async def _linked(say: Chat) -> None:
    reply = await say(SON, f"绑定家人 {ELDER_PHONE} 我是她儿子")
    assert reply == texts.ASKED
    [ask] = await pushes_to(ELDER)
    assert "【家人绑定】" in ask.payload["text"] and "我是她儿子" in ask.payload["text"]
    assert "已绑定1位家人" in await say(ELDER, "同意")
    [told] = await pushes_to(SON)
    assert told.payload["text"] == texts.TOLD_AGREED


async def test_the_elder_agrees_and_the_relative_hears_of_a_no_answer(say: Chat) -> None:
    await _linked(say)
    await scheduler.tick(at(THU, "09:30"))
    await OutboxMessage.all().delete()
    say.when = at(THU, "11:50")
    assert "已通知网格员" in await say(VOL, "1 没人开门")

    [alert] = await pushes_to(SON)
    assert alert.payload["text"].startswith("【送餐提醒】您家人订的")
    assert "7号楼101" in alert.payload["text"] and "无人应答" in alert.payload["text"]
    assert await pushes_to(STRANGER) == []
    await say(VOL, "1 没人开门")  # said twice: one alert
    assert len(await pushes_to(SON)) == 1


async def test_an_unreported_line_an_hour_later_tells_the_relative_too(say: Chat) -> None:
    await _linked(say)
    await scheduler.tick(at(THU, "09:30"))
    await OutboxMessage.all().delete()
    assert (await scheduler.tick(at(THU, "13:31")))["overdue"] == 1
    [alert] = await pushes_to(SON)
    assert "还没有人报告" in alert.payload["text"]


async def test_the_relative_hears_of_the_elders_emergency_at_once(say: Chat) -> None:
    await _linked(say)
    await OutboxMessage.all().delete()
    reply = await say(ELDER, "我摔倒了起不来")
    assert "120" in reply and "也告诉了您的紧急联系人" in reply
    [urgent] = await pushes_to(SON)
    assert urgent.urgency is PushUrgency.URGENT
    assert "您的家人刚在公众号求助" in urgent.payload["text"]


async def test_a_declined_or_pending_link_tells_the_relative_nothing(say: Chat) -> None:
    assert texts.ASKED == await say(SON, f"绑定家人{ELDER_PHONE}")
    assert await say(SON, f"绑定家人 {ELDER_PHONE}") == texts.ASKED  # asked once only
    assert len(await pushes_to(ELDER)) == 1
    await scheduler.tick(at(THU, "09:30"))
    say.when = at(THU, "11:50")
    await say(VOL, "1 没人开门")
    assert not [m for m in await pushes_to(SON) if "送餐提醒" in m.payload["text"]]

    assert await say(ELDER, "不同意") == texts.DECLINED
    assert (await FamilyLink.get(relative_openid=SON)).status is LinkStatus.DECLINED
    assert [m.payload["text"] for m in await pushes_to(SON)] == [texts.TOLD_DECLINED]
    assert await say(SON, f"绑定家人 {ELDER_PHONE}") == texts.ASKED  # nothing sent again
    assert len([m for m in await pushes_to(ELDER) if "【家人绑定】" in m.payload["text"]]) == 1
    assert "紧急联系人" not in await say(ELDER, "我摔倒了起不来")
    assert len(await pushes_to(SON)) == 1


async def test_bad_requests_get_a_clear_answer_and_write_nothing(say: Chat) -> None:
    assert await say(SON, "绑定家人") == texts.HOW
    assert await say(SON, "绑定家人 13912345678") == texts.ASKED  # nobody's: nothing happens
    assert "手机是1开头的11位数字" in await say(SON, "绑定家人 2345678901")
    assert await say(ELDER, f"绑定家人 {ELDER_PHONE}") == texts.NOT_YOURSELF
    assert await say(SON, "我的家人") == texts.NOT_LINKED
    assert await say(SON, "解除家人绑定") == texts.NOT_LINKED
    assert await FamilyLink.all().count() == 0
    # 同意 with nothing to agree to is not taken as consent to anything.
    assert "已绑定" not in await say(ELDER, "同意")
    assert await FamilyLink.all().count() == 0


async def test_the_staff_link_them_and_either_side_can_undo_it(say: Chat) -> None:
    with pytest.raises(DomainError) as refused:
        await service.link_by_staff("13912345678", SON, STAFF, at(WED, "09:00"))
    assert refused.value.code == "no_elder"
    link = await service.link_by_staff(ELDER_PHONE, SON, STAFF, at(WED, "09:00"))
    assert link.status is LinkStatus.CONFIRMED and link.linked_by == STAFF
    assert [m.payload["text"] for m in await pushes_to(SON)] == [texts.TOLD_BY_STAFF]
    assert await service.relatives_of(ELDER) == [SON]

    assert "您绑定了1位老人" in await say(SON, "我的家人")
    assert "有1位家人绑定了您" in await say(ELDER, "我的家人")
    assert await say(ELDER, "解除家人绑定") == texts.UNLINKED
    assert await service.relatives_of(ELDER) == []


def test_the_cli_links_by_the_elders_phone(say: Any) -> None:
    from main import build_parser

    args = build_parser().parse_args(
        ["link-family", "--elder-phone", ELDER_PHONE, "--relative", SON]
    )
    assert args.func.__name__ == "cmd_link" and args.staff == "staff"


async def test_erasing_my_data_removes_my_family_links(say: Chat) -> None:
    await _linked(say)
    assert "确认删除我的信息" in await say(SON, "删除我的信息")
    await say(SON, "确认删除我的信息")
    assert await FamilyLink.all().count() == 0
    assert await service.relatives_of(ELDER) == []


async def test_a_stranger_cannot_tell_a_known_phone_from_an_unknown_one(say: Chat) -> None:
    known = await say(STRANGER, f"绑定家人 {ELDER_PHONE}")
    unknown = await say("o-other", "绑定家人 13912345678")
    assert known == unknown == texts.ASKED
    # Only the elder's phone made a request (the elder still has to agree); the other nothing.
    assert [(x.elder_openid, x.relative_openid) for x in await FamilyLink.all()] == [
        (ELDER, STRANGER)
    ]
    assert await OutboxMessage.filter(target="o-other").count() == 0


async def test_a_waiting_request_answers_as_one_to_an_unknown_phone(say: Chat) -> None:
    """Nothing the relative can ask afterwards tells a known phone from an unknown one."""
    await say(STRANGER, f"绑定家人 {ELDER_PHONE}")  # known: a request waits for the elder
    await say("o-other", "绑定家人 13912345678")  # unknown: nothing
    assert await FamilyLink.filter(relative_openid=STRANGER).exists()
    for asked in ("我的家人", "我的信息存了什么", "解除家人绑定"):
        assert await say(STRANGER, asked) == await say("o-other", asked), asked
    assert not await FamilyLink.filter(relative_openid=STRANGER).exists()  # withdrawn too


async def test_link_requests_are_limited_per_account_per_day(say: Chat) -> None:
    for i in range(service.REQUESTS_PER_DAY):
        assert await say(STRANGER, f"绑定家人 1391234567{i}") == texts.ASKED
    # Past the day's limit, even the elder's own phone gets the limit's answer and no request.
    assert await say(STRANGER, f"绑定家人 {ELDER_PHONE}") == texts.TOO_MANY
    assert await FamilyLink.all().count() == 0
    assert await say(SON, f"绑定家人 {ELDER_PHONE}") == texts.ASKED  # another account: its own
    say.when = at(THU, "08:00")  # the next day counts afresh
    assert await say(STRANGER, f"绑定家人 {ELDER_PHONE}") == texts.ASKED
    assert await FamilyLink.filter(relative_openid=STRANGER).count() == 1


async def test_link_requests_counted_at_once_never_pass_the_limit(say: Chat) -> None:
    import asyncio

    redis = say.bot.services.redis
    now = at(WED, "08:00")
    results = await asyncio.gather(
        *(
            service.request_link(redis, "o-racer", f"1391234{i:04d}", now)
            for i in range(service.REQUESTS_PER_DAY + 5)
        ),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 5 and {r.code for r in refused} == {"rate_limited"}


async def test_the_console_lists_links_and_the_staff_revoke_one(
    say: Chat, driven_client: TestClient, fake_wechat: Any
) -> None:
    from models.users import User
    from tests.console_support import console_login, csrf_of

    await _linked(say)
    await say(STRANGER, f"绑定家人 {ELDER_PHONE}")  # pending: the elder has not answered
    await OutboxMessage.all().delete()
    csrf = await console_login(driven_client, fake_wechat, await User.get(openid=STAFF))
    page = await (await driven_client.get("/console/family")).text()
    assert "7号楼101" in page and "138****0002" in page and ELDER_PHONE not in page
    assert "我是她儿子" in page and "已绑定" in page and "老人本人在公众号同意" in page
    assert "等老人同意" in page
    son = await FamilyLink.get(relative_openid=SON)
    resp = await driven_client.post(f"/console/family/{son.pk}/revoke", data={"csrf": csrf})
    page = await resp.text()
    assert resp.url.path == "/console/family" and "已解除这个家人绑定" in page
    assert await service.relatives_of(ELDER) == []
    assert await FamilyLink.filter(relative_openid=STRANGER).exists()  # the other untouched
    told = {m.target: m.payload["text"] for m in await OutboxMessage.all()}
    assert told == {SON: texts.REVOKED_BY_STAFF, ELDER: texts.REVOKED_BY_STAFF}
    # Again: already gone, said so; without the page's token: refused.
    again = await driven_client.post(
        f"/console/family/{son.pk}/revoke", data={"csrf": csrf_of(page)}
    )
    assert texts.NO_SUCH_LINK in await again.text()
    forged = await driven_client.post(f"/console/family/{son.pk + 1}/revoke", data={"csrf": "x"})
    assert forged.status == 403
    assert await FamilyLink.filter(relative_openid=STRANGER).exists()
