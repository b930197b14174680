"""The /wechat callback: handshake, signatures, the three encryption modes, message types,
retries, the 5-second rule and hostile bodies."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto

from bot import texts
from bot.context import Context
from bot.dispatch import build_router
from bot.messages import Kind
from bot.router import Router, kind
from handlers import wechat_protocol as proto
from handlers.keys import bot_key, redis_key
from infra import keys
from models.users import User
from tests.conftest import AES_KEY, APP_ID, TOKEN, signed_query, url_with, wechat_xml


def reply_of(body: str) -> dict[str, Any]:
    return xmltodict.parse(body)["xml"]


async def post(client: Any, xml: str, **query: str) -> Any:
    return await client.post(url_with(signed_query(**query)), data=xml.encode())


# ---- handshake and signatures ----------------------------------------------------------------


async def test_handshake_echoes_echostr(client: Any) -> None:
    resp = await client.get(url_with(signed_query(echostr="hello-42")))
    assert resp.status == 200
    assert await resp.text() == "hello-42"


async def test_handshake_forged_signature_is_403_without_content(client: Any) -> None:
    q = signed_query(echostr="hello-42")
    q["signature"] = "0" * 40
    resp = await client.get(url_with(q))
    assert resp.status == 403
    assert await resp.text() == ""


async def test_handshake_with_wrong_token_is_403(client: Any) -> None:
    resp = await client.get(url_with(signed_query(token="someoneelse", echostr="x")))
    assert resp.status == 403


async def test_handshake_stale_timestamp_is_403(client: Any) -> None:
    q = signed_query(timestamp=int(time.time()) - 3600, echostr="x")
    resp = await client.get(url_with(q))
    assert resp.status == 403


async def test_handshake_without_echostr_is_400(client: Any) -> None:
    resp = await client.get(url_with(signed_query()))
    assert resp.status == 400


async def test_plaintext_message_gets_a_reply(client: Any) -> None:
    resp = await post(client, wechat_xml(MsgType="text", Content="帮助", MsgId=1001))
    assert resp.status == 200
    reply = reply_of(await resp.text())
    assert reply["ToUserName"] == "o-resident-1"
    assert reply["FromUserName"] == "gh_linli"
    assert reply["MsgType"] == "text"
    assert "找师傅" in reply["Content"]


async def test_forged_post_is_403_and_does_nothing(client: Any) -> None:
    q = signed_query()
    q["signature"] = q["signature"][::-1]
    xml = wechat_xml(MsgType="event", Event="subscribe")
    resp = await client.post(url_with(q), data=xml.encode())
    assert resp.status == 403
    assert await resp.text() == ""
    assert await User.filter(openid="o-resident-1").count() == 0
    assert await client.app[redis_key].keys(keys.DEDUPE + "*") == []


async def test_missing_signature_is_403(client: Any) -> None:
    resp = await client.post("/wechat?timestamp=1&nonce=2", data=b"<xml/>")
    assert resp.status == 403


async def test_stale_post_is_refused(client: Any) -> None:
    xml = wechat_xml(MsgType="text", Content="帮助", MsgId=1002)
    resp = await post(client, xml, timestamp=int(time.time()) - 301)
    assert resp.status == 403


async def test_zero_skew_disables_the_timestamp_check(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client = await aiohttp_client(
        __import__("main").create_app(make_settings(wechat_timestamp_skew=0))
    )
    await client.app[redis_key].flushdb()
    xml = wechat_xml(MsgType="text", Content="帮助", MsgId=1003)
    resp = await post(client, xml, timestamp=1411525903)
    assert resp.status == 200


# ---- encryption modes --------------------------------------------------------------------------


def _encrypted_body(
    plain_xml: str, nonce: str, timestamp: str, with_plain: bool = False
) -> tuple[str, str]:
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    sealed = xmltodict.parse(crypto.encrypt_message(plain_xml, nonce, timestamp))["xml"]
    encrypt = f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt>"
    inner = f"<ToUserName><![CDATA[gh_linli]]></ToUserName>{encrypt}"
    if with_plain:
        inner = (
            plain_xml.removeprefix("<xml>").removesuffix("</xml>")
            + f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt>"
        )
    return f"<xml>{inner}</xml>", sealed["MsgSignature"]


async def test_safe_mode_decrypts_and_encrypts_the_reply(client: Any) -> None:
    ts, nonce = str(int(time.time())), "1234567"
    body, msg_sig = _encrypted_body(
        wechat_xml(MsgType="text", Content="帮助", MsgId=2001), nonce, ts
    )
    q = signed_query(timestamp=int(ts), nonce=nonce, encrypt_type="aes", msg_signature=msg_sig)
    resp = await client.post(url_with(q), data=body.encode())
    assert resp.status == 200
    sealed = reply_of(await resp.text())
    assert "Encrypt" in sealed and "Content" not in sealed
    plain = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
        await resp.text(), sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"]
    )
    assert "找师傅" in reply_of(plain)["Content"]


async def test_safe_mode_bad_msg_signature_is_403(client: Any) -> None:
    ts, nonce = str(int(time.time())), "1234567"
    body, _ = _encrypted_body(wechat_xml(MsgType="text", Content="帮助", MsgId=2002), nonce, ts)
    q = signed_query(timestamp=int(ts), nonce=nonce, encrypt_type="aes", msg_signature="f" * 40)
    resp = await client.post(url_with(q), data=body.encode())
    assert resp.status == 403


async def test_safe_mode_garbage_ciphertext_is_400(client: Any) -> None:
    from handlers.wechat_protocol import sign

    ts, nonce, encrypt = str(int(time.time())), "99", "bm90IHJlYWxseSBlbmNyeXB0ZWQ="
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    q = signed_query(
        timestamp=int(ts),
        nonce=nonce,
        encrypt_type="aes",
        msg_signature=sign(TOKEN, ts, nonce, encrypt),
    )
    resp = await client.post(url_with(q), data=body.encode())
    assert resp.status == 400


async def test_compatible_mode_with_key_answers_encrypted(client: Any) -> None:
    ts, nonce = str(int(time.time())), "55555"
    plain = wechat_xml(MsgType="text", Content="帮助", MsgId=2003)
    body, msg_sig = _encrypted_body(plain, nonce, ts, with_plain=True)
    q = signed_query(timestamp=int(ts), nonce=nonce, encrypt_type="aes", msg_signature=msg_sig)
    resp = await client.post(url_with(q), data=body.encode())
    assert resp.status == 200
    assert "Encrypt" in reply_of(await resp.text())


async def test_compatible_mode_without_key_reads_plaintext(
    aiohttp_client: Any, make_settings: Any
) -> None:
    from main import create_app

    client = await aiohttp_client(create_app(make_settings(wechat_aes_key=None)))
    await client.app[redis_key].flushdb()
    ts, nonce = str(int(time.time())), "66666"
    body, msg_sig = _encrypted_body(
        wechat_xml(MsgType="text", Content="帮助", MsgId=2004), nonce, ts, with_plain=True
    )
    q = signed_query(timestamp=int(ts), nonce=nonce, encrypt_type="aes", msg_signature=msg_sig)
    resp = await client.post(url_with(q), data=body.encode())
    assert resp.status == 200
    assert "找师傅" in reply_of(await resp.text())["Content"]


async def test_wechatpy_public_vector_through_the_endpoint(
    aiohttp_client: Any, make_settings: Any
) -> None:
    """The encrypted message and signature from wechatpy's own test suite."""
    from main import create_app

    settings = make_settings(
        wechat_token="123456",
        wechat_aes_key="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
        wechat_app_id="wx49f0ab532d5d035a",
        wechat_timestamp_skew=0,
    )
    client = await aiohttp_client(create_app(settings))
    await client.app[redis_key].flushdb()
    body = (
        "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n"
        "<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mC"
        "Patfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7"
        "iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkV"
        "QiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipv"
        "WTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>\n"
        "<AgentID><![CDATA[1]]></AgentID>\n</xml>"
    )
    q = signed_query(
        token="123456",
        timestamp=1411525903,
        nonce="461056294",
        encrypt_type="aes",
        msg_signature="74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
    )
    resp = await client.post(url_with(q), data=body.encode())
    assert resp.status == 200
    sealed = reply_of(await resp.text())
    crypto = WeChatCrypto(
        "123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a"
    )
    plain = reply_of(
        crypto.decrypt_message(
            await resp.text(), sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"]
        )
    )
    assert plain["ToUserName"] == "messense"  # the vector's sender gets the answer
    # The same vector with its signature off by one character is refused.
    q["msg_signature"] = "74d92dfeb87ba7c714f89d98870ae5eb62dff26e"
    assert (await client.post(url_with(q), data=body.encode())).status == 403


# ---- message types -----------------------------------------------------------------------------


async def test_voice_is_answered_by_its_recognition(client: Any) -> None:
    xml = wechat_xml(MsgType="voice", MediaId="m1", Format="amr", Recognition="帮助", MsgId=3001)
    reply = reply_of(await (await post(client, xml)).text())
    assert "找师傅" in reply["Content"]


async def test_voice_without_recognition_asks_again(client: Any) -> None:
    xml = wechat_xml(MsgType="voice", MediaId="m1", Format="amr", Recognition="", MsgId=3002)
    reply = reply_of(await (await post(client, xml)).text())
    assert reply["Content"] == texts.VOICE_UNCLEAR


async def test_location_message_is_remembered(client: Any) -> None:
    xml = wechat_xml(
        MsgType="location",
        Location_X="31.2304",
        Location_Y="121.4737",
        Scale=15,
        Label="人民广场",
        MsgId=3003,
    )
    reply = reply_of(await (await post(client, xml)).text())
    assert reply["Content"].startswith(texts.LOCATION_SAVED)  # then: or report it (grid/)
    stored = await client.app[redis_key].get(keys.location("o-resident-1"))
    assert json.loads(stored) == {"lat": 31.2304, "lng": 121.4737, "label": "人民广场"}


async def test_location_event_is_remembered_silently(client: Any) -> None:
    xml = wechat_xml(
        MsgType="event", Event="LOCATION", Latitude="30.5", Longitude="114.3", Precision="50"
    )
    resp = await post(client, xml)
    assert await resp.text() == "success"
    assert await client.app[redis_key].get(keys.location("o-resident-1")) is not None


@pytest.mark.parametrize("msg_type", ["video", "shortvideo", "link", "file"])  # image: a grid photo
async def test_media_gets_a_polite_text_only_answer(client: Any, msg_type: str) -> None:
    xml = wechat_xml(
        MsgType=msg_type, MediaId="m", PicUrl="http://x", Title="t", MsgId=3100 + len(msg_type)
    )
    reply = reply_of(await (await post(client, xml)).text())
    assert reply["Content"] == texts.ONLY_TEXT


async def test_unknown_type_gets_the_fallback(client: Any) -> None:
    xml = wechat_xml(MsgType="hologram", MsgId=3200)
    reply = reply_of(await (await post(client, xml)).text())
    assert reply["Content"] == texts.FALLBACK


async def test_subscribe_welcomes_and_unsubscribe_stops_pushes(client: Any) -> None:
    reply = reply_of(
        await (await post(client, wechat_xml(MsgType="event", Event="subscribe"))).text()
    )
    assert reply["Content"] == texts.WELCOME
    assert (await User.get(openid="o-resident-1")).followed is True
    xml = wechat_xml(MsgType="event", Event="unsubscribe", CreateTime=int(time.time()) + 1)
    resp = await post(client, xml)
    assert await resp.text() == "success"
    assert (await User.get(openid="o-resident-1")).followed is False
    xml = wechat_xml(MsgType="event", Event="subscribe", CreateTime=int(time.time()) + 2)
    await post(client, xml)
    assert (await User.get(openid="o-resident-1")).followed is True


async def test_menu_click_answers_like_typed_text(client: Any) -> None:
    reply = reply_of(
        await (
            await post(client, wechat_xml(MsgType="event", Event="CLICK", EventKey="HELP"))
        ).text()
    )
    assert "找师傅" in reply["Content"]
    xml = wechat_xml(
        MsgType="event", Event="CLICK", EventKey="NO_SUCH_KEY", CreateTime=int(time.time()) + 1
    )
    reply = reply_of(await (await post(client, xml)).text())
    assert reply["Content"] == texts.FALLBACK


async def test_view_event_needs_no_answer(client: Any) -> None:
    resp = await post(
        client, wechat_xml(MsgType="event", Event="VIEW", EventKey="https://example.org")
    )
    assert await resp.text() == "success"


# ---- retries and the 5-second rule -------------------------------------------------------------


def _counting_router(calls: list[str], delay: float = 0.0) -> Router:
    router = Router("counting")

    @router.message(kind(Kind.TEXT))
    async def count(ctx: Context) -> str:
        calls.append(ctx.msg.text)
        await asyncio.sleep(delay)
        return f"第{len(calls)}次处理"

    return router


async def test_three_retries_of_one_msgid_do_the_work_once(client: Any) -> None:
    calls: list[str] = []
    client.app[bot_key].use_router(build_router(_counting_router(calls)))
    xml = wechat_xml(MsgType="text", Content="配钥匙", MsgId=4001)
    answers = [reply_of(await (await post(client, xml)).text())["Content"] for _ in range(4)]
    assert calls == ["配钥匙"]
    assert answers == ["第1次处理"] * 4
    # A different MsgId is new work.
    await post(client, wechat_xml(MsgType="text", Content="配钥匙", MsgId=4002))
    assert len(calls) == 2


async def test_concurrent_retries_run_the_handler_once(client: Any) -> None:
    calls: list[str] = []
    client.app[bot_key].use_router(build_router(_counting_router(calls, delay=0.3)))
    xml = wechat_xml(MsgType="text", Content="修鞋", MsgId=4003)
    resps = await asyncio.gather(*(post(client, xml) for _ in range(3)))
    bodies = [await r.text() for r in resps]
    assert calls == ["修鞋"]
    assert all("第1次处理" in b for b in bodies)


async def test_events_are_deduplicated_by_sender_and_time(client: Any) -> None:
    xml = wechat_xml(MsgType="event", Event="subscribe", CreateTime=1700000000)
    first = await (await post(client, xml)).text()
    second = await (await post(client, xml)).text()
    assert first == second and texts.WELCOME in first
    assert await User.filter(openid="o-resident-1").count() == 1


async def test_slow_answer_becomes_a_customer_service_message(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    from main import create_app

    client = await aiohttp_client(create_app(make_settings(wechat_reply_deadline=0.2)))
    await client.app[redis_key].flushdb()
    calls: list[str] = []
    client.app[bot_key].use_router(build_router(_counting_router(calls, delay=0.8)))
    xml = wechat_xml(MsgType="text", Content="慢慢来", MsgId=4004)
    started = time.monotonic()
    resp = await post(client, xml)
    assert await resp.text() == "success"
    assert time.monotonic() - started < 0.7  # answered before the handler finished
    retry = await post(client, xml)  # WeChat's retry while we are still working
    assert await retry.text() == "success"
    for _ in range(100):
        if fake_wechat.texts_to("o-resident-1"):
            break
        await asyncio.sleep(0.05)
    assert fake_wechat.texts_to("o-resident-1") == ["第1次处理"]
    assert calls == ["慢慢来"]


async def test_long_answer_is_split_across_reply_and_messages(
    client: Any, fake_wechat: Any
) -> None:
    router = Router("long")

    @router.message(kind(Kind.TEXT))
    async def long(ctx: Context) -> str:
        return "\n".join(f"第{i}行：很长很长的一行说明文字" for i in range(150))

    client.app[bot_key].use_router(build_router(router))
    reply = reply_of(
        await (await post(client, wechat_xml(MsgType="text", Content="x", MsgId=4005))).text()
    )
    assert len(reply["Content"].encode()) <= 2000
    for _ in range(100):
        if fake_wechat.texts_to("o-resident-1"):
            break
        await asyncio.sleep(0.05)
    rest = fake_wechat.texts_to("o-resident-1")
    assert rest and all(len(t.encode()) <= 2000 for t in rest)
    assert "第149行" in rest[-1]


# ---- hostile bodies ----------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>a</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""

BARE_DTD = """<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd"><xml><FromUserName>u</FromUserName></xml>"""


@pytest.mark.parametrize(
    "body", [BILLION_LAUGHS, EXTERNAL_ENTITY, BARE_DTD], ids=["bomb", "xxe", "dtd"]
)
async def test_entity_tricks_are_refused_before_parsing(client: Any, body: str) -> None:
    resp = await post(client, body)
    assert resp.status == 400
    assert "passwd" not in await resp.text() and "root:" not in await resp.text()


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not xml at all",
        "<xml><FromUserName>u</FromUserName>",
        "<html><body/></html>",
        "<xml><MsgType>text</MsgType><Content>no sender</Content></xml>",
        "<xml>\x00\x01</xml>",
        "<xml><ToUserName>a</ToUserName><FromUserName>u</FromUserName><CreateTime>abc</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>",
    ],
    ids=["empty", "text", "unclosed", "html", "no-sender", "control-chars", "bad-time"],
)
async def test_malformed_bodies_are_400(client: Any, body: str) -> None:
    resp = await post(client, body)
    assert resp.status == 400


async def test_oversize_body_is_413(client: Any) -> None:
    huge = wechat_xml(MsgType="text", Content="啊" * 40000, MsgId=5001)
    resp = await post(client, huge)
    assert resp.status == 413


async def test_oversize_chunked_body_is_413(client: Any) -> None:
    async def chunks() -> Any:
        for _ in range(200):
            yield b"<xml>" + b"a" * 1024

    resp = await client.post(url_with(signed_query()), data=chunks())
    assert resp.status == 413


async def test_declaration_lookalikes_in_the_residents_text_are_answered(client: Any) -> None:
    """The screen refuses markup declarations, not what a resident types inside CDATA."""
    for n, text in enumerate(["帮助 <!DOCTYPE x>", "<!ENTITY a 'b'> 帮助", "帮助<!--"]):
        resp = await post(client, wechat_xml(MsgType="text", Content=text, MsgId=5101 + n))
        assert resp.status == 200, text
        assert "找师傅" in reply_of(await resp.text())["Content"]


async def test_a_comment_is_harmless_but_a_declaration_after_it_is_not(client: Any) -> None:
    body = wechat_xml(MsgType="text", Content="帮助", MsgId=5110)
    assert (await post(client, "<!-- from a proxy -->" + body)).status == 200
    refused = body.replace("<xml>", "<!DOCTYPE xml><xml>", 1)
    assert (await post(client, refused)).status == 400


# ---- the text fast path (wechat_protocol._plain_text) ----------------------------------------

_FIELDS = ("source", "target", "id", "content", "create_time", "type")


def _general(body: bytes) -> Any:
    from wechatpy import parse_message

    return parse_message(body.decode("utf-8"))


@given(
    content=st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        min_size=1,
        max_size=60,
    ),
    user=st.from_regex(r"o[A-Za-z0-9_-]{5,28}", fullmatch=True),
    msg_id=st.integers(min_value=1, max_value=2**63 - 1),
    cdata=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_a_text_message_reads_the_same_on_the_fast_path(
    content: str, user: str, msg_id: int, cdata: bool
) -> None:
    """Whatever the resident typed, the fast path gives what wechatpy's general path gives."""
    from xml.sax.saxutils import escape

    body_text = (
        "<![CDATA[" + content.replace("]]>", "]]]]><![CDATA[>") + "]]>"
        if cdata
        else escape(content)
    )
    body = (
        f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[{user}]]>"
        f"</FromUserName><CreateTime>1764470000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{body_text}</Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()
    general = _general(body)
    fast = proto._plain_text(body)
    if not content.strip():  # an empty text: the general path's to judge
        assert fast is None
        return
    assert fast is not None
    assert {f: getattr(fast, f) for f in _FIELDS} == {f: getattr(general, f) for f in _FIELDS}
    assert proto.dedupe_key(fast) == proto.dedupe_key(general)


@given(
    text=st.text(max_size=300),
    user=st.text(max_size=40),
    app=st.text(max_size=20),
    at=st.integers(min_value=0, max_value=2**33),
)
@settings(max_examples=300, deadline=None)
def test_the_written_out_reply_is_what_wechatpy_renders(
    text: str, user: str, app: str, at: int
) -> None:
    """render_text writes the passive reply itself; byte for byte wechatpy's TextReply, for
    any answer and names (a CDATA end, a character XML cannot carry, an empty name)."""
    from wechatpy.messages import TextMessage
    from wechatpy.replies import TextReply

    message = TextMessage({"FromUserName": user, "ToUserName": app, "MsgType": "text"})
    expected = TextReply(
        source=proto._cdata(message.target or ""),
        target=proto._cdata(message.source or ""),
        content=proto._cdata(text),
        time=at,
    ).render()
    assert proto.render_text(message, text, at=at) == expected


@pytest.mark.parametrize(
    "body",
    [
        # a nested, a repeated and an unknown element, an attribute, stray text, a bad MsgId,
        # a text message without Content, an image: each left to the general path
        "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
        "<Content><b>x</b></Content></xml>",
        "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
        "<Content>a</Content><Content>b</Content></xml>",
        "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
        "<Content>a</Content><Extra>1</Extra></xml>",
        '<xml><FromUserName a="1">o1</FromUserName><CreateTime>1</CreateTime>'
        "<MsgType>text</MsgType><Content>a</Content></xml>",
        "<xml>stray<FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>a</Content></xml>",
        "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
        "<Content>a</Content><MsgId>x</MsgId></xml>",
        "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
        "</xml>",
        "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>image</MsgType>"
        "<PicUrl>http://x/y.jpg</PicUrl></xml>",
        "<notxml><FromUserName>o1</FromUserName></notxml>",
        "<xml><FromUserName>o1",
    ],
)
def test_anything_unusual_is_left_to_the_general_path(body: str) -> None:
    assert proto._plain_text(body.encode()) is None
