"""Several server processes sharing one Redis and one database.

Real `main.py serve` processes: two on their own ports (so a test can choose which one gets a
request) and a `serve --workers 2` pair sharing one port. They share a redis-server started
here and the suite's database (PostgreSQL when TEST_DATABASE_URL says so, else a
SQLite file). The fake WeChat API runs in a thread of the test process, so its records can be
read directly.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
import xmltodict
from redis.asyncio import Redis
from tortoise import Tortoise, connections

from infra import database, keys
from models.directory import Complaint, Craftsman, Source, Status
from models.users import Role, RoleGrant, User
from settings import load_settings
from tests import servers
from tests.conftest import APP_ID, APP_SECRET, TOKEN, signed_query, url_with, wechat_xml
from tests.directory_support import HOME, north
from wechat_api.fake import FakeWeChat

REDIS_PORT, FAKE_PORT, PORT_A, PORT_B, PORT_SHARED = servers.free_ports(5)


class ThreadedFake:
    """The fake WeChat API on a loop of its own thread (the servers are other processes)."""

    def __init__(self, port: int) -> None:
        self.fake = FakeWeChat(app_id=APP_ID, app_secret=APP_SECRET)
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.stopping = asyncio.Event()
            async with self.fake.running(port=self.port):
                self.ready.set()
                await self.stopping.wait()

        self.loop.run_until_complete(main())

    def __enter__(self) -> FakeWeChat:
        self.thread.start()
        assert self.ready.wait(10)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        assert self.stopping is not None
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)


@dataclass
class Cluster:
    database_url: str
    redis_url: str
    fake: FakeWeChat
    env: dict[str, str]
    tmp: Path


async def _prepare(url: str) -> None:
    """Empty tables, one approved tailor near HOME and one admin (complaints notify admins)."""
    settings = load_settings(None, database_url=url)
    await database.migrate(settings)
    async with database.open_database(settings):
        conn = connections.get("default")
        tables = [m._meta.db_table for app in Tortoise.apps.values() for m in app.values()]
        if conn.capabilities.dialect == "postgres":
            await conn.execute_script(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE;")
        else:
            for table in tables:
                await conn.execute_script(f'DELETE FROM "{table}";')
        await Craftsman.create(
            name="李裁缝",
            categories=["tailor"],
            phone="13900000001",
            lat=north(300),
            lng=HOME[1],
            hours="24/7",
            status=Status.APPROVED,
            source=Source.IMPORT,
        )
        admin = await User.create(openid="o-admin")
        await RoleGrant.create(user=admin, role=Role.ADMIN)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("cluster")
    url = database_url
    if url.startswith("sqlite://"):
        url = f"sqlite://{tmp / 'shared.sqlite3'}"  # a file of its own, two processes on it
    asyncio.run(_prepare(url))
    redis = servers.RedisServer(REDIS_PORT, tmp / "redis").start()
    try:
        with ThreadedFake(FAKE_PORT) as fake:
            env = {
                "DATABASE_URL": url,
                "REDIS_URL": redis.url,
                "WECHAT_TOKEN": TOKEN,
                "WECHAT_AES_KEY": "",
                "WECHAT_APP_ID": APP_ID,
                "WECHAT_APP_SECRET": APP_SECRET,
                "WECHAT_API_BASE": f"http://127.0.0.1:{FAKE_PORT}",
                "PUSH_WORKER_INPROCESS": "false",
                "LOG_LEVEL": "INFO",
            }
            yield Cluster(url, redis.url, fake, env, tmp)
    finally:
        redis.stop()


@pytest.fixture(scope="module")
def two_servers(cluster: Cluster) -> Iterator[tuple[int, int]]:
    procs = []
    try:
        for port in (PORT_A, PORT_B):
            env = {**cluster.env, "DATA_DIR": str(cluster.tmp / f"data-{port}")}
            procs.append(servers.serve(port, env, cluster.tmp / f"serve-{port}.log"))
        yield PORT_A, PORT_B
    finally:
        for proc in procs:
            servers.stop(proc)


async def send(session: aiohttp.ClientSession, port: int, xml: str) -> tuple[int, str]:
    async with session.post(
        f"http://127.0.0.1:{port}" + url_with(signed_query()), data=xml.encode()
    ) as resp:
        return resp.status, await resp.text()


def content(body: str) -> str:
    return xmltodict.parse(body)["xml"]["Content"]


async def complaints(url: str) -> int:
    async with database.open_database(load_settings(None, database_url=url)):
        return await Complaint.all().count()


async def search_first(session: aiohttp.ClientSession, ports: list[int], user: str, n: int) -> None:
    """Location to one process, the search to the other: the results list is shared."""
    loc = wechat_xml(
        user, MsgType="location", Location_X=HOME[0], Location_Y=HOME[1], Scale=15, MsgId=n
    )
    assert (await send(session, ports[0], loc))[0] == 200
    status, body = await send(
        session, ports[-1], wechat_xml(user, MsgType="text", Content="找裁缝", MsgId=n + 1)
    )
    assert status == 200 and "李裁缝" in content(body)


# ---- the tests ---------------------------------------------------------------------------------


async def test_one_msgid_to_two_processes_acts_once(
    cluster: Cluster, two_servers: tuple[int, int]
) -> None:
    before = await complaints(cluster.database_url)
    async with aiohttp.ClientSession() as session:
        await search_first(session, list(two_servers), "o-dedupe", 610_000)
        xml = wechat_xml("o-dedupe", MsgType="text", Content="投诉 1 收费太高", MsgId=610_002)
        answers = await asyncio.gather(*(send(session, p, xml) for p in two_servers * 2))
    assert [s for s, _ in answers] == [200] * 4
    said = {content(body) for _, body in answers}  # CreateTime aside, the same reply
    assert len(said) == 1 and "投诉" in said.pop()
    assert await complaints(cluster.database_url) == before + 1


async def test_a_form_goes_on_whichever_process_answers(
    cluster: Cluster, two_servers: tuple[int, int]
) -> None:
    me = "o-form-cross"
    steps: list[dict[str, Any]] = [
        {"MsgType": "text", "Content": "我会改衣服，想登记成师傅"},
        {"MsgType": "text", "Content": "王师傅"},
        {"MsgType": "text", "Content": "裁缝、修鞋"},
        {"MsgType": "text", "Content": "改裤脚、换拉链，可上门"},
        {"MsgType": "location", "Location_X": HOME[0], "Location_Y": HOME[1], "Scale": 15},
        {"MsgType": "text", "Content": "周一至周五 8:00-12:00,13:00-17:30；周六 9:00-12:00"},
        {"MsgType": "text", "Content": "13800138000"},
        {"MsgType": "text", "Content": "确认"},
    ]
    replies = []
    async with aiohttp.ClientSession() as session:
        for i, fields in enumerate(steps):
            port = two_servers[i % 2]  # every step to the other process
            status, body = await send(session, port, wechat_xml(me, MsgId=620_000 + i, **fields))
            assert status == 200
            replies.append(content(body))
    assert "请核对" in replies[-2] and "审核通过后" in replies[-1]
    async with database.open_database(load_settings(None, database_url=cluster.database_url)):
        c = await Craftsman.get(openid=me)
    assert (c.name, c.categories, c.phone, c.status) == (
        "王师傅",
        ["tailor", "shoe_repair"],
        "13800138000",
        Status.PENDING,
    )


async def test_processes_share_one_access_token(
    cluster: Cluster, two_servers: tuple[int, int]
) -> None:
    redis = Redis.from_url(cluster.redis_url, decode_responses=True)
    await redis.delete(keys.access_token(APP_ID))
    await redis.aclose()
    fake = cluster.fake
    fake.calls.clear()
    async with aiohttp.ClientSession() as session:
        for i, port in enumerate(two_servers):
            await search_first(session, [port], f"o-token-{i}", 630_000 + 10 * i)
        # Each process files a complaint and tells the admin (a customer-service message).
        sends = [
            send(
                session,
                port,
                wechat_xml(f"o-token-{i}", MsgType="text", Content="投诉 1 态度差", MsgId=i + 5),
            )
            for i, port in enumerate(two_servers)
        ]
        assert [s for s, _ in await asyncio.gather(*sends)] == [200, 200]
    for _ in range(100):
        if len(fake.texts_to("o-admin")) == 2:
            break
        await asyncio.sleep(0.05)
    assert len(fake.texts_to("o-admin")) == 2
    token_calls = [c for c in fake.calls if c.path == "/cgi-bin/token"]
    used = {c.params["access_token"] for c in fake.calls if c.path.endswith("/custom/send")}
    assert len(token_calls) == 1 and len(used) == 1


async def test_serve_workers_share_a_port_dedupe_and_stop_together(cluster: Cluster) -> None:
    env = {**cluster.env, "DATA_DIR": str(cluster.tmp / "data-shared")}
    proc = servers.serve(PORT_SHARED, env, cluster.tmp / "serve-shared.log", "--workers", "2")
    try:
        workers = [
            p for p in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(p.cmdline())
        ]
        assert len(workers) == 2
        for _ in range(300):  # /healthz answered once the first one was up
            listening = {
                c.pid
                for c in psutil.net_connections("tcp")
                if c.status == "LISTEN" and c.laddr.port == PORT_SHARED
            }
            if len(listening) == 2:
                break
            await asyncio.sleep(0.1)
        assert listening == {w.pid for w in workers}
        before = await complaints(cluster.database_url)
        ports = [PORT_SHARED]
        # A new connection for every request, so the kernel spreads them over both workers.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def resident(i: int) -> None:
                await search_first(session, ports, f"o-shared-{i}", 640_000 + 10 * i)
                xml = wechat_xml(
                    f"o-shared-{i}", MsgType="text", Content="投诉 1 迟到", MsgId=640_005 + 10 * i
                )
                answers = await asyncio.gather(*(send(session, PORT_SHARED, xml) for _ in range(3)))
                assert all(status == 200 for status, _ in answers)
                assert len({content(body) for _, body in answers}) == 1

            await asyncio.gather(*(resident(i) for i in range(8)))
        assert await complaints(cluster.database_url) == before + 8
        busy = [w.cpu_times().user + w.cpu_times().system for w in workers]
        assert all(t > 0 for t in busy)
    finally:
        started = time.monotonic()
        code = servers.stop(proc)
    assert code == 0 and time.monotonic() - started < 20
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)


def test_serve_workers_without_redis_url_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {
        k: v for k, v in __import__("os").environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}
    }
    env.update(DATA_DIR=str(tmp_path), PORT=str(PORT_SHARED), WECHAT_TOKEN=TOKEN)
    out = subprocess.run(
        [sys.executable, "main.py", "serve", "--workers", "2"],
        cwd=servers.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "REDIS_URL" in out.stderr
