"""Fuzzing /wecom/bot: properly signed and encrypted callbacks whose JSON is anything (wrong
types, missing fields, odd message types), and raw hostile bodies. Never a 500, never an
unhandled error in the log."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from handlers.wecom_bot import wecom_bot_key
from main import create_app
from settings import load_settings
from tests.conftest import AES_KEY
from tests.test_fuzz_callback import FUZZ, Recorder
from wechat_api.fake_wecom import FakeWeComBot

TOKEN = "fuzzToken1"
ALLOWED = {200, 400, 403, 413}
FAKE = FakeWeComBot(TOKEN, AES_KEY)


class App:
    def __init__(self, loop: asyncio.AbstractEventLoop, client: TestClient) -> None:
        self.loop, self.client = loop, client

    def post(self, query: dict[str, str], body: bytes) -> tuple[int, str]:
        async def go() -> tuple[int, str]:
            resp = await self.client.post("/wecom/bot?" + urlencode(query), data=body)
            return resp.status, await resp.text()

        return self.loop.run_until_complete(go())


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> Iterator[App]:
    cfg = load_settings(
        None,
        data_dir=Path(tmp_path_factory.mktemp("fuzz-wecom")),
        database_url=database_url,
        redis_url=redis_url,
        wecom_bot_token=TOKEN,
        wecom_bot_aes_key=AES_KEY,
        wecom_bot_refresh_grace=0.01,
        wechat_api_base="http://127.0.0.1:9",
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
        loop.run_until_complete(client.app[wecom_bot_key].drain())
    finally:
        logging.getLogger().removeHandler(errors)
        loop.run_until_complete(client.close())
        loop.close()
    found = [logging.Formatter().format(r) for r in errors.records]
    assert found == [], "\n".join(found)[-4000:]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["msgid", "aibotid", "chatid", "chattype", "from", "msgtype", "text", "mixed", "stream",
          "event", "voice", "quote"]  # fmt: skip
MESSAGES = st.fixed_dictionaries(
    {
        "msgtype": st.sampled_from(["text", "mixed", "voice", "stream", "event", "image", "x"])
        | JSON,
        "from": st.just({"userid": "fuzzer"}) | JSON,
        "response_url": st.sampled_from(["", "http://127.0.0.1:9/r", "not a url"]),
    },
    optional={
        name: JSON
        | st.sampled_from(
            [
                {"content": "@小助手 帮助"},
                {"msg_item": [{"msgtype": "text"}, 3]},
                {"id": "s"},
                "group",
                "single",
                "m-1",
            ]  # fmt: skip
        )
        for name in FIELDS
        if name not in ("msgtype", "from")
    },
)


@FUZZ
@given(message=MESSAGES)
def test_any_json_in_a_valid_envelope_gets_an_answer_or_a_400(app: App, message: Any) -> None:
    query, body = FAKE.encrypted(message)
    status, text = app.post(query, body)
    assert status in ALLOWED, (status, text[:300])
    if status == 200 and text:
        reply = json.loads(text)
        assert set(reply) == {"encrypt", "msgsignature", "timestamp", "nonce"}


@FUZZ
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_raw_bodies_never_make_a_500(app: App, body: bytes) -> None:
    query, _ = FAKE.encrypted({"msgtype": "text"})
    status, text = app.post(query, body)
    assert status in ALLOWED and "Traceback" not in text
