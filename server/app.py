"""The app factory: wires settings, lifecycle contexts and routes; no I/O here."""

from __future__ import annotations

from aiohttp import web

from handlers import (
    api,
    api_v1,
    console,
    landing,
    map_page,
    wechat,
    wecom_bot,
)
from handlers.appkeys import settings_key
from server import lifecycle
from server.middleware import request_context
from settings import Settings


def create_app(settings: Settings) -> web.Application:
    """Wire the app; resources open in cleanup contexts when it starts."""
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[request_context])
    app[settings_key] = settings
    app.cleanup_ctx.extend(
        [
            lifecycle.redis_ctx,
            lifecycle.database_ctx,
            lifecycle.directory_index_ctx,
            lifecycle.places_index_ctx,
            lifecycle.http_ctx,
            lifecycle.bot_ctx,
            lifecycle.push_worker_ctx,
            lifecycle.delivery_scheduler_ctx,
            lifecycle.photo_copier_ctx,
        ]
    )
    app.router.add_get("/wechat", wechat.handshake)
    app.router.add_post("/wechat", wechat.callback)
    app.router.add_get("/healthz", api.healthz)
    app.router.add_post("/api/nlu/parse", api.nlu_parse)
    api_v1.setup(app)
    console.setup(app)
    wecom_bot.setup(app)  # after the bot: the WeCom intelligent bot's callback at /wecom/bot
    map_page.setup(app)
    landing.setup(app)  # GET /: where to go from here
    return app


def served_app(settings: Settings) -> web.Application:
    """The app as `serve` runs it: after start-up, start-up objects leave the collector."""
    app = create_app(settings)
    app.on_startup.append(lifecycle.settle_memory)  # after the cleanup contexts have started
    return app
