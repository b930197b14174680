"""The staff console under /console/: server-rendered pages for a phone or the office PC.

Canteen staff publish or correct a menu and see today's sign-ups; admins approve craftsmen and
handle complaints. One module of views per domain, over that domain's service: `auth` (the
one-time code login), `dashboard`, `canteen`, `delivery`, `directory`, `grid`, `push`,
`jielong` (接龙), `places`, `nlu`, `subsidy` (助餐补贴), `points` (志愿者积分); `common` holds
rendering, sessions and CSRF. This module only wires routes.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from handlers.console import auth, canteen, dashboard, directory, grid, jielong, nlu, places, push
from handlers.console import family as family_page
from handlers.console import points as points_page
from handlers.console import privacy as privacy_page
from handlers.console import subsidy as subsidy_page
from handlers.console.auth import browser_of

__all__ = ["browser_of", "setup"]


def setup(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    r = app.router
    r.add_get("/console/", dashboard.dashboard)
    r.add_get("/console", dashboard.to_dashboard)
    r.add_get("/console/login", auth.login_page)
    r.add_post("/console/login/code", auth.send_code)
    r.add_post("/console/login", auth.login)
    r.add_post("/console/logout", auth.logout)
    r.add_post("/console/menus/preview", canteen.menu_preview)
    r.add_post("/console/menus/publish", canteen.menu_publish)
    r.add_post("/console/menus/copy-last-week", canteen.menu_copy)
    r.add_get("/console/craftsmen/{craftsman_id}", directory.craftsman_page)
    r.add_post("/console/craftsmen/{craftsman_id}/{action}", directory.craftsman_action)
    r.add_post("/console/complaints/{complaint_id}/decision", directory.complaint_decision)
    r.add_post("/console/pushes/{push_id}/retry", push.retry)
    r.add_post("/console/grid-volunteers/{volunteer_id}/{action}", grid.volunteer_action)
    r.add_get("/console/grid-reports/{report_id}/photos/{n}", grid.report_photo)
    r.add_post("/console/jielong/preview", jielong.preview)
    r.add_post("/console/jielong/confirm", jielong.confirm)
    r.add_post("/console/jielong/generate", jielong.generate)
    places.setup(app)  # the places page
    nlu.setup(app)  # the NLU review page
    family_page.setup(app)  # family links: list, revoke (staff)
    privacy_page.setup(app)  # residents' erasure requests (admins)
    subsidy_page.setup(app)  # the meal-subsidy page (助餐补贴, staff)
    points_page.setup(app)  # volunteers' points and today's handovers (staff)
