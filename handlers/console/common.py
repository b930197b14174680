"""What every console page shares: rendering with the security headers, the session in Redis,
the CSRF-checked form, the flash message, the staff and admin checks, the confirmation page."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict

from community.roles import is_admin
from handlers.keys import bot_key, redis_key
from handlers.proxy import is_https
from infra import keys
from infra.text import printable

COOKIE = "linli_console"
LOGIN_CSRF_COOKIE = "linli_console_csrf"
# WeChat's image host: residents' photos (PicUrl) shown in the page for their 3 days, loaded
# without a referrer (the host refuses a foreign one); the one other place images come from.
WECHAT_IMAGE_HOST = "mmbiz.qpic.cn"
# Pages use no scripts; styles are inline in base.html. Forms post only here; no framing.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"img-src 'self' data: http://{WECHAT_IMAGE_HOST} https://{WECHAT_IMAGE_HOST}; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def clock_now(request: web.Request) -> Any:
    return request.app[bot_key].services.clock()


def render(
    request: web.Request, name: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    resp = aiohttp_jinja2.render_template(name, request, context, status=status)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def console_cookie(
    resp: web.StreamResponse, request: web.Request, name: str, value: str, ttl: int
) -> None:
    resp.set_cookie(
        name,
        value,
        max_age=ttl,
        path="/console",
        httponly=True,
        samesite="Strict",
        # Behind a TLS-terminating proxy the app speaks HTTP: believe a trusted proxy's word.
        secure=is_https(request),
    )


# ---- sessions --------------------------------------------------------------------------------


async def session_of(request: web.Request) -> dict[str, Any] | None:
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 200:
        return None
    raw = await request.app[redis_key].get(keys.console_session(digest(token)))
    if not raw:
        return None
    data: dict[str, Any] = json.loads(raw)
    data["_key"] = keys.console_session(digest(token))
    return data


async def save_session(request: web.Request, session: dict[str, Any]) -> None:
    data = {k: v for k, v in session.items() if k != "_key"}
    await request.app[redis_key].set(session["_key"], json.dumps(data), keepttl=True)


async def flash_back(
    request: web.Request, session: dict[str, Any], text: str, to: str = "/console/"
) -> web.HTTPFound:
    """Back to a page (the dashboard unless `to` says), which shows `text` once."""
    session["flash"] = text
    await save_session(request, session)
    return web.HTTPFound(to)


async def take_flash(request: web.Request, session: dict[str, Any]) -> Any:
    """The message a redirect left for this page, shown once."""
    flash = session.pop("flash", None)
    if flash:
        await save_session(request, session)
    return flash


async def admin_view(request: web.Request, refusal: str) -> dict[str, Any]:
    """An admin page's session: the login page for nobody, 403 (in the page's words) for a
    signed-in non-admin."""
    session = await session_of(request)
    if session is None:
        raise web.HTTPFound("/console/login")
    if not await is_admin(session["openid"]):
        raise web.HTTPForbidden(text=refusal)
    return session


async def checked_form(request: web.Request, expected_csrf: str) -> Any:
    form = await request.post()
    sent = str(form.get("csrf", ""))
    if not expected_csrf or not hmac.compare_digest(sent.encode(), expected_csrf.encode()):
        raise web.HTTPForbidden(text="页面已过期，请返回刷新后再试。")
    # Control characters pasted from elsewhere are invisible here, and broke the replies that
    # show the text: dropped before anything keeps them (infra.text).
    return MultiDict((k, printable(v) if isinstance(v, str) else v) for k, v in form.items())


async def staff_session(request: web.Request) -> tuple[dict[str, Any], Any]:
    """The signed-in staff member's session and form (CSRF checked); else back to login."""
    session = await session_of(request)
    if session is None:
        raise web.HTTPFound("/console/login")
    form = await checked_form(request, session["csrf"])
    return session, form


async def admin_session(request: web.Request) -> tuple[dict[str, Any], Any]:
    session, form = await staff_session(request)
    if not await is_admin(session["openid"]):
        raise web.HTTPForbidden(text="只有社区管理员可以做这件事。")
    return session, form


def confirm_page(
    request: web.Request,
    session: dict[str, Any],
    action: str,
    fields: dict[str, str],
    question: str,
    button: str,
) -> web.Response:
    """A page that asks before an action that is hard to take back (no scripts needed)."""
    ctx = {
        "csrf": session["csrf"],
        "action": action,
        "fields": fields,
        "question": question,
        "button": button,
    }
    return render(request, "confirm.html", ctx)
