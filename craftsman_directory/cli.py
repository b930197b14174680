"""Directory commands: import-craftsmen, approve-craftsman, list-craftsmen."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from redis.asyncio import Redis

from community.errors import DomainError
from infra import database
from infra.redis import open_redis
from settings import Settings

T = TypeVar("T")


async def _with_directory(settings: Settings, work: Callable[[Redis], Awaitable[T]]) -> T:
    async with database.open_database(settings):
        async with open_redis(settings.redis_url, settings.data_dir) as redis:
            return await work(redis)


def cmd_import_craftsmen(settings: Settings, args: argparse.Namespace) -> int:
    from craftsman_directory.importer import import_file

    async def work(redis: Redis) -> Any:
        return await import_file(Path(args.file), redis, pending=args.pending, dry_run=args.dry_run)

    try:
        report = asyncio.run(_with_directory(settings, work))
    except (DomainError, OSError) as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 1 if report.errors else 0


def cmd_approve_craftsman(settings: Settings, args: argparse.Namespace) -> int:
    from craftsman_directory import service

    async def work(redis: Redis) -> Any:
        async def notify(user: str, text: str) -> None:
            print(f"(tell {user} when they next write: {text})")

        return await service.approve(redis, notify, args.id)

    try:
        craftsman = asyncio.run(_with_directory(settings, work))
    except DomainError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"approved {craftsman}")
    return 0


def cmd_list_craftsmen(settings: Settings, args: argparse.Namespace) -> int:
    from models.directory import Craftsman

    async def work(redis: Redis) -> list[Craftsman]:
        query = Craftsman.all().order_by("id")
        if args.status:
            query = query.filter(status=args.status)
        return await query

    for c in asyncio.run(_with_directory(settings, work)):
        print(
            f"{c.id}\t{c.status.value}\t{c.name}\t{','.join(c.categories)}\t{c.phone}\t{c.address}"
        )
    return 0


def register(sub: Any) -> None:
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
