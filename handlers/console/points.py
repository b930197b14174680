"""The console's volunteer-points page (/console/points): the year's ranking (rank, volunteer,
homes delivered, tasks, points) with a year picker and a CSV download, e.g. for the
最美志愿者 award, and today's handovers (今天我去不了: who gave, who took, still waiting).
Canteen staff and admins; delivery.points and delivery.handover do the work."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from community.roles import is_staff
from delivery import handover, points
from delivery.texts import COURIER_MARK
from handlers.console.common import clock_now, render, session_of
from handlers.keys import settings_key
from infra.spreadsheets import safe_row
from models.volunteers import HandoverStatus

YEARS_SHOWN = 5  # the year picker goes this far back
CSV_COLUMNS = ["rank", "volunteer", "openid", "area", "kind", "lines", "high_floor",
               "taken_over", "tasks", "points"]  # fmt: skip
STATES = {
    HandoverStatus.OFFERED: "等人接",
    HandoverStatus.TAKEN: "已接",
    HandoverStatus.TO_STAFF: "交给食堂",
    HandoverStatus.WITHDRAWN: "本人又能去了",
}


async def _staff(request: web.Request) -> dict[str, Any]:
    session = await session_of(request)
    if session is None:
        raise web.HTTPFound("/console/login")
    if not await is_staff(session["openid"]):
        raise web.HTTPForbidden(text="志愿者积分只给食堂工作人员和社区管理员看。")
    return session


def _year(request: web.Request) -> int:
    this_year: int = clock_now(request).year
    try:
        year = int(request.query.get("year", this_year))
    except ValueError:
        return this_year
    return year if this_year - 50 <= year <= this_year else this_year


async def points_page(request: web.Request) -> web.Response:
    session = await _staff(request)
    now = clock_now(request)
    year = _year(request)
    weights = points.weights_of(request.app[settings_key])
    rows = [
        {"rank": n, "name": handover.name_of(t.openid), "tally": t, "mark": COURIER_MARK}
        for n, t in enumerate(await points.ranking(year, weights), 1)
    ]
    today = []
    for h in await handover.of_day(now.date()):
        today.append(
            {
                "giver": handover.name_of(h.giver),
                "taker": handover.name_of(h.taker) if h.taker else "",
                "area": h.area,
                "lines": len(h.signup_ids),
                "state": STATES[h.status],
                "waiting": h.status == HandoverStatus.OFFERED,
                "at": f"{h.created_at.astimezone(now.tzinfo):%H:%M}",
                "until": f"{h.expires_at.astimezone(now.tzinfo):%H:%M}",
            }
        )
    ctx = {
        "csrf": session["csrf"],
        "year": year,
        "years": [now.year - i for i in range(YEARS_SHOWN)],
        "rows": rows,
        "rule": weights.rule(),
        "handovers": today,
        "today": f"{now.month}月{now.day}日",
    }
    return render(request, "points.html", ctx)


async def points_csv(request: web.Request) -> web.Response:
    """The year's ranking as CSV (UTF-8 with BOM for Excel; no cell can be a formula)."""
    await _staff(request)
    year = _year(request)
    weights = points.weights_of(request.app[settings_key])
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for n, t in enumerate(await points.ranking(year, weights), 1):
        writer.writerow(
            safe_row([
                n, handover.name_of(t.openid), t.openid, t.area,
                COURIER_MARK if t.courier else "", t.lines, t.high_floor, t.taken_over, t.tasks,
                t.points,
            ])
        )  # fmt: skip
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="volunteer-points-{year}.csv"',
            "Cache-Control": "no-store",
        },
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/console/points", points_page)
    app.router.add_get("/console/points.csv", points_csv)
