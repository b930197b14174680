"""The console's failed pushes: what did not get through, and sending it once more (admins).
The outbox and its escalation (push.escalation) do the work."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.console.common import admin_session, flash_back
from handlers.keys import redis_key
from models.push import OutboxMessage
from push import escalation
from push.outbox import wake

SUBJECT_NAMES = {"grid_report": "居民反映", "roster": "送餐名单", "alert": "送餐提醒"}


def push_row(msg: OutboxMessage) -> dict[str, Any]:
    kind, _, ref = (msg.subject or "").partition(":")
    what = f"{SUBJECT_NAMES[kind]}#{ref}" if kind in SUBJECT_NAMES else "消息"
    gist = escalation.gist(msg.payload).replace("\n", " ")
    return {
        "id": msg.pk,
        "what": what + ("（转给他人）" if msg.escalation_of else ""),
        "target": msg.target,
        "gist": gist[:60] + ("…" if len(gist) > 60 else ""),
        "error": msg.last_error or "",
        "escalated": msg.escalated_at is not None,
    }


async def failed_pushes() -> list[dict[str, Any]]:
    return [push_row(m) for m in await escalation.failed()]


async def retry(request: web.Request) -> web.Response:
    """Send a push that gave up once more (admins)."""
    session, _ = await admin_session(request)
    pid = request.match_info["push_id"]
    if not pid.isdigit():
        raise web.HTTPNotFound()
    if not await escalation.retry(int(pid)):
        raise await flash_back(request, session, "这条消息已经在发送或已送到，不用重试。")
    await wake(request.app[redis_key])
    raise await flash_back(request, session, f"消息#{pid}已重新排队发送。")
