"""A fake WeChat API server on loopback, for tests and local development.

Same paths, JSON and error codes as api.weixin.qq.com (and qyapi.weixin.qq.com's group-robot
webhook). It records every request and can be told to fail: an errcode (45009, 40001, -1, ...),
an HTTP status (5xx) or a delay, for the next N calls to a path.

    fake = FakeWeChat(app_id="wx1", app_secret="s")
    async with fake.running() as base:   # base = "http://127.0.0.1:PORT"
        ...

An Official Account and a mini-program are two apps with their own credentials and tokens
(`mini_app_id`/`mini_app_secret`; unset: one app does both, as in the demo). As on WeChat, a
token only works for its own app's APIs: an Official Account token on a mini-program API (or the
other way round) is refused with 48001.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

log = logging.getLogger(__name__)

TOKEN_TTL = 7200
# WeCom group robots accept at most 20 messages a minute each.
ROBOT_PER_MINUTE = 20
ROBOT_MAX_BYTES = 2048
TEXT_MAX_BYTES = 2048
MEDIA_DAYS = 3  # temporary media is WeChat's for 3 days


@asynccontextmanager
async def serving(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve `app` on `host` (port 0: any free one) and yield its base URL; the fakes run so."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        await runner.cleanup()


@dataclass
class Recorded:
    path: str
    params: dict[str, str]
    body: Any
    at: float


@dataclass
class _Fault:
    errcode: int | None = None
    status: int | None = None
    delay: float = 0.0
    times: int = 1


@dataclass
class FakeWeChat:
    app_id: str = "wx-linli-local"
    app_secret: str = "linli-local-secret"
    mini_app_id: str | None = None
    mini_app_secret: str | None = None
    calls: list[Recorded] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    token_apps: dict[str, str] = field(default_factory=dict)
    # Users who may receive messages; empty means everyone (openids are not checked).
    known_users: set[str] = field(default_factory=set)
    # Users who have not written to the account for 48 hours: customer-service messages to
    # them are refused with 45015, as WeChat does (template messages still reach them).
    silent_users: set[str] = field(default_factory=set)
    # Temporary media (获取临时素材) by media_id: (bytes, Content-Type), and when each was sent
    # (WeChat keeps it MEDIA_DAYS; `age_media` makes one older).
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    media_sent: dict[str, float] = field(default_factory=dict)
    _faults: dict[str, list[_Fault]] = field(default_factory=dict)
    _robot_sends: dict[str, list[float]] = field(default_factory=dict)

    # ---- control -----------------------------------------------------------------------------

    def fail(
        self,
        path: str,
        *,
        errcode: int | None = None,
        status: int | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls to `path` fail (or be slow)."""
        self._faults.setdefault(path, []).append(_Fault(errcode, status, delay, times))

    def add_media(self, media_id: str, content: bytes, content_type: str = "image/jpeg") -> None:
        """A photo a user sent: WeChat serves it at /cgi-bin/media/get for MEDIA_DAYS."""
        self.media[media_id] = (content, content_type)
        self.media_sent[media_id] = time.time()

    def age_media(self, media_id: str, days: float) -> None:
        self.media_sent[media_id] = self.media_sent.get(media_id, time.time()) - days * 86400

    def expire_tokens(self) -> None:
        """Invalidate every issued token, as WeChat does when another party fetches a new one."""
        self.tokens.clear()
        self.token_apps.clear()

    @property
    def mini(self) -> str:
        """The app id the mini-program APIs belong to."""
        return self.mini_app_id or self.app_id

    def _secrets(self) -> dict[str, str]:
        apps = {self.app_id: self.app_secret}
        if self.mini_app_id:
            apps[self.mini_app_id] = self.mini_app_secret or ""
        return apps

    def sent(self, path: str = "/cgi-bin/message/custom/send") -> list[Any]:
        """Bodies of successful calls to `path`."""
        return [c.body for c in self.calls if c.path == path and c.at >= 0]

    def texts_to(self, openid: str) -> list[str]:
        return [
            b["text"]["content"]
            for b in self.sent()
            if b.get("touser") == openid and b.get("msgtype") == "text"
        ]

    # ---- server ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._faults_mw])
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/template/send", self._template_send)
        app.router.add_post("/cgi-bin/message/subscribe/send", self._subscribe_send)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_get("/sns/jscode2session", self._jscode2session)
        app.router.add_post("/wxa/msg_sec_check", self._msg_sec_check)
        app.router.add_post("/cgi-bin/webhook/send", self._webhook_send)
        return app

    @asynccontextmanager
    async def running(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        async with serving(self.app(), host, port) as base:
            yield base

    @web.middleware
    async def _faults_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        faults = self._faults.get(request.path)
        if faults:
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status:
                self._record(request, await _body(request), failed=True)
                return web.Response(status=fault.status, text="upstream error")
            if fault.errcode is not None:
                self._record(request, await _body(request), failed=True)
                return _err(fault.errcode, "injected fault")
        return await handler(request)

    def _record(self, request: web.Request, body: Any, failed: bool = False) -> None:
        # Failed calls are recorded with a negative time so `sent()` skips them.
        at = time.monotonic()
        self.calls.append(Recorded(request.path, dict(request.query), body, -at if failed else at))

    def _check_token(self, request: web.Request, app: str) -> web.Response | None:
        token = request.query.get("access_token")
        if not token:
            return _err(41001, "access_token missing")
        expires = self.tokens.get(token)
        if expires is None:
            return _err(40001, "invalid credential, access_token is invalid or not latest")
        if expires < time.time():
            return _err(42001, "access_token expired")
        if self.token_apps.get(token) != app:
            return _err(48001, "api unauthorized")
        return None

    def _issue(self, app: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(48)
        self.tokens[token] = time.time() + TOKEN_TTL
        self.token_apps[token] = app
        return {"access_token": token, "expires_in": TOKEN_TTL}

    def _credentials(self, app_id: Any, secret: Any) -> web.Response | None:
        apps = self._secrets()
        if app_id not in apps:
            return _err(40013, "invalid appid")
        if secret != apps[app_id]:
            return _err(40125, "invalid appsecret")
        return None

    async def _token(self, request: web.Request) -> web.Response:
        q = request.query
        self._record(request, None)
        if q.get("grant_type") != "client_credential":
            return _err(40002, "invalid grant_type")
        bad = self._credentials(q.get("appid"), q.get("secret"))
        return bad or web.json_response(self._issue(q["appid"]))

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = await _body(request)
        self._record(request, body)
        if not isinstance(body, dict):
            return _err(40013, "invalid appid")
        bad = self._credentials(body.get("appid"), body.get("secret"))
        return bad or web.json_response(self._issue(body["appid"]))

    async def _authed(
        self, request: web.Request, app: str | None = None
    ) -> tuple[Any, web.Response | None]:
        """The body of a call made with a valid token of `app` (default: the Official Account)."""
        body = await _body(request)
        bad = self._check_token(request, app or self.app_id)
        if bad is not None:
            self._record(request, body, failed=True)
            return body, bad
        if not isinstance(body, dict):
            self._record(request, body, failed=True)
            return body, _err(47001, "data format error")
        return body, None

    async def _custom_send(self, request: web.Request) -> web.Response:
        body, bad = await self._authed(request)
        if bad:
            return bad
        if not body.get("touser") or body.get("msgtype") not in {
            "text",
            "news",
            "image",
            "miniprogrampage",
        }:
            self._record(request, body, failed=True)
            return _err(40003, "invalid openid or msgtype")
        if self.known_users and body["touser"] not in self.known_users:
            self._record(request, body, failed=True)
            return _err(40003, "invalid openid")
        if body["touser"] in self.silent_users:
            self._record(request, body, failed=True)
            return _err(45015, "response out of time limit or subscription is canceled")
        if body["msgtype"] == "text" and len(body["text"]["content"].encode()) > TEXT_MAX_BYTES:
            self._record(request, body, failed=True)
            return _err(45002, "content size out of limit")
        self._record(request, body)
        if body["msgtype"] == "text":
            # Local development reads messages here (e.g. the staff console's login code).
            log.info(
                "custom message", extra={"touser": body["touser"], "text": body["text"]["content"]}
            )
        return _ok()

    async def _template_send(self, request: web.Request) -> web.Response:
        body, bad = await self._authed(request)
        if bad:
            return bad
        if not body.get("touser") or not body.get("template_id"):
            self._record(request, body, failed=True)
            return _err(40037, "invalid template_id")
        self._record(request, body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": secrets.randbits(40)})

    async def _subscribe_send(self, request: web.Request) -> web.Response:
        body, bad = await self._authed(request, self.mini)
        if bad:
            return bad
        if not body.get("touser") or not body.get("template_id"):
            self._record(request, body, failed=True)
            return _err(40037, "invalid template_id")
        self._record(request, body)
        return _ok()

    async def _media_get(self, request: web.Request) -> web.Response:
        """获取临时素材: the file with its Content-Type, or JSON errors as WeChat answers them."""
        bad = self._check_token(request, self.app_id)
        media_id = request.query.get("media_id", "")
        if bad is not None:
            self._record(request, None, failed=True)
            return bad
        if not media_id:
            self._record(request, None, failed=True)
            return _err(41006, "media_id missing")
        found = self.media.get(media_id)
        sent = self.media_sent.get(media_id, 0.0)
        if found is None or time.time() - sent > MEDIA_DAYS * 86400:
            self._record(request, None, failed=True)
            return _err(40007, "invalid media_id")
        self._record(request, None)
        content, kind = found
        return web.Response(
            body=content,
            content_type=kind,
            headers={"Content-disposition": f'attachment; filename="{media_id}.jpg"'},
        )

    async def _jscode2session(self, request: web.Request) -> web.Response:
        q = request.query
        self._record(request, None)
        if q.get("appid") != self.mini:  # an Official Account cannot log mini-program users in
            return _err(40013, "invalid appid")
        if q.get("secret") != self._secrets()[self.mini]:
            return _err(40125, "invalid appsecret")
        code = q.get("js_code", "")
        if not code or code.startswith("bad"):
            return _err(40029, "invalid code")
        # Deterministic per code, so a test can log the same person in twice.
        return web.json_response(
            {"openid": f"o-mini-{code}", "session_key": secrets.token_urlsafe(16), "unionid": ""}
        )

    async def _msg_sec_check(self, request: web.Request) -> web.Response:
        body, bad = await self._authed(request, self.mini)
        if bad:
            return bad
        self._record(request, body)
        content = str(body.get("content", ""))
        # The fake flags an obvious marker word, so tests can exercise a "risky" verdict.
        risky = "违禁" in content
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "result": {
                    "suggest": "risky" if risky else "pass",
                    "label": 20001 if risky else 100,
                },
            }
        )

    async def _webhook_send(self, request: web.Request) -> web.Response:
        body = await _body(request)
        key = request.query.get("key", "")
        if not key:
            self._record(request, body, failed=True)
            return _err(93000, "invalid webhook url")
        now = time.monotonic()
        recent = [t for t in self._robot_sends.get(key, []) if now - t < 60]
        if len(recent) >= ROBOT_PER_MINUTE:
            self._record(request, body, failed=True)
            return _err(45009, "api freq out of limit")
        if not isinstance(body, dict) or body.get("msgtype") not in {"text", "markdown"}:
            self._record(request, body, failed=True)
            return _err(40008, "invalid message type")
        content = body[body["msgtype"]].get("content", "")
        if len(content.encode()) > ROBOT_MAX_BYTES:
            self._record(request, body, failed=True)
            return _err(40058, "content exceed max length 2048")
        recent.append(now)
        self._robot_sends[key] = recent
        self._record(request, body)
        return _ok()


async def _body(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    try:
        return await request.json()
    except ValueError:
        return await request.text()


def _ok() -> web.Response:
    return web.json_response({"errcode": 0, "errmsg": "ok"})


def _err(code: int, msg: str) -> web.Response:
    # WeChat answers errors with HTTP 200 and an errcode.
    return web.json_response({"errcode": code, "errmsg": msg})
