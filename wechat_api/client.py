"""Outbound WeChat API over aiohttp (wechatpy's client is synchronous `requests`).

Speaks the same HTTP API as wechatpy's WeChatClient. The access token lives in Redis, shared by
every process: one process refreshes it under a lock while the others wait for the new value. It
is refreshed before expiry and at once when WeChat says it is invalid (40001, 40014, 42001).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from redis.asyncio import Redis

from infra import keys
from infra.redis import awaitable

if TYPE_CHECKING:
    from settings import Settings

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 40014, 42001}
# Customer-service messages only reach users who wrote in the last 48 hours; template messages
# still do.
OUT_OF_WINDOW = 45015
# Refresh this long before WeChat's stated expiry, so no call races the deadline.
TOKEN_MARGIN = 300
LOCK_TTL = 15

# Delete the token only if it is still the one that failed (another process may have renewed it).
_DELETE_IF_SAME = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class WeChatAPIError(Exception):
    def __init__(self, errcode: int, errmsg: str, status: int = 200) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.status = status

    @property
    def retryable(self) -> bool:
        """Worth retrying later: rate limits (45009), system busy (-1), HTTP 5xx, timeouts."""
        return self.errcode in {-1, 45009, 45011} or self.status >= 500


class MediaTooLarge(Exception):
    """A media file bigger than the caller accepts (its download was stopped there)."""


@dataclass(frozen=True)
class Media:
    """A temporary media file as WeChat serves it (获取临时素材)."""

    content: bytes
    content_type: str  # as WeChat said it, e.g. image/jpeg


class WeChatAPI:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        redis: Redis,
        *,
        app_id: str,
        app_secret: str,
        base: str,
        timeout: float = 5.0,
    ) -> None:
        self._session = session
        self._redis = redis
        self._app_id = app_id
        self._token_key = keys.access_token(app_id)
        self._lock_key = keys.access_token_lock(app_id)
        self._secret = app_secret
        self._base = base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    # ---- token -------------------------------------------------------------------------------

    async def access_token(self) -> str:
        token: str | None = await self._redis.get(self._token_key)
        if token:
            return token
        return await self._refresh()

    async def _refresh(self) -> str:
        for _ in range(int(LOCK_TTL / 0.05)):
            if await self._redis.set(self._lock_key, "1", nx=True, ex=LOCK_TTL):
                try:
                    token: str | None = await self._redis.get(self._token_key)
                    if token:  # someone refreshed while we waited for the lock
                        return token
                    data = await self._request(
                        "GET",
                        "/cgi-bin/token",
                        params={
                            "grant_type": "client_credential",
                            "appid": self._app_id,
                            "secret": self._secret,
                        },
                    )
                    token = data["access_token"]
                    ttl = max(int(data.get("expires_in", 7200)) - TOKEN_MARGIN, 60)
                    await self._redis.set(self._token_key, token, ex=ttl)
                    log.info("access token refreshed", extra={"ttl": ttl})
                    return token
                finally:
                    await self._redis.delete(self._lock_key)
            await asyncio.sleep(0.05)
            token = await self._redis.get(self._token_key)
            if token:
                return token
        raise WeChatAPIError(-1, "timed out waiting for the access token refresh")

    async def invalidate_token(self, token: str) -> None:
        await awaitable(self._redis.eval(_DELETE_IF_SAME, 1, self._token_key, token))

    # ---- calls -------------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        url = self._base + path
        try:
            async with self._session.request(
                method, url, params=params, json=json, timeout=self._timeout
            ) as resp:
                if resp.status >= 400:
                    raise WeChatAPIError(-1, f"HTTP {resp.status}", status=resp.status)
                data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise WeChatAPIError(-1, f"{type(exc).__name__}", status=599) from None
        if not isinstance(data, dict):
            raise WeChatAPIError(-1, "unexpected response", status=502)
        errcode = int(data.get("errcode", 0) or 0)
        if errcode:
            raise WeChatAPIError(errcode, str(data.get("errmsg", "")))
        return data

    async def call(
        self, method: str, path: str, *, json: Any = None, **params: str
    ) -> dict[str, Any]:
        """Call an access-token API; renew the token once if WeChat says it is no longer valid."""
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                return await self._request(
                    method, path, params={"access_token": token, **params}, json=json
                )
            except WeChatAPIError as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    log.info("access token rejected, renewing", extra={"errcode": exc.errcode})
                    await self.invalidate_token(token)
                    continue
                raise
        raise AssertionError("unreachable")

    # ---- media -------------------------------------------------------------------------------

    async def download_media(self, media_id: str, *, max_bytes: int) -> Media:
        """获取临时素材: GET /cgi-bin/media/get (wechatpy's WeChatMedia.download). WeChat answers
        the file itself (Content-Type image/jpeg, ...) for 3 days after it was sent, else JSON
        with an errcode (40007 invalid media_id), raised as WeChatAPIError; the token is renewed
        once as in `call`. A file over `max_bytes` is not read further (MediaTooLarge)."""
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                return await self._media(token, media_id, max_bytes)
            except WeChatAPIError as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    await self.invalidate_token(token)
                    continue
                raise
        raise AssertionError("unreachable")

    async def _media(self, token: str, media_id: str, max_bytes: int) -> Media:
        params = {"access_token": token, "media_id": media_id}
        try:
            async with self._session.get(
                self._base + "/cgi-bin/media/get", params=params, timeout=self._timeout
            ) as resp:
                if resp.status >= 400:
                    raise WeChatAPIError(-1, f"HTTP {resp.status}", status=resp.status)
                kind = resp.content_type
                if kind in {"application/json", "text/plain", "text/json"}:
                    data = await resp.json(content_type=None)
                    errcode = int(data.get("errcode", 0) or 0) if isinstance(data, dict) else 0
                    # A video answers {"video_url": ...}: not a file either.
                    raise WeChatAPIError(errcode or -2, str(data.get("errmsg", "not a file")))
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise MediaTooLarge(f"{resp.content_length} bytes")
                content = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    content += chunk
                    if len(content) > max_bytes:
                        raise MediaTooLarge(f"over {max_bytes} bytes")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise WeChatAPIError(-1, f"{type(exc).__name__}", status=599) from None
        except ValueError:  # JSON that does not parse
            raise WeChatAPIError(-1, "unexpected response", status=502) from None
        return Media(bytes(content), kind)

    # ---- message APIs ------------------------------------------------------------------------

    async def send_text(self, openid: str, text: str) -> None:
        """Customer-service message (客服消息), allowed within 48 h of the user's last message."""
        await self.call(
            "POST",
            "/cgi-bin/message/custom/send",
            json={"touser": openid, "msgtype": "text", "text": {"content": text}},
        )

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, str], url: str | None = None
    ) -> str:
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {k: {"value": v} for k, v in data.items()},
        }
        if url:
            body["url"] = url
        result = await self.call("POST", "/cgi-bin/message/template/send", json=body)
        return str(result.get("msgid", ""))

    async def send_subscribe(
        self, openid: str, template_id: str, data: dict[str, str], page: str | None = None
    ) -> None:
        """Mini-program subscribe message (订阅消息)."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {k: {"value": v} for k, v in data.items()},
        }
        if page:
            body["page"] = page
        await self.call("POST", "/cgi-bin/message/subscribe/send", json=body)

    async def jscode2session(self, code: str) -> dict[str, Any]:
        """Mini-program login: exchange `code` for openid (and a session_key never to expose)."""
        return await self._request(
            "GET",
            "/sns/jscode2session",
            params={
                "appid": self._app_id,
                "secret": self._secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )

    async def msg_sec_check(self, openid: str, content: str, scene: int = 2) -> bool:
        """Content security check (v2); True when WeChat suggests "pass"."""
        data = await self.call(
            "POST",
            "/wxa/msg_sec_check",
            json={"content": content, "version": 2, "scene": scene, "openid": openid},
        )
        suggest: str = data.get("result", {}).get("suggest", "pass")
        return suggest == "pass"


def clients(
    session: aiohttp.ClientSession, redis: Redis, settings: Settings
) -> tuple[WeChatAPI, WeChatAPI]:
    """The Official Account's client and the mini-program's: the same client when no
    MINI_APP_ID is set (the demo), else one per app, each with its own token in Redis."""
    official = WeChatAPI(
        session,
        redis,
        app_id=settings.wechat_app_id,
        app_secret=settings.wechat_app_secret,
        base=settings.wechat_api_base,
    )
    mini_id, mini_secret = settings.mini_credentials
    if mini_id == settings.wechat_app_id:
        return official, official
    mini = WeChatAPI(
        session, redis, app_id=mini_id, app_secret=mini_secret, base=settings.wechat_api_base
    )
    return official, mini
