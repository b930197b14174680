"""The WeCom intelligent bot over WeCom's long connection (`python main.py wecom-bot`).

For a community office behind NAT: no public URL, the process dials WeCom's WebSocket gateway
(developer.work.weixin.qq.com/document/path/101463), subscribes with the bot id and secret
(`aibot_subscribe`), keeps it alive with `ping`, gets the same messages as the callback in
`aibot_msg_callback` frames and answers on the same connection (`aibot_respond_msg`, a stream
keyed by the frame's req_id). It can also speak first in a group (`aibot_send_msg`): menus,
rosters, a 接龙 (queued by `groups.service.push_to_group`).

WeCom keeps one connection per bot (a second subscriber takes over; the first gets a
`disconnected_event`), so with several processes a Redis lock decides which one holds it; the
others wait and take over when it goes. Drops reconnect with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Any

import aiohttp
from redis.commands.core import AsyncScript

from handlers import wecom_bot_protocol as proto
from handlers.wecom_bot import DEDUPE_TTL, WORKING, WeComBot
from infra import keys
from infra.redis import awaitable

log = logging.getLogger(__name__)

_RENEW = AsyncScript(
    None,  # type: ignore[arg-type]
    b"if redis.call('GET', KEYS[1]) == ARGV[1] then "
    b"return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end",
)
_RELEASE = AsyncScript(
    None,  # type: ignore[arg-type]
    b"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) "
    b"else return 0 end",
)


class Refused(Exception):
    """WeCom refused the subscription (wrong bot id or secret): retried slowly, and said."""


class LongConnection:
    def __init__(
        self,
        channel: WeComBot,
        *,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
    ) -> None:
        settings = channel.settings
        if not (settings.wecom_bot_id and settings.wecom_bot_secret):
            raise ValueError("the long connection needs WECOM_BOT_ID and WECOM_BOT_SECRET")
        self.channel = channel
        self.redis = channel.redis
        self.bot_id = settings.wecom_bot_id
        self.secret = settings.wecom_bot_secret
        self.url = settings.wecom_bot_ws_url
        self.heartbeat = settings.wecom_bot_heartbeat
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.token = os.urandom(8).hex()
        self.lock_ms = int(self.heartbeat * 3 * 1000)
        self.connected = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    # ---- the lock: one connection per bot across processes ---------------------------------

    async def _take_lock(self) -> bool:
        key = keys.wecom_ws_lock(self.bot_id)
        return bool(await self.redis.set(key, self.token, nx=True, px=self.lock_ms))

    async def _renew_lock(self) -> bool:
        key = keys.wecom_ws_lock(self.bot_id)
        return bool(await _RENEW(keys=[key], args=[self.token, self.lock_ms], client=self.redis))

    async def _release_lock(self) -> None:
        key = keys.wecom_ws_lock(self.bot_id)
        await _RELEASE(keys=[key], args=[self.token], client=self.redis)

    # ---- the loop ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Hold the connection until `stop`: take the lock, connect, reconnect with backoff."""
        attempt = 0
        while not stop.is_set():
            if not await self._take_lock():
                await _wait(stop, self.heartbeat)  # another process holds it
                continue
            try:
                if await self._session(stop):
                    attempt = 0  # it was up: start the backoff afresh
            except Refused as exc:
                log.error("wecom long connection refused", extra={"reason": str(exc)})
                attempt = max(attempt, 5)
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError, TypeError) as exc:
                # TypeError: aiohttp's receive_json when the gateway closes instead of answering
                log.warning("wecom long connection failed", extra={"error": type(exc).__name__})
            except Exception:
                log.exception("wecom long connection broke")  # kept running: reconnect below
            finally:
                self.connected.clear()
                await self._release_lock()
            if stop.is_set():
                break
            delay = min(self.backoff * 2**attempt, self.backoff_max)
            attempt += 1
            await _wait(stop, delay)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _session(self, stop: asyncio.Event) -> bool:
        """One connection, until it drops, WeCom hands it to another, or `stop`. True when it
        subscribed."""
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(self.url, heartbeat=None, autoping=True) as ws:
                await self._subscribe(ws)
                self.connected.set()
                log.info("wecom long connection up")
                beat = asyncio.create_task(self._beat(ws, stop))
                outbox = asyncio.create_task(self._outbox(ws, stop))
                stopper = asyncio.create_task(stop.wait())
                reader = asyncio.create_task(self._read(ws))
                try:
                    await asyncio.wait(
                        {beat, outbox, stopper, reader}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    for t in (beat, outbox, stopper, reader):
                        t.cancel()
                    await asyncio.gather(beat, outbox, stopper, reader, return_exceptions=True)
                    await ws.close()
                return True

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        req = os.urandom(6).hex()
        body = {"bot_id": self.bot_id, "secret": self.secret}
        await ws.send_json({"cmd": "aibot_subscribe", "headers": {"req_id": req}, "body": body})
        ack = await ws.receive_json(timeout=max(self.heartbeat, 10))
        if ack.get("errcode", 0) != 0:
            raise Refused(f"{ack.get('errcode')} {ack.get('errmsg', '')}")

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await ws.send_json(frame)

    async def _beat(self, ws: aiohttp.ClientWebSocketResponse, stop: asyncio.Event) -> None:
        """`ping` every heartbeat, and keep the lock; losing the lock ends the session."""
        while not stop.is_set():
            await self._send(ws, {"cmd": "ping", "headers": {"req_id": os.urandom(6).hex()}})
            if not await self._renew_lock():
                log.warning("wecom long connection lock lost")
                return
            await _wait(stop, self.heartbeat)

    async def _outbox(self, ws: aiohttp.ClientWebSocketResponse, stop: asyncio.Event) -> None:
        key = keys.wecom_ws_outbox(self.bot_id)
        while not stop.is_set():
            item = await awaitable(self.redis.blpop([key], timeout=1))
            if item is None:
                continue
            data = json.loads(item[1])
            body = {
                "chatid": data["chatid"],
                "msgtype": "markdown",
                "markdown": {"content": data["content"]},
            }
            req = os.urandom(6).hex()
            try:
                await self._send(
                    ws, {"cmd": "aibot_send_msg", "headers": {"req_id": req}, "body": body}
                )
            except (aiohttp.ClientError, ConnectionError):
                # not sent: the next connection sends it
                await awaitable(self.redis.lpush(key, item[1]))
                raise

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for raw in ws:
            if raw.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(raw.data)
            except ValueError:
                continue
            cmd = frame.get("cmd")
            if cmd == "aibot_msg_callback":
                task = asyncio.create_task(self._answer(ws, frame))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif cmd == "aibot_event_callback":
                body = frame.get("body") or {}
                event = (body.get("event") or {}).get("eventtype", "")
                if event == "disconnected_event":
                    log.warning("wecom handed the connection to another client")
                    return
                if event == "enter_chat":
                    reply = {"msgtype": "text", "text": {"content": await self._welcome(body)}}
                    await self._send(
                        ws,
                        {
                            "cmd": "aibot_respond_welcome_msg",
                            "headers": frame.get("headers", {}),
                            "body": reply,
                        },
                    )

    async def _welcome(self, body: dict[str, Any]) -> str:
        return (
            await self.channel.answer(proto.Message("", "event", "", "", event="enter_chat")) or ""
        )

    async def _answer(self, ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any]) -> None:
        headers = frame.get("headers", {})
        try:
            m = proto.parse_message(frame.get("body") or {})
        except proto.BadRequest:
            return
        if m.msgid and not await self.redis.set(
            keys.dedupe("wecom:" + m.msgid), "ws", nx=True, ex=DEDUPE_TTL
        ):
            return  # delivered again after a reconnect: answered already
        stream_id = os.urandom(8).hex()
        work = asyncio.create_task(self.channel.answer(m))
        done, _ = await asyncio.wait({work}, timeout=self.channel.settings.wecom_bot_first_reply)
        if work not in done:
            await self._send(
                ws,
                {
                    "cmd": "aibot_respond_msg",
                    "headers": headers,
                    "body": proto.stream_reply(stream_id, WORKING, False),
                },
            )
        text = await work
        if text is None:
            return
        try:
            await self._send(
                ws,
                {
                    "cmd": "aibot_respond_msg",
                    "headers": headers,
                    "body": proto.stream_reply(stream_id, text, True),
                },
            )
        except (aiohttp.ClientError, ConnectionError):
            log.warning("wecom answer lost with its connection")


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
