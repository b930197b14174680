"""`/wecom/bot`: the WeCom intelligent bot (企业微信智能机器人) in callback mode, and the
channel rules it shares with the long connection (handlers/wecom_ws.py).

What WeCom's documentation says, and what it means here:
- Messages arrive encrypted as JSON; a group message arrives only when the bot is @-mentioned,
  and the content keeps the "@bot" (stripped before the bot reads it). Groups send text, mixed
  and quoted messages only: no location, so "nearest" there is the group's bound place.
- A passive reply is a `stream`: while `finish` is false WeCom keeps POSTing stream refreshes
  (up to 6 minutes after the message, developer.work.weixin.qq.com/document/path/100719), so a
  slow answer follows on a refresh. An answer no refresh collected goes out once through the
  message's `response_url` (one call, valid one hour: document/path/101138).
- A member has at most three messages in flight with the bot; WeCom retries a callback it got
  no answer to, with the same msgid: deduplicated here, the retry sees the same stream.

In a group: state per (group, member) (Incoming.chat), a per-group rate limit, no phone or room
number in any reply (groups.privacy), and form steps that ask for them move to a private chat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.dispatch import Bot
from bot.forms import FORM_TTL
from bot.messages import join_texts
from groups import privacy
from groups import service as groups_service
from handlers import wecom_bot_protocol as proto
from handlers.keys import bot_key, http_key, redis_key, settings_key
from infra import keys
from infra.redis import awaitable
from settings import Settings

log = logging.getLogger(__name__)

DEDUPE_TTL = 3600
STREAM_TTL = 3600  # response_url is valid an hour: nothing is needed after that
WORKING = "正在处理，请稍候…"
ALREADY_SENT = "（回答已单独发出）"
BUSY = "群里消息太多，我先歇一分钟，稍后再@我。"
NO_LOCATION = (
    # WeCom delivers no location messages to the bot, in groups or single chats (接收消息 lists
    # text, image, mixed, voice, file and quotes): the place is typed, or the group's.
    "群里发不了位置：请私聊我，告诉我您住哪个小区，我接着帮您找。"
    "也可以请管理员在群里@我说“绑定本群”，以后群里就按社区的位置找。"
)
WELCOME = "您好，我是社区小助手。可以问食堂菜单、报名送餐、找附近的师傅；在群里请@我。"
GROUP_PLACE_TTL = 24 * 3600


class WeComBot:
    """One WeCom message in, the text to say back out: group rules around `Bot.handle`, and
    the reply stream's state in Redis (so any process can answer a refresh)."""

    def __init__(
        self, bot: Bot, redis: Redis, settings: Settings, http: aiohttp.ClientSession
    ) -> None:
        self.bot = bot
        self.redis = redis
        self.settings = settings
        self.http = http
        self.background: set[asyncio.Task[Any]] = set()

    # ---- the conversation --------------------------------------------------------------

    async def answer(self, m: proto.Message) -> str | None:
        """The reply text, or None to say nothing."""
        if m.msgtype == "event":
            return WELCOME if m.event == "enter_chat" else None
        if m.in_group:
            if not m.mentioned:
                return None  # WeCom delivers only @-mentions; anything else is not for us
            allowed = await self._group_allows(m.chatid)
            if allowed is not True:
                return allowed
        msg = proto.to_incoming(m)
        if m.in_group:
            await self._use_group_place(m.chatid, msg.conversation)
        replies = await self.bot.handle(msg)
        if not m.in_group:
            return join_texts(replies)
        if await self._moved_private(msg.conversation, msg.user):
            replies = replies[:-1]  # the step's question: asked in the private chat instead
            return privacy.redact("\n\n".join([*(r.text for r in replies), privacy.GO_PRIVATE]))
        if await self._waits_for_location(msg.conversation, msg.user):
            replies = replies[:-1]  # "send your location": a group cannot
            return privacy.redact("\n\n".join([*(r.text for r in replies), NO_LOCATION]))
        return privacy.redact(join_texts(replies))

    async def _waits_for_location(self, conversation: str, member: str) -> bool:
        """Groups send no locations: a search waiting for one (an unbound group) waits in the
        member's private chat instead."""
        raw = await self.redis.get(keys.pending(conversation))
        if not raw:
            return False
        ttl = max(await self.redis.ttl(keys.pending(conversation)), 60)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.pending(member), raw, ex=ttl)
            pipe.delete(keys.pending(conversation))
            await pipe.execute()
        return True

    async def _group_allows(self, chat_id: str) -> Literal[True] | str | None:
        """True, or what to say instead: BUSY once when the group passes its limit, then
        nothing until the minute is over."""
        window = int(time.time() // 60)
        key = keys.wecom_group_rate(chat_id, window)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        limit = self.settings.wecom_bot_group_per_minute
        if count <= limit:
            return True
        return BUSY if count == limit + 1 else None

    async def _use_group_place(self, chat_id: str, conversation: str) -> None:
        place = await groups_service.group_place(chat_id)
        if place is None:
            return
        lat, lng, label = place
        value = json.dumps({"lat": lat, "lng": lng, "label": label}, ensure_ascii=False)
        await self.redis.set(keys.location(conversation), value, ex=GROUP_PLACE_TTL)

    async def _moved_private(self, conversation: str, member: str) -> bool:
        """A form in the group now asking for a phone or an address continues in the member's
        private chat with the bot: its state moves there."""
        raw = await self.redis.get(keys.form(conversation))
        if not raw:
            return False
        state = json.loads(raw)
        if not privacy.asks_private(state.get("form", ""), state.get("step", "")):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.form(member), raw, ex=FORM_TTL)
            pipe.delete(keys.form(conversation))
            await pipe.execute()
        return True

    # ---- reply streams (callback mode) -------------------------------------------------

    async def start(self, m: proto.Message) -> dict[str, Any] | None:
        """A new user message: the first passive reply (a stream), answered at once when the
        answer is quick, else "working on it" and the answer on a later refresh."""
        stream_id = os.urandom(8).hex()
        once = keys.dedupe("wecom:" + m.msgid)
        if not await self.redis.set(once, stream_id, nx=True, ex=DEDUPE_TTL):
            earlier = await self.redis.get(once)
            return await self.refresh(earlier) if earlier else None
        key = keys.wecom_stream(stream_id)
        await awaitable(self.redis.hset(key, mapping={"state": "working", "url": m.response_url}))
        await self.redis.expire(key, STREAM_TTL)
        task = self._spawn(self._work(m, stream_id))
        done, _ = await asyncio.wait({task}, timeout=self.settings.wecom_bot_first_reply)
        if task in done:
            if not await awaitable(self.redis.hget(key, "answer")):
                return None  # nothing to say (a busy group): an empty reply, no empty bubble
            return await self.refresh(stream_id)
        return proto.stream_reply(stream_id, WORKING, False)

    async def refresh(self, stream_id: str) -> dict[str, Any]:
        """A stream refresh: the answer once it is ready (taken by one delivery only)."""
        key = keys.wecom_stream(stream_id)
        state = await awaitable(self.redis.hgetall(key))
        if not state:
            return proto.stream_reply(stream_id, "", True)  # unknown or long expired
        if state.get("state") != "ready":
            return proto.stream_reply(stream_id, WORKING, False)
        if (
            await awaitable(self.redis.hsetnx(key, "delivered", "stream"))
            or state.get("delivered") == "stream"
        ):
            return proto.stream_reply(stream_id, state.get("answer", ""), True)
        return proto.stream_reply(stream_id, ALREADY_SENT, True)

    async def _work(self, m: proto.Message, stream_id: str) -> None:
        try:
            text = await self.answer(m) or ""
        except Exception:
            log.exception("wecom answer failed")
            text = "抱歉，出了点问题，请稍后再试。"
        key = keys.wecom_stream(stream_id)
        await awaitable(self.redis.hset(key, mapping={"state": "ready", "answer": text}))
        if text and m.response_url:
            self._spawn(self._unless_refreshed(key, m.response_url, text))

    async def _unless_refreshed(self, key: str, url: str, text: str) -> None:
        """Refreshes stop some minutes after the message (or the client went away): an answer
        no refresh collected goes out through response_url, once."""
        await asyncio.sleep(self.settings.wecom_bot_refresh_grace)
        if await awaitable(self.redis.hsetnx(key, "delivered", "response_url")):
            await self.post_response_url(url, text)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def post_response_url(self, url: str, text: str) -> bool:
        body = {"msgtype": "markdown", "markdown": {"content": text}}
        try:
            async with self.http.post(url, json=body, timeout=aiohttp.ClientTimeout(10)) as resp:
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("response_url failed", extra={"error": type(exc).__name__})
            return False
        ok = isinstance(data, dict) and data.get("errcode", 0) == 0
        if not ok:
            log.warning("response_url refused", extra={"errcode": data.get("errcode")})
        return ok

    async def drain(self, within: float = 10) -> None:
        """Wait for answers and their fallbacks still under way (they spawn more)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + within
        while self.background and loop.time() < until:
            await asyncio.wait(list(self.background), timeout=until - loop.time())


wecom_bot_key = web.AppKey("wecom_bot", WeComBot)


def _crypto(settings: Settings) -> proto.BotCrypto | None:
    if not (settings.wecom_bot_token and settings.wecom_bot_aes_key):
        return None
    return proto.BotCrypto(settings.wecom_bot_token, settings.wecom_bot_aes_key)


async def handshake(request: web.Request) -> web.Response:
    """GET /wecom/bot: WeCom checks the URL; echo the decrypted echostr as plain text."""
    crypto = _crypto(request.app[settings_key])
    if crypto is None:
        return web.Response(status=404, text="WECOM_BOT_TOKEN / WECOM_BOT_AES_KEY not set")
    q = request.query
    try:
        proto.check_timestamp(q.get("timestamp"), request.app[settings_key].wechat_timestamp_skew)
        plain = proto.verify_url(crypto, q)
    except proto.Forbidden:
        return web.Response(status=403)
    except proto.BadRequest:
        return web.Response(status=400, text="bad echostr")
    return web.Response(text=plain)


async def callback(request: web.Request) -> web.Response:
    """POST /wecom/bot: a message, a stream refresh or an event, encrypted JSON."""
    settings = request.app[settings_key]
    crypto = _crypto(settings)
    if crypto is None:
        return web.Response(status=404, text="WECOM_BOT_TOKEN / WECOM_BOT_AES_KEY not set")
    q = request.query
    try:
        proto.check_timestamp(q.get("timestamp"), settings.wechat_timestamp_skew)
        body = await request.read()  # over client_max_size: aiohttp answers 413
        data = proto.open_body(crypto, body, q)
        m = proto.parse_message(data)
    except proto.Forbidden as exc:
        log.info("wecom callback refused", extra={"reason": str(exc)})
        return web.Response(status=403)
    except proto.BadRequest as exc:
        log.info("wecom callback rejected", extra={"reason": str(exc)})
        return web.Response(status=400, text="bad request")
    if settings.wecom_bot_id and m.aibotid and m.aibotid != settings.wecom_bot_id:
        # Signed with our token but for another bot: a configuration mix-up, not ours to answer.
        log.warning("wecom callback for another bot", extra={"aibotid": m.aibotid[:64]})
        return web.Response(status=403)
    channel = request.app[wecom_bot_key]
    if m.msgtype == "stream":
        payload: dict[str, Any] | None = await channel.refresh(m.stream_id)
    elif m.msgtype == "event":
        text = await channel.answer(m)
        payload = {"msgtype": "text", "text": {"content": text}} if text else None
    else:
        payload = await channel.start(m)
    if payload is None:
        return web.Response(text="")  # an empty reply: nothing to say
    return web.json_response(crypto.seal(payload, q.get("nonce") or proto.new_nonce()))


async def wecom_bot_ctx(app: web.Application) -> AsyncIterator[None]:
    channel = WeComBot(app[bot_key], app[redis_key], app[settings_key], app[http_key])
    app[wecom_bot_key] = channel
    yield
    await channel.drain()  # answers promised to members: let them finish


def setup(app: web.Application) -> None:
    """Routes and the channel; after the bot's cleanup context (it needs the bot)."""
    app.cleanup_ctx.append(wecom_bot_ctx)
    app.router.add_get("/wecom/bot", handshake)
    app.router.add_post("/wecom/bot", callback)
