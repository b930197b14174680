"""`/wechat`: the Official Account callback (GET handshake, POST messages and events)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from bot.context import Once
from handlers import wechat_protocol as proto
from handlers.keys import background_key, bot_key, redis_key, settings_key, wechat_api_key
from infra import jsontext, keys
from push import text as push_text
from wechat_api import REPLY_MAX_BYTES
from wechat_api.client import WeChatAPIError

log = logging.getLogger(__name__)

# WeChat retries an unanswered request three times over ~15 s with the same MsgId.
DEDUPE_TTL = 3600
_PENDING = "\x00pending"
_ASYNC = "\x00async"  # answered later as a customer-service message
# A callback body: a message as WeChat sends it, AES-sealed (base64, a third longer). Well
# above a pasted menu or a 接龙 chain of 40 lines (about 2 KB of text), well below the app's
# limit for uploads: the bot's work on a message is bounded by its length.
MAX_BODY_BYTES = 16 * 1024


def split_text(text: str, limit: int = REPLY_MAX_BYTES) -> list[str]:
    """Split on line breaks into chunks of at most `limit` UTF-8 bytes (shared with pushes)."""
    if text and text[0] != "\n" and len(text.encode()) <= limit:
        return [text]  # what push_text.split_text makes of it, without a pass per line
    return push_text.split_text(text, limit)


async def handshake(request: web.Request) -> web.Response:
    """GET /wechat: WeChat checks the server URL by asking us to echo `echostr`."""
    settings = request.app[settings_key]
    q = request.query
    try:
        proto.check_timestamp(q.get("timestamp"), settings.wechat_timestamp_skew)
        proto.check_signature(
            settings.wechat_token or "", q.get("signature"), q["timestamp"], q.get("nonce")
        )
    except proto.Forbidden:
        return web.Response(status=403)
    echostr = q.get("echostr")
    if not echostr:
        return web.Response(status=400, text="echostr missing")
    return web.Response(text=echostr)


async def callback(request: web.Request) -> web.Response:
    """POST /wechat: a message or event, in plaintext, compatible or safe (AES) mode."""
    settings = request.app[settings_key]
    query = dict(request.query)
    try:
        proto.check_timestamp(query.get("timestamp"), settings.wechat_timestamp_skew)
        body = await _read_capped(request)
        if body is None:
            log.info("callback refused", extra={"reason": "body too large"})
            return web.Response(status=413, text="request body too large")
        envelope = proto.open_envelope(
            body,
            token=settings.wechat_token or "",
            aes_key=settings.wechat_aes_key,
            app_id=settings.wechat_app_id,
            query=query,
        )
        message = proto.parse(envelope.plaintext)
    except proto.Forbidden as exc:
        log.info("callback refused", extra={"reason": str(exc)})
        return web.Response(status=403)
    except proto.BadRequest as exc:
        log.info("callback rejected", extra={"reason": str(exc)})
        return web.Response(status=400, text="bad request")

    text = await _answer_once(request.app, message)
    if not text:
        return web.Response(text="success")
    reply_xml = proto.render_text(message, text)
    if envelope.encrypted:
        assert settings.wechat_aes_key is not None
        reply_xml = proto.seal(
            reply_xml,
            token=settings.wechat_token or "",
            aes_key=settings.wechat_aes_key,
            app_id=settings.wechat_app_id,
            nonce=query["nonce"],
        )
    return web.Response(text=reply_xml, content_type="application/xml")


async def _read_capped(request: web.Request) -> bytes | None:
    """The body, or None past MAX_BODY_BYTES (read no further: it may have no Content-Length)."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _answer_once(app: web.Application, message: object) -> str:
    """Run the bot at most once per message, whatever WeChat retries; return the passive text."""
    redis = app[redis_key]
    bot = app[bot_key]
    deadline = app[settings_key].wechat_reply_deadline
    once = Once(keys.dedupe(proto.dedupe_key(message)), _PENDING, DEDUPE_TTL)
    incoming = proto.to_incoming(message)
    ctx = await bot.claim(incoming, once)  # the claim and the user's state: one round trip
    if ctx is None:
        return await _earlier_answer(redis, once.key, deadline)

    task = asyncio.create_task(bot.answer_claimed(ctx, once))
    if not await _done_within(task, deadline):
        # Too slow for a passive reply: say "success" now, send the answer when it is ready.
        # (The answer is then not stored under the claim: a retry also gets "success".)
        await redis.set(once.key, _ASYNC, ex=DEDUPE_TTL)
        _in_background(app, _deliver_later(app, incoming.user, task))
        log.info("answer deferred to a customer-service message")
        return ""
    parts = split_text(task.result())
    if len(parts) > 1:  # longer than one passive reply: the rest follows as messages
        _in_background(app, _send_all(app, incoming.user, parts[1:]))
    return parts[0] if parts else ""


async def _done_within(task: asyncio.Task[str], seconds: float) -> bool:
    """Wait up to `seconds` for `task`, which goes on either way (asyncio.wait, without its
    sets and per-call bookkeeping: this runs once per message)."""
    if task.done():
        return True
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    task.add_done_callback(wake)
    timer = loop.call_later(seconds, wake)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    return task.done()


async def _earlier_answer(redis: object, key: str, deadline: float) -> str:
    """A retry: wait (briefly) for the first attempt's answer and give the same first part."""
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline
    while True:
        value = await redis.get(key)  # type: ignore[attr-defined]
        if value not in (_PENDING, None) or loop.time() >= until:
            break
        await asyncio.sleep(0.05)
    if value in (_PENDING, _ASYNC, None):
        return ""
    parts = split_text(jsontext.loads(value))
    return parts[0] if parts else ""


def _in_background(app: web.Application, coro: Coroutine[Any, Any, None]) -> None:
    tasks = app[background_key]
    task = asyncio.create_task(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _deliver_later(app: web.Application, user: str, task: asyncio.Task[str]) -> None:
    await _send_all(app, user, split_text(await task))


async def _send_all(app: web.Application, user: str, parts: list[str]) -> None:
    api = app[wechat_api_key]
    for part in parts:
        try:
            await api.send_text(user, part)
        except WeChatAPIError as exc:
            log.warning("customer-service message failed", extra={"errcode": exc.errcode})
            return
