"""Running the push worker: in-process with the web app (`serve`), or alone (`main.py worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from handlers.keys import http_key, mini_api_key, redis_key, settings_key, wechat_api_key
from infra import database
from infra.redis import open_redis
from push.channels import WeComRobot
from push.ratelimit import Rate
from push.worker import PushWorker, WorkerConfig
from settings import Settings
from wechat_api.client import clients as wechat_clients

log = logging.getLogger(__name__)

Beside = Callable[[asyncio.Event, Redis], Awaitable[None]]

push_worker_key = web.AppKey("push_worker", PushWorker)
# On shutdown, give the batch in hand this long to finish; after that its leases cover it.
STOP_GRACE = 10.0


def worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(
        batch_size=settings.push_batch_size,
        lease=settings.push_lease_seconds,
        max_attempts=settings.push_max_attempts,
        retry_base=settings.push_retry_base,
        wechat_rate=Rate(settings.push_wechat_per_second, 1.0),
        robot_rate=Rate(settings.push_robot_per_minute, 60.0),
        notice_template=settings.wechat_notice_template_id,
    )


async def _stop(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    try:
        await asyncio.wait_for(task, STOP_GRACE)
    except TimeoutError:
        log.warning("push worker did not stop in time; its leases will expire")


async def push_worker_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the worker (app[push_worker_key]), run in-process unless disabled."""
    settings = app[settings_key]
    worker = PushWorker(
        api=app[wechat_api_key],
        mini_api=app[mini_api_key],
        robot=WeComRobot(app[http_key], settings.wecom_api_base),
        redis=app[redis_key],
        config=worker_config(settings),
    )
    app[push_worker_key] = worker
    if not settings.push_worker_inprocess:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        await _stop(task, stop)


async def run_worker(settings: Settings, *also: Beside) -> None:
    """`python main.py worker`: own Redis, database and HTTP session; stops on SIGTERM/SIGINT.
    `also` run beside the push worker with the same stop signal (e.g. the delivery scheduler)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        redis = await stack.enter_async_context(open_redis(settings.redis_url, settings.data_dir))
        await stack.enter_async_context(database.open_database(settings))
        session = await stack.enter_async_context(aiohttp.ClientSession())
        api, mini_api = wechat_clients(session, redis, settings)
        worker = PushWorker(
            api=api,
            mini_api=mini_api,
            robot=WeComRobot(session, settings.wecom_api_base),
            redis=redis,
            config=worker_config(settings),
        )
        await asyncio.gather(worker.run(stop), *(job(stop, redis) for job in also))
