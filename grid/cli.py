"""The grid's commands: couriers' and riders' volunteer registrations (随手拍), listed and
approved or turned down from the command line as from the console."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import Any

from community.clock import SHANGHAI
from community.errors import DomainError
from grid import service
from infra import database
from models.grid import CourierVolunteer, VolunteerStatus
from settings import Settings


def cmd_list_volunteers(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> list[CourierVolunteer]:
        async with database.open_database(settings):
            rows = CourierVolunteer.all().order_by("id")
            if args.status:
                rows = rows.filter(status=VolunteerStatus(args.status))
            return await rows

    for v in asyncio.run(go()):
        print(f"{v.pk}\t{v.status.value}\t{v.trade}\t{v.name}\t{v.phone}\t{v.company}\t{v.area}")
    return 0


def _decide(approve: bool) -> Any:
    def cmd(settings: Settings, args: argparse.Namespace) -> int:
        async def go() -> int:
            async with database.open_database(settings):
                try:
                    v = await service.decide_volunteer(
                        args.by, args.id, approve, dt.datetime.now(SHANGHAI), operator=True
                    )
                except DomainError as exc:
                    print(f"error: {exc.message}", file=sys.stderr)
                    return 2
            print(f"{'approved' if approve else 'rejected'}: {v.pk} {v.name} ({v.company})")
            return 0

        return asyncio.run(go())

    return cmd


def register(sub: Any) -> None:
    ls = sub.add_parser("grid-volunteers", help="couriers/riders registered as volunteers")
    ls.add_argument("--status", choices=[s.value for s in VolunteerStatus])
    ls.set_defaults(func=cmd_list_volunteers)
    for name, approve, what in (
        ("approve-grid-volunteer", True, "approve"),
        ("reject-grid-volunteer", False, "turn down"),
    ):
        p = sub.add_parser(name, help=f"{what} a courier's/rider's volunteer registration")
        p.add_argument("id", type=int)
        p.add_argument("--by", default="operator", help="who decided (kept on the registration)")
        p.set_defaults(func=_decide(approve))
