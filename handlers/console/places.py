"""The console's places page (/console/places): admins add, edit and verify the community's
service points, and download the poster (布点图) as PNG or PDF. Every rule is the service's."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from community import hours
from community.errors import DomainError
from handlers.appkeys import bot_key, redis_key, settings_key
from handlers.console.common import admin_session, admin_view, flash_back, render, take_flash
from models.places import Place, PlaceSource
from places import circle, poster, service
from places.kinds import KINDS

FIELDS = ("name", "kind", "address", "lat", "lng", "coord", "hours", "phone", "offerings")


async def _admin_view(request: web.Request) -> dict[str, Any]:
    return await admin_view(request, "只有社区管理员可以管理服务点。")


async def _back(request: web.Request, session: dict[str, Any], text: str) -> web.HTTPFound:
    return await flash_back(request, session, text, "/console/places")


async def places_page(request: web.Request) -> web.Response:
    """Places waiting for verification first, then the verified ones, by kind."""
    session = await _admin_view(request)
    flash = await take_flash(request, session)
    rows = await service.all_places()
    ctx = {
        "csrf": session["csrf"],
        "flash": flash,
        "unverified": [p for p in rows if not p.verified],
        "verified": [p for p in rows if p.verified],
        "kinds": list(KINDS.values()),
        "kind_name": lambda k: KINDS[k].name if k in KINDS else k,
        "hours_words": hours.in_words,
    }
    return render(request, "places.html", ctx)


def _values(form: Any) -> dict[str, Any]:
    return {f: str(form[f])[:600] for f in FIELDS if f in form}


async def place_create(request: web.Request) -> web.Response:
    session, form = await admin_session(request)
    values = {**_values(form), "verified": form.get("verified") == "1"}
    try:
        place = await service.create(request.app[redis_key], values, PlaceSource.CONSOLE)
    except DomainError as exc:
        raise await _back(request, session, f"没有新增：{exc.message}") from None
    raise await _back(request, session, f"已新增：#{place.pk} {place.name}")


async def _place(request: web.Request) -> Place:
    pid = request.match_info["place_id"]
    place = await service.find(int(pid)) if pid.isdigit() and len(pid) < 10 else None
    if place is None:
        raise web.HTTPNotFound(text="没有这个服务点。")
    return place


async def place_update(request: web.Request) -> web.Response:
    session, form = await admin_session(request)
    place = await _place(request)
    try:
        place = await service.update(request.app[redis_key], place, _values(form))
    except DomainError as exc:
        raise await _back(request, session, f"#{place.pk} 没有保存：{exc.message}") from None
    raise await _back(request, session, f"已保存：#{place.pk} {place.name}")


async def place_verify(request: web.Request) -> web.Response:
    """Verify (show to residents) or withdraw a place."""
    session, form = await admin_session(request)
    place = await _place(request)
    verified = form.get("verified") == "1"
    await service.set_verified(request.app[redis_key], place, verified)
    done = "已核实，居民现在能看到" if verified else "已撤下，居民暂时看不到"
    raise await _back(request, session, f"{done}：#{place.pk} {place.name}")


async def place_poster(request: web.Request) -> web.Response:
    """The poster as a download (rendered off the event loop: about a second of CPU)."""
    await _admin_view(request)
    fmt = request.match_info["fmt"]
    if fmt not in poster.FORMATS:
        raise web.HTTPNotFound()
    settings = request.app[settings_key]
    view = await circle.build(settings, request.app[bot_key].services.clock())
    try:
        data = await asyncio.to_thread(poster.render, view, poster.map_url(settings), fmt)
    except poster.FontMissing as exc:
        raise web.HTTPServiceUnavailable(text=str(exc)) from None
    media = "image/png" if fmt == "png" else "application/pdf"
    return web.Response(
        body=data,
        content_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="poster.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/places", places_page)
    r.add_post("/console/places", place_create)
    r.add_post("/console/places/{place_id}", place_update)
    r.add_post("/console/places/{place_id}/verify", place_verify)
    r.add_get("/console/places/poster.{fmt}", place_poster)
