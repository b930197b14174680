"""Security beyond the basic signature tests in test_wechat_callback.py: replays, timestamps
from the future, signatures that are nearly right, personal data kept out of INFO logs, and
secrets kept out of every answer."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
import xmltodict

from handlers.keys import redis_key
from handlers.wechat_protocol import sign
from infra import keys
from infra.log import JsonFormatter
from models.directory import Complaint
from tests.conftest import AES_KEY, APP_SECRET, TOKEN, signed_query, url_with, wechat_xml
from tests.directory_support import HOME, make_admin, make_craftsman

PHONE = "13812345678"
ADDRESS = "幸福小区3号楼2单元"


async def post(client: Any, xml: str, query: dict[str, str] | None = None) -> Any:
    return await client.post(url_with(query or signed_query()), data=xml.encode())


def content(body: str) -> str:
    return xmltodict.parse(body)["xml"]["Content"]


# ---- replays and timestamps --------------------------------------------------------------------


async def test_replayed_request_inside_the_window_acts_once(client: Any, bot: Any) -> None:
    """A captured request sent again (same signature, same body) is only a retry: the same
    answer, no second action."""
    await make_craftsman(bot, "李裁缝", ["tailor"], 300)
    user = "o-replay"
    loc = wechat_xml(user, MsgType="location", Location_X=HOME[0], Location_Y=HOME[1], MsgId=51)
    await post(client, loc)
    await post(client, wechat_xml(user, MsgType="text", Content="找裁缝", MsgId=52))
    captured = (
        signed_query(nonce="31337"),
        wechat_xml(user, MsgType="text", Content="投诉 1 差", MsgId=53),
    )
    first = await post(client, captured[1], captured[0])
    for _ in range(3):
        again = await post(client, captured[1], captured[0])
        assert content(await again.text()) == content(await first.text())
    assert await Complaint.all().count() == 1


@pytest.mark.parametrize("offset", [301, 86_400, 10**9])
async def test_timestamps_from_the_future_are_refused(client: Any, offset: int) -> None:
    xml = wechat_xml(MsgType="text", Content="帮助", MsgId=54)
    resp = await post(client, xml, signed_query(timestamp=int(time.time()) + offset))
    assert resp.status == 403 and await resp.text() == ""


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q: {**q, "signature": q["signature"].upper()},  # same digest, other case
        lambda q: {**q, "signature": q["signature"][:-1]},  # one character short
        lambda q: {**q, "signature": q["signature"] + "0"},
        lambda q: {**q, "nonce": q["nonce"] + "1"},  # signed for another nonce
        lambda q: {**q, "timestamp": str(int(q["timestamp"]) - 1)},  # for another second
        lambda q: {k: v for k, v in q.items() if k != "nonce"},
        lambda q: {**q, "signature": sign("", q["timestamp"], q["nonce"])},  # empty token
    ],
    ids=["uppercase", "short", "long", "nonce", "timestamp", "no-nonce", "empty-token"],
)
async def test_nearly_right_signatures_are_refused(client: Any, tamper: Any) -> None:
    xml = wechat_xml("o-tamper", MsgType="event", Event="subscribe")
    resp = await post(client, xml, tamper(signed_query()))
    assert resp.status == 403
    assert await client.app[redis_key].keys(keys.DEDUPE + "*") == []


async def test_safe_mode_needs_the_outer_signature_too(client: Any) -> None:
    """A correct msg_signature does not excuse a forged `signature`."""
    from wechatpy.crypto import WeChatCrypto

    from tests.conftest import APP_ID

    ts, nonce = str(int(time.time())), "4242"
    plain = wechat_xml(MsgType="text", Content="帮助", MsgId=55)
    sealed = xmltodict.parse(WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(plain, nonce, ts))
    body = f"<xml><Encrypt><![CDATA[{sealed['xml']['Encrypt']}]]></Encrypt></xml>"
    q = signed_query(timestamp=int(ts), nonce=nonce, encrypt_type="aes")
    q["msg_signature"] = sealed["xml"]["MsgSignature"]
    q["signature"] = "0" * 40
    assert (await post(client, body, q)).status == 403


# ---- personal data in logs ---------------------------------------------------------------------


async def test_no_phones_addresses_or_openids_in_info_logs(
    client: Any, bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole conversation, as JSON logs would record it: registering with a phone and an
    address, a search whose answer carries phones, a complaint, a refused forged request."""
    caplog.set_level(logging.INFO)
    await make_admin()
    await make_craftsman(bot, "李裁缝", ["tailor"], 300, phone="13900001111")
    me = "o-private-resident-77"
    steps: list[dict[str, Any]] = [
        {"MsgType": "event", "Event": "subscribe"},
        {"MsgType": "location", "Location_X": HOME[0], "Location_Y": HOME[1], "Label": ADDRESS},
        {"MsgType": "text", "Content": "找裁缝"},
        {"MsgType": "text", "Content": f"投诉 1 他打我电话{PHONE}骚扰"},
        {"MsgType": "text", "Content": "我会改衣服，想登记成师傅"},
        {"MsgType": "text", "Content": "王师傅"},
        {"MsgType": "text", "Content": "裁缝"},
        {"MsgType": "text", "Content": "改裤脚"},
        {"MsgType": "location", "Location_X": HOME[0], "Location_Y": HOME[1], "Label": ADDRESS},
        {"MsgType": "text", "Content": "周一至周五 8:00-17:00"},
        {"MsgType": "text", "Content": PHONE},
        {"MsgType": "text", "Content": "确认"},
        {"MsgType": "voice", "Recognition": f"我的电话是{PHONE}", "MediaId": "m"},
    ]
    for i, fields in enumerate(steps):
        ts = int(time.time()) + i  # events are told apart by their time
        resp = await post(client, wechat_xml(me, CreateTime=ts, MsgId=56_000 + i, **fields))
        assert resp.status == 200
    forged = {**signed_query(), "signature": "f" * 40}
    await post(client, wechat_xml(me, MsgType="text", Content=PHONE, MsgId=1), forged)
    await post(client, f"<xml><FromUserName>{me}</FromUserName><Bad>{PHONE}</xml>")

    formatter = JsonFormatter()
    # The fake stands in for WeChat (it logs what it received); access logs are off in `serve`.
    not_ours = {"wechat_api.fake", "aiohttp.access"}
    logged = "\n".join(
        formatter.format(r)
        for r in caplog.records
        if r.levelno >= logging.INFO and r.name not in not_ours
    )
    assert logged  # the conversation did log something
    for secret in (me, PHONE, "13900001111", ADDRESS, "幸福小区"):
        assert secret not in logged, secret


# ---- secrets in answers ------------------------------------------------------------------------


async def test_secrets_never_appear_in_answers(client: Any, fake_wechat: Any) -> None:
    """Answers good and bad (the 503 one is in test_reliability) checked for the token, the
    app secret, the AES key and the live access token."""
    from handlers.keys import wechat_api_key

    api = client.app[wechat_api_key]
    access_token = await api.access_token()
    answers = []
    for path in ("/healthz", url_with(signed_query(echostr="e")), "/wechat", "/nope"):
        resp = await client.get(path)
        answers.append((resp.status, await resp.text(), dict(resp.headers)))
    bodies = [
        wechat_xml(MsgType="text", Content="帮助", MsgId=57),
        "<xml>broken",
        "<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]><xml>&a;</xml>",
    ]
    for body in bodies:
        for query in (signed_query(), {"timestamp": "1", "nonce": "1", "signature": "x"}, {}):
            resp = await post(client, body, query)
            answers.append((resp.status, await resp.text(), dict(resp.headers)))
    resp = await client.post("/api/nlu/parse", json={"text": f"token {TOKEN}?"})
    answers.append((resp.status, "", dict(resp.headers)))  # echoes the text it was given
    dumped = json.dumps(answers, ensure_ascii=False)
    for secret in (TOKEN, APP_SECRET, AES_KEY, access_token):
        assert secret not in dumped
