"""The push outbox and its worker, against a real database, a real Redis and the fake WeChat API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from tortoise.transactions import in_transaction

from handlers.keys import mini_api_key, redis_key, wechat_api_key
from main import create_app
from models.push import OutboxMessage, PushChannel, PushStatus
from models.users import User
from push.outbox import enqueue, enqueue_text, wake
from push.ratelimit import Rate
from push.worker import PushWorker
from server.lifecycle import push_worker_key
from tests.conftest import APP_ID, APP_SECRET, reset_state
from wechat_api.fake import FakeWeChat

CS = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
SUBSCRIBE = "/cgi-bin/message/subscribe/send"
WEBHOOK = "/cgi-bin/webhook/send"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def push_client(driven_client: TestClient) -> TestClient:
    return driven_client


@pytest.fixture
def worker(push_client: TestClient) -> PushWorker:
    return push_client.app[push_worker_key]


def another(client: TestClient, worker: PushWorker, **config: Any) -> PushWorker:
    """A second worker on the same resources, optionally with another config."""
    app = client.app
    return PushWorker(
        api=app[wechat_api_key],
        mini_api=app[mini_api_key],
        robot=worker.robot,
        redis=app[redis_key],
        config=replace(worker.config, **config),
    )


def failed_calls(fake: FakeWeChat, path: str) -> list[Any]:
    return [c for c in fake.calls if c.path == path and c.at < 0]


# ---- the outbox -------------------------------------------------------------------------------


async def test_enqueue_in_rolled_back_transaction_queues_nothing(push_client: TestClient) -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await enqueue(PushChannel.WECHAT_CS, "o-1", {"text": "hi"}, using_db=conn)
            raise RuntimeError("the cause of the push failed")
    assert await OutboxMessage.all().count() == 0


async def test_dedupe_key_queues_once(push_client: TestClient) -> None:
    first = await enqueue(PushChannel.WECHAT_CS, "o-1", {"text": "a"}, dedupe_key="menu:1:o-1")
    again = await enqueue(PushChannel.WECHAT_CS, "o-1", {"text": "a"}, dedupe_key="menu:1:o-1")
    assert first is not None and again is None
    assert await OutboxMessage.all().count() == 1


async def test_long_text_is_split_into_2048_byte_messages(
    push_client: TestClient, worker: PushWorker, fake_wechat: FakeWeChat
) -> None:
    text = "\n".join(f"第{i}行：红烧肉、西红柿炒鸡蛋、紫菜蛋花汤" for i in range(120))
    parts = await enqueue_text(PushChannel.WECOM_ROBOT, "robot-1", text, dedupe_key="m:1:g")
    assert len(parts) > 1
    await worker.drain()
    sent = [b["text"]["content"] for b in fake_wechat.sent(WEBHOOK)]
    assert len(sent) == len(parts)
    assert all(len(s.encode()) <= 2048 for s in sent)
    assert "\n".join(sent) == text


# ---- delivery -------------------------------------------------------------------------------


async def test_worker_delivers_every_channel(
    push_client: TestClient, worker: PushWorker, fake_wechat: FakeWeChat
) -> None:
    await enqueue(PushChannel.WECHAT_CS, "o-1", {"text": "明天午餐：红烧肉"})
    await enqueue(
        PushChannel.WECHAT_TEMPLATE,
        "o-2",
        {"template_id": "tpl-menu", "data": {"meal": "午餐"}, "url": "https://x.test/m"},
    )
    await enqueue(
        PushChannel.MINI_SUBSCRIBE,
        "o-3",
        {"template_id": "sub-menu", "data": {"thing1": "午餐"}, "page": "pages/menu"},
    )
    robot_md = {"msgtype": "markdown", "content": "**菜单**"}
    await enqueue(PushChannel.WECOM_ROBOT, "robot-1", robot_md)
    await worker.drain()

    assert fake_wechat.texts_to("o-1") == ["明天午餐：红烧肉"]
    [tpl] = fake_wechat.sent(TEMPLATE)
    assert tpl["touser"] == "o-2" and tpl["data"] == {"meal": {"value": "午餐"}}
    assert tpl["url"] == "https://x.test/m"
    [sub] = fake_wechat.sent(SUBSCRIBE)
    assert sub["touser"] == "o-3" and sub["page"] == "pages/menu"
    [robot] = fake_wechat.sent(WEBHOOK)
    assert robot == {"msgtype": "markdown", "markdown": {"content": "**菜单**"}}
    rows = await OutboxMessage.all()
    assert {r.status for r in rows} == {PushStatus.SENT}
    assert all(r.sent_at is not None and r.attempts == 1 for r in rows)


async def test_retries_45009_busy_and_http_500_with_backoff(
    push_client: TestClient, worker: PushWorker, fake_wechat: FakeWeChat
) -> None:
    fake_wechat.fail(CS, errcode=45009)
    fake_wechat.fail(CS, errcode=-1)
    fake_wechat.fail(CS, status=500)
    msg = await enqueue(PushChannel.WECHAT_CS, "o-1", {"text": "hi"})
    assert msg is not None
    await worker.drain()

    assert fake_wechat.texts_to("o-1") == ["hi"]
    await msg.refresh_from_db()
    assert msg.status == PushStatus.SENT and msg.attempts == 4
    # Backoff doubles from retry_base (0.05 s) with jitter in [0.5, 1]: gaps >= 25, 50, 100 ms.
    times = [abs(c.at) for c in fake_wechat.calls if c.path == CS]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) == 3
    for gap, least in zip(gaps, (0.025, 0.05, 0.1), strict=True):
        assert gap >= least * 0.9


async def test_invalid_token_is_renewed_and_the_send_succeeds(
    push_client: TestClient, worker: PushWorker, fake_wechat: FakeWeChat
) -> None:
    await enqueue(PushChannel.WECHAT_CS, "o-1", {"text": "one"})
    await worker.drain()
    fake_wechat.expire_tokens()  # the cached token now draws 40001
    msg = await enqueue(PushChannel.WECHAT_CS, "o-1", {"text": "two"})
    assert msg is not None
    await worker.drain()

    assert fake_wechat.texts_to("o-1") == ["one", "two"]
    assert len([c for c in fake_wechat.calls if c.path == "/cgi-bin/token"]) == 2
    await msg.refresh_from_db()
    assert msg.status == PushStatus.SENT and msg.attempts == 1


@pytest.mark.parametrize("errcode", [40003, 45015, 43004])
async def test_permanent_error_fails_at_once(
    push_client: TestClient, worker: PushWorker, fake_wechat: FakeWeChat, errcode: int
) -> None:
    await User.create(openid="o-1")
    fake_wechat.fail(CS, errcode=errcode)
    msg = await enqueue(PushChannel.WECHAT_CS, "o-1", {"text": "hi"})
    assert msg is not None
    await worker.drain()

    await msg.refresh_from_db()
    assert msg.status == PushStatus.FAILED and msg.attempts == 1
    assert msg.last_error is not None and str(errcode) in msg.last_error
    # 43004 says the user unfollowed: later pushes are skipped without asking WeChat.
    assert (await User.get(openid="o-1")).followed is (errcode != 43004)


async def test_gives_up_after_max_attempts(
    push_client: TestClient, worker: PushWorker, fake_wechat: FakeWeChat
) -> None:
    fake_wechat.fail(CS, status=502, times=10)
    msg = await enqueue(PushChannel.WECHAT_CS, "o-1", {"text": "hi"})
    assert msg is not None
    await another(push_client, worker, max_attempts=3).drain()

    await msg.refresh_from_db()
    assert msg.status == PushStatus.FAILED and msg.attempts == 3
    assert msg.last_error is not None and "HTTP 502" in msg.last_error
    assert len(failed_calls(fake_wechat, CS)) == 3


async def test_unfollowed_user_is_skipped(
    push_client: TestClient, worker: PushWorker, fake_wechat: FakeWeChat
) -> None:
    await User.create(openid="o-gone", followed=False)
    await User.create(openid="o-here")
    gone = await enqueue(PushChannel.WECHAT_TEMPLATE, "o-gone", {"template_id": "t", "data": {}})
    await enqueue(PushChannel.WECHAT_CS, "o-here", {"text": "hi"})
    assert gone is not None
    await worker.drain()

    await gone.refresh_from_db()
    assert gone.status == PushStatus.FAILED and gone.last_error == "unfollowed"
    assert fake_wechat.sent(TEMPLATE) == []
    assert fake_wechat.texts_to("o-here") == ["hi"]


# ---- rate limits and concurrency -----------------------------------------------------------


async def test_robot_rate_limit_per_key(
    push_client: TestClient, worker: PushWorker, fake_wechat: FakeWeChat
) -> None:
    # 20 a minute, scaled down to 3 a second so the test is short; same code path.
    limited = another(push_client, worker, robot_rate=Rate(3, 1.0), max_rate_wait=0.2)
    for i in range(7):
        await enqueue(PushChannel.WECOM_ROBOT, "robot-a", {"msgtype": "text", "content": f"a{i}"})
    await enqueue(PushChannel.WECOM_ROBOT, "robot-b", {"msgtype": "text", "content": "b0"})
    await limited.drain()

    times = [c.at for c in fake_wechat.calls if c.path == WEBHOOK and c.params["key"] == "robot-a"]
    assert len(times) == 7 and all(t > 0 for t in times)  # none refused by the fake
    for i, t in enumerate(times):  # no 1 s window holds more than 3
        assert sum(1 for u in times[i:] if u - t < 1.0) <= 3
    assert times[-1] - times[0] >= 2.0
    assert await OutboxMessage.filter(status=PushStatus.SENT).count() == 8


async def test_two_workers_never_send_one_message_twice(
    push_client: TestClient, worker: PushWorker, fake_wechat: FakeWeChat
) -> None:
    for i in range(300):
        await enqueue(PushChannel.WECHAT_CS, f"o-{i}", {"text": f"m{i}"})
    fake_wechat.fail(CS, delay=0.002, times=300)  # keep sends in flight so the workers overlap
    one = another(push_client, worker, batch_size=20)
    two = another(push_client, worker, batch_size=20)
    await asyncio.gather(one.drain(), two.drain())

    sent = [b["touser"] for b in fake_wechat.sent(CS)]
    assert sorted(sent) == sorted(f"o-{i}" for i in range(300))
    assert await OutboxMessage.filter(status=PushStatus.SENT).count() == 300


async def test_in_process_worker_wakes_on_signal(
    aiohttp_client: Any, make_settings: Any, fake_wechat: FakeWeChat
) -> None:
    """`serve` runs the worker in the app; `wake` gets a message out well before the next poll."""
    settings = make_settings(push_worker_inprocess=True)
    client = await aiohttp_client(create_app(settings))
    await reset_state(client)
    await asyncio.sleep(0.1)  # let the worker reach its idle wait
    await enqueue(PushChannel.WECHAT_CS, "o-1", {"text": "hi"})
    await wake(client.app[redis_key])
    started = time.monotonic()
    while not fake_wechat.texts_to("o-1"):
        assert time.monotonic() - started < 0.8, "not woken"
        await asyncio.sleep(0.01)


# ---- a killed worker ------------------------------------------------------------------------


async def test_kill_9_loses_nothing_and_repeats_at_most_the_in_flight(
    push_client: TestClient,
    fake_wechat: FakeWeChat,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    total = 60
    for i in range(total):
        await enqueue(PushChannel.WECHAT_CS, f"o-{i}", {"text": f"m{i}"})
    fake_wechat.fail(CS, delay=0.25, times=10_000)  # every send is slow: a batch is in flight
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WECHAT_API_BASE": fake_wechat.base,  # type: ignore[attr-defined]
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "DATA_DIR": str(tmp_path / "worker-data"),
        "PUSH_BATCH_SIZE": "10",
        "PUSH_LEASE_SECONDS": "1.5",
        "LOG_JSON": "false",
        "LOG_LEVEL": "WARNING",
    }

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "main.py"),
            "worker",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    async def wait_for(check: Any, within: float) -> None:
        until = time.monotonic() + within
        while not await check():
            assert time.monotonic() < until, "timed out"
            await asyncio.sleep(0.02)

    first = await start()
    try:

        async def some_sent() -> bool:
            return len(fake_wechat.sent(CS)) >= 15

        await wait_for(some_sent, 15)
        await asyncio.sleep(0.1)  # into the next batch's sends
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    in_flight = await OutboxMessage.filter(status=PushStatus.SENDING).count()
    assert 0 < in_flight <= 10

    second = await start()
    try:

        async def all_sent() -> bool:
            return await OutboxMessage.filter(status=PushStatus.SENT).count() == total

        await wait_for(all_sent, 20)
        await asyncio.sleep(0.3)  # let the killed worker's orphaned requests land, if any
    finally:
        second.send_signal(signal.SIGTERM)  # graceful stop
        _, err = await second.communicate()
    assert second.returncode == 0, err.decode()[-2000:]

    sent = [b["touser"] for b in fake_wechat.sent(CS)]
    assert set(sent) == {f"o-{i}" for i in range(total)}
    duplicates = len(sent) - total
    assert duplicates <= in_flight
