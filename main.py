"""linli: the app factory and the command line.

python main.py serve          # the bot on http://HOST:PORT/wechat
python main.py chat           # talk to the bot in the terminal
python main.py parse 找裁缝    # the NLU result as JSON
python main.py migrate        # apply database migrations
python main.py import-craftsmen list.xlsx [--pending] [--dry-run]
python main.py worker         # the push worker alone (`serve` also runs one in-process)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError
from tortoise.exceptions import DBConnectionError, OperationalError

from bot.context import Services
from bot.dispatch import Bot, build_router
from bot.nlu import parse
from bot.router import Router
from canteen import cli as canteen_cli
from delivery import cli as delivery_cli
from delivery.app import scheduler_ctx as delivery_scheduler_ctx
from handlers import api, api_v1, console, wechat
from handlers.keys import (
    background_key,
    bot_key,
    http_key,
    mini_api_key,
    redis_key,
    settings_key,
    wechat_api_key,
)
from infra import database
from infra.log import request_id, setup_logging
from infra.redis import open_redis
from push.app import push_worker_ctx, run_worker
from settings import Settings, SettingsError, ensure_wechat_token, load_settings
from wechat_api.client import WeChatAPIError
from wechat_api.client import clients as wechat_clients

log = logging.getLogger("linli")

# ---- the app ---------------------------------------------------------------------------------


@web.middleware
async def request_context(request: web.Request, handler: Callable) -> web.StreamResponse:
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


async def http_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[http_key] = session
        app[wechat_api_key], app[mini_api_key] = wechat_clients(
            session, app[redis_key], app[settings_key]
        )
        yield


def feature_routers() -> list[Router]:
    """Each feature package exposes one `router`; the bot tries them in this order, after its
    system routes and before the fallbacks. Delivery first: a volunteer's "3 送到" is a report,
    not a sign-up."""
    from canteen.router import router as canteen
    from craftsman_directory.router import router as directory
    from delivery.router import router as delivery
    from grid.router import router as grid

    return [delivery, canteen, directory, grid]


async def bot_ctx(app: web.Application) -> AsyncIterator[None]:
    api_client = app[wechat_api_key]

    async def notify(user: str, text: str) -> None:
        try:
            await api_client.send_text(user, text)
        except WeChatAPIError as exc:
            log.warning("notify failed", extra={"errcode": exc.errcode})

    services = Services(redis=app[redis_key], notify=notify, settings=app[settings_key])
    app[bot_key] = Bot(services, build_router(*feature_routers()))
    app[background_key] = set()
    parse("预热")  # load the lexicon and pinyin tables now, not in the first resident's message
    yield
    # Let answers still being worked on finish (they were promised to residents).
    pending = list(app[background_key])
    if pending:
        await asyncio.wait(pending, timeout=10)


async def settle_memory(app: web.Application) -> None:
    """After start-up, move everything loaded so far (lexicon, pinyin tables, ORM models:
    about 300k objects) out of the garbage collector's sight. A full collection walked them
    all, about 50 ms with the event loop stopped, every few thousand messages: the slowest
    1 % of replies. They live as long as the process anyway. (Only in `serve`: a test
    process builds many apps, and frozen objects are never collected.)"""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings) -> web.Application:
    """Wire the app; no I/O here (resources open in cleanup contexts when it starts)."""
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[request_context])
    app[settings_key] = settings
    app.cleanup_ctx.extend(
        [
            redis_ctx,
            database_ctx,
            directory_index_ctx,
            http_ctx,
            bot_ctx,
            push_worker_ctx,
            delivery_scheduler_ctx,
        ]
    )
    app.router.add_get("/wechat", wechat.handshake)
    app.router.add_post("/wechat", wechat.callback)
    app.router.add_get("/healthz", api.healthz)
    app.router.add_post("/api/nlu/parse", api.nlu_parse)
    api_v1.setup(app)
    console.setup(app)
    return app


# ---- commands --------------------------------------------------------------------------------


def schema_is_current(settings: Settings) -> bool:
    """Say what to do, rather than fail on the first query, when migrations are pending."""
    pending = asyncio.run(database.pending_migrations(settings))
    if pending:
        print(
            f"The database is not up to date ({len(pending)} migrations to apply, e.g. "
            f"{pending[0]}): run `python main.py migrate` first (`make run` does it for you).",
            file=sys.stderr,
        )
    return not pending


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    settings = ensure_wechat_token(settings)
    base = f"http://{settings.host}:{settings.port}"
    print(f"linli is starting on {base}")
    print(f"  WeChat callback URL: {base}/wechat")
    print(f"  WeChat Token:        {settings.wechat_token}")
    mode = (
        "safe mode (AES)"
        if settings.wechat_aes_key
        else "plaintext mode (set WECHAT_AES_KEY for AES)"
    )
    print(f"  Message encryption:  {mode}")
    print(f"  Database:            {'external' if settings.database_url else settings.sqlite_path}")
    print(f"  Redis:               {'external' if settings.redis_url else 'embedded'}")
    print("  Try it:              python main.py chat   (in another terminal)", flush=True)
    if args.workers > 1:
        return _serve_many(settings, args.workers)
    if not schema_is_current(settings):
        return 2
    web.run_app(_served_app(settings), host=settings.host, port=settings.port, print=None)
    return 0


def _served_app(settings: Settings) -> web.Application:
    app = create_app(settings)
    app.on_startup.append(settle_memory)  # runs after the cleanup contexts have started
    return app


def _serve_one(settings: Settings) -> None:
    """One of `serve --workers N`: a whole app on the shared port (SO_REUSEPORT)."""
    setup_logging(settings.log_level, settings.log_json)
    web.run_app(
        _served_app(settings), host=settings.host, port=settings.port, print=None, reuse_port=True
    )


def _serve_many(settings: Settings, workers: int) -> int:
    """N server processes on one port; the kernel spreads connections over them.

    They share state only through REDIS_URL (dedupe, forms, the access token) and the database,
    so an embedded Redis (one per process) is refused. Stops them all when one exits.
    """
    import multiprocessing
    import signal
    from multiprocessing.connection import wait

    if not settings.redis_url:
        print("serve --workers N needs REDIS_URL: processes share Redis", file=sys.stderr)
        return 2
    if not schema_is_current(settings):
        return 2
    if not settings.database_url:
        log.warning("several processes on one SQLite file: use DATABASE_URL=postgres://...")
    print(f"  Workers:             {workers} processes (SO_REUSEPORT)", flush=True)
    spawn = multiprocessing.get_context("spawn")
    procs = [
        spawn.Process(target=_serve_one, args=(settings,), name=f"linli-serve-{i}")
        for i in range(workers)
    ]
    for p in procs:
        p.start()

    def forward(signum: int, frame: object) -> None:
        for p in procs:
            if p.is_alive() and p.pid:
                os.kill(p.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    # Ctrl-C reaches the children through the terminal's process group already.
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    wait([p.sentinel for p in procs])
    forward(signal.SIGTERM, None)
    for p in procs:
        p.join(timeout=30)
    return max((p.exitcode or 0) for p in procs)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from delivery.app import run as delivery_scheduler

    if not schema_is_current(settings):
        return 2
    asyncio.run(run_worker(settings, delivery_scheduler))
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(database.migrate(settings))
    print("migrations applied")
    return 0


def cmd_makemigrations(settings: Settings, args: argparse.Namespace) -> int:
    cmd = [sys.executable, "-m", "tortoise", "-c", "infra.database.TORTOISE_ORM", "makemigrations"]
    return subprocess.call(cmd + list(args.apps))


def cmd_parse(settings: Settings, args: argparse.Namespace) -> int:
    from bot.nlu import parse

    print(json.dumps(parse(args.text).to_dict(), ensure_ascii=False, indent=2))
    return 0


CHAT_HELP = """输入文字和机器人对话。特殊命令：
  /loc 纬度 经度 [地名]   发送位置（GCJ-02），例如 /loc 31.2304 121.4737 人民广场
  /voice 文字            模拟一条语音（识别出的文字）
  /event subscribe       模拟关注事件（也可 unsubscribe、click KEY）
  /image                 模拟一张图片
  /quit                  退出"""


def chat_message(user: str, line: str) -> object:
    """Turn a terminal line into the normalised message the bot receives."""
    from bot.messages import Channel, Incoming, Kind, Location

    if line.startswith("/loc"):
        parts = line.split()
        lat, lng = float(parts[1]), float(parts[2])
        label = " ".join(parts[3:])
        return Incoming(user, Kind.LOCATION, Channel.CHAT, location=Location(lat, lng, label))
    if line.startswith("/voice"):
        return Incoming(user, Kind.TEXT, Channel.CHAT, text=line[6:].strip(), voice=True)
    if line.startswith("/event"):
        parts = line.split()
        name = parts[1].lower() if len(parts) > 1 else ""
        key = parts[2] if len(parts) > 2 else ""
        return Incoming(user, Kind.EVENT, Channel.CHAT, event=name, event_key=key)
    if line.startswith("/image"):
        return Incoming(user, Kind.MEDIA, Channel.CHAT)
    return Incoming(user, Kind.TEXT, Channel.CHAT, text=line)


async def _chat(settings: Settings, user: str) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()  # runs the same start-up as `serve`, without listening
    try:
        bot = app[bot_key]

        async def notify(to: str, text: str) -> None:
            print(f"\n[消息推送给 {to}]\n{text}\n", flush=True)

        bot.services.notify = notify
        print(CHAT_HELP, flush=True)
        while True:
            try:
                line = (await asyncio.to_thread(input, "你> ")).strip()
            except EOFError:
                break
            if not line:
                continue
            if line in {"/quit", "/exit"}:
                break
            try:
                msg = chat_message(user, line)
            except (IndexError, ValueError):
                print(CHAT_HELP)
                continue
            for reply in await bot.handle(msg):  # type: ignore[arg-type]
                print(f"邻里> {reply.text}", flush=True)
    finally:
        await runner.cleanup()


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    if not schema_is_current(settings):
        return 2
    asyncio.run(_chat(settings, args.user))
    return 0


# Each domain contributes a small demo (module path of an `async def seed_demo() -> str`), used
# by `make run` on an empty data directory so a newcomer can try the bot at once.
DEMO_SEEDERS: list[str] = ["craftsman_directory.demo", "canteen.demo"]


async def _seed_demo(settings: Settings, if_empty: bool) -> None:
    import importlib

    from models.users import User

    async with database.open_database(settings):
        if if_empty and await User.exists():
            print("demo data: database not empty, left as it is")
            return
        await User.get_or_create(openid="demo-admin")
        for path in DEMO_SEEDERS:
            module = importlib.import_module(path)
            print("demo data:", await module.seed_demo())


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_seed_demo(settings, args.if_empty))
    return 0


async def _with_directory(settings: Settings, work: Callable) -> object:
    async with database.open_database(settings):
        async with open_redis(settings.redis_url, settings.data_dir) as redis:
            return await work(redis)


def cmd_import_craftsmen(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from craftsman_directory.importer import import_file
    from craftsman_directory.service import DirectoryError

    async def work(redis: object) -> object:
        return await import_file(Path(args.file), redis, pending=args.pending, dry_run=args.dry_run)  # type: ignore[arg-type]

    try:
        report = asyncio.run(_with_directory(settings, work))
    except (DirectoryError, OSError) as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return 1
    print(report.summary())  # type: ignore[attr-defined]
    return 1 if report.errors else 0  # type: ignore[attr-defined]


def cmd_approve_craftsman(settings: Settings, args: argparse.Namespace) -> int:
    from craftsman_directory import service

    async def work(redis: object) -> object:
        async def notify(user: str, text: str) -> None:
            print(f"(tell {user} when they next write: {text})")

        return await service.approve(redis, notify, args.id)  # type: ignore[arg-type]

    try:
        craftsman = asyncio.run(_with_directory(settings, work))
    except service.DirectoryError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"approved {craftsman}")
    return 0


def cmd_list_craftsmen(settings: Settings, args: argparse.Namespace) -> int:
    from models.directory import Craftsman

    async def work(redis: object) -> object:
        query = Craftsman.all().order_by("id")
        if args.status:
            query = query.filter(status=args.status)
        return await query

    for c in asyncio.run(_with_directory(settings, work)):  # type: ignore[attr-defined]
        print(
            f"{c.id}\t{c.status.value}\t{c.name}\t{','.join(c.categories)}\t{c.phone}\t{c.address}"
        )
    return 0


def cmd_fake_wechat(settings: Settings, args: argparse.Namespace) -> int:
    from wechat_api.fake import FakeWeChat

    fake = FakeWeChat(app_id=settings.wechat_app_id, app_secret=settings.wechat_app_secret)
    print(
        f"fake WeChat API on http://127.0.0.1:{args.port} (set WECHAT_API_BASE to it)", flush=True
    )
    web.run_app(fake.app(), host="127.0.0.1", port=args.port, print=None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="linli 邻里 community bot")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve the bot (WeChat callback, API)")
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port (needs REDIS_URL)"
    )
    serve.set_defaults(func=cmd_serve)
    chat = sub.add_parser("chat", help="talk to the bot in the terminal as a given user")
    chat.add_argument("--user", default="chat-user", help="the user id (openid) to chat as")
    chat.set_defaults(func=cmd_chat)
    parse = sub.add_parser("parse", help="print the NLU result for TEXT as JSON")
    parse.add_argument("text")
    parse.set_defaults(func=cmd_parse)
    sub.add_parser("worker", help="run the push worker (drains the outbox)").set_defaults(
        func=cmd_worker
    )
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    canteen_cli.register(sub)
    delivery_cli.register(sub)
    mk = sub.add_parser("makemigrations", help="write migrations for model changes (developers)")
    mk.add_argument("apps", nargs="*")
    mk.set_defaults(func=cmd_makemigrations)
    seed = sub.add_parser("seed-demo", help="load a small demo community (craftsmen, canteen)")
    seed.add_argument("--if-empty", action="store_true", help="only when the database is empty")
    seed.set_defaults(func=cmd_seed_demo)
    imp = sub.add_parser("import-craftsmen", help="import craftsmen from a .csv or .xlsx list")
    imp.add_argument("file")
    imp.add_argument("--pending", action="store_true", help="leave imported rows for approval")
    imp.add_argument("--dry-run", action="store_true", help="report changes, change nothing")
    imp.set_defaults(func=cmd_import_craftsmen)
    ap = sub.add_parser("approve-craftsman", help="approve a pending craftsman by id")
    ap.add_argument("id", type=int)
    ap.set_defaults(func=cmd_approve_craftsman)
    ls = sub.add_parser("list-craftsmen", help="list craftsmen (id, status, name, ...)")
    ls.add_argument("--status", choices=["pending", "approved", "paused", "suspended"])
    ls.set_defaults(func=cmd_list_craftsmen)
    fake = sub.add_parser(
        "fake-wechat", help="run the fake WeChat API server for local development"
    )
    fake.add_argument("--port", type=int, default=8091)
    fake.set_defaults(func=cmd_fake_wechat)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.log_json)
    return int(args.func(settings, args) or 0)


if __name__ == "__main__":
    sys.exit(main())
