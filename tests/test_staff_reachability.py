"""Staff WeChat refuses to reach (45015, silent for 48 hours) are also told in the staff group,
through its WeCom group robot; residents' messages never go there. Real database, real Redis,
the fake WeChat/WeCom servers on loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from aiohttp.test_utils import TestClient

from bot.context import SHANGHAI
from canteen.cli import grant_role
from delivery import scheduler
from handlers.keys import bot_key
from models.push import OutboxMessage, PushChannel, PushStatus, PushUrgency
from models.users import Role, User
from push.outbox import enqueue_text
from push.worker import PushWorker
from server.lifecycle import push_worker_key, worker_config
from tests.chat_support import Chat
from tests.conftest import lunch_and_dinner_canteen
from wechat_api.fake import FakeWeChat

WEBHOOK = "/cgi-bin/webhook/send"
TEMPLATE = "/cgi-bin/message/template/send"
STAFF_KEY = "staff-robot-key"
VOL = "o-volunteer-b7c9"
GRID = "o-gridworker-12ab"
RESIDENT = "o-resident-5555"


def _configured(client: TestClient, **config: object) -> PushWorker:
    worker: PushWorker = client.app[push_worker_key]
    settings = {"staff_robot_key": STAFF_KEY, "notice_template": "tmpl-notice", **config}
    worker.config = dataclasses.replace(worker.config, **settings)  # type: ignore[arg-type]
    return worker


def _posts(fake: FakeWeChat, key: str = STAFF_KEY) -> list[str]:
    return [
        c.body["text"]["content"]
        for c in fake.calls
        if c.path == WEBHOOK and c.params.get("key") == key and c.at >= 0
    ]


async def test_a_silent_volunteers_roster_reaches_the_staff_group_marked_for_them(
    driven_client: TestClient, fake_wechat: FakeWeChat
) -> None:
    worker = _configured(driven_client)
    await grant_role(VOL, Role.VOLUNTEER, None, "6、7、8号楼")
    fake_wechat.silent_users.add(VOL)
    roster = "【送餐名单】12月3日 午餐\n1. 7号楼101｜1份｜电话 13800000002\n回复“1 送到”"
    await enqueue_text(PushChannel.WECHAT_CS, VOL, roster, urgency=PushUrgency.IMPORTANT)
    await worker.drain()

    [post] = _posts(fake_wechat)
    assert post.startswith("【转给志愿者（6、7、8号楼） …b7c9】")
    assert "7号楼101｜1份｜电话 13800000002" in post and "回复“1 送到”" in post
    # The volunteer still gets the notice template, as before.
    [notice] = [b for b in fake_wechat.sent(TEMPLATE) if b["touser"] == VOL]
    assert notice["data"]["first"]["value"].startswith("【送餐名单】")
    assert fake_wechat.texts_to(VOL) == []


async def test_a_grid_worker_without_a_template_is_reached_through_the_group_only(
    driven_client: TestClient, fake_wechat: FakeWeChat
) -> None:
    worker = _configured(driven_client, notice_template=None)
    await grant_role(GRID, Role.VOLUNTEER, None, "1-5号楼", grid=True)
    fake_wechat.silent_users.add(GRID)
    [msg] = await enqueue_text(PushChannel.WECHAT_CS, GRID, "【无人应答】3号楼202 送餐无人开门")
    await worker.drain()

    assert _posts(fake_wechat) == [
        "【转给网格员（1-5号楼） …12ab】对方超过48小时未与公众号互动，微信消息发不到，请转告：\n"
        "【无人应答】3号楼202 送餐无人开门"
    ]
    await msg.refresh_from_db()
    assert msg.status == PushStatus.FAILED and "45015" in (msg.last_error or "")
    assert fake_wechat.sent(TEMPLATE) == []


async def test_a_silent_residents_message_never_goes_to_the_staff_group(
    driven_client: TestClient, fake_wechat: FakeWeChat
) -> None:
    worker = _configured(driven_client)
    await User.create(openid=RESIDENT)
    fake_wechat.silent_users.add(RESIDENT)
    await enqueue_text(PushChannel.WECHAT_CS, RESIDENT, "您反映的3号楼路灯已修好。")
    await worker.drain()

    assert _posts(fake_wechat) == []
    assert [b["touser"] for b in fake_wechat.sent(TEMPLATE)] == [RESIDENT]


async def test_a_staff_member_who_can_be_reached_is_not_posted_and_no_key_means_no_post(
    driven_client: TestClient, fake_wechat: FakeWeChat
) -> None:
    worker = _configured(driven_client)
    await grant_role(VOL, Role.VOLUNTEER, None, "6、7、8号楼")
    await enqueue_text(PushChannel.WECHAT_CS, VOL, "【送餐名单】今天没有订餐。")
    await worker.drain()
    assert _posts(fake_wechat) == [] and fake_wechat.texts_to(VOL) == ["【送餐名单】今天没有订餐。"]

    worker.config = dataclasses.replace(worker.config, staff_robot_key=None)
    fake_wechat.silent_users.add(VOL)
    await enqueue_text(PushChannel.WECHAT_CS, VOL, "【送餐名单】明天没有订餐。")
    await worker.drain()
    assert not [c for c in fake_wechat.calls if c.path == WEBHOOK]
    assert await OutboxMessage.filter(channel=PushChannel.WECOM_ROBOT).count() == 0


async def test_a_long_roster_reaches_the_group_in_parts_once(
    driven_client: TestClient, fake_wechat: FakeWeChat
) -> None:
    worker = _configured(driven_client, notice_template=None)
    await grant_role(VOL, Role.ADMIN, None, None)
    fake_wechat.silent_users.add(VOL)
    lines = [f"{i}. 7号楼{i:03d}｜1份｜忌口：少盐少油" for i in range(1, 121)]
    parts = await enqueue_text(PushChannel.WECHAT_CS, VOL, "【送餐名单】\n" + "\n".join(lines))
    assert len(parts) >= 2
    await worker.drain()

    posts = _posts(fake_wechat)
    assert len(posts) >= len(parts)
    assert all(len(p.encode()) <= 2048 for p in posts)
    joined = "\n".join(posts)
    assert all(line in joined for line in lines)
    assert joined.count("【转给管理员 …b7c9】") == len(parts)


def test_the_setting_reaches_the_worker(make_settings: Any) -> None:
    assert worker_config(make_settings()).staff_robot_key is None
    settings = make_settings(wecom_staff_robot_key="k-1")
    assert worker_config(settings).staff_robot_key == "k-1"
    assert worker_config(make_settings(wecom_staff_robot_key="")).staff_robot_key is None


async def test_the_roster_built_at_the_cutoff_reaches_a_silent_volunteer_through_the_group(
    driven_client: TestClient, fake_wechat: FakeWeChat
) -> None:
    """The real path: a resident signs up by chat, the scheduler builds the roster at the
    cutoff, WeChat refuses the volunteer (45015), the staff group gets it for them."""
    worker = _configured(driven_client, notice_template=None)
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    await grant_role(VOL, Role.VOLUNTEER, None, "6、7、8号楼")
    wed = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
    say = Chat(driven_client.app[bot_key], when=wed)
    for text in ("给我自己订明天午饭", "7号楼101", "1", "少盐", "13800000002", "没有", "确认"):
        reply = await say("o-old", text)
    assert "报名成功" in reply
    fake_wechat.silent_users.add(VOL)
    await scheduler.tick(dt.datetime(2026, 11, 26, 9, 30, tzinfo=SHANGHAI))
    await worker.drain()

    [post] = _posts(fake_wechat)
    assert post.startswith("【转给志愿者（6、7、8号楼） …b7c9】")
    assert "【送餐名单】" in post and "7号楼101｜1份｜忌口：少盐" in post
    assert fake_wechat.texts_to(VOL) == []
