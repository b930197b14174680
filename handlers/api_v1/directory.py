"""The craftsman directory over JSON: search, detail, register, update, pause, reviews,
complaints, and the admins' approval and complaint handling. Every rule is the service's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from bot.context import Notifier
from bot.nlu.labels import CATEGORIES
from community import geo, hours
from craftsman_directory import search, service
from craftsman_directory.service import DirectoryError, Registration
from handlers.api_v1.core import (
    ID,
    INT,
    PAGE_QUERY,
    PHONE_RULE,
    STR,
    Access,
    Call,
    Endpoint,
    checked,
    conflict,
    forbidden,
    invalid,
    moderate,
    not_found,
    obj,
    ok,
    page_body,
    page_schema,
    paged,
    ref,
)
from models.directory import Complaint, Craftsman, Review, Status

STATE_NAMES = {search.OPEN: "open", search.UNKNOWN: "unknown", search.CLOSED: "closed"}


def craftsman_out(c: Craftsman) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "categories": list(c.categories),
        "category_names": [service.category_name(x) for x in c.categories],
        "description": c.description,
        "phone": c.phone,
        "address": c.address,
        "compound": c.compound,
        "lat": c.lat,
        "lng": c.lng,
        "home_visits": c.home_visits,
        "hours": c.hours,
        "status": c.status.value,
        "status_name": service.STATUS_ZH[c.status],
        "rating_avg": c.rating_avg,
        "rating_count": c.rating_count,
    }


async def _visible(call: Call) -> Craftsman:
    """The craftsman in the path, if this caller may see it (404 otherwise: no probing)."""
    craftsman = await Craftsman.get_or_none(pk=call.path["craftsman_id"])
    if craftsman is None or not await service.visible_to(craftsman, call.me.openid):
        raise not_found("师傅")
    return craftsman


async def _own(call: Call) -> Craftsman:
    craftsman = await _visible(call)
    if craftsman.openid != call.me.openid:
        raise forbidden("只能修改自己的师傅登记。")
    return craftsman


# ---- search and detail -----------------------------------------------------------------------


async def search_craftsmen(call: Call) -> web.Response:
    """Approved craftsmen of a trade near a point: within a 15-minute walk, widened if nobody."""
    try:
        category = service.parse_categories(call.query["category"])[0]
    except DirectoryError as exc:
        raise invalid({"category": str(exc)}) from None
    if abs(call.query["lat"]) > GEO_LAT_MAX:
        raise invalid({"lat": OFF_MAP})
    elderly = await service.walks_slowly(call.redis, call.me.openid)
    outcome = await search.search(
        call.redis, category, call.query["lat"], call.query["lng"], call.services.clock(), elderly
    )
    page, per_page = call.query["page"], call.query["per_page"]
    shown = outcome.found[(page - 1) * per_page : page * per_page]
    items = [
        {
            "id": f.card.id,
            "name": f.card.name,
            "categories": f.card.categories,
            "phone": f.card.phone,
            "home_visits": f.card.home_visits,
            "rating_avg": f.card.rating_avg,
            "rating_count": f.card.rating_count,
            "distance_m": round(f.distance_m),
            "walk_minutes": f.minutes,
            "open_state": STATE_NAMES[f.state],
            "note": f.note,
        }
        for f in shown
    ]
    body = page_body(items, page, per_page, len(outcome.found))
    body.update(
        category=category,
        category_name=service.category_name(category),
        radius_m=round(outcome.radius_m),
        widened=outcome.widened,
    )
    return ok(body)


async def get_craftsman(call: Call) -> web.Response:
    """One craftsman (approved ones for everybody; others for themselves and admins)."""
    return ok(craftsman_out(await _visible(call)))


# ---- register, update, pause -----------------------------------------------------------------


# The search index (Redis GEO) holds latitudes within ±85.05112878° only and refuses a command
# with one beyond: a search from there, or an entry placed there, was a 503 (the entry already
# written). The schema keeps ±90, the plain range; this is the index's own limit.
GEO_LAT_MAX = geo.GEO_LAT_MAX
OFF_MAP = "超出地图范围，纬度须在南北纬85°以内"


def _indexable_lat(lat: float) -> float:
    if abs(lat) > GEO_LAT_MAX:
        raise DirectoryError(OFF_MAP)
    return lat


def _registration(body: dict[str, Any], base: Craftsman | None) -> Registration:
    """Validate with the directory's own rules; every bad field is reported at once."""
    fields: dict[str, str] = {}

    def check(name: str, fn: Any, *, default: Any) -> Any:
        if name not in body:
            return default
        try:
            return fn(body[name])
        except (DirectoryError, hours.HoursError) as exc:
            fields[name] = str(exc)
            return default

    name = check("name", service.check_name, default=base.name if base else "")
    cats = check(
        "categories",
        lambda v: service.parse_categories("、".join(v)),
        default=list(base.categories) if base else [],
    )
    phone = check("phone", service.normalise_phone, default=base.phone if base else "")
    hours_text = check("hours", lambda v: hours.parse(v).text, default=base.hours if base else "")
    lat = check("lat", _indexable_lat, default=base.lat if base else 0.0)
    if fields:
        raise invalid(fields)
    address = body.get("address", base.address if base else "").strip()
    return Registration(
        name=name,
        categories=cats,
        description=body.get("description", base.description if base else "").strip(),
        lat=lat,
        lng=body.get("lng", base.lng if base else 0.0),
        address=address,
        compound=service.guess_compound(address),
        hours=hours_text,
        phone=phone,
    )


async def _save(call: Call, reg: Registration, changed: dict[str, Any]) -> Craftsman:
    await moderate(
        call,
        {
            k: v
            for k, v in {"name": reg.name, "description": reg.description}.items()
            if k in changed
        },
    )
    craftsman, _ = await service.register(call.redis, call.services.notify, call.me.openid, reg)
    return craftsman


async def register_craftsman(call: Call) -> web.Response:
    """Register myself as a craftsman (waits for an admin's approval), like "师傅登记"."""
    if await Craftsman.exists(openid=call.me.openid):
        raise conflict("您已经登记过了，请修改原来的登记。")
    reg = _registration(call.body, None)
    craftsman = await _save(call, reg, call.body)
    return ok(craftsman_out(craftsman), status=201)


async def update_craftsman(call: Call) -> web.Response:
    """Change my own entry (only the fields sent)."""
    craftsman = await _own(call)
    reg = _registration(call.body, craftsman)
    craftsman = await _save(call, reg, call.body)
    return ok(craftsman_out(craftsman))


async def set_availability(call: Call) -> web.Response:
    """Pause (暂停接单) or resume (恢复接单) my own entry."""
    await _own(call)
    try:
        craftsman = await service.pause_own(call.redis, call.me.openid, call.body["paused"])
    except DirectoryError as exc:
        raise conflict(str(exc)) from None
    return ok(craftsman_out(craftsman))


# ---- reviews and complaints ------------------------------------------------------------------


def review_out(r: Review) -> dict[str, Any]:
    return {
        "id": r.pk,
        "stars": r.stars,
        "text": r.text,
        "created_at": r.created_at.isoformat(),
        # The craftsman's answer (回复评价 N in the chat), or null.
        "reply": r.reply,
        "replied_at": r.replied_at.isoformat() if r.replied_at else None,
    }


async def list_reviews(call: Call) -> web.Response:
    """Reviews of a craftsman, newest first (reviewers are never shown)."""
    craftsman = await _visible(call)
    return await paged(
        call, Review.filter(craftsman=craftsman).order_by("-created_at", "-id"), review_out
    )


async def post_review(call: Call) -> web.Response:
    """1-5 stars and a short text; a second review by the same person replaces the first."""
    craftsman = await _visible(call)
    text = call.body.get("text", "").strip()
    await moderate(call, {"text": text})
    try:
        craftsman = await service.review(
            call.redis, craftsman.pk, call.me.openid, call.body["stars"], text
        )
    except DirectoryError as exc:
        raise invalid({"stars": str(exc)}) from None
    return ok(
        {
            "craftsman_id": craftsman.pk,
            "stars": call.body["stars"],
            "text": text,
            "rating_avg": craftsman.rating_avg,
            "rating_count": craftsman.rating_count,
        },
        status=201,
    )


def complaint_out(c: Complaint) -> dict[str, Any]:
    state = "open" if c.upheld is None else ("upheld" if c.upheld else "dismissed")
    return {
        "id": c.pk,
        "craftsman_id": c.craftsman_id,  # type: ignore[attr-defined]
        "reason": c.reason,
        "state": state,
        "created_at": c.created_at.isoformat(),
    }


async def post_complaint(call: Call) -> web.Response:
    """A complaint about a craftsman; admins see it, never who made it."""
    craftsman = await _visible(call)
    complaint = await service.complain(
        call.services.notify, craftsman.pk, call.me.openid, call.body["reason"].strip()
    )
    return ok(complaint_out(complaint), status=201)


# ---- admins ----------------------------------------------------------------------------------


async def admin_list_craftsmen(call: Call) -> web.Response:
    """Craftsmen by status (pending ones wait for approval), oldest first."""
    query = Craftsman.filter(status=Status(call.query["status"])).order_by("id")
    return await paged(call, query, craftsman_out)


async def _admin_action(
    call: Call, action: Callable[[Redis, Notifier, int], Awaitable[Craftsman]]
) -> Craftsman:
    cid = call.path["craftsman_id"]
    if not await Craftsman.exists(pk=cid):
        raise not_found("师傅")
    try:
        craftsman = await action(call.redis, call.services.notify, cid)
    except DirectoryError as exc:
        raise conflict(str(exc)) from None
    return craftsman


async def approve_craftsman(call: Call) -> web.Response:
    """Approve a pending registration: the craftsman becomes searchable and is told."""
    return ok(craftsman_out(await _admin_action(call, service.approve)))


async def reject_craftsman(call: Call) -> web.Response:
    """Reject (remove) a pending registration; the craftsman is told."""
    await _admin_action(call, service.reject)
    return web.Response(status=204)


async def reinstate_craftsman(call: Call) -> web.Response:
    """Show a suspended or paused craftsman again."""
    return ok(craftsman_out(await _admin_action(call, service.reinstate)))


async def admin_list_complaints(call: Call) -> web.Response:
    """Complaints by state (open ones wait for a decision), oldest first."""
    state = call.query["state"]
    query = Complaint.all().order_by("id")
    if state != "all":
        query = query.filter(upheld=None if state == "open" else state == "upheld")
    return await paged(call, query, complaint_out)


async def decide_complaint(call: Call) -> web.Response:
    """Uphold or dismiss a complaint; the third upheld one suspends the craftsman."""
    cid = call.path["complaint_id"]
    if not await Complaint.exists(pk=cid):
        raise not_found("投诉")
    complaint, suspended = await service.decide_complaint(
        call.redis, call.services.notify, cid, call.body["upheld"]
    )
    return ok({**complaint_out(complaint), "craftsman_suspended": suspended})


# ---- declarations ----------------------------------------------------------------------------


_NUM = {"type": "number"}
_CID = {"craftsman_id": ID}
# The GEO index (Web Mercator) reaches 85.05° north and south.
_LAT = {"type": "number", "minimum": -GEO_LAT_MAX, "maximum": GEO_LAT_MAX, "x-message": OFF_MAP}
_TRADE_RULE = "目录里的行当：类别编号、中文名或说法，如 tailor、修鞋、改衣服"
_LNG = {"type": "number", "minimum": -180, "maximum": 180}

CRAFTSMAN_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 20, "description": "如：王师傅"},
    "categories": {
        "type": "array",
        "minItems": 1,
        "maxItems": 5,
        "items": checked({"type": "string", "minLength": 1, "maxLength": 20}, _TRADE_RULE),
        "description": "行当：类别编号或中文，如 tailor、修鞋",
    },
    "description": {"type": "string", "minLength": 2, "maxLength": 200},
    "lat": _LAT,
    "lng": _LNG,
    "address": {"type": "string", "minLength": 1, "maxLength": 200},
    "hours": checked(
        {"type": "string", "minLength": 1, "maxLength": 200, "description": "每天8:00-18:00"},
        "营业时间：如“每天8:00-18:00”“周一到周五 9:00-17:00”，或 OpenStreetMap 写法",
    ),
    "phone": checked({"type": "string", "minLength": 3, "maxLength": 32}, PHONE_RULE),
}

SCHEMAS: dict[str, Any] = {
    "Craftsman": obj(
        [
            "id",
            "name",
            "categories",
            "category_names",
            "description",
            "phone",
            "address",
            "compound",
            "lat",
            "lng",
            "home_visits",
            "hours",
            "status",
            "status_name",
            "rating_avg",
            "rating_count",
        ],
        {
            "id": INT,
            "name": STR,
            "categories": {"type": "array", "items": {"type": "string", "enum": list(CATEGORIES)}},
            "category_names": {"type": "array", "items": STR},
            "description": STR,
            "phone": STR,
            "address": STR,
            "compound": {"type": ["string", "null"]},
            "lat": _NUM,
            "lng": _NUM,
            "home_visits": {"type": "boolean"},
            "hours": STR,
            "status": {"type": "string", "enum": [s.value for s in Status]},
            "status_name": STR,
            "rating_avg": _NUM,
            "rating_count": INT,
        },
    ),
    "SearchHit": obj(
        [
            "id",
            "name",
            "categories",
            "phone",
            "home_visits",
            "rating_avg",
            "rating_count",
            "distance_m",
            "walk_minutes",
            "open_state",
            "note",
        ],
        {
            "id": INT,
            "name": STR,
            "categories": {"type": "array", "items": STR},
            "phone": STR,
            "home_visits": {"type": "boolean"},
            "rating_avg": _NUM,
            "rating_count": INT,
            "distance_m": INT,
            "walk_minutes": INT,
            "open_state": {"type": "string", "enum": ["open", "unknown", "closed"]},
            "note": STR,
        },
    ),
    "Review": obj(
        ["id", "stars", "text", "created_at"],
        {
            "id": INT,
            "stars": {"type": "integer", "minimum": 1, "maximum": 5},
            "text": STR,
            "created_at": {"type": "string", "format": "date-time"},
            "reply": {"type": ["string", "null"]},
            "replied_at": {"type": ["string", "null"], "format": "date-time"},
        },
    ),
    "ReviewResult": obj(
        ["craftsman_id", "stars", "text", "rating_avg", "rating_count"],
        {
            "craftsman_id": INT,
            "stars": INT,
            "text": STR,
            "rating_avg": _NUM,
            "rating_count": INT,
        },
    ),
    "Complaint": obj(
        ["id", "craftsman_id", "reason", "state", "created_at"],
        {
            "id": INT,
            "craftsman_id": INT,
            "reason": STR,
            "state": {"type": "string", "enum": ["open", "upheld", "dismissed"]},
            "created_at": {"type": "string", "format": "date-time"},
            "craftsman_suspended": {"type": "boolean"},
        },
    ),
}

_search_page = page_schema("SearchHit")
_search_page["required"] = [
    *_search_page["required"],
    "category",
    "category_name",
    "radius_m",
    "widened",
]
_search_page["properties"].update(
    category=STR, category_name=STR, radius_m=INT, widened={"type": "boolean"}
)
SCHEMAS["SearchPage"] = _search_page
SCHEMAS["CraftsmanPage"] = page_schema("Craftsman")
SCHEMAS["ReviewPage"] = page_schema("Review")
SCHEMAS["ComplaintPage"] = page_schema("Complaint")

ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/craftsmen",
        search_craftsmen,
        "按行当和位置找师傅（步行15分钟内优先）",
        "directory",
        query={
            "category": checked({"type": "string", "minLength": 1, "maxLength": 20}, _TRADE_RULE),
            "lat": _LAT,
            "lng": _LNG,
            **PAGE_QUERY,
        },
        required_query=("category", "lat", "lng"),
        ok_schema=ref("SearchPage"),
    ),
    Endpoint(
        "POST",
        "/api/craftsmen",
        register_craftsman,
        "登记为师傅（待管理员审核）",
        "directory",
        body=obj(list(CRAFTSMAN_FIELDS), CRAFTSMAN_FIELDS),
        ok_status=201,
        ok_schema=ref("Craftsman"),
        extra_statuses=(409,),
    ),
    Endpoint(
        "GET",
        "/api/craftsmen/{craftsman_id}",
        get_craftsman,
        "师傅详情",
        "directory",
        path_params=_CID,
        ok_schema=ref("Craftsman"),
    ),
    Endpoint(
        "PATCH",
        "/api/craftsmen/{craftsman_id}",
        update_craftsman,
        "修改自己的登记（只改传来的字段）",
        "directory",
        path_params=_CID,
        body=obj([], CRAFTSMAN_FIELDS, minProperties=1),
        ok_schema=ref("Craftsman"),
        extra_statuses=(403,),
    ),
    Endpoint(
        "PUT",
        "/api/craftsmen/{craftsman_id}/availability",
        set_availability,
        "暂停接单或恢复接单（自己的登记）",
        "directory",
        path_params=_CID,
        body=obj(["paused"], {"paused": {"type": "boolean"}}),
        ok_schema=ref("Craftsman"),
        extra_statuses=(403, 409),
    ),
    Endpoint(
        "GET",
        "/api/craftsmen/{craftsman_id}/reviews",
        list_reviews,
        "师傅的评价",
        "directory",
        path_params=_CID,
        query=PAGE_QUERY,
        ok_schema=ref("ReviewPage"),
    ),
    Endpoint(
        "POST",
        "/api/craftsmen/{craftsman_id}/reviews",
        post_review,
        "评价师傅（同一人再次评价会替换）",
        "directory",
        path_params=_CID,
        body=obj(
            ["stars"],
            {
                "stars": {"type": "integer", "minimum": 1, "maximum": 5},
                "text": {"type": "string", "maxLength": 200},
            },
        ),
        ok_status=201,
        ok_schema=ref("ReviewResult"),
    ),
    Endpoint(
        "POST",
        "/api/craftsmen/{craftsman_id}/complaints",
        post_complaint,
        "投诉师傅",
        "directory",
        path_params=_CID,
        body=obj(["reason"], {"reason": {"type": "string", "minLength": 2, "maxLength": 200}}),
        ok_status=201,
        ok_schema=ref("Complaint"),
    ),
    Endpoint(
        "GET",
        "/api/admin/craftsmen",
        admin_list_craftsmen,
        "按状态列出师傅（管理员）",
        "admin",
        access=Access.ADMIN,
        query={
            "status": {
                "type": "string",
                "enum": [s.value for s in Status],
                "default": Status.PENDING.value,
            },
            **PAGE_QUERY,
        },
        ok_schema=ref("CraftsmanPage"),
    ),
    Endpoint(
        "POST",
        "/api/admin/craftsmen/{craftsman_id}/approve",
        approve_craftsman,
        "通过师傅登记（管理员）",
        "admin",
        access=Access.ADMIN,
        path_params=_CID,
        ok_schema=ref("Craftsman"),
        extra_statuses=(409,),
    ),
    Endpoint(
        "POST",
        "/api/admin/craftsmen/{craftsman_id}/reject",
        reject_craftsman,
        "拒绝并删除待审核的登记（管理员）",
        "admin",
        access=Access.ADMIN,
        path_params=_CID,
        ok_status=204,
        extra_statuses=(409,),
    ),
    Endpoint(
        "POST",
        "/api/admin/craftsmen/{craftsman_id}/reinstate",
        reinstate_craftsman,
        "恢复被停用或暂停的师傅（管理员）",
        "admin",
        access=Access.ADMIN,
        path_params=_CID,
        ok_schema=ref("Craftsman"),
        extra_statuses=(409,),
    ),
    Endpoint(
        "GET",
        "/api/admin/complaints",
        admin_list_complaints,
        "投诉列表（管理员）",
        "admin",
        access=Access.ADMIN,
        query={
            "state": {
                "type": "string",
                "enum": ["open", "upheld", "dismissed", "all"],
                "default": "open",
            },
            **PAGE_QUERY,
        },
        ok_schema=ref("ComplaintPage"),
    ),
    Endpoint(
        "POST",
        "/api/admin/complaints/{complaint_id}/decision",
        decide_complaint,
        "投诉成立或不成立（管理员）",
        "admin",
        access=Access.ADMIN,
        path_params={"complaint_id": ID},
        body=obj(["upheld"], {"upheld": {"type": "boolean"}}),
        ok_schema=ref("Complaint"),
    ),
]
