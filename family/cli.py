"""`link-family`: the staff link a relative to an elder (who agreed in person)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import Any

from bot.context import SHANGHAI
from community.errors import DomainError
from family import service
from infra import database
from settings import Settings


def cmd_link(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> int:
        async with database.open_database(settings):
            try:
                link = await service.link_by_staff(
                    args.elder_phone, args.relative, args.staff, dt.datetime.now(SHANGHAI)
                )
            except DomainError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                return 2
        print(f"linked: relative {link.relative_openid} -> elder {link.elder_openid}")
        return 0

    return asyncio.run(go())


def register(sub: Any) -> None:
    link = sub.add_parser("link-family", help="link a relative to an elder (who agreed in person)")
    link.add_argument("--elder-phone", required=True, help="the phone of the elder's own sign-up")
    link.add_argument("--relative", required=True, help="the relative's openid")
    link.add_argument("--staff", default="staff", help="who links them (kept on the link)")
    link.set_defaults(func=cmd_link)
