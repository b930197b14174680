"""Small JSON endpoints: `/healthz` and `POST /api/nlu/parse` (like Rasa's /model/parse)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

from aiohttp import web

from handlers.keys import redis_key
from infra import database
from infra.text import has_unprintable

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


def unstorable(body: Any) -> dict[str, str]:
    """Fields of a JSON body (dotted paths, "" for the body itself) whose text cannot be kept or
    answered: a character XML cannot carry (infra.text: a NUL, which PostgreSQL text refuses
    too, other control characters, which broke the replies listing a name, or a lone UTF-16
    surrogate, a valid JSON escape such as "\\ud800" that no UTF-8 encoder takes); or a number
    that is not finite (Python's
    JSON parser takes `NaN`, `Infinity` and `1e999`, and NaN passes every schema bound: a NaN
    latitude was stored, then broke the search index at every start-up). Checked before
    anything else reads the body, so neither a database write nor an answer meets one.
    A loop, not recursion: a body may nest as deep as the JSON parser allows."""
    fields: dict[str, str] = {}
    todo: list[tuple[Any, str]] = [(body, "")]
    while todo:
        value, path = todo.pop()
        if isinstance(value, str):
            if _bad_text(value):
                fields[path] = "含有无法识别的字符"
        elif isinstance(value, float):
            if not math.isfinite(value):
                fields[path] = "不是有效的数字"
        elif isinstance(value, list):
            todo.extend((item, f"{path}.{i}".lstrip(".")) for i, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                if _bad_text(key):
                    fields[path] = "含有无法识别的字段名"
                else:
                    todo.append((item, f"{path}.{key}".lstrip(".")))
    return fields


def _bad_text(text: str) -> bool:
    return has_unprintable(text)


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
    except web.HTTPRequestEntityTooLarge:
        return error(413, "too_large", "请求体太大了。")
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalid_json", "请求体必须是 JSON。")
    except RecursionError:
        return error(400, "invalid_json", "请求体嵌套太深了。")
    if not isinstance(payload, dict):
        return error(400, "invalid", "请求体必须是 JSON 对象。", {"text": "required"})
    bad = unstorable(payload)
    if bad:
        return error(400, "invalid", "请求有误，请检查标出的字段。", bad)
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
