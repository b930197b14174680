"""Meal delivery over JSON: residents keep the people they order for and sign them up or cancel;
volunteers see and report their roster lines; canteen staff see and export the day.

Every rule (cutoffs, places, who covers which building, what a phone or an address must look
like) is the delivery service's or the chat form's; this module only checks who may ask.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from bot.context import SHANGHAI
from canteen import service as canteen_service
from community.errors import DomainError
from craftsman_directory.service import DirectoryError, normalise_phone
from delivery import roster, service, subsidy
from delivery.places import AddressError, parse_address
from delivery.router import SELF_WORDS
from delivery.service import MAX_COUNT, SELF, Result, meal_label
from handlers.api_v1.core import (
    INT,
    PAGE_QUERY,
    PHONE_RULE,
    STR,
    Call,
    Endpoint,
    checked,
    forbidden,
    invalid,
    not_found,
    obj,
    ok,
    page_body,
    page_schema,
    ref,
)
from models.canteen import Canteen, Meal
from models.delivery import MealSlot, Outcome, Recipient, Signup, SignupStatus, SubsidyTier
from models.users import Role, RoleGrant
from push import outbox

RESULT_NAMES = {
    Result.BOOKED: "报名成功",
    Result.UPDATED: "已改份数",
    Result.ALREADY: "已报过",
    Result.FULL: "名额已满",
    Result.CLOSED: "已过报名截止时间",
    Result.LIMIT: "超过订餐限额",
    Result.DAY_CLOSED: "停餐",
    Result.SOLD_OUT: "已售罄",
}


# Days not booked for want of places or time: the next open day is offered for them.
NOT_BOOKED = (Result.FULL, Result.CLOSED, Result.DAY_CLOSED, Result.SOLD_OUT)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None


def recipient_out(r: Recipient) -> dict[str, Any]:
    return {
        "id": r.pk,
        "label": r.label,
        "address": r.address,
        "building": r.building,
        "phone": r.phone,
        "emergency_phone": r.emergency_phone,
        "diet": r.diet,
        # Shown, never set here: staff set it (PUT /api/delivery/recipients/{id}/tier).
        "tier": subsidy.tier_of(r).value,
        "tier_name": subsidy.tier_name(r.tier),
    }


async def signup_out(s: Signup, now: dt.datetime) -> dict[str, Any]:
    """A resident's own sign-up, with when it stops being cancellable."""
    meal = await service.meal_of(s.slot)
    cutoff = service.cutoff_at(meal, s.slot.date) if meal else None
    return {
        "id": s.pk,
        "recipient_id": s.recipient_id,
        "label": s.recipient.label,
        "address": s.recipient.address,
        "canteen_id": s.slot.canteen_id,
        "date": s.slot.date.isoformat(),
        "meal": s.slot.meal,
        "meal_name": meal_label(s.slot.meal),
        "count": s.count,
        "status": s.status.value,
        "outcome": s.outcome.value if s.outcome else None,
        "cutoff_at": _iso(cutoff),
        "can_cancel": s.status == SignupStatus.BOOKED and cutoff is not None and now < cutoff,
    }


def line_out(s: Signup, staff: bool = True) -> dict[str, Any]:
    """A roster line as staff see it; volunteers get what their pushed roster shows (`text`),
    without the emergency contact (the alerts carry it to the grid worker)."""
    r = s.recipient
    return {
        "id": s.pk,
        "canteen_id": s.slot.canteen_id,
        "date": s.slot.date.isoformat(),
        "meal": s.slot.meal,
        "meal_name": meal_label(s.slot.meal),
        "line_no": s.line_no,
        "area": s.area,
        "address": r.address,
        "count": s.count,
        "diet": r.diet,
        "phone": r.phone,
        "emergency_phone": r.emergency_phone if staff else None,
        "ordered_for": r.label,
        "status": s.status.value,
        "outcome": s.outcome.value if s.outcome else None,
        "outcome_name": roster.OUTCOME_NAMES[s.outcome] if s.outcome else None,
        "reported_at": _iso(s.reported_at),
        "text": roster.roster_line(s) if s.line_no else None,
    }


# ---- residents: who I order for --------------------------------------------------------------


def _recipient_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The chat form's checks (parse_address, normalise_phone); every bad field at once."""
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "label" in body:
        label = body["label"].strip()
        if label:
            out["label"] = SELF if label in SELF_WORDS else label  # "自己" is 本人, as in the chat
        else:
            errors["label"] = "不能为空"
    if "address" in body:
        try:
            out["address"], out["building"] = parse_address(body["address"])
        except AddressError as exc:
            errors["address"] = str(exc)
    if "phone" in body:
        try:
            out["phone"] = normalise_phone(body["phone"])
        except DirectoryError as exc:
            errors["phone"] = str(exc)
    if "emergency_phone" in body:
        raw = (body["emergency_phone"] or "").strip()
        try:
            out["emergency_phone"] = normalise_phone(raw) if raw else None
        except DirectoryError as exc:
            errors["emergency_phone"] = str(exc)
    if "diet" in body:
        out["diet"] = body["diet"].strip()
    if errors:
        raise invalid(errors)
    return out


async def list_recipients(call: Call) -> web.Response:
    """The people I order meals for (myself as 本人, relatives by what I call them)."""
    rows = await service.recipients_of(call.me.openid)
    return ok({"items": [recipient_out(r) for r in rows]})


async def save_recipient(call: Call) -> web.Response:
    """Add someone I order for (201), or update them by the same label (200), like the chat."""
    fields = _recipient_fields(call.body)
    known = await service.known_recipient(call.me.openid, fields["label"])
    fields.setdefault("diet", "")
    fields.setdefault("emergency_phone", None)
    recipient = await service.save_recipient(call.me.openid, **fields)
    return ok(recipient_out(recipient), status=200 if known else 201)


async def update_recipient(call: Call) -> web.Response:
    """Change one of my recipients (only the fields sent)."""
    recipient = await service.own_recipient(call.me.openid, call.path["recipient_id"])
    if recipient is None:
        raise not_found("送餐对象")
    fields = _recipient_fields(call.body)
    if "label" in fields and fields["label"] != recipient.label:
        if await service.known_recipient(call.me.openid, fields["label"]):
            raise invalid({"label": f"已经有“{fields['label']}”了"})
    recipient = await service.update_recipient(recipient, **fields)
    return ok(recipient_out(recipient))


# ---- residents: sign up, list, cancel --------------------------------------------------------


async def create_signups(call: Call) -> web.Response:
    """Sign one of my recipients up for a meal on some days. Each day is booked, full, closed
    (past the cutoff) or past the canteen's limits for residents (with the reason in
    `message`); when one is missed, the next day with places is offered."""
    body, now = call.body, call.services.clock()
    today = now.date()
    recipient = await service.own_recipient(call.me.openid, body["recipient_id"])
    if recipient is None:
        raise not_found("送餐对象")
    canteen = await service.delivering_canteen(body.get("canteen_id"))
    offered = await service.delivered_meals(canteen)
    days = [dt.date.fromisoformat(d) for d in body["dates"]]
    # Every invalid field at once, each with the reason the chat gives for it.
    errors = service.day_problems(days, today)
    meal = None
    try:
        meal = service.offered_meal(offered, body["meal"])
    except DomainError as exc:
        errors["meal"] = exc.message
    if errors:
        raise invalid(errors)
    assert meal is not None
    count = body.get("count", 1)
    results = [await service.book(recipient, meal, day, count, now) for day in sorted(set(days))]
    offer = None
    if any(b.result in NOT_BOOKED for b in results):
        offer = await service.next_open_day(meal, max(days), count, now)
    created = any(b.result in (Result.BOOKED, Result.UPDATED) for b in results)
    return ok(
        {
            "recipient": recipient_out(recipient),
            "canteen_id": canteen.pk,
            "meal": meal.meal.value,
            "meal_name": meal_label(meal.meal),
            "count": count,
            "results": [
                {
                    "date": b.day.isoformat(),
                    "result": b.result.value,
                    "result_name": RESULT_NAMES[b.result],
                    **({"message": b.reason} if b.reason else {}),
                }
                for b in results
            ],
            "next_open_day": offer.isoformat() if offer else None,
        },
        status=201 if created else 200,
    )


async def list_signups(call: Call) -> web.Response:
    """My booked sign-ups from today on (for everyone I order for), by day and meal."""
    now = call.services.clock()
    rows = await service.upcoming(call.me.openid, now.date())
    page, per_page = call.query["page"], call.query["per_page"]
    shown = rows[(page - 1) * per_page : page * per_page]
    items = [await signup_out(s, now) for s in shown]
    return ok(page_body(items, page, per_page, len(rows)))


async def cancel_signup(call: Call) -> web.Response:
    """Cancel one of my sign-ups before its cutoff (409 after it: the meal will still come)."""
    now = call.services.clock()
    signup = await service.own_signup(call.me.openid, call.path["signup_id"])
    if signup is None:
        raise not_found("送餐报名")
    await service.cancel_booked(signup, now)
    return ok(await signup_out(signup, now))


# ---- volunteers ------------------------------------------------------------------------------


async def _volunteer(call: Call) -> None:
    if not await RoleGrant.exists(user__openid=call.me.openid, role=Role.VOLUNTEER):
        raise forbidden("只有送餐志愿者可以看送餐名单。")


async def volunteer_roster(call: Call) -> web.Response:
    """Today's roster lines in my areas (built at each meal's sign-up cutoff)."""
    await _volunteer(call)
    today = call.services.clock().date()
    lines = await roster.volunteer_lines(call.me.openid, today)
    return ok({"date": today.isoformat(), "lines": [line_out(s, staff=False) for s in lines]})


async def report_line(call: Call) -> web.Response:
    """Report one of my lines: delivered, no answer (the grid worker and family are alerted at
    once) or not at home, as "1 送到" in the chat."""
    await _volunteer(call)
    now = call.services.clock()
    mine = {s.pk: s for s in await roster.volunteer_lines(call.me.openid, now.date())}
    signup = mine.get(call.path["signup_id"])
    if signup is None:
        raise not_found("您今天名单上的这一户")
    assert signup.line_no is not None  # volunteer_lines gives numbered lines only
    outcome = Outcome(call.body["outcome"])
    result = await roster.report(
        call.me.openid, [signup.line_no], outcome, now, slot_id=signup.slot_id
    )
    if signup.line_no not in result.done:  # the roster changed under us (cancelled just now)
        raise not_found("您今天名单上的这一户")
    if result.alerted:
        await outbox.wake(call.redis)  # the grid worker hears of a closed door at once
    fresh = await Signup.get(pk=signup.pk).prefetch_related("recipient", "slot")
    return ok({"line": line_out(fresh, staff=False), "alerted": result.alerted})


# ---- canteen staff ---------------------------------------------------------------------------


async def _staff_day(call: Call) -> tuple[Canteen, dt.date]:
    canteen = await Canteen.get_or_none(pk=call.path["canteen_id"])
    if canteen is None:
        raise not_found("食堂")
    if not await canteen_service.may_publish(call.me.openid, canteen):
        raise forbidden("只有本食堂的工作人员可以查看送餐名单。")
    day = call.query.get("date")
    return canteen, dt.date.fromisoformat(day) if day else call.services.clock().date()


async def day_deliveries(call: Call) -> web.Response:
    """A day's sign-ups (booked and cancelled) with delivery results, and places per meal."""
    canteen, day = await _staff_day(call)
    rows = await roster.day_signups(canteen.pk, day)
    slots = await MealSlot.filter(canteen_id=canteen.pk, date=day)
    if meal := call.query.get("meal"):
        rows = [s for s in rows if s.slot.meal == meal]
        slots = [x for x in slots if x.meal == meal]
    meals = []
    for slot in sorted(slots, key=lambda x: _MEALS.index(x.meal)):
        booked = [s for s in rows if s.slot_id == slot.pk and s.status == SignupStatus.BOOKED]
        meals.append(
            {
                "meal": slot.meal.value,
                "meal_name": meal_label(slot.meal),
                "capacity": slot.capacity,
                "booked": slot.booked,
                "roster_built": slot.roster_built_at is not None,
                "households": len(booked),
                **{o.value: sum(1 for s in booked if s.outcome == o) for o in Outcome},
                "unreported": sum(1 for s in booked if s.outcome is None),
            }
        )
    page, per_page = call.query["page"], call.query["per_page"]
    body = page_body(
        [line_out(s) for s in rows[(page - 1) * per_page : page * per_page]],
        page,
        per_page,
        len(rows),
    )
    body.update(canteen_id=canteen.pk, date=day.isoformat(), meals=meals)
    return ok(body)


async def export_deliveries(call: Call) -> web.Response:
    """The day's sign-ups and delivery results as CSV (UTF-8 with BOM, so Excel reads it)."""
    canteen, day = await _staff_day(call)
    text = await roster.export_csv(canteen.pk, day)
    name = f"deliveries-{canteen.pk}-{day.isoformat()}.csv"
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---- declarations ----------------------------------------------------------------------------


_NULL_STR = {"type": ["string", "null"]}
_DATE = {"type": "string", "format": "date"}
_MEALS = [m.value for m in Meal]
_OUTCOMES = [o.value for o in Outcome]
_NULL_OUTCOME = {"type": ["string", "null"], "enum": [*_OUTCOMES, None]}
_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}  # the id columns are int4
_DAY_QUERY = {
    "date": {"type": "string", "format": "date", "description": "默认今天"},
}

_RECIPIENT_PROPS: dict[str, Any] = {
    "label": {
        "type": "string",
        "minLength": 1,
        "maxLength": 16,
        "description": f"给谁：自己写“{SELF}”，家人写称呼，如“我妈”",
    },
    "address": checked(
        {"type": "string", "minLength": 1, "maxLength": 64, "description": "3号楼2单元401"},
        "写明楼号，如“3号楼2单元401”",
    ),
    "phone": checked({"type": "string", "minLength": 1, "maxLength": 30}, PHONE_RULE),
    "emergency_phone": checked(
        {"type": ["string", "null"], "maxLength": 30, "description": "可不填"}, PHONE_RULE
    ),
    "diet": {"type": "string", "maxLength": 100, "description": "忌口，如少盐、要软烂"},
}

SCHEMAS: dict[str, Any] = {
    "Recipient": obj(
        ["id", "label", "address", "building", "phone", "emergency_phone", "diet", "tier"],
        {
            "id": INT,
            "label": STR,
            "address": STR,
            "building": STR,
            "phone": STR,
            "emergency_phone": _NULL_STR,
            "diet": STR,
            "tier": {
                "type": "string",
                "enum": [t.value for t in SubsidyTier],
                "description": "助餐补贴类别，由食堂工作人员核实后设置，居民改不了",
            },
            "tier_name": STR,
        },
    ),
    "RecipientList": obj(["items"], {"items": {"type": "array", "items": ref("Recipient")}}),
    "SignupResults": obj(
        ["recipient", "canteen_id", "meal", "meal_name", "count", "results", "next_open_day"],
        {
            "recipient": ref("Recipient"),
            "canteen_id": INT,
            "meal": {"type": "string", "enum": _MEALS},
            "meal_name": STR,
            "count": INT,
            "results": {
                "type": "array",
                "items": obj(
                    ["date", "result", "result_name"],
                    {
                        "date": _DATE,
                        "result": {"type": "string", "enum": [r.value for r in Result]},
                        "result_name": STR,
                        "message": {
                            "type": "string",
                            "description": "没报上的原因（超过订餐限额、停餐、售罄时），"
                            "可直接展示给居民，和公众号里说的一样",
                        },
                    },
                ),
            },
            "next_open_day": {
                "type": ["string", "null"],
                "format": "date",
                "description": "有没报上的日子时，之后第一个还有名额的日子",
            },
        },
    ),
    "Signup": obj(
        [
            "id",
            "recipient_id",
            "label",
            "address",
            "canteen_id",
            "date",
            "meal",
            "meal_name",
            "count",
            "status",
            "outcome",
            "cutoff_at",
            "can_cancel",
        ],
        {
            "id": INT,
            "recipient_id": INT,
            "label": STR,
            "address": STR,
            "canteen_id": INT,
            "date": _DATE,
            "meal": {"type": "string", "enum": _MEALS},
            "meal_name": STR,
            "count": INT,
            "status": {"type": "string", "enum": [s.value for s in SignupStatus]},
            "outcome": _NULL_OUTCOME,
            "cutoff_at": {"type": ["string", "null"], "format": "date-time"},
            "can_cancel": {"type": "boolean"},
        },
    ),
    "SignupPage": page_schema("Signup"),
    "RosterLine": obj(
        [
            "id",
            "canteen_id",
            "date",
            "meal",
            "meal_name",
            "line_no",
            "area",
            "address",
            "count",
            "diet",
            "phone",
            "emergency_phone",
            "ordered_for",
            "status",
            "outcome",
            "outcome_name",
            "reported_at",
            "text",
        ],
        {
            "id": INT,
            "canteen_id": INT,
            "date": _DATE,
            "meal": {"type": "string", "enum": _MEALS},
            "meal_name": STR,
            "line_no": {"type": ["integer", "null"], "description": "名单上的序号（截止后才有）"},
            "area": _NULL_STR,
            "address": STR,
            "count": INT,
            "diet": STR,
            "phone": STR,
            "emergency_phone": _NULL_STR,
            "ordered_for": {"type": "string", "description": "本人，或代订家属的称呼"},
            "status": {"type": "string", "enum": [s.value for s in SignupStatus]},
            "outcome": _NULL_OUTCOME,
            "outcome_name": _NULL_STR,
            "reported_at": {"type": ["string", "null"], "format": "date-time"},
            "text": {"type": ["string", "null"], "description": "推送给志愿者的那一行"},
        },
    ),
    "Roster": obj(
        ["date", "lines"],
        {"date": _DATE, "lines": {"type": "array", "items": ref("RosterLine")}},
    ),
    "Report": obj(
        ["line", "alerted"],
        {"line": ref("RosterLine"), "alerted": {"type": "integer", "description": "发出的提醒"}},
    ),
    "DeliveryDay": {
        **page_schema("RosterLine"),
        "required": [
            *page_schema("RosterLine")["required"],
            "canteen_id",
            "date",
            "meals",
        ],
        "properties": {
            **page_schema("RosterLine")["properties"],
            "canteen_id": INT,
            "date": _DATE,
            "meals": {
                "type": "array",
                "items": obj(
                    [
                        "meal",
                        "meal_name",
                        "capacity",
                        "booked",
                        "roster_built",
                        "households",
                        *_OUTCOMES,
                        "unreported",
                    ],
                    {
                        "meal": {"type": "string", "enum": _MEALS},
                        "meal_name": STR,
                        "capacity": INT,
                        "booked": {"type": "integer", "description": "已订份数"},
                        "roster_built": {"type": "boolean"},
                        "households": INT,
                        **{o: INT for o in _OUTCOMES},
                        "unreported": INT,
                    },
                ),
            },
        },
    },
}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/me/recipients",
        list_recipients,
        "我给谁订餐（本人和家人）",
        "delivery",
        ok_schema=ref("RecipientList"),
    ),
    Endpoint(
        "POST",
        "/api/me/recipients",
        save_recipient,
        "添加或按称呼更新送餐对象",
        "delivery",
        body=obj(["label", "address", "phone"], _RECIPIENT_PROPS),
        ok_status=201,
        ok_schema=ref("Recipient"),
        extra_statuses=(200, 409),
    ),
    Endpoint(
        "PATCH",
        "/api/me/recipients/{recipient_id}",
        update_recipient,
        "修改我的送餐对象",
        "delivery",
        path_params={"recipient_id": _ID},
        body={**obj([], _RECIPIENT_PROPS), "minProperties": 1},
        ok_schema=ref("Recipient"),
        extra_statuses=(409,),
    ),
    Endpoint(
        "GET",
        "/api/me/signups",
        list_signups,
        "我今天起的送餐报名",
        "delivery",
        query=PAGE_QUERY,
        ok_schema=ref("SignupPage"),
    ),
    Endpoint(
        "POST",
        "/api/me/signups",
        create_signups,
        "报名送餐（某一餐的若干天）",
        "delivery",
        body=obj(
            ["recipient_id", "meal", "dates"],
            {
                "recipient_id": _ID,
                "canteen_id": {**_ID, "description": "默认本社区的食堂"},
                "meal": {"type": "string", "enum": _MEALS},
                "dates": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": service.MAX_DAYS,
                    "items": checked(_DATE, "不能是过去的日子"),
                },
                "count": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT, "default": 1},
            },
        ),
        ok_status=201,
        ok_schema=ref("SignupResults"),
        extra_statuses=(200, 404),
    ),
    Endpoint(
        "DELETE",
        "/api/me/signups/{signup_id}",
        cancel_signup,
        "取消我的一次送餐报名（截止前）",
        "delivery",
        path_params={"signup_id": _ID},
        ok_schema=ref("Signup"),
        extra_statuses=(409,),
    ),
    Endpoint(
        "GET",
        "/api/volunteer/roster",
        volunteer_roster,
        "今天我负责片区的送餐名单（志愿者）",
        "delivery",
        ok_schema=ref("Roster"),
        extra_statuses=(403,),
    ),
    Endpoint(
        "POST",
        "/api/volunteer/roster/{signup_id}/report",
        report_line,
        "报告一户的送餐结果（志愿者）",
        "delivery",
        path_params={"signup_id": _ID},
        body=obj(["outcome"], {"outcome": {"type": "string", "enum": _OUTCOMES}}),
        ok_schema=ref("Report"),
        extra_statuses=(403,),
    ),
    Endpoint(
        "GET",
        "/api/canteens/{canteen_id}/deliveries",
        day_deliveries,
        "某天的送餐报名和送达结果（本食堂工作人员、管理员）",
        "delivery",
        path_params={"canteen_id": _ID},
        query={**_DAY_QUERY, "meal": {"type": "string", "enum": _MEALS}, **PAGE_QUERY},
        ok_schema=ref("DeliveryDay"),
        extra_statuses=(403,),
    ),
    Endpoint(
        "GET",
        "/api/canteens/{canteen_id}/deliveries.csv",
        export_deliveries,
        "导出某天的送餐报名和送达结果 CSV（本食堂工作人员、管理员）",
        "delivery",
        path_params={"canteen_id": _ID},
        query=_DAY_QUERY,
        ok_schema={
            "type": "string",
            "description": "UTF-8（带 BOM）的 CSV",
        },
        ok_media="text/csv",
        extra_statuses=(403,),
    ),
]
