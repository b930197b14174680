"""`export-deliveries`: the day's sign-ups and delivery results as CSV for canteen staff."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from bot.context import SHANGHAI
from delivery import roster
from infra import database
from models.canteen import Canteen
from settings import Settings


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> int | str:
        async with database.open_database(settings):
            canteen = await (
                Canteen.get_or_none(pk=args.canteen)
                if args.canteen
                else Canteen.all().order_by("id").first()
            )
            if canteen is None:
                print("error: no such canteen (add one with add-canteen)", file=sys.stderr)
                return 2
            day = args.date or dt.datetime.now(SHANGHAI).date()
            text = await roster.export_csv(canteen.pk, day)
        return text

    text = asyncio.run(go())
    if isinstance(text, int):
        return text
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def register(sub: Any) -> None:
    export = sub.add_parser(
        "export-deliveries", help="the day's delivery sign-ups and results as CSV"
    )
    export.add_argument("--date", type=dt.date.fromisoformat, help="YYYY-MM-DD (default today)")
    export.add_argument("--canteen", type=int, help="canteen id (default the first)")
    export.add_argument("--out", help="write to this file instead of standard output")
    export.set_defaults(func=cmd_export)
