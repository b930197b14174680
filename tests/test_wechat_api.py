"""Outbound WeChat API against the fake WeChat server: the shared access token and its renewal."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from infra import keys
from tests.conftest import APP_ID, APP_SECRET, MINI_APP_ID, MINI_APP_SECRET
from wechat_api.client import WeChatAPI, WeChatAPIError


def _api(
    session: aiohttp.ClientSession,
    redis: Any,
    fake: Any,
    secret: str = APP_SECRET,
    app_id: str = APP_ID,
) -> WeChatAPI:
    return WeChatAPI(session, redis, app_id=app_id, app_secret=secret, base=fake.base)


def _token_fetches(fake: Any) -> int:
    return sum(1 for c in fake.calls if c.path == "/cgi-bin/token")


@pytest.fixture
async def redis(client: Any) -> Any:
    from handlers.keys import redis_key

    return client.app[redis_key]


async def test_token_is_fetched_once_and_shared_in_redis(redis: Any, fake_wechat: Any) -> None:
    async with aiohttp.ClientSession() as s1, aiohttp.ClientSession() as s2:
        # Two clients stand for two processes: they share only Redis.
        a, b = _api(s1, redis, fake_wechat), _api(s2, redis, fake_wechat)
        await asyncio.gather(
            *(api.send_text(f"o-{i}", "你好") for i, api in enumerate([a, b] * 10))
        )
    assert _token_fetches(fake_wechat) == 1
    assert len(fake_wechat.sent()) == 20
    ttl = await redis.ttl(keys.access_token(APP_ID))
    assert 0 < ttl <= 7200 - 300  # renewed before WeChat's expiry


async def test_invalid_token_is_renewed_and_the_call_retried(redis: Any, fake_wechat: Any) -> None:
    async with aiohttp.ClientSession() as session:
        api = _api(session, redis, fake_wechat)
        await api.send_text("o-1", "第一条")
        fake_wechat.expire_tokens()  # someone else fetched a new token: ours answers 40001
        await api.send_text("o-1", "第二条")
    assert fake_wechat.texts_to("o-1") == ["第一条", "第二条"]
    assert _token_fetches(fake_wechat) == 2


@pytest.mark.parametrize("errcode", [40014, 42001])
async def test_other_token_errors_renew_too(redis: Any, fake_wechat: Any, errcode: int) -> None:
    async with aiohttp.ClientSession() as session:
        api = _api(session, redis, fake_wechat)
        fake_wechat.fail("/cgi-bin/message/custom/send", errcode=errcode)
        await api.send_text("o-1", "你好")
    assert fake_wechat.texts_to("o-1") == ["你好"]
    assert _token_fetches(fake_wechat) == 2


async def test_errors_are_reported_with_their_codes(redis: Any, fake_wechat: Any) -> None:
    async with aiohttp.ClientSession() as session:
        api = _api(session, redis, fake_wechat)
        fake_wechat.fail("/cgi-bin/message/custom/send", errcode=45009)
        with pytest.raises(WeChatAPIError) as busy:
            await api.send_text("o-1", "x")
        assert busy.value.errcode == 45009 and busy.value.retryable
        fake_wechat.fail("/cgi-bin/message/custom/send", status=502)
        with pytest.raises(WeChatAPIError) as bad_gateway:
            await api.send_text("o-1", "x")
        assert bad_gateway.value.retryable
        with pytest.raises(WeChatAPIError) as wrong_secret:
            mini = _api(session, redis, fake_wechat, secret="nope", app_id=MINI_APP_ID)
            await mini.jscode2session("abc")
        assert wrong_secret.value.errcode == 40125 and not wrong_secret.value.retryable


async def test_the_official_account_and_the_mini_program_are_two_apps(
    redis: Any, fake_wechat: Any
) -> None:
    """Each has its own token in Redis, and WeChat refuses one app's token on the other's
    APIs (the mistake a shared AppID would make in production)."""
    async with aiohttp.ClientSession() as session:
        official = _api(session, redis, fake_wechat)
        mini = _api(session, redis, fake_wechat, MINI_APP_SECRET, MINI_APP_ID)
        await official.send_text("o-1", "你好")
        await mini.send_subscribe("o-mini-1", "tmpl", {"thing1": "午餐"})
        assert await redis.get(keys.access_token(APP_ID)) != await redis.get(
            keys.access_token(MINI_APP_ID)
        )
        assert (await mini.jscode2session("abc"))["openid"] == "o-mini-abc"
        for call in (
            official.send_subscribe("o-mini-1", "tmpl", {"thing1": "午餐"}),
            official.jscode2session("abc"),
            mini.send_text("o-1", "你好"),
        ):
            with pytest.raises(WeChatAPIError) as refused:
                await call
            assert refused.value.errcode in {48001, 40013}


async def test_slow_wechat_times_out_without_blocking_the_loop(
    redis: Any, fake_wechat: Any
) -> None:
    async with aiohttp.ClientSession() as session:
        api = WeChatAPI(
            session, redis, app_id=APP_ID, app_secret=APP_SECRET, base=fake_wechat.base, timeout=0.3
        )
        await api.access_token()
        fake_wechat.fail("/cgi-bin/message/custom/send", delay=2)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        t = asyncio.create_task(ticker())
        with pytest.raises(WeChatAPIError) as slow:
            await api.send_text("o-1", "x")
        t.cancel()
        assert slow.value.retryable
        assert ticks >= 10  # the loop kept running while we waited


async def test_other_apis_speak_wechats_json(redis: Any, fake_wechat: Any) -> None:
    async with aiohttp.ClientSession() as session:
        api = _api(session, redis, fake_wechat)
        mini = _api(session, redis, fake_wechat, MINI_APP_SECRET, MINI_APP_ID)
        session_info = await mini.jscode2session("code123")
        assert session_info["openid"] == "o-mini-code123"
        assert await mini.msg_sec_check("o-1", "修鞋十元") is True
        assert await mini.msg_sec_check("o-1", "违禁内容") is False
        assert await api.send_template("o-1", "TPL", {"first": "菜单"}) != ""
        await mini.send_subscribe("o-1", "SUB", {"thing1": "午餐"}, page="pages/menu")
    assert fake_wechat.sent("/cgi-bin/message/subscribe/send")[0]["page"] == "pages/menu"
