"""Place commands: import-places, list-places, poster."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from community.errors import DomainError
from infra import database
from infra.redis import open_redis
from settings import Settings


def cmd_import_places(settings: Settings, args: argparse.Namespace) -> int:
    from places.importer import import_file

    async def go() -> Any:
        async with database.open_database(settings):
            async with open_redis(settings.redis_url, settings.data_dir) as redis:
                return await import_file(
                    Path(args.file), redis, verified=args.verified, dry_run=args.dry_run
                )

    try:
        report = asyncio.run(go())
    except (DomainError, OSError) as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 1 if report.errors else 0


def cmd_list_places(settings: Settings, args: argparse.Namespace) -> int:
    from models.places import Place

    async def go() -> list[Place]:
        async with database.open_database(settings):
            return await Place.all().order_by("kind", "id")

    for p in asyncio.run(go()):
        mark = "verified" if p.verified else "unverified"
        print(f"{p.id}\t{p.kind}\t{mark}\t{p.name}\t{p.address}\t{p.phone}\t{p.lat},{p.lng}")
    return 0


def cmd_poster(settings: Settings, args: argparse.Namespace) -> int:
    from community.clock import now
    from places import circle, poster

    async def go() -> bytes:
        async with database.open_database(settings):
            view = await circle.build(settings, now())
        return poster.render(view, poster.map_url(settings), args.format or _format(args.out))

    out = Path(args.out)
    if (args.format or _format(args.out)) not in poster.FORMATS:
        print("poster: --out must end in .png or .pdf (or give --format)", file=sys.stderr)
        return 2
    try:
        data = asyncio.run(go())
    except poster.FontMissing as exc:
        print(f"poster: {exc}", file=sys.stderr)
        return 1
    out.write_bytes(data)
    print(f"wrote {out} ({len(data) // 1024} KB)")
    return 0


def _format(path: str) -> str:
    return Path(path).suffix.lower().lstrip(".")


def register(sub: Any) -> None:
    imp = sub.add_parser("import-places", help="import service points from a .csv or .xlsx list")
    imp.add_argument("file")
    imp.add_argument(
        "--verified", action="store_true", help="the list is checked: show its places at once"
    )
    imp.add_argument("--dry-run", action="store_true", help="report changes, change nothing")
    imp.set_defaults(func=cmd_import_places)
    ls = sub.add_parser("list-places", help="list service points (id, kind, verified, name, ...)")
    ls.set_defaults(func=cmd_list_places)
    poster = sub.add_parser("poster", help="the printable 15-minute circle map (PNG or PDF)")
    poster.add_argument("--out", required=True, help="file to write, .png or .pdf")
    poster.add_argument("--format", choices=["png", "pdf"], help="default: from --out")
    poster.set_defaults(func=cmd_poster)
