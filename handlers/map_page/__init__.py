"""`GET /map/`: the community's 15-minute circle on one phone-sized page (public, Chinese).

Points by kind (one colour and marker shape each, with a legend), walking-time rings around the
community centre or "my location", the list by walking time, a kind filter. The script is
hand-written and served from here (no CDN). With MAP_TILE_URL set the operator's base map is
drawn beneath; without it the page is a schematic and the browser asks nobody but this server,
which the Content-Security-Policy enforces.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from handlers.appkeys import bot_key, settings_key
from places import circle

_HERE = Path(__file__).parent
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=jinja2.select_autoescape(default=True),
)


def _csp(tile_url: str | None) -> str:
    tiles = ""
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        tiles = f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:{tiles}; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def _embedded(data: object) -> str:
    # JSON inside <script>: "</script>" would end the element and "<!--" change how the rest is
    # read, so no raw "<", ">" or "&" at all (JSON's \u escapes mean the same text).
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


async def map_page(request: web.Request) -> web.Response:
    """The map page; its data is embedded, so one request draws it."""
    settings = request.app[settings_key]
    now = request.app[bot_key].services.clock()
    view = await circle.build(settings, now)
    html = _TEMPLATES.get_template("map.html").render(
        name=view.name,
        data=_embedded(circle.page_data(view, settings)),
        count=len(view.spots),
    )
    resp = web.Response(text=html, content_type="text/html")
    resp.headers["Content-Security-Policy"] = _csp(settings.map_tile_url)
    resp.headers["Cache-Control"] = "public, max-age=60"  # open/closed notes change by the minute
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


async def map_script(request: web.Request) -> web.Response:
    resp = web.Response(
        body=(_HERE / "static" / "map.js").read_bytes(), content_type="application/javascript"
    )
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


async def _to_map(request: web.Request) -> web.Response:
    raise web.HTTPFound("/map/")


def setup(app: web.Application) -> None:
    app.router.add_get("/map/", map_page)
    app.router.add_get("/map", _to_map)
    app.router.add_get("/map/map.js", map_script)
