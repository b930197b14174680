"""Delivering one outbox message over its channel.

WeChat channels go through `WeChatAPI` (token handling, 40001 renewal inside `call`); WeCom
group robots are a plain webhook keyed by the robot's key, with no access token.
Errors surface as `WeChatAPIError`, whose `.retryable` the worker uses to decide retry vs give up.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from models.push import OutboxMessage, PushChannel
from push.text import MESSAGE_MAX_BYTES
from wechat_api.client import WeChatAPI, WeChatAPIError

# Channels addressed to a WeChat user (openid); pushes to someone who unfollowed are skipped.
USER_CHANNELS = frozenset(
    {PushChannel.WECHAT_CS, PushChannel.WECHAT_TEMPLATE, PushChannel.MINI_SUBSCRIBE}
)


class PayloadError(ValueError):
    """The message can never be sent as written (a bug in whoever enqueued it)."""


class WeComRobot:
    """WeCom (企业微信) group-robot webhook: POST /cgi-bin/webhook/send?key=KEY."""

    def __init__(self, session: aiohttp.ClientSession, base: str, timeout: float = 5.0) -> None:
        self._session = session
        self._base = base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, key: str, msgtype: str, content: str) -> None:
        body = {"msgtype": msgtype, msgtype: {"content": content}}
        try:
            async with self._session.post(
                f"{self._base}/cgi-bin/webhook/send",
                params={"key": key},
                json=body,
                timeout=self._timeout,
            ) as resp:
                if resp.status >= 400:
                    raise WeChatAPIError(-1, f"HTTP {resp.status}", status=resp.status)
                data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise WeChatAPIError(-1, type(exc).__name__, status=599) from None
        if not isinstance(data, dict):
            raise WeChatAPIError(-1, "unexpected response", status=502)
        errcode = int(data.get("errcode", 0) or 0)
        if errcode:
            raise WeChatAPIError(errcode, str(data.get("errmsg", "")))


def _field(payload: dict[str, Any], name: str) -> Any:
    try:
        return payload[name]
    except (KeyError, TypeError):
        raise PayloadError(f"payload lacks {name!r}") from None


def _text(payload: dict[str, Any], name: str) -> str:
    text = _field(payload, name)
    if not isinstance(text, str) or not text:
        raise PayloadError(f"{name!r} must be non-empty text")
    # Refuse rather than let WeChat truncate; enqueue long texts with `outbox.enqueue_text`.
    if len(text.encode()) > MESSAGE_MAX_BYTES:
        raise PayloadError(f"{name!r} is longer than {MESSAGE_MAX_BYTES} bytes")
    return text


async def deliver(
    msg: OutboxMessage, api: WeChatAPI, robot: WeComRobot, mini_api: WeChatAPI | None = None
) -> None:
    """Send one message; raises WeChatAPIError (from WeChat) or PayloadError (never sendable).
    `api` is the Official Account's client, `mini_api` the mini-program's (default: `api`)."""
    p = msg.payload
    if msg.channel == PushChannel.WECHAT_CS:
        await api.send_text(msg.target, _text(p, "text"))
    elif msg.channel == PushChannel.WECHAT_TEMPLATE:
        await api.send_template(
            msg.target, _field(p, "template_id"), _field(p, "data"), p.get("url")
        )
    elif msg.channel == PushChannel.MINI_SUBSCRIBE:
        await (mini_api or api).send_subscribe(
            msg.target, _field(p, "template_id"), _field(p, "data"), p.get("page")
        )
    elif msg.channel == PushChannel.WECOM_ROBOT:
        msgtype = p.get("msgtype", "text") if isinstance(p, dict) else None
        if msgtype not in {"text", "markdown"}:
            raise PayloadError(f"unsupported robot msgtype {msgtype!r}")
        await robot.send(msg.target, msgtype, _text(p, "content"))
    else:
        raise PayloadError(f"unknown channel {msg.channel!r}")
