"""有事就找网格员: a resident's problem reaches the grid worker of the building, in one step
when the message already says what and where."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.context import SHANGHAI
from canteen.cli import grant_role
from handlers.keys import bot_key
from models.delivery import Recipient
from models.grid import GridReport
from models.push import OutboxMessage
from models.users import Role
from tests.chat_support import Chat


@pytest.fixture
def say(driven_client: Any) -> Any:
    return Chat(driven_client.app[bot_key], when=dt.datetime(2026, 11, 25, 9, 5, tzinfo=SHANGHAI))


@pytest.fixture
async def grid_workers(driven_client: Any) -> None:
    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    await grant_role("o-grid-west", Role.VOLUNTEER, None, "6-10号楼", grid=True)
    await grant_role("o-volunteer", Role.VOLUNTEER, None, "1-5号楼")  # delivers, not grid


async def pushes() -> dict[str, str]:
    return {m.target: m.payload["text"] for m in await OutboxMessage.all()}


async def test_problem_with_place_goes_to_that_buildings_grid_worker(
    say: Any, grid_workers: None
) -> None:
    assert "留个电话" in await say("o-r", "7号楼楼道灯坏了好几天了")
    assert "正在转告网格员" in await say("o-r", "138 0000 1111")
    sent = await pushes()
    assert list(sent) == ["o-grid-west"]
    assert "7号楼楼道灯坏了好几天了" in sent["o-grid-west"] and "13800001111" in sent["o-grid-west"]
    report = await GridReport.get()
    assert report.building == "7" and report.forwarded_to == ["o-grid-west"]


async def test_bare_request_asks_what_and_where(say: Any, grid_workers: None) -> None:
    assert "什么事" in await say("o-r", "找网格员")
    assert "哪栋楼" in await say("o-r", "有人在楼上往下扔垃圾")
    assert "没看到楼号" in await say("o-r", "我家")
    await say("o-r", "3号楼")
    assert "会尽快上门" in await say("o-r", "不留")
    sent = await pushes()
    assert list(sent) == ["o-grid-east"] and "居民没有留电话" in sent["o-grid-east"]


async def test_known_resident_is_not_asked_again(say: Any, grid_workers: None) -> None:
    await Recipient.create(
        openid="o-r", label="本人", address="2号楼1单元302", building="2", phone="13800002222"
    )
    assert "正在转告网格员" in await say("o-r", "邻居好几天没见人了，有点担心")
    sent = await pushes()
    assert "2号楼1单元302" in sent["o-grid-east"] and "13800002222" in sent["o-grid-east"]


async def test_without_grid_workers_the_admins_are_told_or_the_resident_is(
    say: Any, driven_client: Any
) -> None:
    await say("o-r", "5号楼电梯里有人充电瓶车")
    assert "还没有登记网格员" in await say("o-r", "不留")
    assert await GridReport.all().count() == 0
    await grant_role("o-admin", Role.ADMIN, None, None)
    await say("o-r", "5号楼电梯里有人充电瓶车")
    assert "正在转告" in await say("o-r", "不留")
    assert list(await pushes()) == ["o-admin"]


# ---- after the report: 我的待办, 办结, 我反映的事怎么样了, through the /wechat callback ----


def _chat_on(client: Any) -> Any:
    """Say something through the signed /wechat callback, as WeChat sends it; the reply text."""
    import itertools

    import xmltodict

    from tests.conftest import signed_query, url_with, wechat_xml

    client.app[bot_key].services.clock = lambda: dt.datetime(2026, 11, 25, 9, 5, tzinfo=SHANGHAI)
    ids = itertools.count(700_000)

    async def chat(user: str, text: str) -> str:
        body = wechat_xml(user, MsgType="text", Content=text, MsgId=next(ids))
        resp = await client.post(url_with(signed_query()), data=body)
        assert resp.status == 200
        answer = await resp.text()
        return "" if answer == "success" else xmltodict.parse(answer)["xml"].get("Content", "")

    return chat


@pytest.fixture
def chat(driven_client: Any) -> Any:
    return _chat_on(driven_client)


async def _report(chat: Any, user: str, text: str) -> GridReport:
    await chat(user, text)
    assert "正在转告网格员" in await chat(user, "不留")
    return await GridReport.filter(openid=user).order_by("-id").first()  # type: ignore[return-value]


async def test_worker_lists_open_reports_urgent_first_and_closes_one_telling_the_resident(
    chat: Any,
) -> None:
    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    await grant_role("o-grid-west", Role.VOLUNTEER, None, "6-10号楼", grid=True)
    lamp = await _report(chat, "o-r1", "3号楼楼道灯坏了")
    west = await _report(chat, "o-r3", "8号楼门口堆了很多垃圾")
    unseen = await _report(chat, "o-r2", "2号楼501的老人好几天没见人了")
    assert unseen.urgent and not lamp.urgent
    # The worker's push carries the number to close it by.
    push = await OutboxMessage.get(target="o-grid-east", subject=f"grid_report:{lamp.pk}")
    assert f"办结 {lamp.pk}" in push.payload["text"]

    todo = await chat("o-grid-east", "我的待办")
    assert f"#{unseen.pk} 【紧急】" in todo and f"#{lamp.pk}" in todo
    assert todo.index(f"#{unseen.pk}") < todo.index(f"#{lamp.pk}")
    assert f"#{west.pk}" not in todo  # another area's worker has it

    assert "写一句处理结果" in await chat("o-grid-east", f"办结 {lamp.pk}")
    assert (await GridReport.get(pk=lamp.pk)).closed_at is None
    done = await chat("o-grid-east", f"办结 {lamp.pk} 灯已换好，物业说下周再查一遍")
    assert "已办结" in done and "灯已换好" in done
    told = await OutboxMessage.get(target="o-r1", subject=f"grid_done:{lamp.pk}")
    assert "3号楼楼道灯坏了" in told.payload["text"] and "灯已换好" in told.payload["text"]

    todo = await chat("o-grid-east", "我的待办")
    assert f"#{lamp.pk}" not in todo and f"#{unseen.pk}" in todo
    # Closing twice tells the resident once.
    assert "已经办结" in await chat("o-grid-west", f"办结 {lamp.pk} 又看了一眼")
    assert await OutboxMessage.filter(target="o-r1", subject=f"grid_done:{lamp.pk}").count() == 1
    assert "没有第999999号" in await chat("o-grid-east", "办结 999999 好了")


async def test_only_grid_workers_and_admins_see_and_close_reports(chat: Any) -> None:
    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    await grant_role("o-admin", Role.ADMIN, None, None)
    lamp = await _report(chat, "o-r1", "3号楼楼道灯坏了")
    assert "网格员的功能" in await chat("o-r1", "我的待办")
    assert "网格员的功能" in await chat("o-r1", f"办结 {lamp.pk} 我自己修好了")
    assert (await GridReport.get(pk=lamp.pk)).closed_at is None
    assert f"#{lamp.pk}" in await chat("o-admin", "我的待办")  # admins see every open report


async def test_resident_asks_how_their_reports_are_going(chat: Any) -> None:
    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    assert "还没有向网格员反映过" in await chat("o-r1", "我反映的事怎么样了")
    lamp = await _report(chat, "o-r1", "3号楼楼道灯坏了")
    await _report(chat, "o-r1", "4号楼楼道里堆满了杂物")
    state = await chat("o-r1", "我反映的事怎么样了")
    assert state.count("网格员处理中") == 2
    assert "已办结" in await chat("o-grid-east", f"办结 {lamp.pk} 灯已换好")
    for asked in ("我反映的事怎么样了", "我反映的问题处理了吗", "我的反映"):
        state = await chat("o-r1", asked)
        assert "已办结" in state and "灯已换好" in state and "网格员处理中" in state, asked
    assert "还没有向网格员反映过" in await chat("o-r9", "我反映的事怎么样了")  # others' own


async def test_console_lists_open_reports_first_and_closed_ones_with_the_note(
    chat: Any, driven_client: Any, fake_wechat: Any
) -> None:
    from models.users import User
    from tests.console_support import console_login

    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    await grant_role("o-admin", Role.ADMIN, None, None)
    lamp = await _report(chat, "o-r1", "3号楼楼道灯坏了")
    unseen = await _report(chat, "o-r2", "2号楼501的老人好几天没见人了")
    await chat("o-grid-east", f"办结 {lamp.pk} 灯已换好")
    await console_login(driven_client, fake_wechat, await User.get(openid="o-admin"))
    page = await (await driven_client.get("/console/")).text()
    section = page[page.index('id="grid-reports"') :]
    assert "居民反映（待办1条）" in section
    assert section.index(f"#{unseen.pk}") < section.index(f"#{lamp.pk}")
    assert "【紧急】" in section and "已办结（o-grid-east）：灯已换好" in section


# ---- a person, not a bot ----------------------------------------------------------------------


@pytest.fixture
async def duty_chat(aiohttp_client: Any, make_settings: Any) -> Any:
    from main import create_app
    from tests.conftest import reset_state

    client = await aiohttp_client(create_app(make_settings(community_duty_phone="021-63001234")))
    await reset_state(client)
    return _chat_on(client)


async def test_asking_for_a_person_gives_the_duty_phone_and_hands_recent_talk_to_the_grid_worker(
    duty_chat: Any,
) -> None:
    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    await grant_role("o-grid-west", Role.VOLUNTEER, None, "6-10号楼", grid=True)
    await duty_chat("o-r", "我家老人的医保卡丢了怎么补办")
    assert "哪栋楼" in await duty_chat("o-r", "转人工")
    assert "留个电话" in await duty_chat("o-r", "3号楼2单元401")
    said = await duty_chat("o-r", "13800001111")
    assert "021-63001234" in said and "网格员" in said
    [push] = await OutboxMessage.filter(target="o-grid-east")
    text = push.payload["text"]
    assert "找真人" in text and "3号楼2单元401" in text and "13800001111" in text
    assert "医保卡丢了怎么补办" in text  # what they said before asking
    assert await OutboxMessage.filter(target="o-grid-west").count() == 0
    report = await GridReport.get()
    assert f"#{report.pk}" in await duty_chat("o-grid-east", "我的待办")


async def test_a_known_resident_is_handed_over_at_once(duty_chat: Any) -> None:
    await grant_role("o-grid-west", Role.VOLUNTEER, None, "6-10号楼", grid=True)
    await Recipient.create(
        openid="o-r", label="本人", address="7号楼302", building="7", phone="13800002222"
    )
    for asked in ("找个真人", "打电话给社区", "我要人工客服"):
        said = await duty_chat("o-r", asked)
        assert "021-63001234" in said and "会尽快打电话给您" in said, asked
    assert await OutboxMessage.filter(target="o-grid-west").count() == 3


async def test_without_a_duty_phone_or_grid_workers_the_resident_still_gets_an_answer(
    chat: Any,
) -> None:
    await chat("o-r", "转人工")
    await chat("o-r", "3号楼")
    said = await chat("o-r", "不留")
    assert "还没有登记网格员" in said and await GridReport.all().count() == 0
