"""The staff console under /console/: server-rendered pages for a phone or the office PC.

Canteen staff publish or correct a menu and see today's sign-ups; admins approve craftsmen and
handle complaints. No passwords: the bot sends a one-time code to the staff member's WeChat
(customer-service message). Sessions live in Redis with a TTL; every form carries a CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import logging
import math
import secrets
import time
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from multidict import MultiDict

from canteen import service as canteen_service
from canteen.menu_parser import KIND_NAMES, MenuParseError, parse_menu, render_menu
from community.roles import is_admin
from craftsman_directory import service as directory_service
from handlers.keys import bot_key, redis_key, settings_key, wechat_api_key
from handlers.proxy import client_ip, is_https
from infra import keys
from infra.text import printable
from models.canteen import MEAL_NAMES, Menu
from models.directory import Complaint, Craftsman, Status
from models.grid import GridReport
from models.push import OutboxMessage, PushStatus
from models.users import Role, RoleGrant, User
from push import escalation
from push.outbox import wake
from wechat_api.client import OUT_OF_WINDOW, WeChatAPIError

log = logging.getLogger(__name__)

COOKIE = "linli_console"
LOGIN_CSRF_COOKIE = "linli_console_csrf"
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
# Pages use no scripts; styles are inline in base.html. Forms post only here; no framing.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STAFF_ROLES = (Role.CANTEEN_STAFF, Role.ADMIN)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now(request: web.Request) -> Any:
    return request.app[bot_key].services.clock()


def _render(
    request: web.Request, name: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    resp = aiohttp_jinja2.render_template(name, request, context, status=status)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _cookie(
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


async def _session(request: web.Request) -> dict[str, Any] | None:
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 200:
        return None
    raw = await request.app[redis_key].get(keys.console_session(_hash(token)))
    if not raw:
        return None
    data: dict[str, Any] = json.loads(raw)
    data["_key"] = keys.console_session(_hash(token))
    return data


async def _save_session(request: web.Request, session: dict[str, Any]) -> None:
    data = {k: v for k, v in session.items() if k != "_key"}
    await request.app[redis_key].set(session["_key"], json.dumps(data), keepttl=True)


async def _flash(request: web.Request, session: dict[str, Any], text: str) -> web.HTTPFound:
    session["flash"] = text
    await _save_session(request, session)
    return web.HTTPFound("/console/")


async def _form(request: web.Request, expected_csrf: str) -> Any:
    form = await request.post()
    sent = str(form.get("csrf", ""))
    if not expected_csrf or not hmac.compare_digest(sent.encode(), expected_csrf.encode()):
        raise web.HTTPForbidden(text="页面已过期，请返回刷新后再试。")
    # Control characters pasted from elsewhere are invisible here, and broke the replies that
    # show the text: dropped before anything keeps them (infra.text).
    return MultiDict((k, printable(v) if isinstance(v, str) else v) for k, v in form.items())


async def _staff_session(request: web.Request) -> tuple[dict[str, Any], Any]:
    """The signed-in staff member's session and form (CSRF checked); else back to login."""
    session = await _session(request)
    if session is None:
        raise web.HTTPFound("/console/login")
    form = await _form(request, session["csrf"])
    return session, form


async def _is_staff(openid: str) -> bool:
    return await RoleGrant.filter(user__openid=openid, role__in=STAFF_ROLES).exists()


# ---- login -----------------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    """Step 1: who are you (staff number or WeChat openid)."""
    if await _session(request) is not None:
        raise web.HTTPFound("/console/")
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    resp = _render(request, "login.html", {"csrf": csrf, "error": None})
    _cookie(resp, request, LOGIN_CSRF_COOKIE, csrf, 3600)
    return resp


async def _find_staff(account: str) -> User | None:
    account = account.strip()
    if not account or len(account) > 64:
        return None
    user = (
        await User.get_or_none(pk=int(account)) if account.isdigit() and len(account) < 10 else None
    )
    user = user or await User.get_or_none(openid=account)
    if user is None or not await _is_staff(user.openid):
        return None
    return user


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
    return _hash("browser:" + login_csrf)[:24]


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
    resp = _render(request, template, ctx, 429)
    resp.headers["Retry-After"] = str(wait)
    return resp


async def send_code(request: web.Request) -> web.Response:
    """Step 2: send a one-time code to the staff member's WeChat, then ask for it.

    Limits: one code a minute per account and browser (said truthfully when asked again),
    CODES_PER_HOUR per account and client address (so others cannot use up a staff member's
    allowance), CODES_PER_HOUR_ALL per account, CODE_REQUESTS_PER_IP per client address. The
    code is bound to this browser, so nobody else can burn it."""
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    form = await _form(request, csrf)
    account = str(form.get("account", "")).strip()[:64]
    if not account:
        return _render(request, "login.html", {"csrf": csrf, "error": "请填写编号。"}, 400)
    ctx: dict[str, Any] = {"csrf": csrf, "account": account, "error": None, "notice": None}
    wait = await _over_limit(request, "console_code_ip", client_ip(request), *CODE_REQUESTS_PER_IP)
    if wait:
        return _too_many(request, "login.html", ctx, wait)
    user = await _find_staff(account)
    # Keyed the same way whether or not the account exists: the answers reveal nobody's role.
    who = f"u{user.pk}" if user is not None else "a" + _hash(account)[:16]
    browser = browser_of(csrf)
    redis = request.app[redis_key]
    sent_key = keys.console_code_sent(who, browser)
    if not await redis.set(sent_key, "1", nx=True, ex=CODE_RESEND_SECONDS):
        left = max(1, await redis.ttl(sent_key))
        ctx["notice"] = (
            f"一分钟内只发一次登录码，刚才发的那个仍然有效，请查看微信。"
            f"没收到的话，{left}秒后可以重新获取。"
        )
        return _render(request, "code.html", ctx)
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
            pipe.hset(code_key, mapping={"hash": _hash(f"{user.pk}:{code}"), "tries": 0})
            pipe.expire(code_key, CODE_TTL)
            await pipe.execute()
        if not await _send_code(request.app, user.openid, code):
            await redis.delete(code_key, sent_key)
            error = "登录码没发出去。请先在公众号里给我们发一条消息，再点发送。"
            return _render(request, "login.html", {"csrf": csrf, "error": error}, 503)
    # The same answer whether or not the account exists: the page reveals nobody's role.
    return _render(request, "code.html", ctx)


async def login(request: web.Request) -> web.Response:
    """Step 3: check the code; on success start a session (the code is used up)."""
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    form = await _form(request, csrf)
    account = str(form.get("account", "")).strip()[:64]
    code = str(form.get("code", "")).strip()[:12]
    ctx: dict[str, Any] = {"csrf": csrf, "account": account, "error": None, "notice": None}
    wait = await _over_limit(request, "console_login_ip", client_ip(request), *LOGINS_PER_IP)
    if wait:
        return _too_many(request, "code.html", ctx, wait)
    user = await _find_staff(account)
    redis = request.app[redis_key]
    ok = False
    if user is not None:
        check = redis.register_script(_CHECK_CODE)
        guess = _hash(f"{user.pk}:{code}")
        key = keys.console_code(user.pk, browser_of(csrf))
        ok = int(await check(keys=[key], args=[guess, CODE_MAX_TRIES])) == 1
    if not ok or user is None:
        ctx["error"] = "登录码不对或已过期，请重新获取。"
        return _render(request, "code.html", ctx, 400)
    token = secrets.token_urlsafe(32)
    ttl = request.app[settings_key].console_session_ttl
    session = {"user_id": user.pk, "openid": user.openid, "csrf": secrets.token_urlsafe(24)}
    await redis.set(keys.console_session(_hash(token)), json.dumps(session), ex=ttl)
    log.info("console login", extra={"user_id": user.pk})
    resp = web.HTTPFound("/console/")
    _cookie(resp, request, COOKIE, token, ttl)
    resp.del_cookie(LOGIN_CSRF_COOKIE, path="/console")
    raise resp


async def logout(request: web.Request) -> web.Response:
    session, _ = await _staff_session(request)
    await request.app[redis_key].delete(session["_key"])
    resp = web.HTTPFound("/console/login")
    resp.del_cookie(COOKIE, path="/console")
    raise resp


# ---- the dashboard ---------------------------------------------------------------------------


def todays_signups_available() -> bool:
    """Meal-delivery sign-ups live in the `delivery` package, built separately."""
    return importlib.util.find_spec("delivery") is not None


def _cutoff_text(cutoff: Any, today: Any, now: Any) -> str:
    """When sign-ups for today's meal closed (breakfast: the evening before), as staff read it."""
    days = {-1: "昨天", 0: "今天"}.get((cutoff.date() - today).days, f"{cutoff:%m月%d日}")
    when = f"{days}{cutoff:%H:%M}"
    return f"{when}已截止" if now >= cutoff else f"{when}截止"


async def _todays_signups(canteen: Any, today: Any, now: Any) -> list[dict[str, Any]] | None:
    """Each delivered meal's booked sign-ups today, as the roster shows them, with what the
    volunteer reported for each line (None: no module)."""
    if not todays_signups_available():
        return None
    from delivery.roster import OUTCOME_NAMES, roster_line
    from delivery.service import cutoff_at, delivered_meals
    from models.delivery import MealSlot, Signup, SignupStatus

    out = []
    for meal in await delivered_meals(canteen):
        slot = await MealSlot.get_or_none(canteen_id=canteen.pk, date=today, meal=meal.meal)
        signups = (
            await Signup.filter(slot=slot, status=SignupStatus.BOOKED)
            .order_by("line_no", "id")
            .prefetch_related("recipient")
            if slot
            else []
        )
        lines = []
        for s in signups:
            # Line numbers are given when the roster is built at the cutoff.
            text = roster_line(s) if s.line_no is not None else roster_line(s).partition(". ")[2]
            if s.outcome:
                at = f"{s.reported_at.astimezone(now.tzinfo):%H:%M}" if s.reported_at else ""
                said = OUTCOME_NAMES[s.outcome]
                result = f"{said}（{at}报告）" if at else said
            else:
                result = "还没有报告" if s.line_no is not None else ""
            alert = bool(s.outcome) and s.outcome != "delivered"
            lines.append({"text": text, "result": result, "alert": alert})
        out.append(
            {
                "meal": MEAL_NAMES[meal.meal],
                "booked": slot.booked if slot else 0,
                "capacity": slot.capacity if slot else meal.delivery_capacity,
                "cutoff": _cutoff_text(cutoff_at(meal, today), today, now),
                "lines": lines,
            }
        )
    return out


def dish_groups(dishes: list[dict[str, Any]]) -> list[str]:
    """"热菜：红烧肉、青菜" once per kind, in the menu's order (not 热菜：…；热菜：…)."""
    names = {k.value: v for k, v in KIND_NAMES.items()}
    groups: dict[str, list[str]] = {}
    for d in dishes:
        groups.setdefault(d.get("kind", ""), []).append(d["name"])
    return [
        f"{names[kind]}：{'、'.join(items)}" if names.get(kind) else "、".join(items)
        for kind, items in groups.items()
    ]


async def _menus_of_day(canteen: Any, day: Any) -> list[dict[str, Any]]:
    out = []
    for menu in await Menu.filter(canteen=canteen, date=day).order_by("meal"):
        out.append(
            {
                "meal": MEAL_NAMES[menu.meal],
                "version": menu.version,
                "price": f"{menu.price_cents / 100:g}元" if menu.price_cents is not None else "",
                "dishes": dish_groups(menu.dishes),
            }
        )
    return out


async def dashboard(request: web.Request) -> web.Response:
    """The staff member's page: their canteen's menus, or the admin's queues, or both."""
    session = await _session(request)
    if session is None:
        raise web.HTTPFound("/console/login")
    openid = session["openid"]
    if not await _is_staff(openid):  # the role was taken away since logging in
        await request.app[redis_key].delete(session["_key"])
        raise web.HTTPFound("/console/login")
    flash = session.pop("flash", None)
    if flash:
        await _save_session(request, session)
    today = _now(request).date()
    canteen = await canteen_service.staff_canteen(openid)
    admin = await is_admin(openid)
    ctx: dict[str, Any] = {
        "csrf": session["csrf"],
        "user_id": session["user_id"],
        "flash": flash,
        "today": f"{today.month}月{today.day}日",
        "canteen": canteen,
        "admin": admin,
    }
    if canteen is not None:
        ctx["menus"] = await _menus_of_day(canteen, today)
        ctx["signups"] = await _todays_signups(canteen, today, _now(request))
        ctx["tomorrow_menus"] = await _menus_of_day(
            canteen, today.fromordinal(today.toordinal() + 1)
        )
    if admin:
        ctx["pending"] = await Craftsman.filter(status=Status.PENDING).order_by("id").limit(50)
        ctx["suspended"] = await Craftsman.filter(status=Status.SUSPENDED).order_by("id").limit(50)
        ctx["complaints"] = (
            await Complaint.filter(upheld=None)
            .order_by("id")
            .limit(50)
            .prefetch_related("craftsman")
        )
        ctx["category_name"] = directory_service.category_name
        ctx["failed_pushes"] = [_push_row(m) for m in await escalation.failed()]
        ctx["grid_reports"] = await _grid_reports()
    return _render(request, "dashboard.html", ctx)


# ---- pushes that did not get through ---------------------------------------------------------

SUBJECT_NAMES = {"grid_report": "居民反映", "roster": "送餐名单", "alert": "送餐提醒"}


def _push_row(msg: OutboxMessage) -> dict[str, Any]:
    kind, _, ref = (msg.subject or "").partition(":")
    what = f"{SUBJECT_NAMES[kind]}#{ref}" if kind in SUBJECT_NAMES else "消息"
    gist = escalation.gist(msg.payload).replace("\n", " ")
    return {
        "id": msg.pk,
        "what": what + ("（转给他人）" if msg.escalation_of else ""),
        "target": msg.target,
        "gist": gist[:60] + ("…" if len(gist) > 60 else ""),
        "error": msg.last_error or "",
        "escalated": msg.escalated_at is not None,
    }


async def _grid_reports(limit: int = 20) -> list[dict[str, Any]]:
    """Residents' reports still open (urgent first, oldest first: all of them, up to a bound),
    then the most recent closed ones; whether each reached a grid worker and who closed it."""
    reports = await GridReport.filter(closed_at__isnull=True).order_by("-urgent", "id").limit(100)
    reports += await GridReport.filter(closed_at__isnull=False).order_by("-id").limit(limit)
    subjects = [f"grid_report:{r.pk}" for r in reports]
    pushes = await OutboxMessage.filter(subject__in=subjects, escalation_of__isnull=True)
    by_subject: dict[str, list[OutboxMessage]] = {}
    for m in pushes:
        by_subject.setdefault(m.subject or "", []).append(m)
    out = []
    for r in reports:
        mine = by_subject.get(f"grid_report:{r.pk}", [])
        failed = [m for m in mine if m.status == PushStatus.FAILED]
        if mine and all(m.status == PushStatus.SENT for m in mine):
            state = "已送到网格员"
        elif failed:
            state = "没送到网格员" + ("，已转给他人" if any(m.escalated_at for m in failed) else "")
        else:
            state = "发送中"
        out.append(
            {
                "id": r.pk,
                "text": r.text,
                "address": r.address,
                "state": state,
                "retry": [m.pk for m in failed],
                "urgent": r.urgent,
                "open": r.closed_at is None,
                "closed": "" if r.closed_at is None else f"已办结（{r.closed_by}）：{r.note}",
            }
        )
    return out


async def push_retry(request: web.Request) -> web.Response:
    """Send a push that gave up once more (admins)."""
    session, _ = await _admin_session(request)
    pid = request.match_info["push_id"]
    if not pid.isdigit():
        raise web.HTTPNotFound()
    if not await escalation.retry(int(pid)):
        raise await _flash(request, session, "这条消息已经在发送或已送到，不用重试。")
    await wake(request.app[redis_key])
    raise await _flash(request, session, f"消息#{pid}已重新排队发送。")


# ---- menus -----------------------------------------------------------------------------------

MENU_EXAMPLE = (
    "发布菜单 明天午餐\n凉菜：拍黄瓜\n热菜：红烧肉、西红柿炒鸡蛋\n汤：紫菜蛋花汤\n主食：米饭\n10元"
)


async def _menu_draft(request: web.Request, form: Any, session: dict[str, Any]) -> Any:
    canteen = await canteen_service.staff_canteen(session["openid"])
    if canteen is None or not await canteen_service.may_publish(session["openid"], canteen):
        raise web.HTTPForbidden(text="只有食堂工作人员可以发布菜单。")
    text = str(form.get("text", "")).strip()[:2000]
    if not text.startswith(("发布", "更新", "更正", "修改")):
        text = "发布菜单 " + text  # the parser reads the day and meal from the first line
    try:
        draft = parse_menu(text, _now(request).date())
    except MenuParseError as exc:
        return canteen, text, None, str(exc)
    return canteen, text, draft, None


async def menu_preview(request: web.Request) -> web.Response:
    """What the parser understood, to confirm before anything is published."""
    session, form = await _staff_session(request)
    canteen, text, draft, error = await _menu_draft(request, form, session)
    ctx = {
        "csrf": session["csrf"],
        "text": text,
        "error": error,
        "example": MENU_EXAMPLE,
        "preview": render_menu(canteen.name, draft) if draft else None,
        "correction": bool(
            draft and await canteen_service.find_menu(canteen, draft.date, draft.meal)
        ),
    }
    return _render(request, "preview.html", ctx, 400 if error else 200)


async def menu_publish(request: web.Request) -> web.Response:
    """Publish (or correct) the confirmed menu; pushes are queued with it."""
    session, form = await _staff_session(request)
    canteen, _text, draft, error = await _menu_draft(request, form, session)
    if draft is None:
        raise await _flash(request, session, f"没有发布：{error}")
    templates = canteen_service.MenuTemplates.of(request.app[settings_key])
    menu, people, groups = await canteen_service.publish_menu(
        canteen, draft, session["openid"], templates
    )
    what = "已更正" if menu.version > 1 else "已发布"
    day = f"{draft.date.month}月{draft.date.day}日{MEAL_NAMES[draft.meal]}"
    raise await _flash(
        request, session, f"{day}菜单{what}，将推送给{people}位订阅居民和{groups}个群。"
    )


# ---- admins ----------------------------------------------------------------------------------

ACTIONS = {
    "approve": (directory_service.approve, "已通过"),
    "reject": (directory_service.reject, "已拒绝"),
    "reinstate": (directory_service.reinstate, "已恢复"),
}


async def _admin_session(request: web.Request) -> tuple[dict[str, Any], Any]:
    session, form = await _staff_session(request)
    if not await is_admin(session["openid"]):
        raise web.HTTPForbidden(text="只有社区管理员可以做这件事。")
    return session, form


def _confirm(
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
    return _render(request, "confirm.html", ctx)


async def craftsman_action(request: web.Request) -> web.Response:
    """Approve, reject (after a confirmation page) or reinstate a craftsman."""
    session, form = await _admin_session(request)
    action = ACTIONS.get(request.match_info["action"])
    cid = request.match_info["craftsman_id"]
    if action is None or not cid.isdigit():
        raise web.HTTPNotFound()
    fn, done = action
    if request.match_info["action"] == "reject" and form.get("confirm") != "1":
        # Rejecting cannot be undone from here: ask once, naming who.
        craftsman = await Craftsman.get_or_none(pk=int(cid))
        if craftsman is None:
            raise await _flash(request, session, f"没有#{cid}这位师傅。")
        return _confirm(
            request, session, f"/console/craftsmen/{cid}/reject", {},
            f"确定拒绝师傅 #{craftsman.pk} {craftsman.name} 的登记吗？", "确定拒绝",
        )  # fmt: skip
    notify = request.app[bot_key].services.notify
    try:
        craftsman = await fn(request.app[redis_key], notify, int(cid))
    except directory_service.DirectoryError as exc:
        raise await _flash(request, session, str(exc)) from None
    raise await _flash(request, session, f"{done}：#{craftsman.pk} {craftsman.name}")


async def complaint_decision(request: web.Request) -> web.Response:
    """Uphold (after a confirmation page) or dismiss a complaint."""
    session, form = await _admin_session(request)
    cid = request.match_info["complaint_id"]
    if not cid.isdigit():
        raise web.HTTPNotFound()
    upheld = form.get("upheld") == "1"
    if upheld and form.get("confirm") != "1":
        # An upheld complaint counts toward suspending the craftsman: ask once.
        complaint = await Complaint.get_or_none(pk=int(cid)).prefetch_related("craftsman")
        if complaint is None:
            raise await _flash(request, session, f"没有投诉#{cid}。")
        question = (
            f"确定投诉#{complaint.pk}成立吗？师傅 #{complaint.craftsman.pk} "
            f"{complaint.craftsman.name}，原因：{complaint.reason}。成立的投诉会计入停用次数。"
        )
        return _confirm(
            request, session, f"/console/complaints/{cid}/decision", {"upheld": "1"},
            question, "确定成立",
        )  # fmt: skip
    notify = request.app[bot_key].services.notify
    try:
        complaint, suspended = await directory_service.decide_complaint(
            request.app[redis_key], notify, int(cid), upheld
        )
    except directory_service.DirectoryError as exc:
        raise await _flash(request, session, str(exc)) from None
    text = f"投诉#{complaint.pk}已记为{'成立' if upheld else '不成立'}。"
    if suspended:
        text += "该师傅投诉成立次数已到上限，已停用。"
    raise await _flash(request, session, text)


async def _to_dashboard(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")


def setup(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    r = app.router
    r.add_get("/console/", dashboard)
    r.add_get("/console", _to_dashboard)
    r.add_get("/console/login", login_page)
    r.add_post("/console/login/code", send_code)
    r.add_post("/console/login", login)
    r.add_post("/console/logout", logout)
    r.add_post("/console/menus/preview", menu_preview)
    r.add_post("/console/menus/publish", menu_publish)
    r.add_post("/console/craftsmen/{craftsman_id}/{action}", craftsman_action)
    r.add_post("/console/complaints/{complaint_id}/decision", complaint_decision)
    r.add_post("/console/pushes/{push_id}/retry", push_retry)
    from handlers.console import places  # the places page (imports this module's helpers)

    places.setup(app)
    from handlers.console import nlu  # the NLU review page

    nlu.setup(app)
