"""Failures made boring: retry storms, Redis going away and coming back, a locked database.

The app runs in-process against real servers: a redis-server this test stops and restarts
(on a free port), the suite's database. Nothing of the project is mocked.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import xmltodict

from bot import texts
from handlers.keys import redis_key
from main import create_app
from models.directory import Complaint
from models.users import User
from tests.conftest import reset_state, signed_query, url_with, wechat_xml
from tests.directory_support import HOME, make_craftsman
from tests.servers import RedisServer, free_ports

[REDIS_PORT] = free_ports(1)


def content(body: str) -> str:
    return xmltodict.parse(body)["xml"]["Content"]


async def post(client: Any, xml: str) -> Any:
    return await client.post(url_with(signed_query()), data=xml.encode())


# ---- retry storms ------------------------------------------------------------------------------


async def test_retry_storm_every_message_three_times_acts_once(client: Any, bot: Any) -> None:
    """Twelve residents each share a location, search and complain; WeChat delivers every
    message three times at once. Each complaint is filed once and every copy gets one answer."""
    await make_craftsman(bot, "李裁缝", ["tailor"], 300)
    residents = [f"o-storm-{i}" for i in range(12)]
    now = int(time.time())

    async def storm(xml: str) -> list[str]:
        resps = await asyncio.gather(*(post(client, xml) for _ in range(3)))
        assert [r.status for r in resps] == [200, 200, 200]
        bodies = [await r.text() for r in resps]
        # The same text for each copy (the XML's CreateTime is the second of rendering).
        return [b if b == "success" else content(b) for b in bodies]

    async def resident(i: int, user: str) -> None:
        base = 70_000 + i * 10
        steps = [
            wechat_xml(user, MsgType="event", Event="subscribe", CreateTime=now),
            wechat_xml(
                user,
                MsgType="location",
                Location_X=HOME[0],
                Location_Y=HOME[1],
                Scale=15,
                Label="家",
                MsgId=base + 1,
            ),
            wechat_xml(user, MsgType="text", Content="找裁缝", MsgId=base + 2),
            wechat_xml(user, MsgType="text", Content="投诉 1 收费太高", MsgId=base + 3),
        ]
        for xml in steps:
            answers = await storm(xml)
            assert len(set(answers)) == 1, answers  # the retries got the first answer
        assert "投诉" in answers[0]  # the last step's answer

    await asyncio.gather(*(resident(i, u) for i, u in enumerate(residents)))
    assert await Complaint.all().count() == len(residents)
    assert await User.filter(openid__in=residents, followed=True).count() == len(residents)
    # A new MsgId with the same text is new work (the storm test would pass if nothing acted).
    await post(client, wechat_xml(residents[0], MsgType="text", Content="投诉 1 又来了", MsgId=1))
    assert await Complaint.all().count() == len(residents) + 1


# ---- Redis away mid-conversation ---------------------------------------------------------------


@pytest.fixture
async def redis_server(tmp_path: Path) -> Any:
    server = RedisServer(REDIS_PORT, tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
async def own_redis_client(aiohttp_client: Any, make_settings: Any, redis_server: Any) -> Any:
    c = await aiohttp_client(create_app(make_settings(redis_url=redis_server.url)))
    await reset_state(c)
    return c


async def _answer_when_back(client: Any, xml: str, tries: int = 5) -> Any:
    """The first request after a restart may still find a dead pooled connection (503)."""
    for _ in range(tries):
        resp = await post(client, xml)
        if resp.status == 200:
            return resp
        assert resp.status == 503
        await asyncio.sleep(0.2)
    raise AssertionError("no recovery after Redis came back")


async def test_redis_restart_mid_form_is_503_then_the_form_goes_on(
    own_redis_client: Any, redis_server: RedisServer
) -> None:
    client, user = own_redis_client, "o-form-redis"
    first = await post(client, wechat_xml(user, MsgType="text", Content="师傅登记", MsgId=81001))
    assert "怎么称呼" in content(await first.text())
    await post(client, wechat_xml(user, MsgType="text", Content="王师傅", MsgId=81002))

    redis_server.stop()
    xml = wechat_xml(user, MsgType="text", Content="裁缝", MsgId=81003)
    down = await post(client, xml)
    assert down.status == 503
    body = await down.text()
    assert "Traceback" not in body and "redis" not in body.lower() and "服务暂时不可用" in body
    health = await client.get("/healthz")
    assert health.status == 503 and (await health.json())["database"] == "ok"

    redis_server.start()  # same data (append-only file): the form was not touched by the failure
    resp = await _answer_when_back(client, xml)  # WeChat's retry of the same message
    assert "能做什么" in content(await resp.text())
    assert (await client.get("/healthz")).status == 200


async def test_redis_restarted_empty_mid_conversation_answers_sensibly(
    own_redis_client: Any, redis_server: RedisServer
) -> None:
    client, user = own_redis_client, "o-form-lost"
    await post(client, wechat_xml(user, MsgType="text", Content="师傅登记", MsgId=82001))
    await post(client, wechat_xml(user, MsgType="text", Content="王师傅", MsgId=82002))
    redis_server.stop(flush=True)  # a restart that lost everything, forms included
    redis_server.start()
    resp = await _answer_when_back(
        client, wechat_xml(user, MsgType="text", Content="帮助", MsgId=82003)
    )
    reply = content(await resp.text())
    assert reply != texts.ERROR and "找师傅" in reply
    assert await client.app[redis_key].get("linli:form:" + user) is None


# ---- a locked or unreachable database ----------------------------------------------------------


@pytest.fixture
def sqlite_file(database_url: str) -> Path:
    if not database_url.startswith("sqlite://"):
        pytest.skip("locks a SQLite file; on PostgreSQL see test_database_connections_killed")
    return Path(database_url.removeprefix("sqlite://"))


async def test_locked_sqlite_briefly_waits_then_answers(
    client: Any, bot: Any, sqlite_file: Path
) -> None:
    await make_craftsman(bot, "张师傅", ["shoe_repair"], 200)
    holder = sqlite3.connect(sqlite_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        xml = wechat_xml("o-locked", MsgType="event", Event="subscribe")
        pending = asyncio.ensure_future(post(client, xml))
        await asyncio.sleep(0.8)
        assert not pending.done()  # waiting on the lock, not failing
    finally:
        holder.execute("COMMIT")
        holder.close()
    resp = await pending
    assert resp.status == 200 and content(await resp.text()) == texts.WELCOME
    assert await User.filter(openid="o-locked", followed=True).count() == 1


async def test_locked_sqlite_for_long_gives_a_clear_answer_and_writes_nothing_half(
    aiohttp_client: Any, make_settings: Any, sqlite_file: Path, fake_wechat: Any
) -> None:
    client = await aiohttp_client(create_app(make_settings(wechat_reply_deadline=0.5)))
    await reset_state(client)
    holder = sqlite3.connect(sqlite_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        xml = wechat_xml("o-locked-long", MsgType="event", Event="subscribe")
        resp = await post(client, xml)
        # Past the reply deadline: "success" now, the answer follows as a message.
        assert resp.status == 200 and await resp.text() == "success"
        for _ in range(200):
            if fake_wechat.texts_to("o-locked-long"):
                break
            await asyncio.sleep(0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Either the lock cleared in time (welcome) or the resident was told to try again.
    sent = fake_wechat.texts_to("o-locked-long")
    assert sent and sent[0] in {texts.WELCOME, texts.ERROR}
    if sent[0] == texts.ERROR:
        assert await User.filter(openid="o-locked-long").count() == 0
    resp = await post(client, wechat_xml("o-locked-long", MsgType="text", Content="帮助", MsgId=9))
    assert resp.status == 200 and "找师傅" in content(await resp.text())


async def test_database_connections_killed_recovers(client: Any, database_url: str) -> None:
    """PostgreSQL: every connection of the app is terminated mid-run (a failover, a restart)."""
    if not database_url.startswith(("postgres", "asyncpg")):
        pytest.skip("PostgreSQL only")
    import asyncpg

    await post(client, wechat_xml("o-pg-1", MsgType="event", Event="subscribe"))
    admin = await asyncpg.connect(database_url.replace("asyncpg://", "postgres://"))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert killed >= 1
    statuses = []
    for i in range(3):
        xml = wechat_xml(f"o-pg-{i + 2}", MsgType="event", Event="subscribe")
        resp = await post(client, xml)
        statuses.append(resp.status)
        assert resp.status in {200, 503}
    assert statuses[-1] == 200  # back without a restart
    assert await User.filter(openid="o-pg-4", followed=True).count() == 1
