"""Fuzzing /wechat with hypothesis: random bytes, near-valid messages, hostile XML, huge bodies,
odd query strings. Whatever arrives: never a 500, never a secret or a stack trace in the answer,
and a 200 is always "success" or a well-formed reply to the sender.

The app runs in its own event loop (hypothesis drives plain functions), against the suite's
real database and Redis.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import xmltodict
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from main import create_app
from settings import load_settings
from tests.conftest import AES_KEY, APP_ID, APP_SECRET, TOKEN, signed_query, url_with

SECRETS = [TOKEN, APP_SECRET, AES_KEY]
ALLOWED = {200, 400, 403, 413}

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples every run: CI failures can be replayed
)


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class App:
    """The app on a loop of its own; `post()` is synchronous for hypothesis."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: TestClient) -> None:
        self.loop, self.client = loop, client

    def post(self, query: dict[str, str], body: bytes) -> tuple[int, str]:
        async def go() -> tuple[int, str]:
            resp = await self.client.post(url_with(query), data=body)
            return resp.status, await resp.text()

        return self.loop.run_until_complete(go())


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> Iterator[App]:
    cfg = load_settings(
        None,
        data_dir=Path(tmp_path_factory.mktemp("fuzz")),
        database_url=database_url,
        redis_url=redis_url,
        wechat_token=TOKEN,
        wechat_app_id=APP_ID,
        wechat_app_secret=APP_SECRET,
        wechat_aes_key=AES_KEY,
        wechat_api_base="http://127.0.0.1:9",  # nothing outbound is expected
        push_worker_inprocess=False,
        log_json=False,
    )
    loop = asyncio.new_event_loop()
    client = TestClient(TestServer(create_app(cfg)), loop=loop)
    loop.run_until_complete(client.start_server())
    errors = Recorder()
    logging.getLogger().addHandler(errors)
    try:
        yield App(loop, client)
    finally:
        logging.getLogger().removeHandler(errors)
        loop.run_until_complete(client.close())
        loop.close()
    # A request that made the app log an error (unhandled exception) is a finding too.
    found = [logging.Formatter().format(r) for r in errors.records]
    assert found == [], "\n".join(found)[-4000:]


def check(status: int, body: str) -> None:
    assert status in ALLOWED, (status, body[:500])
    assert "Traceback" not in body and 'File "' not in body
    for secret in SECRETS:
        assert secret not in body
    assert "root:x:" not in body  # no file contents, whatever an entity asked for
    if status == 200 and body != "success":
        reply = xmltodict.parse(body)["xml"]
        assert reply["MsgType"] in {"text"} or "Encrypt" in reply


# ---- strategies --------------------------------------------------------------------------------

FIELDS = [
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "Content",
    "MsgId",
    "Event",
    "EventKey",
    "Location_X",
    "Location_Y",
    "Scale",
    "Label",
    "Recognition",
    "Latitude",
    "Longitude",
    "MediaId",
    "Encrypt",
]
MSG_TYPES = ["text", "voice", "location", "event", "image", "link", "file", "", "TEXT", "\u0000"]
EVENTS = ["subscribe", "unsubscribe", "CLICK", "VIEW", "LOCATION", "SCAN", "", "x" * 300]
texts = st.text(max_size=300)
odd_values = st.one_of(
    texts,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True).map(str),
    st.sampled_from(["]]>", "<![CDATA[", "&amp;", "&#0;", "&#x1F600;", "\ufffe", "<a/>", "找裁缝"]),
)


@st.composite
def near_valid_message(draw: st.DrawFn) -> bytes:
    """A WeChat-shaped body with some fields missing, repeated, wrong or hostile."""
    fields: list[tuple[str, str]] = [
        ("ToUserName", "gh_fuzz"),
        ("FromUserName", draw(st.sampled_from(["o-fuzz", "", "o-" + "x" * 200]) | texts)),
        ("CreateTime", draw(st.just(str(int(time.time()))) | odd_values)),
        ("MsgType", draw(st.sampled_from(MSG_TYPES) | texts)),
    ]
    extra = draw(st.lists(st.tuples(st.sampled_from(FIELDS), odd_values), max_size=8))
    fields += extra
    if draw(st.booleans()):
        fields.append(("Event", draw(st.sampled_from(EVENTS))))
    if draw(st.booleans()):
        fields.append(("MsgId", draw(odd_values)))
    fields = draw(st.permutations(fields))
    cdata = draw(st.booleans())

    def value(v: str) -> str:
        if cdata and "]]>" not in v:
            return f"<![CDATA[{v}]]>"
        return v.replace("&", "&amp;").replace("<", "&lt;")

    inner = "".join(f"<{k}>{value(v)}</{k}>" for k, v in fields)
    return f"<xml>{inner}</xml>".encode("utf-8", "surrogatepass")


@st.composite
def hostile_xml(draw: st.DrawFn) -> bytes:
    name = draw(st.from_regex(r"[a-z]{1,8}", fullmatch=True))
    depth = draw(st.integers(1, 6))
    width = draw(st.integers(1, 12))
    kind = draw(st.sampled_from(["bomb", "external", "parameter", "pi", "deep", "attr", "dtd"]))
    if kind == "bomb":
        ents = [f'<!ENTITY {name}0 "lol">']
        for i in range(1, depth + 1):
            ents.append(f'<!ENTITY {name}{i} "{f"&{name}{i - 1};" * width}">')
        doctype = f"<!DOCTYPE xml [{''.join(ents)}]>"
        body = f"<Content>&{name}{depth};</Content>"
    elif kind == "external":
        target = draw(
            st.sampled_from(["file:///etc/passwd", "http://127.0.0.1:9/x", "expect://id"])
        )
        doctype = f'<!DOCTYPE xml [<!ENTITY {name} SYSTEM "{target}">]>'
        body = f"<Content>&{name};</Content>"
    elif kind == "parameter":
        doctype = f'<!DOCTYPE xml [<!ENTITY % {name} SYSTEM "file:///etc/passwd"> %{name};]>'
        body = "<Content>x</Content>"
    elif kind == "pi":
        doctype = '<?xml-stylesheet href="http://127.0.0.1:9/x.xsl"?>'
        body = "<Content>x</Content>"
    elif kind == "deep":
        n = draw(st.integers(100, 5000))
        doctype, body = "", "<a>" * n + "</a>" * n
    elif kind == "attr":
        n = draw(st.integers(1, 3000))
        doctype = ""
        body = "<Content " + " ".join(f'a{i}="{i}"' for i in range(n)) + ">x</Content>"
    else:
        doctype = f'<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/{name}.dtd">'
        body = "<Content>x</Content>"
    head = draw(st.sampled_from(['<?xml version="1.0"?>', '<?xml version="1.0" encoding="GBK"?>']))
    msg = (
        "<FromUserName>o-fuzz</FromUserName><CreateTime>1</CreateTime>"
        f"<MsgType>text</MsgType><MsgId>{draw(st.integers(1, 10**9))}</MsgId>"
    )
    return f"{head}{doctype}<xml>{msg}{body}</xml>".encode()


queries = st.one_of(
    st.just(None),  # a valid signature
    st.dictionaries(
        st.sampled_from(["signature", "timestamp", "nonce", "encrypt_type", "msg_signature"]),
        st.text(max_size=60),
        max_size=5,
    ),
)


def query_for(drawn: dict[str, str] | None, aes: bool = False) -> dict[str, str]:
    if drawn is None:
        return signed_query(**({"encrypt_type": "aes", "msg_signature": "0" * 40} if aes else {}))
    return {**signed_query(), **drawn}


# ---- the tests ---------------------------------------------------------------------------------


@FUZZ
@given(body=st.binary(max_size=4096))
def test_random_bytes(app: App, body: bytes) -> None:
    check(*app.post(signed_query(), body))


@FUZZ
@given(body=near_valid_message())
def test_near_valid_messages(app: App, body: bytes) -> None:
    check(*app.post(signed_query(), body))


@FUZZ
@given(body=hostile_xml())
def test_hostile_xml_is_refused(app: App, body: bytes) -> None:
    status, text = app.post(signed_query(), body)
    check(status, text)
    if b"<!" in body:  # DTDs and entities; a processing instruction is merely ignored
        assert status == 400


@FUZZ
@given(query=queries, body=near_valid_message(), aes=st.booleans())
def test_odd_query_strings(app: App, query: dict[str, str] | None, body: bytes, aes: bool) -> None:
    check(*app.post(query_for(query, aes), body))


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    size=st.integers(60 * 1024, 300 * 1024), chunk=st.sampled_from([b"a", b"<x>", b"\xe5\x95\x8a"])
)
def test_huge_bodies(app: App, size: int, chunk: bytes) -> None:
    body = b"<xml><Content>" + chunk * (size // len(chunk)) + b"</Content></xml>"
    status, text = app.post(signed_query(), body)
    check(status, text)
    if len(body) > 64 * 1024:
        assert status == 413


def test_the_fuzzer_reaches_the_bot(app: App) -> None:
    """Guard against a fuzzer that only ever hits the signature check: a valid message gets
    a real answer through the same harness."""
    body = (
        "<xml><ToUserName>gh</ToUserName><FromUserName>o-fuzz</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>text</MsgType>"
        f"<Content>帮助</Content><MsgId>{time.time_ns()}</MsgId></xml>"
    ).encode()
    status, text = app.post(signed_query(), body)
    assert status == 200 and "找师傅" in text
    check(status, text)


# ---- what the fuzzer found (each was a 500 before its fix) -------------------------------------

NOW = str(int(time.time()))
FOUND = {
    "msgid-not-a-number": f"<xml><FromUserName>u</FromUserName><CreateTime>{NOW}</CreateTime>"
    "<MsgType>text</MsgType><Content>x</Content><MsgId>:</MsgId></xml>",
    "gbk-declaration": '<?xml version="1.0" encoding="GBK"?><xml><FromUserName>u</FromUserName>'
    "</xml>",
    "location-without-coordinates": f"<xml><FromUserName>u</FromUserName>"
    f"<CreateTime>{NOW}</CreateTime><MsgType>location</MsgType><MsgId>5</MsgId></xml>",
    "location-in-words": f"<xml><FromUserName>u</FromUserName><CreateTime>{NOW}</CreateTime>"
    "<MsgType>location</MsgType><Location_X>north</Location_X><Location_Y>1</Location_Y>"
    "<MsgId>6</MsgId></xml>",
    "nested-content": f"<xml><FromUserName>u</FromUserName><CreateTime>{NOW}</CreateTime>"
    "<MsgType>text</MsgType><Content><b>x</b></Content><MsgId>7</MsgId></xml>",
    "two-senders": f"<xml><FromUserName>u</FromUserName><FromUserName>v</FromUserName>"
    f"<CreateTime>{NOW}</CreateTime><MsgType>text</MsgType><Content>x</Content>"
    "<MsgId>8</MsgId></xml>",
}


@pytest.mark.parametrize("body", FOUND.values(), ids=FOUND.keys())
def test_what_the_fuzzer_found_is_400(app: App, body: str) -> None:
    assert app.post(signed_query(), body.encode()) == (400, "bad request")


def test_superscript_timestamp_is_403(app: App) -> None:
    query = {**signed_query(), "timestamp": "²"}
    assert app.post(query, b"<xml/>")[0] == 403
