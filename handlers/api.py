"""Small JSON endpoints: `/healthz` and `POST /api/nlu/parse` (like Rasa's /model/parse)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from handlers.keys import redis_key
from infra import database

log = logging.getLogger(__name__)

MAX_TEXT = 500


def error(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> web.Response:
    """The one error body every JSON endpoint uses."""
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def healthz(request: web.Request) -> web.Response:
    """Liveness and readiness: the database and Redis both answer."""
    checks: dict[str, str] = {}

    async def probe(name: str, coro: Any) -> None:
        try:
            await asyncio.wait_for(coro, timeout=2)
            checks[name] = "ok"
        except Exception as exc:  # report, don't raise: this endpoint is about failures
            checks[name] = f"error: {type(exc).__name__}"

    await probe("database", database.ping())
    await probe("redis", request.app[redis_key].ping())
    healthy = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )


async def nlu_parse(request: web.Request) -> web.Response:
    """POST {"text": "..."} → intent, category, confidence, slots."""
    try:
        payload = await request.json()
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalid_json", "请求体必须是 JSON。")
    if not isinstance(payload, dict):
        return error(400, "invalid", "请求体必须是 JSON 对象。", {"text": "required"})
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        return error(400, "invalid", "text 不能为空。", {"text": "must be a non-empty string"})
    if len(text) > MAX_TEXT:
        return error(
            400,
            "invalid",
            f"text 不能超过 {MAX_TEXT} 个字。",
            {"text": f"max {MAX_TEXT} characters"},
        )
    from bot.nlu import parse

    result = parse(text)
    return web.json_response(result.to_dict(), dumps=lambda o: json.dumps(o, ensure_ascii=False))
