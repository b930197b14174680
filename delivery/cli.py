"""`export-deliveries`: the day's sign-ups and delivery results as CSV for canteen staff.
`set-tier`, `set-subsidy`, `subsidy-report`: meal subsidies (delivery/subsidy.py)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from bot.context import SHANGHAI
from community.errors import DomainError
from delivery import roster, subsidy
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

    return _written(asyncio.run(go()), args.out)


async def _canteen(canteen_id: int | None) -> Canteen | None:
    if canteen_id:
        return await Canteen.get_or_none(pk=canteen_id)
    return await Canteen.all().order_by("id").first()


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def cmd_set_tier(settings: Settings, args: argparse.Namespace) -> int:
    """set-tier "3号楼2单元401" 80岁以上: a recipient's subsidy tier (found as staff find it)."""

    async def go() -> int:
        async with database.open_database(settings):
            try:
                tier = subsidy.check_tier_text(args.tier)
                found = await subsidy.find_recipients("", args.who, operator=True)
                if len(found) != 1:
                    print("\n".join(subsidy.recipient_line(r) for r in found), file=sys.stderr)
                    what = "no such recipient" if not found else "several match; use 编号ID"
                    return _fail(what)
                change = await subsidy.set_tier(
                    "cli", found[0], tier, dt.datetime.now(SHANGHAI), operator=True
                )
            except DomainError as exc:
                return _fail(exc.message)
        print(
            f"{subsidy.recipient_line(change.recipient)}"
            f" ({subsidy.tier_name(change.before)} -> {subsidy.tier_name(change.after)};"
            f" {change.upcoming} upcoming portions follow it)"
        )
        return 0

    return asyncio.run(go())


def cmd_set_subsidy(settings: Settings, args: argparse.Namespace) -> int:
    """set-subsidy 80岁以上 4: the canteen's subsidy per meal for a tier, in yuan."""

    async def go() -> int:
        async with database.open_database(settings):
            canteen = await _canteen(args.canteen)
            if canteen is None:
                return _fail("no such canteen (add one with add-canteen)")
            try:
                amounts = await subsidy.set_subsidy(
                    "cli",
                    canteen,
                    args.tier,
                    subsidy.parse_yuan(args.yuan),
                    dt.datetime.now(SHANGHAI),
                    operator=True,
                )
            except DomainError as exc:
                return _fail(exc.message)
        for tier, cents in amounts.items():
            print(f"{subsidy.tier_name(tier)}\t{subsidy.yuan(cents)}")
        return 0

    return asyncio.run(go())


def cmd_subsidy_report(settings: Settings, args: argparse.Namespace) -> int:
    """subsidy-report --month 2026-11: the month's per-recipient subsidy record as CSV."""

    async def go() -> int | str:
        async with database.open_database(settings):
            canteen = await _canteen(args.canteen)
            if canteen is None:
                return _fail("no such canteen (add one with add-canteen)")
            month = args.month or subsidy.month_of(dt.datetime.now(SHANGHAI).date())
            try:
                record = await subsidy.month_record(canteen, month)
            except DomainError as exc:
                return _fail(exc.message)
        return subsidy.record_csv(record)

    return _written(asyncio.run(go()), args.out)


def register(sub: Any) -> None:
    export = sub.add_parser(
        "export-deliveries", help="the day's delivery sign-ups and results as CSV"
    )
    export.add_argument("--date", type=dt.date.fromisoformat, help="YYYY-MM-DD (default today)")
    export.add_argument("--canteen", type=int, help="canteen id (default the first)")
    export.add_argument("--out", help="write to this file instead of standard output")
    export.set_defaults(func=cmd_export)

    tier = sub.add_parser(
        "set-tier", help="a delivery recipient's meal-subsidy tier (60岁以上, 80岁以上, 低保, ...)"
    )
    tier.add_argument("who", help='编号ID, a phone, or an address ("3号楼2单元401 我妈")')
    tier.add_argument("tier", help="60岁以上 | 80岁以上 | 低保 | 特困 | 残疾 | 无")
    tier.set_defaults(func=cmd_set_tier)
    amount = sub.add_parser("set-subsidy", help="the canteen's meal subsidy for one tier, in yuan")
    amount.add_argument("tier", help="60岁以上 | 80岁以上 | 低保 | 特困 | 残疾")
    amount.add_argument("yuan", help="subsidy per meal in yuan, e.g. 4 or 2.5")
    amount.add_argument("--canteen", type=int, help="canteen id (default the first)")
    amount.set_defaults(func=cmd_set_subsidy)
    report = sub.add_parser(
        "subsidy-report", help="a month's per-recipient meal-subsidy record as CSV"
    )
    report.add_argument("--month", help="YYYY-MM (default this month)")
    report.add_argument("--canteen", type=int, help="canteen id (default the first)")
    report.add_argument("--out", help="write to this file instead of standard output")
    report.set_defaults(func=cmd_subsidy_report)


def _written(text: str | int, out: str | None) -> int:
    """A command's CSV to `out` (or standard output); an exit code passes through."""
    if isinstance(text, int):
        return text
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    else:
        sys.stdout.write(text)
    return 0
