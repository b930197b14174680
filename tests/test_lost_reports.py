"""Nothing said to the community is lost (issue 11, item 11): a grid report outlasts an outage,
then reaches a second person and the resident hears the truth; an urgent push not delivered in
two minutes goes to a second person; the console lists failures with a retry button."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.context import SHANGHAI
from canteen.cli import grant_role
from handlers.keys import bot_key, mini_api_key, redis_key, wechat_api_key
from models.grid import GridReport
from models.push import OutboxMessage, PushChannel, PushStatus, PushUrgency
from models.users import Role, User
from push.outbox import enqueue_text
from push.worker import PushWorker
from server.lifecycle import push_worker_key
from tests.chat_support import Chat
from tests.console_support import console_login, csrf_of, make_staff
from wechat_api.fake import FakeWeChat

CS = "/cgi-bin/message/custom/send"
PAST = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def worker_of(client: TestClient, **config: Any) -> PushWorker:
    app = client.app
    base = app[push_worker_key]
    return PushWorker(
        api=app[wechat_api_key],
        mini_api=app[mini_api_key],
        robot=base.robot,
        redis=app[redis_key],
        config=replace(base.config, **config),
    )


def outage(fake: FakeWeChat) -> None:
    fake.fail(CS, status=502, times=100_000)


def outage_over(fake: FakeWeChat) -> None:
    fake._faults.clear()


async def run_until(worker: PushWorker, done: Any, rounds: int = 400) -> None:
    """Run the worker (waiting out its short backoff) until `done()` holds."""
    import asyncio

    for _ in range(rounds):
        if await done():
            return
        await worker.run_once()
        await asyncio.sleep(0.02)
    raise AssertionError("the worker never got there")


@pytest.fixture
async def community(driven_client: TestClient) -> Any:
    await grant_role("o-grid-west", Role.VOLUNTEER, None, "6-10号楼", grid=True)
    await grant_role("o-grid-east", Role.VOLUNTEER, None, "1-5号楼", grid=True)
    await grant_role("o-admin", Role.ADMIN, None, None)
    bot = driven_client.app[bot_key]
    bot.services.clock = lambda: dt.datetime(2026, 11, 25, 9, 5, tzinfo=SHANGHAI)

    return Chat(bot)


async def test_grid_report_outlasts_an_outage_then_reaches_a_second_person_and_the_truth(
    driven_client: TestClient, community: Any, fake_wechat: FakeWeChat
) -> None:
    say = community
    await say("o-r", "7号楼楼道灯坏了好几天了")
    reply = await say("o-r", "不留")
    # Queued is not delivered: the resident is not told it already reached anyone.
    assert "正在转告网格员" in reply and "已经转告" not in reply
    [report] = await OutboxMessage.filter(target="o-grid-west")
    grid_report = await GridReport.get()
    assert report.urgency == PushUrgency.IMPORTANT
    assert report.subject == f"grid_report:{grid_report.pk}"

    outage(fake_wechat)
    worker = worker_of(driven_client, max_attempts=3, retry_cap=0.05)

    async def tried_past_the_limit() -> bool:
        await report.refresh_from_db()
        return report.attempts > 3

    await run_until(worker, tried_past_the_limit)
    # Past the attempts that give up a routine push (minutes), a report keeps trying (hours).
    assert report.status in (PushStatus.PENDING, PushStatus.SENDING)
    assert await OutboxMessage.filter(target__in=["o-grid-east", "o-admin", "o-r"]).count() == 0

    # Hours later WeChat still refuses: the report gives up, a second person gets it, and the
    # resident is told it did not reach the grid worker.
    await OutboxMessage.filter(pk=report.pk).update(retry_until=PAST)

    async def given_up() -> bool:
        await report.refresh_from_db()
        return report.status == PushStatus.FAILED

    await run_until(worker, given_up)
    assert report.escalated_at is not None
    outage_over(fake_wechat)
    await worker.drain()
    for second in ("o-grid-east", "o-admin"):
        [copy] = fake_wechat.texts_to(second)
        assert "请帮忙跟进" in copy and "7号楼楼道灯坏了" in copy
    [truth] = fake_wechat.texts_to("o-r")
    assert "没能送到网格员" in truth
    assert fake_wechat.texts_to("o-grid-west") == []

    # The console shows the report as not delivered, with a retry button that works.
    admin = await User.get(openid="o-admin")
    csrf = await console_login(driven_client, fake_wechat, admin)
    page = await (await driven_client.get("/console/")).text()
    assert "没送到网格员" in page and f"/console/pushes/{report.pk}/retry" in page
    assert "没发出去的消息（1）" in page
    done = await driven_client.post(f"/console/pushes/{report.pk}/retry", data={"csrf": csrf})
    assert "重新排队" in await done.text()
    await worker.drain()
    assert len(fake_wechat.texts_to("o-grid-west")) == 1
    page = await (await driven_client.get("/console/")).text()
    assert "已送到网格员" in page and "没发出去的消息（0）" in page
    # Once sent, a second retry is refused (no double send).
    again = await driven_client.post(
        f"/console/pushes/{report.pk}/retry", data={"csrf": csrf_of(page)}
    )
    assert "不用重试" in await again.text()


async def test_urgent_push_not_delivered_in_two_minutes_also_goes_to_a_second_person(
    driven_client: TestClient, community: Any, fake_wechat: FakeWeChat
) -> None:
    [urgent] = await enqueue_text(
        PushChannel.WECHAT_CS,
        "o-grid-west",
        "【紧急】8号楼302老人摔倒",
        urgency=PushUrgency.URGENT,
        escalate_to=["o-grid-east"],
        subject="emergency:1",
    )
    assert urgent.deliver_by is not None
    outage(fake_wechat)
    worker = worker_of(driven_client, escalation_interval=0.0, retry_cap=0.05)
    await worker.run_once()
    assert await OutboxMessage.filter(escalation_of=urgent.pk).count() == 0  # not yet due
    await OutboxMessage.filter(pk=urgent.pk).update(deliver_by=PAST)  # two minutes pass
    await worker.run_once()
    await worker.run_once()  # checked again: still one copy
    [copy] = await OutboxMessage.filter(escalation_of=urgent.pk)
    assert copy.target == "o-grid-east"
    outage_over(fake_wechat)
    await worker.drain()
    assert "8号楼302老人摔倒" in fake_wechat.texts_to("o-grid-east")[0]
    # The original kept trying and arrives too.
    assert fake_wechat.texts_to("o-grid-west") == ["【紧急】8号楼302老人摔倒"]


async def test_an_unreachable_grid_worker_is_escalated_at_once(
    driven_client: TestClient, community: Any, fake_wechat: FakeWeChat
) -> None:
    """A permanent refusal (the grid worker unfollowed) does not wait hours."""
    [alert] = await enqueue_text(
        PushChannel.WECHAT_CS,
        "o-grid-west",
        "【送餐提醒】没人应门",
        urgency=PushUrgency.IMPORTANT,
        subject="alert:9",
    )
    fake_wechat.fail(CS, errcode=43004)
    worker = worker_of(driven_client)
    await worker.drain()
    await alert.refresh_from_db()
    assert alert.status == PushStatus.FAILED and alert.escalated_at is not None
    # No second person named: the staff on duty (admins) hear it.
    assert "没人应门" in fake_wechat.texts_to("o-admin")[0]
    await make_staff("o-unused", Role.ADMIN)  # escalation is once, even if admins change
    await worker.drain()
    assert await OutboxMessage.filter(escalation_of=alert.pk).count() == 1


async def test_an_urgent_push_is_claimed_before_an_older_backlog(
    driven_client: TestClient, community: Any
) -> None:
    worker = worker_of(driven_client, batch_size=20)
    for i in range(30):
        await enqueue_text(PushChannel.WECHAT_CS, f"o-sub-{i}", "明天午餐：红烧肉")
    [urgent] = await enqueue_text(
        PushChannel.WECHAT_CS, "o-grid-west", "【紧急】有人摔倒", urgency=PushUrgency.URGENT
    )
    # Due after every routine message, and still in the first batch.
    await OutboxMessage.filter(urgency=PushUrgency.ROUTINE).update(next_attempt_at=PAST)
    first = await worker.claim()
    assert len(first) == 20 and urgent.pk in {m.pk for m in first}
    second = await worker.claim()
    assert len(second) == 11 and urgent.pk not in {m.pk for m in second}
