"""The console's front page: the staff member's canteen (today's and tomorrow's menus, today's
sign-ups) and, for admins, the queues (craftsmen, complaints, failed pushes, grid reports).
Each part comes from its domain's view module."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from canteen import service as canteen_service
from community.roles import is_admin, is_staff
from handlers.console import canteen as canteen_views
from handlers.console import delivery, directory, grid, push
from handlers.console.common import clock_now, render, session_of, take_flash
from handlers.keys import redis_key, settings_key


async def dashboard(request: web.Request) -> web.Response:
    """The staff member's page: their canteen's menus, or the admin's queues, or both."""
    session = await session_of(request)
    if session is None:
        raise web.HTTPFound("/console/login")
    openid = session["openid"]
    if not await is_staff(openid):  # the role was taken away since logging in
        await request.app[redis_key].delete(session["_key"])
        raise web.HTTPFound("/console/login")
    flash = await take_flash(request, session)
    today = clock_now(request).date()
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
        ctx["menus"] = await canteen_views.menus_of_day(canteen, today)
        ctx["signups"] = await delivery.todays_signups(canteen, today, clock_now(request))
        ctx["tomorrow_menus"] = await canteen_views.menus_of_day(
            canteen, today.fromordinal(today.toordinal() + 1)
        )
    if admin:
        ctx.update(await directory.queues())
        ctx["failed_pushes"] = await push.failed_pushes()
        ctx["grid_reports"] = await grid.grid_reports(request.app[settings_key].data_dir)
        ctx["grid_volunteers"] = await grid.grid_volunteers()
    return render(request, "dashboard.html", ctx)


async def to_dashboard(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")
