"""A fake of WeCom's intelligent-bot side, on loopback, speaking the real protocol.

    fake = FakeWeComBot(token, aes_key, bot_id="aibot-1", secret="s")
    async with fake.running() as base:                   # response_url + WebSocket server
        first = await fake.send(app_url, "@小助手 明天午饭", user="zhangsan", chat="wrGroup")
        final = await fake.refresh_until_done(app_url, first)

As WeCom does, it signs and encrypts each callback (JSON, empty receive id), checks the
signature of each encrypted reply, polls a `stream` with refresh callbacks until `finish`,
takes one call per `response_url`, and serves the long connection: `aibot_subscribe` with
bot id and secret, `ping` heartbeats, `aibot_msg_callback` frames out, `aibot_respond_msg` and
`aibot_send_msg` frames in; a second subscriber takes over and the first gets a
`disconnected_event`, as WeCom allows one connection per bot.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from wechat_api.fake import serving
from wechat_api.wecom_crypto import BotCrypto


def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class FakeWeComBot:
    def __init__(self, token: str, aes_key: str, bot_id: str = "aibot-1", secret: str = "") -> None:
        self.crypto = BotCrypto(token, aes_key)
        self.token = token
        self.bot_id = bot_id
        self.secret = secret
        self.base = ""
        # response_url calls: response_code → the body posted (first call only)
        self.responses: dict[str, Any] = {}
        self.response_refused = 0
        # long connection
        self.connections = 0
        self.subscribed = asyncio.Event()
        self.pings = 0
        self.replies: list[dict[str, Any]] = []  # aibot_respond_msg frames
        self.sent: list[dict[str, Any]] = []  # aibot_send_msg frames (proactive)
        self.frame_seen = asyncio.Condition()
        self._ws: web.WebSocketResponse | None = None
        self._ws_ready = asyncio.Condition()

    # ---- the HTTP side (response_url) and the WebSocket gateway ---------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/cgi-bin/aibot/response", self._response)
        app.router.add_get("/", self._gateway)
        return app

    @asynccontextmanager
    async def running(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        async with serving(self.app(), host, port) as base:
            self.base = base
            try:
                yield base
            finally:
                if self._ws is not None:
                    await self._ws.close()

    @property
    def ws_url(self) -> str:
        return "ws" + self.base.removeprefix("http") + "/"

    def response_url(self, code: str) -> str:
        return f"{self.base}/cgi-bin/aibot/response?response_code={code}"

    async def _response(self, request: web.Request) -> web.Response:
        code = request.query.get("response_code", "")
        body = await request.json()
        if code in self.responses or not code:
            self.response_refused += 1  # each response_url answers once
            return web.json_response({"errcode": 40008, "errmsg": "response_code used"})
        self.responses[code] = body
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    # ---- callbacks to the app --------------------------------------------------------------

    def message(
        self,
        text: str,
        user: str = "zhangsan",
        chat: str = "",
        msgtype: str = "text",
        msgid: str | None = None,
    ) -> dict[str, Any]:
        msgid = msgid or os.urandom(8).hex()
        body: dict[str, Any] = {
            "msgid": msgid,
            "aibotid": self.bot_id,
            "chattype": "group" if chat else "single",
            "from": {"userid": user},
            "response_url": self.response_url(msgid),
            "msgtype": msgtype,
        }
        if chat:
            body["chatid"] = chat
        if msgtype == "text":
            body["text"] = {"content": text}
        elif msgtype == "mixed":
            body["mixed"] = {"msg_item": [{"msgtype": "text", "text": {"content": text}}]}
        elif msgtype == "event":
            body["event"] = {"eventtype": text}
        return body

    def encrypted(self, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """The query and body WeCom POSTs for `payload`."""
        ts, nonce = str(int(time.time())), os.urandom(5).hex()
        encrypt = self.crypto.encrypt(json.dumps(payload, ensure_ascii=False))
        query = {"msg_signature": _sign(self.token, ts, nonce, encrypt), "timestamp": ts,
                 "nonce": nonce}  # fmt: skip
        return query, json.dumps({"encrypt": encrypt}).encode()

    async def post(self, url: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """POST one callback; the decrypted reply (None for an empty one). Checks the reply's
        signature as WeCom does."""
        if payload.get("msgtype") != "stream":
            self.last = payload
        query, body = self.encrypted(payload)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}?{urlencode(query)}", data=body) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    raise AssertionError(f"callback answered {resp.status}: {raw[:200]!r}")
        if not raw:
            return None
        reply = json.loads(raw)
        expected = _sign(self.token, str(reply["timestamp"]), reply["nonce"], reply["encrypt"])
        if reply["msgsignature"] != expected or reply["nonce"] != query["nonce"]:
            raise AssertionError("reply signature does not verify")
        message: dict[str, Any] = json.loads(self.crypto._decrypt(reply["encrypt"]))
        return message

    async def send(self, url: str, text: str, **fields: Any) -> dict[str, Any] | None:
        return await self.post(url, self.message(text, **fields))

    async def refresh(self, url: str, stream_id: str, of: dict[str, Any] | None = None) -> Any:
        base = of or self.last
        payload = {k: v for k, v in base.items() if k not in ("text", "mixed", "response_url")}
        payload.update(msgtype="stream", stream={"id": stream_id})
        return await self.post(url, payload)

    async def refresh_until_done(
        self, url: str, first: dict[str, Any], pause: float = 0.05, most: int = 2000
    ) -> dict[str, Any]:
        """Poll the stream as WeCom does until `finish` (bounded, never timed by the test)."""
        reply = first
        for _ in range(most):
            if reply["stream"]["finish"]:
                return reply
            await asyncio.sleep(pause)
            reply = await self.refresh(url, first["stream"]["id"])
        raise AssertionError("stream never finished")

    async def verify_url(self, url: str, echo: str = "1616140317555161061") -> tuple[int, str]:
        ts, nonce = str(int(time.time())), "263014780"
        encrypted = self.crypto.encrypt(echo)
        query = {"msg_signature": _sign(self.token, ts, nonce, encrypted), "timestamp": ts,
                 "nonce": nonce, "echostr": encrypted}  # fmt: skip
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}?{urlencode(query)}") as resp:
                return resp.status, await resp.text()

    # ---- the long connection -------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        async with self.frame_seen:
            self.frame_seen.notify_all()
        try:
            async for raw in ws:
                if raw.type != aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(raw.data)
                await self._frame(ws, frame)
        finally:
            if self._ws is ws:
                self._ws = None
        return ws

    async def _frame(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        cmd, headers = frame.get("cmd"), frame.get("headers", {})
        if cmd == "aibot_subscribe":
            body = frame.get("body", {})
            if body.get("bot_id") != self.bot_id or body.get("secret") != self.secret:
                await ws.send_json({"headers": headers, "errcode": 853000,
                                    "errmsg": "invalid bot_id or secret"})  # fmt: skip
                await ws.close()
                return
            old, self._ws = self._ws, ws
            if old is not None and not old.closed:  # one connection per bot: the new one wins
                event = {"msgtype": "event", "event": {"eventtype": "disconnected_event"}}
                await old.send_json(
                    {"cmd": "aibot_event_callback", "headers": {"req_id": "x"}, "body": event}
                )
                await old.close()
            await ws.send_json({"headers": headers, "errcode": 0, "errmsg": "ok"})
            async with self._ws_ready:
                self.subscribed.set()
                self._ws_ready.notify_all()
            return
        if ws is not self._ws:
            return
        if cmd == "ping":
            self.pings += 1
        elif cmd == "aibot_respond_msg":
            self.replies.append(frame)
        elif cmd == "aibot_send_msg":
            self.sent.append(frame)
        await ws.send_json({"headers": headers, "errcode": 0, "errmsg": "ok"})
        async with self.frame_seen:
            self.frame_seen.notify_all()

    async def wait_connected(self) -> None:
        async with self._ws_ready:
            await self._ws_ready.wait_for(lambda: self._ws is not None and not self._ws.closed)

    async def push(self, body: dict[str, Any]) -> str:
        """Deliver a message over the long connection; the req_id its replies carry."""
        await self.wait_connected()
        assert self._ws is not None
        req_id = os.urandom(6).hex()
        await self._ws.send_json({"cmd": "aibot_msg_callback", "headers": {"req_id": req_id},
                                  "body": body})  # fmt: skip
        return req_id

    async def drop(self) -> None:
        """The network drops the connection (no disconnected_event)."""
        ws, self._ws = self._ws, None
        self.subscribed.clear()
        if ws is not None:
            await ws.close()

    async def wait_for(self, predicate: Any) -> None:
        async with self.frame_seen:
            await self.frame_seen.wait_for(predicate)
