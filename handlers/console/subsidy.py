"""The console's meal-subsidy page (/console/subsidy): canteen staff and admins pick a month and
see the per-recipient record (tier, meals delivered, paid by the resident, subsidy claimed) with
its totals, download it as CSV, set a recipient's tier and the canteen's subsidy per tier.
Every rule is delivery.subsidy's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from canteen import service as canteen_service
from community.errors import DomainError
from community.roles import is_staff
from delivery import subsidy, texts
from handlers.console.common import (
    clock_now,
    flash_back,
    render,
    session_of,
    staff_session,
    take_flash,
)
from models.canteen import Canteen
from models.delivery import Recipient, SubsidyTier

REFUSAL = "只有食堂工作人员和社区管理员可以看助餐补贴。"


async def _staff_view(request: web.Request) -> tuple[dict[str, Any], Canteen]:
    session = await session_of(request)
    if session is None:
        raise web.HTTPFound("/console/login")
    canteen = await canteen_service.staff_canteen(session["openid"])
    if canteen is None or not await is_staff(session["openid"]):
        raise web.HTTPForbidden(text=REFUSAL)
    return session, canteen


def _month(request: web.Request, fallback: str) -> str:
    """The month asked for (?month=2026-11), checked; this month when none or a bad one."""
    asked = request.query.get("month", "")[:10]
    try:
        return subsidy.month_of(subsidy.month_bounds(asked)[0]) if asked else fallback
    except DomainError:
        return fallback


def _page(month: str, q: str = "") -> str:
    query = {"month": month, **({"q": q} if q else {})}
    return f"/console/subsidy?{urlencode(query)}"


def _recipient(r: Recipient) -> dict[str, Any]:
    return {
        "id": r.pk,
        "label": r.label,
        "address": r.address,
        "phone": subsidy.mask_phone(r.phone),
        "tier": subsidy.tier_of(r).value,
        "tier_name": subsidy.tier_name(r.tier),
    }


async def subsidy_page(request: web.Request) -> web.Response:
    """The month's record with totals, the tier forms and the canteen's amounts."""
    session, canteen = await _staff_view(request)
    flash = await take_flash(request, session)
    this_month = subsidy.month_of(clock_now(request).date())
    month = _month(request, this_month)
    record = await subsidy.month_record(canteen, month)
    q = request.query.get("q", "").strip()[:40]
    found: list[Recipient] = []
    error = None
    if q:
        try:
            found = await subsidy.find_recipients(session["openid"], q)
        except DomainError as exc:
            error = exc.message
        if not found and error is None:
            error = texts.no_recipient(q)
    with_tier = await Recipient.filter(tier__not_isnull=True).exclude(tier=SubsidyTier.NONE)
    ctx = {
        "csrf": session["csrf"],
        "flash": flash,
        "canteen": canteen,
        "month": month,
        "record": record,
        "rows": [
            {
                "id": r.recipient_id,
                "label": r.label,
                "address": r.address,
                "tiers": r.tier_names,
                "meals": r.meals,
                "paid": subsidy.yuan(r.paid_cents),
                "subsidy": subsidy.yuan(r.subsidy_cents),
            }
            for r in record.rows
        ],
        "totals": {
            "people": len(record.rows),
            "meals": record.meals,
            "paid": subsidy.yuan(record.paid_cents),
            "subsidy": subsidy.yuan(record.subsidy_cents),
        },
        "by_tier": [
            (subsidy.tier_name(t), n, subsidy.yuan(c))
            for t in SubsidyTier
            if t in record.by_tier
            for n, c in [record.by_tier[t]]
        ],
        "csv": f"/console/subsidy.csv?{urlencode({'month': month})}",
        "q": q,
        "q_error": error,
        "found": [_recipient(r) for r in found],
        "with_tier": [
            _recipient(r)
            for r in sorted(with_tier, key=lambda r: (subsidy.building_order(r.address), r.address))
        ],
        "tiers": [(t.value, subsidy.tier_name(t)) for t in SubsidyTier],
        "amounts": [
            (t.value, subsidy.tier_name(t), f"{c / 100:g}")
            for t, c in subsidy.subsidies_of(canteen).items()
        ],
    }
    return render(request, "subsidy.html", ctx)


async def subsidy_csv(request: web.Request) -> web.Response:
    """The month's record as CSV, for the subsidy claim (UTF-8 with BOM, so Excel reads it)."""
    _session, canteen = await _staff_view(request)
    month = _month(request, subsidy.month_of(clock_now(request).date()))
    text = subsidy.record_csv(await subsidy.month_record(canteen, month))
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="subsidy-{canteen.pk}-{month}.csv"',
            "Cache-Control": "no-store",
        },
    )


async def set_tier(request: web.Request) -> web.Response:
    """One recipient's tier, from the form beside it."""
    session, form = await staff_session(request)
    back = _page(str(form.get("month", ""))[:10], str(form.get("q", ""))[:40])
    raw_id = str(form.get("recipient_id", ""))
    recipient = await Recipient.get_or_none(pk=int(raw_id)) if raw_id.isdigit() else None
    if recipient is None:
        raise await flash_back(request, session, "没有这个送餐对象。", back)
    try:
        change = await subsidy.set_tier(
            session["openid"], recipient, str(form.get("tier", "")), clock_now(request)
        )
    except DomainError as exc:
        raise await flash_back(request, session, f"没有设置：{exc.message}", back) from None
    line = f"{change.recipient.label} {change.recipient.address}"
    raise await flash_back(
        request, session, f"已设置：{line} {subsidy.tier_name(change.after)}", back
    )


async def set_amounts(request: web.Request) -> web.Response:
    """The canteen's subsidy per meal for each tier (yuan); only changed ones are saved."""
    session, form = await staff_session(request)
    back = _page(str(form.get("month", ""))[:10])
    canteen = await canteen_service.staff_canteen(session["openid"])
    if canteen is None:
        raise web.HTTPForbidden(text=REFUSAL)
    current = subsidy.subsidies_of(canteen)
    changed = []
    try:
        for tier in subsidy.PAID_TIERS:
            raw = str(form.get(tier.value, "")).strip()
            if not raw:
                continue
            cents = subsidy.parse_yuan(raw)
            if cents != current[tier]:
                await subsidy.set_subsidy(
                    session["openid"], canteen, tier, cents, clock_now(request)
                )
                changed.append(f"{subsidy.tier_name(tier)}每餐补贴{subsidy.yuan(cents)}")
    except DomainError as exc:
        raise await flash_back(request, session, f"没有保存：{exc.message}", back) from None
    said = "已保存：" + "，".join(changed) if changed else "补贴标准没有变化。"
    raise await flash_back(request, session, said, back)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/subsidy", subsidy_page)
    r.add_get("/console/subsidy.csv", subsidy_csv)
    r.add_post("/console/subsidy/tier", set_tier)
    r.add_post("/console/subsidy/amounts", set_amounts)
