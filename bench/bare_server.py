"""The baseline for the pipeline bench: a bare aiohttp + wechatpy handler that only parses the
callback XML and renders a text reply (no signature check, dedupe, NLU, search or storage).

With `--redis-dir DIR` it also makes three Redis round trips per message through redis.asyncio,
against an embedded redis-server like the one `make run` uses (SET NX to claim the MsgId, MGET
of the sender's state, SET of the answer): the least I/O any answer that is deduplicated and
stateful needs, as a floor for the pipeline's own three round trips.

    .venv/bin/python bench/bare_server.py --port 18101 [--redis-dir /tmp/x]
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from wechatpy import parse_message
from wechatpy.replies import TextReply

redis_key = web.AppKey("redis", object)


async def callback(request: web.Request) -> web.Response:
    message = parse_message((await request.read()).decode("utf-8"))
    text = f"收到：{getattr(message, 'content', '')}"
    redis = request.app.get(redis_key)
    if redis is not None:
        claim, user = f"bench:dedupe:{message.id}", message.source
        if await redis.set(claim, "pending", nx=True, ex=600):
            await redis.mget([f"bench:form:{user}", f"bench:pending:{user}", f"bench:loc:{user}"])
            await redis.set(claim, text, ex=600)
    reply = TextReply(message=message, content=text)
    return web.Response(text=reply.render(), content_type="application/xml")


def make_app(redis_dir: Path | None = None) -> web.Application:
    app = web.Application()
    app.router.add_post("/wechat", callback)
    if redis_dir is not None:

        async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
            from infra.redis import open_redis

            async with open_redis(None, redis_dir) as client:
                app[redis_key] = client
                yield

        app.cleanup_ctx.append(redis_ctx)
    return app


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18101)
    parser.add_argument("--redis-dir", type=Path, help="also do three Redis round trips")
    args = parser.parse_args()
    web.run_app(
        make_app(args.redis_dir), host=args.host, port=args.port, print=None, access_log=None
    )
