"""The console's grid part: residents' reports (with their photos and place), whether each
reached a grid worker, who closed it (grid.service reads them and says their state); couriers'
and riders' volunteer registrations, which admins approve or turn down."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from community.errors import DomainError
from grid import service as grid_service
from grid import texts as grid_texts
from handlers.console.common import admin_session, clock_now, flash_back
from models.push import PushStatus


async def grid_reports(limit: int = 20) -> list[dict[str, Any]]:
    """Residents' reports still open (urgent first, oldest first: all of them, up to a bound),
    then the most recent closed ones; whether each reached a grid worker and who closed it."""
    out = []
    for r, pushes in await grid_service.board(limit):
        located = r.lat is not None and r.lng is not None
        out.append(
            {
                "id": r.pk,
                "text": r.text,
                "address": r.address,
                "state": grid_service.reached(pushes),
                "retry": [m.pk for m in pushes if m.status == PushStatus.FAILED],
                "urgent": r.urgent,
                "open": r.closed_at is None,
                "closed": grid_service.closed_text(r),
                # WeChat's links (valid 3 days): opened without a referrer, which WeChat's
                # image host refuses from other sites.
                "photos": [p.get("url", "") for p in r.photos or [] if p.get("url")],
                "place": r.place_label or "",
                "point": f"{r.lat:.6f}, {r.lng:.6f}" if located else "",
                "map": grid_texts.map_link(r.lat or 0, r.lng or 0, r.place_label or "")
                if located
                else "",
                "volunteer": r.volunteer_id is not None,
            }
        )
    return out


async def grid_volunteers() -> list[dict[str, Any]]:
    """Couriers' and riders' registrations waiting for an admin."""
    return [
        {
            "id": v.pk,
            "name": v.name,
            "trade": v.trade,
            "company": v.company,
            "phone": v.phone,
            "area": v.area,
        }
        for v in await grid_service.pending_volunteers()
    ]


VOLUNTEER_ACTIONS = {"approve": (True, "已通过"), "reject": (False, "已拒绝")}


async def volunteer_action(request: web.Request) -> web.Response:
    """Approve or turn down a courier's/rider's volunteer registration; they are told."""
    session, _ = await admin_session(request)
    action = VOLUNTEER_ACTIONS.get(request.match_info["action"])
    vid = request.match_info["volunteer_id"]
    if action is None or not vid.isdigit() or len(vid) > 9:
        raise web.HTTPNotFound()
    approve, done = action
    try:
        v = await grid_service.decide_volunteer(
            session["openid"], int(vid), approve, clock_now(request)
        )
    except DomainError as exc:
        raise await flash_back(request, session, exc.message) from None
    raise await flash_back(request, session, f"{done}：志愿者 #{v.pk} {v.name}（{v.company}）")
