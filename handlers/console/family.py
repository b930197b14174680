"""The console's family page (/console/family): canteen staff and admins see every family link
(elder, relative, status, who consented and when) and revoke one. Rules are family.service's."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from community.clock import SHANGHAI
from community.errors import DomainError
from community.roles import is_staff
from family import service
from handlers.console.common import (
    clock_now,
    flash_back,
    render,
    session_of,
    staff_session,
    take_flash,
)
from models.family import LinkStatus

STATUS_NAMES = {
    LinkStatus.PENDING: "等老人同意",
    LinkStatus.CONFIRMED: "已绑定",
    LinkStatus.DECLINED: "老人未同意",
}
REFUSAL = "只有食堂工作人员和社区管理员可以查看家人绑定。"
REVOKED = "已解除这个家人绑定，双方已收到通知。"


def _when(value: Any) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


def _masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else phone


def _consent(row: service.LinkRow) -> str:
    link = row.link
    if link.status is LinkStatus.PENDING:
        return "（还没有）"
    if link.status is LinkStatus.DECLINED:
        return "老人不同意"
    if link.linked_by == "elder":
        return "老人本人在公众号同意"
    return f"工作人员代办（{link.linked_by}，老人当面同意）"


async def family_page(request: web.Request) -> web.Response:
    session = await session_of(request)
    if session is None:
        raise web.HTTPFound("/console/login")
    if not await is_staff(session["openid"]):
        raise web.HTTPForbidden(text=REFUSAL)
    flash = await take_flash(request, session)
    rows = [
        {
            "id": r.link.pk,
            "elder": r.elder_address or "（未登记送餐）",
            "elder_phone": _masked(r.elder_phone),
            "relative": r.link.note or "家人",
            "relative_id": r.link.relative_openid[-6:],
            "status": STATUS_NAMES[r.link.status],
            "consent": _consent(r),
            "asked": _when(r.link.created_at),
            "confirmed": _when(r.link.confirmed_at),
        }
        for r in await service.board()
    ]
    return render(request, "family.html", {"csrf": session["csrf"], "flash": flash, "links": rows})


async def revoke(request: web.Request) -> web.Response:
    """Revoke one link (both sides told when it was in force)."""
    session, _form = await staff_session(request)
    if not await is_staff(session["openid"]):
        raise web.HTTPForbidden(text=REFUSAL)
    try:
        link_id = int(request.match_info["link_id"])
        await service.revoke(link_id, session["openid"], clock_now(request))
    except (ValueError, DomainError) as exc:
        text = exc.message if isinstance(exc, DomainError) else "没有这个家人绑定。"
        raise await flash_back(request, session, text, "/console/family") from None
    raise await flash_back(request, session, REVOKED, "/console/family")


def setup(app: web.Application) -> None:
    app.router.add_get("/console/family", family_page)
    app.router.add_post("/console/family/{link_id}/revoke", revoke)
