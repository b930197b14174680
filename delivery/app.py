"""Running the delivery scheduler: in-process with the web app, or beside `main.py worker`."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from redis.asyncio import Redis

from bot.context import SHANGHAI
from delivery import scheduler
from handlers.keys import bot_key, redis_key, settings_key
from push import outbox


async def run(
    stop: asyncio.Event, redis: Redis, clock: Callable[[], dt.datetime] | None = None
) -> None:
    await scheduler.run(
        stop, clock or (lambda: dt.datetime.now(SHANGHAI)), lambda: outbox.wake(redis)
    )


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: ticks with the bot's clock, alongside the in-process push worker."""
    if not app[settings_key].push_worker_inprocess:
        yield
        return
    services = app[bot_key].services
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop, app[redis_key], lambda: services.clock()))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 10)
