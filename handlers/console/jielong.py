"""Staff console: paste a group's 接龙 (preview, then 确认) and press 生成接龙 for the text to
post. The same service calls as the chat (groups.service); the console only shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from canteen import service as canteen_service
from groups import service
from groups.jielong import ChainError, parse_chain
from handlers.console.common import clock_now, flash_back, render, staff_session

MAX_TEXT = 20_000


async def _canteen(session: dict[str, Any]) -> Any:
    canteen = await canteen_service.staff_canteen(session["openid"])
    if canteen is None:
        raise web.HTTPForbidden(text="只有食堂工作人员可以导入接龙。")
    return canteen


async def _preview(request: web.Request, canteen: Any, text: str) -> service.Preview:
    chain = parse_chain(text, clock_now(request).date())
    return await service.preview_chain(canteen, chain, clock_now(request))


async def preview(request: web.Request) -> web.Response:
    """The pasted chain read line by line; nothing is booked yet."""
    session, form = await staff_session(request)
    canteen = await _canteen(session)
    text = str(form.get("text", ""))[:MAX_TEXT]
    ctx: dict[str, Any] = {"csrf": session["csrf"], "text": text, "error": None, "shown": None}
    try:
        result = await _preview(request, canteen, text)
    except (ChainError, service.ChainProblem) as exc:
        ctx["error"] = str(exc)
        return render(request, "jielong.html", ctx, 400)
    ctx["shown"] = service.render_preview(result, canteen.name, clock_now(request).date())
    ctx["changes"] = result.changes
    return render(request, "jielong.html", ctx)


async def confirm(request: web.Request) -> web.Response:
    """确认: read the chain again (it may have changed since the preview) and book it."""
    session, form = await staff_session(request)
    canteen = await _canteen(session)
    text = str(form.get("text", ""))[:MAX_TEXT]
    try:
        result = await _preview(request, canteen, text)
        done = await service.apply_preview(result, clock_now(request))
    except (ChainError, service.ChainProblem) as exc:
        raise await flash_back(request, session, f"接龙没有导入：{exc}") from None
    raise await flash_back(
        request, session, "接龙：" + service.render_outcome(done).replace("\n", "；")
    )


async def generate(request: web.Request) -> web.Response:
    """生成接龙: tomorrow's chain to copy into the group."""
    session, form = await staff_session(request)
    canteen = await _canteen(session)
    tomorrow = clock_now(request).date() + dt.timedelta(days=1)
    text = await service.chain_to_post(canteen, tomorrow)
    ctx = {"csrf": session["csrf"], "text": "", "error": None, "shown": None, "post": text}
    return render(request, "jielong.html", ctx)
