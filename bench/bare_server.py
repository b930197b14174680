"""The baseline for the pipeline bench: a bare aiohttp + wechatpy handler that only parses the
callback XML and renders a text reply (no signature check, dedupe, NLU, search or storage).

    .venv/bin/python bench/bare_server.py --port 18101
"""

from __future__ import annotations

import argparse

from aiohttp import web
from wechatpy import parse_message
from wechatpy.replies import TextReply


async def callback(request: web.Request) -> web.Response:
    message = parse_message((await request.read()).decode("utf-8"))
    reply = TextReply(message=message, content=f"收到：{getattr(message, 'content', '')}")
    return web.Response(text=reply.render(), content_type="application/xml")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/wechat", callback)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18101)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, print=None, access_log=None)
