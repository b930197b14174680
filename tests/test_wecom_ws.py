"""The WeCom intelligent bot over the long connection, against a fake WeCom gateway on
loopback: subscribe, heartbeat, answers, drops and reconnects, one connection per bot across
processes (the Redis lock), and messages the bot says first in a group."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from groups.service import push_to_group
from handlers.wecom_bot import wecom_bot_key
from handlers.wecom_ws import LongConnection
from tests.conftest import AES_KEY, reset_state
from wechat_api.fake_wecom import FakeWeComBot


class Gateway:
    def __init__(self, client: Any, fake: FakeWeComBot) -> None:
        self.client = client
        self.fake = fake
        self.channel = client.app[wecom_bot_key]
        self.runs: list[tuple[asyncio.Event, asyncio.Task[None], LongConnection]] = []

    def start(self) -> LongConnection:
        conn = LongConnection(self.channel, backoff=0.01, backoff_max=0.05)
        stop = asyncio.Event()
        self.runs.append((stop, asyncio.create_task(conn.run(stop)), conn))
        return conn

    async def stop(self, conn: LongConnection) -> None:
        for stop, task, c in self.runs:
            if c is conn:
                stop.set()
                await task

    async def answered(self, count: int) -> list[dict[str, Any]]:
        finals = lambda: [r for r in self.fake.replies if r["body"]["stream"]["finish"]]  # noqa: E731
        await self.fake.wait_for(lambda: len(finals()) >= count)
        return finals()


@pytest.fixture
async def gateway(aiohttp_client: Any, make_settings: Any) -> AsyncIterator[Gateway]:
    from main import create_app

    fake = FakeWeComBot("wsToken1", AES_KEY, "aibot-ws", "ws-secret")
    async with fake.running():
        settings = make_settings(
            wecom_bot_id="aibot-ws",
            wecom_bot_secret="ws-secret",
            wecom_bot_ws_url=fake.ws_url,
            wecom_bot_heartbeat=0.05,
        )
        client = await aiohttp_client(create_app(settings))
        await reset_state(client)
        g = Gateway(client, fake)
        yield g
        for stop, task, _ in g.runs:
            stop.set()
            await task


async def test_it_subscribes_heartbeats_and_answers(gateway: Gateway) -> None:
    fake = gateway.fake
    gateway.start()
    await fake.wait_connected()
    req = await fake.push(fake.message("@小助手 帮助", user="zhangsan", chat="wrG"))
    [reply] = await gateway.answered(1)
    assert reply["headers"]["req_id"] == req
    assert reply["body"]["msgtype"] == "stream" and reply["body"]["stream"]["content"]
    await fake.wait_for(lambda: fake.pings >= 2)


async def test_it_reconnects_after_drops(gateway: Gateway) -> None:
    fake = gateway.fake
    gateway.start()
    for dropped in range(1, 3):
        await fake.wait_connected()
        await fake.drop()
        await fake.wait_connected()
        assert fake.connections == dropped + 1
    await fake.push(fake.message("帮助", user="lisi"))
    assert len(await gateway.answered(1)) == 1


async def test_one_connection_per_bot_across_processes(gateway: Gateway) -> None:
    fake = gateway.fake
    first = gateway.start()
    await first.connected.wait()
    second = gateway.start()  # another process, same Redis
    await fake.wait_for(lambda: fake.pings >= 5)  # the first has been heartbeating a while
    assert fake.connections == 1 and not second.connected.is_set()
    await gateway.stop(first)  # the holder goes: the other takes over
    await second.connected.wait()
    assert fake.connections == 2


async def test_a_message_said_first_in_a_group_goes_over_the_connection(gateway: Gateway) -> None:
    fake = gateway.fake
    gateway.start()
    redis = gateway.client.app[wecom_bot_key].redis
    await push_to_group(redis, "aibot-ws", "wrGroup9", "#接龙\n明天午餐送餐接龙")
    await fake.wait_for(lambda: len(fake.sent) == 1)
    body = fake.sent[0]["body"]
    assert body["chatid"] == "wrGroup9" and body["markdown"]["content"].startswith("#接龙")


async def test_a_message_delivered_again_after_a_reconnect_is_answered_once(
    gateway: Gateway,
) -> None:
    fake = gateway.fake
    gateway.start()
    message = fake.message("帮助", user="wangwu", msgid="again-1")
    await fake.push(message)
    await gateway.answered(1)
    await fake.drop()
    await fake.push(message)
    await fake.push(fake.message("帮助", user="wangwu"))
    assert len(await gateway.answered(2)) == 2  # the repeat was not answered a second time


async def test_staff_post_tomorrows_chain_to_the_bound_groups(gateway: Gateway) -> None:
    from bot.messages import Incoming
    from canteen.cli import grant_role
    from handlers.keys import bot_key
    from models.groups import GroupBinding
    from models.users import Role
    from tests.conftest import lunch_and_dinner_canteen

    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-cook", Role.CANTEEN_STAFF, canteen.pk, None)
    await GroupBinding.create(chat_id="wrBound", canteen_id=canteen.pk, area="", bound_by="x")
    gateway.start()
    bot = gateway.client.app[bot_key]
    [said] = await bot.handle(Incoming.of_text("o-cook", "生成接龙 午餐 发到群"))
    assert said.text.startswith("已交给企业微信机器人发到1个群")
    await gateway.fake.wait_for(lambda: len(gateway.fake.sent) == 1)
    body = gateway.fake.sent[0]["body"]
    assert body["chatid"] == "wrBound" and "午餐送餐接龙" in body["markdown"]["content"]


async def test_a_wrong_secret_is_retried_slowly_and_never_crashes(
    aiohttp_client: Any, make_settings: Any
) -> None:
    from main import create_app

    fake = FakeWeComBot("wsToken1", AES_KEY, "aibot-ws", "the-real-secret")
    async with fake.running():
        settings = make_settings(
            wecom_bot_id="aibot-ws",
            wecom_bot_secret="a-wrong-secret",
            wecom_bot_ws_url=fake.ws_url,
            wecom_bot_heartbeat=0.05,
        )
        client = await aiohttp_client(create_app(settings))
        await reset_state(client)
        conn = LongConnection(client.app[wecom_bot_key], backoff=0.001, backoff_max=0.002)
        stop = asyncio.Event()
        task = asyncio.create_task(conn.run(stop))
        await fake.wait_for(lambda: fake.connections >= 3)  # refused, and tried again
        assert not task.done() and not conn.connected.is_set()
        stop.set()
        await task
