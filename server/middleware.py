"""Middleware for every request."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError
from tortoise.exceptions import DBConnectionError, OperationalError

from handlers import api
from infra.log import request_id

log = logging.getLogger("linli")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Tag logs with a request id; turn an unreachable Redis or database into a clean 503."""
    rid = request.headers.get("X-Request-Id", "")[:64] or os.urandom(8).hex()
    token = request_id.set(rid)
    try:
        response = await handler(request)
    except web.HTTPException:
        raise
    except (RedisError, DBConnectionError, OperationalError, ConnectionError) as exc:
        log.error("dependency unavailable", extra={"error": type(exc).__name__})
        response = api.error(503, "unavailable", "服务暂时不可用，请稍后再试。")
    except Exception:
        log.exception("unhandled error")
        response = api.error(500, "internal", "服务出错了，请稍后再试。")
    finally:
        request_id.reset(token)
    response.headers["X-Request-Id"] = rid
    return response
