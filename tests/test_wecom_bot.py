"""The WeCom intelligent bot in callback mode, against a fake WeCom on loopback: URL check,
encrypted JSON, reply streams and their refreshes, response_url, and the group rules."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from wechatpy.enterprise.crypto import PrpCrypto

from bot.context import Context
from bot.dispatch import build_router
from bot.messages import Kind
from bot.router import Router, kind
from canteen.cli import grant_role
from handlers import wecom_bot
from handlers.keys import bot_key
from handlers.wecom_bot_protocol import strip_mention
from infra import keys
from models.groups import GroupBinding
from models.users import Role
from tests.conftest import AES_KEY, lunch_and_dinner_canteen, reset_state
from wechat_api.fake_wecom import FakeWeComBot
from wechat_api.wecom_crypto import BadEnvelope, BotCrypto, sign

BOT_TOKEN = "wecomBotToken1"

# Tencent's published WXBizMsgCrypt samples (WeCom, receive id = corp id): the same cipher and
# signature as the intelligent bot, whose receive id is "".
SAMPLE_TOKEN = "QDG6eK"
SAMPLE_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SAMPLE_CORP = "wx5823bf96d3bd56c7"
SAMPLE_VERIFY = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZ"
    "XvnaqQ"
    "==",
}
SAMPLE_MSG_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
SAMPLE_MSG = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj9"
    "11L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DO"
    "dnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH0"
    "3v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6B"
    "pNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E"
    "7Q=="
)


def test_the_cipher_matches_tencents_published_samples() -> None:
    """URL check and message of Tencent's WeCom sample, through the same signature and cipher
    the bot uses (only the receive id differs: the sample's corp id instead of "")."""
    crypto = BotCrypto(SAMPLE_TOKEN, SAMPLE_KEY)
    v = SAMPLE_VERIFY
    crypto._check(v["msg_signature"], v["timestamp"], v["nonce"], v["echostr"])
    key = base64.b64decode(SAMPLE_KEY + "=")
    assert PrpCrypto(key).decrypt(v["echostr"], SAMPLE_CORP) == "1616140317555161061"
    crypto._check(SAMPLE_MSG_SIGNATURE, "1409659813", "1372623149", SAMPLE_MSG)
    xml = PrpCrypto(key).decrypt(SAMPLE_MSG, SAMPLE_CORP)
    assert "<Content><![CDATA[hello]]></Content>" in xml
    # the sample is not for the bot's empty receive id: refused, not misread
    with pytest.raises(BadEnvelope):
        crypto._decrypt(SAMPLE_MSG)


def test_json_round_trip_with_the_empty_receive_id() -> None:
    crypto = BotCrypto(BOT_TOKEN, AES_KEY)
    sealed = crypto.seal({"msgtype": "stream", "stream": {"content": "午饭 红烧肉"}}, "n1", "1700")
    expected = hashlib.sha1(
        "".join(sorted([BOT_TOKEN, "1700", "n1", sealed["encrypt"]])).encode()
    ).hexdigest()
    assert sealed["msgsignature"] == expected
    body = json.dumps({"encrypt": sealed["encrypt"]}).encode()
    opened = crypto.open(body, sealed["msgsignature"], "1700", "n1")
    assert opened["stream"]["content"] == "午饭 红烧肉"


def test_the_mention_is_stripped() -> None:
    assert strip_mention("@小助手 明天午饭吃什么") == ("明天午饭吃什么", True)
    assert strip_mention("@小助手\u2005找裁缝") == ("找裁缝", True)
    assert strip_mention("找裁缝 @小助手") == ("找裁缝", True)
    assert strip_mention("找裁缝") == ("找裁缝", False)
    assert strip_mention("@小助手\n#接龙\n1. 王阿姨") == ("#接龙\n1. 王阿姨", True)
    assert strip_mention("发邮件到 a@b.com") == ("发邮件到 a@b.com", False)


# ---- the callback against the app ------------------------------------------------------------


class Wecom:
    def __init__(self, client: Any, fake: FakeWeComBot) -> None:
        self.client = client
        self.fake = fake
        self.url = str(client.make_url("/wecom/bot"))
        self.channel = client.app[wecom_bot.wecom_bot_key]

    async def say(self, text: str, **fields: Any) -> str:
        """One message, polled to its end as WeCom does; the text shown (or "")."""
        first = await self.fake.send(self.url, text, **fields)
        if first is None:
            return ""
        if first.get("msgtype") == "text":
            return first["text"]["content"]
        final = await self.fake.refresh_until_done(self.url, first)
        return final["stream"]["content"]

    def use(self, router: Router) -> None:
        self.client.app[bot_key].use_router(build_router(router))


@pytest.fixture
async def wecom(aiohttp_client: Any, make_settings: Any) -> AsyncIterator[Wecom]:
    from main import create_app

    fake = FakeWeComBot(BOT_TOKEN, AES_KEY, "aibot-1", "bot-secret")
    async with fake.running():
        settings = make_settings(
            wecom_bot_token=BOT_TOKEN,
            wecom_bot_aes_key=AES_KEY,
            wecom_bot_id="aibot-1",
            wecom_bot_first_reply=0.5,
            wecom_bot_refresh_grace=0.2,
            wecom_bot_group_per_minute=3,
        )
        client = await aiohttp_client(create_app(settings))
        await reset_state(client)
        yield Wecom(client, fake)
        await client.app[wecom_bot.wecom_bot_key].drain()


def _gate() -> tuple[Router, asyncio.Event, list[str]]:
    """A bot whose answers wait until the test opens the gate (a slow answer, untimed)."""
    router = Router("slow")
    gate = asyncio.Event()
    seen: list[str] = []

    @router.message(kind(Kind.TEXT))
    async def slow(ctx: Context) -> str:
        seen.append(ctx.msg.text)
        await gate.wait()
        return f"答：{ctx.msg.text}"

    return router, gate, seen


async def test_url_verification_echoes_the_plain_echostr(wecom: Wecom) -> None:
    assert await wecom.fake.verify_url(wecom.url, "1616140317555161061") == (
        200,
        "1616140317555161061",
    )
    wrong = FakeWeComBot("anotherToken", AES_KEY)
    status, _ = await wrong.verify_url(wecom.url)
    assert status == 403


@pytest.mark.parametrize(
    "body, query_change, status",
    [
        (b"not json", {}, 400),
        (b'{"no": "encrypt"}', {}, 400),
        (b"[1, 2]", {}, 400),
        (None, {"msg_signature": "0" * 40}, 403),
        (None, {"timestamp": "x"}, 403),
        (b'{"encrypt": "bm90IGEgY2lwaGVydGV4dA=="}', "sign", 400),
        ("plain-not-json", "sign", 400),
    ],
)
async def test_bad_signatures_and_bodies_get_a_4xx(
    wecom: Wecom, body: Any, query_change: Any, status: int
) -> None:
    fake = wecom.fake
    query, good = fake.encrypted(fake.message("帮助"))
    if body == "plain-not-json":  # encrypted properly, but the plaintext is not JSON
        body = json.dumps({"encrypt": fake.crypto.encrypt("not json")}).encode()
    body = good if body is None else body
    if query_change == "sign":
        encrypt = json.loads(body)["encrypt"]
        query["msg_signature"] = sign(BOT_TOKEN, query["timestamp"], query["nonce"], encrypt)
    elif query_change:
        query.update(query_change)
    resp = await wecom.client.post("/wecom/bot?" + urlencode(query), data=body)
    assert resp.status == status


async def test_a_message_for_another_bot_is_refused(wecom: Wecom) -> None:
    other = wecom.fake.message("帮助")
    other["aibotid"] = "someone-elses-bot"
    query, body = wecom.fake.encrypted(other)
    resp = await wecom.client.post("/wecom/bot?" + urlencode(query), data=body)
    assert resp.status == 403


async def test_a_quick_answer_is_in_the_first_reply(wecom: Wecom) -> None:
    first = await wecom.fake.send(wecom.url, "帮助")
    assert first is not None and first["msgtype"] == "stream"
    assert first["stream"]["finish"] is True
    assert first["stream"]["content"]


async def test_a_slow_answer_follows_on_a_refresh(wecom: Wecom) -> None:
    router, gate, _ = _gate()
    wecom.use(router)
    first = await wecom.fake.send(wecom.url, "明天午饭吃什么")
    assert first is not None and first["stream"]["finish"] is False
    again = await wecom.fake.refresh(wecom.url, first["stream"]["id"])
    assert again["stream"]["finish"] is False  # still working
    gate.set()
    final = await wecom.fake.refresh_until_done(wecom.url, first)
    assert final["stream"]["content"] == "答：明天午饭吃什么"
    await wecom.channel.drain()
    assert wecom.fake.responses == {}  # collected by a refresh: response_url stays unused


async def test_a_retried_message_is_answered_once(wecom: Wecom) -> None:
    router, gate, seen = _gate()
    wecom.use(router)
    msg = wecom.fake.message("找裁缝", msgid="retry-1")
    first = await wecom.fake.post(wecom.url, msg)
    retry = await wecom.fake.post(wecom.url, msg)  # WeCom retries with the same msgid
    assert first is not None and retry is not None
    assert retry["stream"]["id"] == first["stream"]["id"]
    gate.set()
    await wecom.fake.refresh_until_done(wecom.url, first)
    assert seen == ["找裁缝"]


async def test_when_refreshes_stop_the_answer_goes_out_once_by_response_url(wecom: Wecom) -> None:
    router, gate, _ = _gate()
    wecom.use(router)
    first = await wecom.fake.send(wecom.url, "今天有什么菜", msgid="late-1")
    assert first is not None and first["stream"]["finish"] is False
    gate.set()  # ... and WeCom stopped refreshing (six minutes passed, or the client left)
    await wecom.channel.drain()
    body = wecom.fake.responses["late-1"]
    assert body == {"msgtype": "markdown", "markdown": {"content": "答：今天有什么菜"}}
    late = await wecom.fake.refresh(wecom.url, first["stream"]["id"])
    assert late["stream"]["finish"] is True and "答：" not in late["stream"]["content"]
    assert wecom.fake.response_refused == 0  # response_url was called exactly once


# ---- groups ----------------------------------------------------------------------------------


async def test_in_a_group_only_a_mention_is_answered(wecom: Wecom) -> None:
    assert await wecom.say("帮助", chat="wrGroup1") == ""
    assert await wecom.say("@小助手 帮助", chat="wrGroup1") != ""


async def test_a_busy_group_is_rate_limited(wecom: Wecom) -> None:
    said = [await wecom.say("@小助手 帮助", chat="wrBusy") for _ in range(5)]
    assert all(said[:3])
    assert said[3] == wecom_bot.BUSY
    assert said[4] == ""
    assert await wecom.say("@小助手 帮助", chat="wrQuiet")  # other groups are not affected


async def test_group_replies_never_show_a_phone_or_room_number(wecom: Wecom) -> None:
    router = Router("leaky")

    @router.message(kind(Kind.TEXT))
    async def leaky(ctx: Context) -> str:
        return "王阿姨 3号楼2单元401 电话13812345678"

    wecom.use(router)
    in_group = await wecom.say("@小助手 谁订了", chat="wrGroup1")
    assert "401" not in in_group and "13812345678" not in in_group
    assert "3号楼" in in_group
    assert "13812345678" in await wecom.say("谁订了")  # a private chat shows it


async def test_a_sign_up_started_in_a_group_asks_for_the_address_in_private(wecom: Wecom) -> None:
    await lunch_and_dinner_canteen()
    said = await wecom.say("@小助手 能给我妈送饭吗", user="wangjie", chat="wrGroup1")
    assert "请私聊我" in said and "送到哪里" not in said
    redis = wecom.client.app[bot_key].services.redis
    assert not await redis.exists(keys.form("wecom:wrGroup1:wecom:wangjie"))
    # the private chat carries on with the same form
    assert "送哪一餐" in await wecom.say("3号楼2单元401", user="wangjie")
    # another member's conversation in the group is their own
    assert "请私聊我" in await wecom.say("@小助手 能给我爸送饭吗", user="lisi", chat="wrGroup1")


async def test_an_admin_binds_the_group_and_nearest_uses_its_place(wecom: Wecom) -> None:
    canteen = await lunch_and_dinner_canteen()
    assert "只有社区管理员" in await wecom.say("@小助手 绑定本群 1-5号楼", chat="wrG")
    await grant_role("wecom:admin1", Role.ADMIN, None, None)
    said = await wecom.say("@小助手 绑定本群 1-5号楼", user="admin1", chat="wrG")
    assert "已绑定" in said and canteen.name in said
    binding = await GroupBinding.get(chat_id="wrG")
    assert (binding.canteen_id, binding.area) == (canteen.pk, "1-5号楼")
    # no location in a group: "nearest" searches around the group's place instead of asking
    ask = await wecom.say("找裁缝", user="zhang")  # a private chat without a location asks
    found = await wecom.say("@小助手 找裁缝", user="zhang", chat="wrG")
    assert found != ask
    assert "位置" in ask


async def test_staff_turn_a_groups_chain_into_sign_ups_from_the_group(wecom: Wecom) -> None:
    import datetime as dt

    from bot.context import SHANGHAI
    from models.delivery import Signup

    canteen = await lunch_and_dinner_canteen()
    await grant_role("wecom:cook", Role.CANTEEN_STAFF, canteen.pk, None)
    bot = wecom.client.app[bot_key]
    bot.services.clock = lambda: dt.datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)
    chain = "@小助手 #接龙\n明天午餐\n1. 王阿姨 3号楼2单元401 1份\n2. 老李 5号楼 两份"
    preview = await wecom.say(chain, user="cook", chat="wrG")
    assert "王阿姨 3号楼 1份 —— 可报名" in preview and "401" not in preview
    assert "食堂工作人员" in await wecom.say(chain, user="resident", chat="wrG")
    done = await wecom.say("@小助手 确认", user="cook", chat="wrG")
    assert "已报名2行" in done
    assert sorted(s.count for s in await Signup.all()) == [1, 2]


async def test_a_refresh_answered_by_another_server_process(
    wecom: Wecom, aiohttp_client: Any, make_settings: Any
) -> None:
    """Stream state lives in Redis: WeCom's refresh may reach any process behind the URL."""
    from main import create_app

    other = await aiohttp_client(
        create_app(make_settings(wecom_bot_token=BOT_TOKEN, wecom_bot_aes_key=AES_KEY))
    )
    router, gate, _ = _gate()
    wecom.use(router)
    first = await wecom.fake.send(wecom.url, "明天午饭吃什么")
    assert first is not None and first["stream"]["finish"] is False
    gate.set()
    elsewhere = str(other.make_url("/wecom/bot"))
    final = await wecom.fake.refresh_until_done(elsewhere, first)
    assert final["stream"]["content"] == "答：明天午饭吃什么"


async def test_a_search_in_an_unbound_group_asks_for_the_location_in_private(wecom: Wecom) -> None:
    said = await wecom.say("@小助手 找裁缝", user="zhao", chat="wrNoPlace")
    assert "群里发不了位置" in said
    redis = wecom.client.app[bot_key].services.redis
    assert await redis.exists(keys.pending("wecom:zhao"))
    assert not await redis.exists(keys.pending("wecom:wrNoPlace:wecom:zhao"))
