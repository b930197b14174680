"""One cleanup context per resource (aiohttp `cleanup_ctx`): each opens its resource, yields
while the app runs, and closes it; a failed start-up still closes what was opened."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.context import Services
from bot.dispatch import Bot, build_router
from bot.nlu import parse
from bot.router import Router
from community.clock import SHANGHAI
from delivery import scheduler
from grid import photos
from handlers.appkeys import (
    background_key,
    bot_key,
    http_key,
    mini_api_key,
    redis_key,
    settings_key,
    wechat_api_key,
)
from infra import database
from infra.redis import open_redis
from push import outbox
from push.channels import WeComRobot
from push.ratelimit import Rate
from push.worker import PushWorker, WorkerConfig
from settings import Settings
from wechat_api.client import WeChatAPI, WeChatAPIError
from wechat_api.client import clients as wechat_clients

log = logging.getLogger("linli")

push_worker_key = web.AppKey("push_worker", PushWorker)
# On shutdown, give the push batch in hand this long to finish; after that its leases cover it.
STOP_GRACE = 10.0
# Something run beside the push worker in `main.py worker`, with the same stop signal.
Beside = Callable[[asyncio.Event, Redis], Awaitable[None]]


def feature_routers() -> list[Router]:
    """Each feature package exposes one `router`; the bot tries them in this order, after its
    system routes and before the fallbacks. Delivery first: a volunteer's "3 送到" is a report,
    not a sign-up."""
    from canteen.router import router as canteen
    from conversation.emergency import router as emergency
    from conversation.router import router as conversation
    from craftsman_directory.router import own as directory_own
    from craftsman_directory.router import router as directory
    from delivery.router import router as delivery
    from family.router import router as family
    from grid.router import commands as grid_commands
    from grid.router import photos as grid_photos
    from grid.router import router as grid
    from groups.router import router as groups
    from places.router import router as places
    from privacy.router import router as privacy

    # Places before the dialogue acts: "第一个几点关门" after a place list is about that list
    # (the places defer to a craftsman list shown after theirs).
    # Groups first: a pasted 接龙 is numbered lines, not a sign-up or a volunteer's report.
    # Emergencies before everything (forms too); the dialogue acts before the features.
    # The grid's one-meaning commands (办结 3 灯已换好) and the privacy ones (删除我的信息)
    # before any search reads them. Photos and places (随手拍) right after the emergencies: before
    # the system routes, which answer a photo "text only" and keep a location for a search.
    # A craftsman's own listing (营业时间改成..., 我现在也修拉链) before searches and small talk.
    return [
        emergency, grid_photos, grid_commands, privacy, directory_own, family, groups, places,
        conversation, delivery, canteen, directory, grid,
    ]  # fmt: skip


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[settings_key]
    async with open_redis(settings.redis_url, settings.data_dir) as redis:
        app[redis_key] = redis
        yield


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    async with database.open_database(app[settings_key]):
        yield


async def directory_index_ctx(app: web.Application) -> AsyncIterator[None]:
    """The craftsman search index is rebuilt from the database (the truth) at every start."""
    from craftsman_directory import index

    count = await index.rebuild(app[redis_key])
    log.info("directory index rebuilt", extra={"craftsmen": count})
    yield


async def places_index_ctx(app: web.Application) -> AsyncIterator[None]:
    """The place search index is rebuilt from the database (the truth) at every start."""
    from places import index

    count = await index.rebuild(app[redis_key])
    log.info("place index rebuilt", extra={"places": count})
    yield


async def http_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[http_key] = session
        app[wechat_api_key], app[mini_api_key] = wechat_clients(
            session, app[redis_key], app[settings_key]
        )
        yield


async def bot_ctx(app: web.Application) -> AsyncIterator[None]:
    api_client = app[wechat_api_key]

    async def notify(user: str, text: str) -> None:
        try:
            await api_client.send_text(user, text)
        except WeChatAPIError as exc:
            log.warning("notify failed", extra={"errcode": exc.errcode})

    services = Services(redis=app[redis_key], notify=notify, settings=app[settings_key])
    app[bot_key] = Bot(services, build_router(*feature_routers()))
    in_flight: set[asyncio.Task[None]] = set()
    app[background_key] = in_flight
    parse("预热")  # load the lexicon and pinyin tables now, not in the first resident's message
    yield
    # Let answers still being worked on finish (they were promised to residents).
    pending = list(in_flight)
    if pending:
        await asyncio.wait(pending, timeout=10)


def worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(
        batch_size=settings.push_batch_size,
        lease=settings.push_lease_seconds,
        max_attempts=settings.push_max_attempts,
        retry_base=settings.push_retry_base,
        wechat_rate=Rate(settings.push_wechat_per_second, 1.0),
        robot_rate=Rate(settings.push_robot_per_minute, 60.0),
        notice_template=settings.wechat_notice_template_id,
        staff_robot_key=settings.wecom_staff_robot_key,
    )


async def _stop(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    try:
        await asyncio.wait_for(task, STOP_GRACE)
    except TimeoutError:
        log.warning("push worker did not stop in time; its leases will expire")


async def push_worker_ctx(app: web.Application) -> AsyncIterator[None]:
    """The push worker (app[push_worker_key]), run in-process unless disabled."""
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


async def run_delivery_scheduler(
    stop: asyncio.Event, redis: Redis, clock: Callable[[], dt.datetime] | None = None
) -> None:
    """The delivery scheduler on a clock (China time unless given), waking the push worker."""
    await scheduler.run(
        stop, clock or (lambda: dt.datetime.now(SHANGHAI)), lambda: outbox.wake(redis)
    )


async def delivery_scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """The delivery scheduler, ticking on the bot's clock beside the in-process push worker."""
    if not app[settings_key].push_worker_inprocess:
        yield
        return
    services = app[bot_key].services
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_delivery_scheduler(stop, app[redis_key], lambda: services.clock())
    )
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 10)


async def run_photo_copier(
    stop: asyncio.Event,
    api: WeChatAPI,
    data_dir: Path,
    clock: Callable[[], dt.datetime] | None = None,
) -> None:
    """Grid reports' photos copied from WeChat before its 3 days are up (grid/photos.py)."""
    await photos.run(stop, api, data_dir, clock or (lambda: dt.datetime.now(SHANGHAI)))


async def photo_copier_ctx(app: web.Application) -> AsyncIterator[None]:
    """The photo copier, beside the in-process push worker (never in a resident's answer)."""
    settings = app[settings_key]
    if not settings.push_worker_inprocess:
        yield
        return
    services = app[bot_key].services
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_photo_copier(stop, app[wechat_api_key], settings.data_dir, lambda: services.clock())
    )
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 10)


GC_YOUNG = 20_000


async def settle_memory(app: web.Application) -> None:
    """After start-up, move everything loaded so far (lexicon, pinyin tables, ORM models:
    about 300k objects) out of the garbage collector's sight. A full collection walked them
    all, about 50 ms with the event loop stopped, every few thousand messages: the slowest
    1 % of replies. They live as long as the process anyway. (Only in `serve`: a test
    process builds many apps, and frozen objects are never collected.)

    Then the youngest generation is collected every GC_YOUNG allocations instead of every
    700: a message allocates a few thousand objects, nearly all freed by reference counting,
    so at 700 the collector ran several times per message for almost nothing. Measured under
    the realistic mix (bench/realistic.py): collections took 4.2 % of the server's CPU, 1.1 %
    at 20,000; one young collection of that size takes about a millisecond."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, middle, old)


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
        await asyncio.gather(
            worker.run(stop),
            run_photo_copier(stop, api, settings.data_dir),
            *(job(stop, redis) for job in also),
        )
