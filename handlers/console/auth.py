"""Signing in to the console: no passwords; the bot sends a one-time code to the staff
member's WeChat (customer-service message, or the notice template outside the 48 hours).
Sessions live in Redis with a TTL; the login forms carry their own CSRF cookie."""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from typing import Any

from aiohttp import web

from community.roles import find_staff
from handlers.console.common import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    checked_form,
    console_cookie,
    digest,
    render,
    session_of,
    staff_session,
)
from handlers.keys import redis_key, settings_key, wechat_api_key
from handlers.proxy import client_ip
from infra import keys
from wechat_api.client import OUT_OF_WINDOW, WeChatAPIError

log = logging.getLogger(__name__)

CODE_TTL = 5 * 60
CODE_RESEND_SECONDS = 60
CODE_MAX_TRIES = 5
# (limit, window seconds), counted in Redis so every process shares them.
# Codes sent for one account, per client address: nobody floods a staff member's WeChat, and
# nobody elsewhere can use up the staff member's own allowance (that would lock them out).
CODES_PER_HOUR = (6, 3600)
# ... and from every address together: a ceiling on what a spread-out attacker can send.
CODES_PER_HOUR_ALL = (30, 3600)
CODE_REQUESTS_PER_IP = (10, 600)  # code requests from one client address
LOGINS_PER_IP = (30, 600)  # code guesses from one client address


async def login_page(request: web.Request) -> web.Response:
    """Step 1: who are you (staff number or WeChat openid)."""
    if await session_of(request) is not None:
        raise web.HTTPFound("/console/")
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    resp = render(request, "login.html", {"csrf": csrf, "error": None})
    console_cookie(resp, request, LOGIN_CSRF_COOKIE, csrf, 3600)
    return resp


async def _send_code(app: web.Application, openid: str, code: str) -> bool:
    """The code as a customer-service message; to staff silent for 48 hours (45015), as the
    notice template when one is configured. False when it could not be sent."""
    api = app[wechat_api_key]
    minutes = CODE_TTL // 60
    try:
        await api.send_text(
            openid, f"您的邻里工作台登录码：{code}，{minutes}分钟内有效。不是您本人操作请忽略。"
        )
        return True
    except WeChatAPIError as exc:
        template = app[settings_key].wechat_notice_template_id
        if exc.errcode != OUT_OF_WINDOW or not template:
            log.warning("console code not sent", extra={"errcode": exc.errcode})
            return False
    data = {
        "first": "邻里工作台登录码",
        "keyword1": f"{code}（{minutes}分钟内有效）",
        "remark": "不是您本人操作请忽略。",
    }
    try:
        await api.send_template(openid, template, data)
        return True
    except WeChatAPIError as exc:
        log.warning("console code not sent as a template", extra={"errcode": exc.errcode})
        return False


def browser_of(login_csrf: str) -> str:
    """The browser a login belongs to: a hash of its login cookie (set by the login page)."""
    return digest("browser:" + login_csrf)[:24]


# KEYS[1] = the code; ARGV = hash of the guess, max tries. One atomic step: the tries counter
# cannot be raced by a burst of guesses (a GET then SET let 11 concurrent guesses through).
# Returns 1 when the guess is right (the code is used up), else 0.
_CHECK_CODE = """
local stored = redis.call('hget', KEYS[1], 'hash')
if not stored then return 0 end
local tries = redis.call('hincrby', KEYS[1], 'tries', 1)
if tries > tonumber(ARGV[2]) then
  redis.call('del', KEYS[1])
  return 0
end
if stored == ARGV[1] then
  redis.call('del', KEYS[1])
  return 1
end
if tries >= tonumber(ARGV[2]) then redis.call('del', KEYS[1]) end
return 0
"""


async def _over_limit(request: web.Request, bucket: str, who: str, limit: int, window: int) -> int:
    """Count one event in a fixed window; seconds to wait when over `limit`, else 0."""
    now = time.time()
    slot = int(now // window)
    key = keys.api_rate(bucket, who, slot)
    async with request.app[redis_key].pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window + 1)
        count, _ = await pipe.execute()
    return max(1, math.ceil((slot + 1) * window - now)) if count > limit else 0


def _too_many(request: web.Request, template: str, ctx: dict[str, Any], wait: int) -> web.Response:
    minutes = max(1, math.ceil(wait / 60))
    ctx = {**ctx, "error": f"操作太频繁了，请{minutes}分钟后再试。"}
    resp = render(request, template, ctx, 429)
    resp.headers["Retry-After"] = str(wait)
    return resp


async def send_code(request: web.Request) -> web.Response:
    """Step 2: send a one-time code to the staff member's WeChat, then ask for it.

    Limits: one code a minute per account and browser (said truthfully when asked again),
    CODES_PER_HOUR per account and client address (so others cannot use up a staff member's
    allowance), CODES_PER_HOUR_ALL per account, CODE_REQUESTS_PER_IP per client address. The
    code is bound to this browser, so nobody else can burn it."""
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    form = await checked_form(request, csrf)
    account = str(form.get("account", "")).strip()[:64]
    if not account:
        return render(request, "login.html", {"csrf": csrf, "error": "请填写编号。"}, 400)
    ctx: dict[str, Any] = {"csrf": csrf, "account": account, "error": None, "notice": None}
    wait = await _over_limit(request, "console_code_ip", client_ip(request), *CODE_REQUESTS_PER_IP)
    if wait:
        return _too_many(request, "login.html", ctx, wait)
    user = await find_staff(account)
    # Keyed the same way whether or not the account exists: the answers reveal nobody's role.
    who = f"u{user.pk}" if user is not None else "a" + digest(account)[:16]
    browser = browser_of(csrf)
    redis = request.app[redis_key]
    sent_key = keys.console_code_sent(who, browser)
    if not await redis.set(sent_key, "1", nx=True, ex=CODE_RESEND_SECONDS):
        left = max(1, await redis.ttl(sent_key))
        ctx["notice"] = (
            f"一分钟内只发一次登录码，刚才发的那个仍然有效，请查看微信。"
            f"没收到的话，{left}秒后可以重新获取。"
        )
        return render(request, "code.html", ctx)
    ip = client_ip(request)
    wait = await _over_limit(request, "console_code_account", f"{who}:{ip}", *CODES_PER_HOUR)
    wait = wait or await _over_limit(request, "console_code_all", who, *CODES_PER_HOUR_ALL)
    if wait:
        return _too_many(request, "code.html", ctx, wait)
    if user is not None:
        code = f"{secrets.randbelow(10**6):06d}"
        code_key = keys.console_code(user.pk, browser)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(code_key)
            pipe.hset(code_key, mapping={"hash": digest(f"{user.pk}:{code}"), "tries": 0})
            pipe.expire(code_key, CODE_TTL)
            await pipe.execute()
        if not await _send_code(request.app, user.openid, code):
            await redis.delete(code_key, sent_key)
            error = "登录码没发出去。请先在公众号里给我们发一条消息，再点发送。"
            return render(request, "login.html", {"csrf": csrf, "error": error}, 503)
    # The same answer whether or not the account exists: the page reveals nobody's role.
    return render(request, "code.html", ctx)


async def login(request: web.Request) -> web.Response:
    """Step 3: check the code; on success start a session (the code is used up)."""
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    form = await checked_form(request, csrf)
    account = str(form.get("account", "")).strip()[:64]
    code = str(form.get("code", "")).strip()[:12]
    ctx: dict[str, Any] = {"csrf": csrf, "account": account, "error": None, "notice": None}
    wait = await _over_limit(request, "console_login_ip", client_ip(request), *LOGINS_PER_IP)
    if wait:
        return _too_many(request, "code.html", ctx, wait)
    user = await find_staff(account)
    redis = request.app[redis_key]
    ok = False
    if user is not None:
        check = redis.register_script(_CHECK_CODE)
        guess = digest(f"{user.pk}:{code}")
        key = keys.console_code(user.pk, browser_of(csrf))
        ok = int(await check(keys=[key], args=[guess, CODE_MAX_TRIES])) == 1
    if not ok or user is None:
        ctx["error"] = "登录码不对或已过期，请重新获取。"
        return render(request, "code.html", ctx, 400)
    token = secrets.token_urlsafe(32)
    ttl = request.app[settings_key].console_session_ttl
    session = {"user_id": user.pk, "openid": user.openid, "csrf": secrets.token_urlsafe(24)}
    await redis.set(keys.console_session(digest(token)), json.dumps(session), ex=ttl)
    log.info("console login", extra={"user_id": user.pk})
    resp = web.HTTPFound("/console/")
    console_cookie(resp, request, COOKIE, token, ttl)
    resp.del_cookie(LOGIN_CSRF_COOKIE, path="/console")
    raise resp


async def logout(request: web.Request) -> web.Response:
    session, _ = await staff_session(request)
    await request.app[redis_key].delete(session["_key"])
    resp = web.HTTPFound("/console/login")
    resp.del_cookie(COOKIE, path="/console")
    raise resp
