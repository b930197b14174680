"""Meal subsidies over JSON (助餐补贴): canteen staff read a month's per-recipient record (and its
CSV) and set a recipient's tier. The rules are delivery.subsidy's; this module checks who asks."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from canteen import service as canteen_service
from community.roles import is_staff
from delivery import subsidy, texts
from handlers.api_v1.core import INT, STR, Call, Endpoint, forbidden, not_found, obj, ok, ref
from models.canteen import Canteen
from models.delivery import Recipient, SubsidyTier

_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
_MONTH_QUERY = {
    "month": {
        "type": "string",
        "pattern": r"^20\d{2}-(?:0[1-9]|1[0-2])$",
        "description": "YYYY-MM，默认本月",
    }
}
_TIERS = [t.value for t in SubsidyTier]
_TIER_DOC = "，".join(f"{t.value}={subsidy.tier_name(t)}" for t in SubsidyTier)


async def _staff_canteen(call: Call) -> tuple[Canteen, str]:
    canteen = await Canteen.get_or_none(pk=call.path["canteen_id"])
    if canteen is None:
        raise not_found("食堂")
    if not await canteen_service.may_publish(call.me.openid, canteen):
        raise forbidden("只有本食堂的工作人员可以查看助餐补贴。")
    month = call.query.get("month") or subsidy.month_of(call.services.clock().date())
    return canteen, month


def _cents(value: int) -> dict[str, Any]:
    return {"cents": value, "yuan": subsidy.yuan(value)}


async def month_record(call: Call) -> web.Response:
    """A month's per-recipient subsidy record: delivered meals only, each at the tier and price
    it was delivered at; totals and per-tier sums for the claim."""
    canteen, month = await _staff_canteen(call)
    record = await subsidy.month_record(canteen, month)
    return ok(
        {
            "canteen_id": canteen.pk,
            "month": record.month,
            "rows": [
                {
                    "recipient_id": r.recipient_id,
                    "label": r.label,
                    "address": r.address,
                    "phone": r.phone,
                    "tiers": [t.value for t in r.tiers],
                    "tier_names": r.tier_names,
                    "meals": r.meals,
                    "paid_cents": r.paid_cents,
                    "subsidy_cents": r.subsidy_cents,
                }
                for r in record.rows
            ],
            "totals": {
                "people": len(record.rows),
                "meals": record.meals,
                "paid_cents": record.paid_cents,
                "subsidy_cents": record.subsidy_cents,
            },
            "by_tier": [
                {"tier": t.value, "meals": n, "subsidy_cents": c}
                for t in SubsidyTier
                if t in record.by_tier
                for n, c in [record.by_tier[t]]
            ],
            "subsidy_per_meal": {
                t.value: c for t, c in subsidy.subsidies_of(canteen).items()
            },
        }
    )


async def month_record_csv(call: Call) -> web.Response:
    """The month's record as CSV (UTF-8 with BOM, so Excel reads it), a total line last."""
    canteen, month = await _staff_canteen(call)
    record = await subsidy.month_record(canteen, month)
    name = f"subsidy-{canteen.pk}-{record.month}.csv"
    return web.Response(
        text=subsidy.record_csv(record),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def set_tier(call: Call) -> web.Response:
    """Set a delivery recipient's subsidy tier (canteen staff and admins); the meals not yet
    delivered follow it, delivered ones keep theirs."""
    if not await is_staff(call.me.openid):
        raise forbidden(texts.NOT_STAFF_TIER)
    recipient = await Recipient.get_or_none(pk=call.path["recipient_id"])
    if recipient is None:
        raise not_found("送餐对象")
    change = await subsidy.set_tier(
        call.me.openid, recipient, call.body["tier"], call.services.clock()
    )
    r = change.recipient
    return ok(
        {
            "recipient_id": r.pk,
            "label": r.label,
            "address": r.address,
            "tier": change.after.value,
            "tier_name": subsidy.tier_name(change.after),
            "previous_tier": change.before.value,
            "upcoming_portions": change.upcoming,
        }
    )


_ROW = obj(
    [
        "recipient_id", "label", "address", "phone", "tiers", "tier_names", "meals",
        "paid_cents", "subsidy_cents",
    ],
    {
        "recipient_id": INT,
        "label": STR,
        "address": STR,
        "phone": STR,
        "tiers": {"type": "array", "items": {"type": "string", "enum": _TIERS}},
        "tier_names": STR,
        "meals": INT,
        "paid_cents": {**INT, "description": "居民自付，分"},
        "subsidy_cents": {**INT, "description": "申领的补贴，分"},
    },
)  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "SubsidyMonth": obj(
        ["canteen_id", "month", "rows", "totals", "by_tier", "subsidy_per_meal"],
        {
            "canteen_id": INT,
            "month": STR,
            "rows": {"type": "array", "items": _ROW},
            "totals": obj(
                ["people", "meals", "paid_cents", "subsidy_cents"],
                {"people": INT, "meals": INT, "paid_cents": INT, "subsidy_cents": INT},
            ),
            "by_tier": {
                "type": "array",
                "items": obj(
                    ["tier", "meals", "subsidy_cents"],
                    {
                        "tier": {"type": "string", "enum": _TIERS},
                        "meals": INT,
                        "subsidy_cents": INT,
                    },
                ),
            },
            "subsidy_per_meal": {
                "type": "object",
                "additionalProperties": INT,
                "description": "本食堂每餐补贴（分），按类别",
            },
        },
    ),
    "SubsidyTierSet": obj(
        [
            "recipient_id", "label", "address", "tier", "tier_name", "previous_tier",
            "upcoming_portions",
        ],
        {
            "recipient_id": INT,
            "label": STR,
            "address": STR,
            "tier": {"type": "string", "enum": _TIERS},
            "tier_name": STR,
            "previous_tier": {"type": "string", "enum": _TIERS},
            "upcoming_portions": {**INT, "description": "已报名还没送、按新类别算的份数"},
        },
    ),  # fmt: skip
}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/canteens/{canteen_id}/subsidy",
        month_record,
        "某月的助餐补贴明细（本食堂工作人员、管理员）",
        "delivery",
        path_params={"canteen_id": _ID},
        query=_MONTH_QUERY,
        ok_schema=ref("SubsidyMonth"),
        extra_statuses=(403,),
    ),
    Endpoint(
        "GET",
        "/api/canteens/{canteen_id}/subsidy.csv",
        month_record_csv,
        "导出某月的助餐补贴明细 CSV（本食堂工作人员、管理员）",
        "delivery",
        path_params={"canteen_id": _ID},
        query=_MONTH_QUERY,
        ok_schema={"type": "string", "description": "UTF-8（带 BOM）的 CSV，最后一行是合计"},
        ok_media="text/csv",
        extra_statuses=(403,),
    ),
    Endpoint(
        "PUT",
        "/api/delivery/recipients/{recipient_id}/tier",
        set_tier,
        "设置送餐对象的补贴类别（食堂工作人员、管理员）",
        "delivery",
        path_params={"recipient_id": _ID},
        body=obj(
            ["tier"],
            {"tier": {"type": "string", "enum": _TIERS, "description": _TIER_DOC}},
        ),
        ok_schema=ref("SubsidyTierSet"),
        extra_statuses=(403,),
    ),
]
