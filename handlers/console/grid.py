"""The console's grid part: residents' reports (with their photos and place), whether each
reached a grid worker, who closed it (grid.service reads them and says their state); couriers'
and riders' volunteer registrations, which admins approve or turn down."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from community.errors import DomainError
from grid import photos as grid_photos
from grid import service as grid_service
from grid import texts as grid_texts
from handlers.console.common import (
    WECHAT_IMAGE_HOST,
    admin_session,
    admin_view,
    clock_now,
    flash_back,
)
from handlers.keys import settings_key
from models.grid import GridReport
from models.push import PushStatus


def _wechat_image(url: str) -> bool:
    """A link on WeChat's image host, the one the console's CSP lets pages show."""
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and parts.hostname == WECHAT_IMAGE_HOST


def photo_views(data_dir: Path, report: GridReport) -> list[dict[str, Any]]:
    """How the console shows a report's photos: our copy (grid/photos.py) when there is one,
    else WeChat's link, shown as an image only from WeChat's image host."""
    out = []
    for n, p in enumerate(report.photos or [], 1):
        url = str(p.get("url") or "")
        if grid_photos.stored(data_dir, report.pk, n) is not None:
            local = f"/console/grid-reports/{report.pk}/photos/{n}"
            out.append({"href": local, "src": local, "kept": True})
        elif url:
            out.append({"href": url, "src": url if _wechat_image(url) else "", "kept": False})
    return out


async def grid_reports(data_dir: Path, limit: int = 20) -> list[dict[str, Any]]:
    """Residents' reports still open (urgent first, oldest first: all of them, up to a bound),
    then the most recent closed ones; whether each reached a grid worker and who closed it."""
    out = []
    for r, pushes in await grid_service.board(limit):
        located = r.lat is not None and r.lng is not None
        photos = photo_views(data_dir, r)
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
                # Our copy, else WeChat's link (valid 3 days), shown without a referrer, which
                # WeChat's image host refuses from other sites.
                "photos": photos,
                "photos_at_wechat": any(not p["kept"] for p in photos),
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


async def report_photo(request: web.Request) -> web.StreamResponse:
    """A report's photo as copied from WeChat (grid/photos.py): admins only, like the reports;
    404 when there is no copy (the page then links WeChat's)."""
    await admin_view(request, "只有社区管理员可以查看居民反映的照片。")
    rid, n = request.match_info["report_id"], request.match_info["n"]
    if not (rid.isdigit() and len(rid) <= 9 and n.isdigit() and len(n) <= 2):
        raise web.HTTPNotFound()
    path = grid_photos.stored(request.app[settings_key].data_dir, int(rid), int(n))
    content = await asyncio.to_thread(path.read_bytes) if path is not None else b""
    kind = grid_photos.image_type(content)
    if kind is None:
        raise web.HTTPNotFound()
    return web.Response(
        body=content,
        content_type=kind,
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )
