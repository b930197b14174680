"""The core commands: serve, chat, worker, migrate, parse, seed-demo, ... Each domain registers
its own commands the same way (`register(sub)` in its `cli` module, listed in `main.py`)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from infra import database
from infra.log import setup_chat_logging
from server import supervisor
from server.app import served_app
from server.eventloop import new_event_loop
from settings import Settings, ensure_wechat_token

# Each domain contributes a small demo (module path of an `async def seed_demo() -> str`), used
# by `make run` on an empty data directory so a newcomer can try the bot at once.
DEMO_SEEDERS: list[str] = ["craftsman_directory.demo", "canteen.demo", "places.demo"]


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


def python_command() -> str:
    """The Python that runs this project, as a newcomer can type it: the interpreter running
    now (the venv's, not whatever `python` is on PATH), relative to here when it is below."""
    exe = Path(sys.executable)
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)


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
    print(f"  Try it:              {python_command()} main.py chat   (in another terminal)")
    print(f"  In a browser:        {base}/", flush=True)
    if args.workers > 1:
        return supervisor.serve_many(settings, args.workers, schema_is_current)
    if not schema_is_current(settings):
        return 2
    web.run_app(
        served_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        loop=new_event_loop(),
    )
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from server.lifecycle import run_delivery_scheduler, run_worker

    if not schema_is_current(settings):
        return 2
    asyncio.run(run_worker(settings, run_delivery_scheduler))
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


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from server.chat import chat

    if not schema_is_current(settings):
        return 2
    # Log lines in the middle of the prompt confuse: they go to a file, and only warnings (one
    # short line each, no traceback) to the terminal.
    log_file = settings.data_dir / "chat.log"
    setup_chat_logging(settings.log_level, log_file)
    print(f"（日志写在 {log_file}）", flush=True)
    asyncio.run(chat(settings, args.user))
    return 0


async def _seed_demo(settings: Settings, if_empty: bool) -> None:
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


def cmd_fake_wechat(settings: Settings, args: argparse.Namespace) -> int:
    from wechat_api.fake import FakeWeChat

    fake = FakeWeChat(app_id=settings.wechat_app_id, app_secret=settings.wechat_app_secret)
    print(
        f"fake WeChat API on http://127.0.0.1:{args.port} (set WECHAT_API_BASE to it)", flush=True
    )
    web.run_app(fake.app(), host="127.0.0.1", port=args.port, print=None)
    return 0


def register(sub: Any) -> None:
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
    sub.add_parser(
        "worker", help="run the push worker (drains the outbox), the scheduler, the photo copier"
    ).set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    mk = sub.add_parser("makemigrations", help="write migrations for model changes (developers)")
    mk.add_argument("apps", nargs="*")
    mk.set_defaults(func=cmd_makemigrations)
    seed = sub.add_parser("seed-demo", help="load a small demo community (craftsmen, canteen)")
    seed.add_argument("--if-empty", action="store_true", help="only when the database is empty")
    seed.set_defaults(func=cmd_seed_demo)
    fake = sub.add_parser(
        "fake-wechat", help="run the fake WeChat API server for local development"
    )
    fake.add_argument("--port", type=int, default=8091)
    fake.set_defaults(func=cmd_fake_wechat)
