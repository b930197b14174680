"""`python main.py wecom-bot`: the WeCom intelligent bot over its long connection (no public URL
needed: for a community office behind NAT). Callback mode needs no command: `serve` answers
at /wecom/bot when WECOM_BOT_TOKEN and WECOM_BOT_AES_KEY are set."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from aiohttp import web

from handlers.wecom_bot import wecom_bot_key
from handlers.wecom_ws import LongConnection
from settings import Settings


async def run_long_connection(settings: Settings) -> None:
    """The app's start-up without listening (bot, Redis, database), then the connection until
    SIGTERM or Ctrl-C."""
    from server.app import create_app

    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await LongConnection(runner.app[wecom_bot_key]).run(stop)
    finally:
        await runner.cleanup()


def cmd_wecom_bot(settings: Settings, args: argparse.Namespace) -> int:
    from server.cli import schema_is_current

    if not (settings.wecom_bot_id and settings.wecom_bot_secret):
        print("wecom-bot needs WECOM_BOT_ID and WECOM_BOT_SECRET", file=sys.stderr)
        return 2
    if not schema_is_current(settings):
        return 2
    print(f"WeCom intelligent bot {settings.wecom_bot_id}: long connection to "
          f"{settings.wecom_bot_ws_url}", flush=True)  # fmt: skip
    asyncio.run(run_long_connection(settings))
    return 0


def register(sub: Any) -> None:
    sub.add_parser(
        "wecom-bot",
        help="run the WeCom intelligent bot over its long connection (WECOM_BOT_ID/SECRET)",
    ).set_defaults(func=cmd_wecom_bot)
