"""`add-canteen` and `grant-role`: set-up commands for community staff."""

from __future__ import annotations

import argparse
import asyncio
import math
import re
from typing import Any

# grant_role is re-exported: tests grant roles through this module.
from community.roles import grant_role as grant_role
from infra import database
from models.canteen import Canteen, CanteenMeal, Meal
from models.users import Role
from settings import Settings

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MEAL_DEFAULTS = {
    Meal.BREAKFAST: ("07:00", "08:30", "20:00", 300),
    Meal.LUNCH: ("11:00", "12:30", "09:30", 1000),
    Meal.DINNER: ("17:00", "18:30", "15:00", 1000),
}


def finite_float(text: str) -> float:
    """A number for the command line; "nan" and "inf", which float() takes, are refused."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)  # argparse: "invalid finite_float value"
    return value


def parse_meal_spec(spec: str) -> dict[str, Any]:
    """`lunch=11:00-12:30,cutoff=09:30,capacity=50,price=10` → CanteenMeal fields."""
    parts = dict(p.split("=", 1) for p in spec.split(",") if "=" in p)
    meals = [k for k in parts if k in Meal.__members__.values() or k in {m.value for m in Meal}]
    if len(meals) != 1:
        raise ValueError(
            f"{spec!r}: name exactly one of breakfast, lunch, dinner, e.g. lunch=11:00-12:30"
        )
    meal = Meal(meals[0])
    serve_from, _, serve_until = parts[meal.value].partition("-")
    d_from, d_until, d_cutoff, d_price = MEAL_DEFAULTS[meal]
    fields: dict[str, Any] = {
        "meal": meal,
        "serve_from": serve_from or d_from,
        "serve_until": serve_until or d_until,
        "signup_cutoff": parts.get("cutoff", d_cutoff),
        "delivery_capacity": int(parts.get("capacity", "50")),
        "price_cents": round(finite_float(str(parts.get("price", d_price / 100))) * 100),
    }
    for key in ("serve_from", "serve_until", "signup_cutoff"):
        if not _TIME.match(fields[key]):
            raise ValueError(f"{spec!r}: {key} must look like 09:30")
    if fields["serve_from"] >= fields["serve_until"]:
        raise ValueError(f"{spec!r}: serving must end after it starts")
    if fields["delivery_capacity"] < 0 or fields["price_cents"] < 0:
        raise ValueError(f"{spec!r}: capacity and price cannot be negative")
    return fields


async def add_canteen(
    name: str,
    address: str,
    lat: float | None,
    lng: float | None,
    robot_keys: list[str],
    meal_specs: list[str],
    *,
    portions_per_account: int | None = None,
    portions_per_recipient: int | None = None,
) -> Canteen:
    """Create or update a canteen and its meals. The residents' sign-up limits (portions per
    account and per recipient, for one meal) are changed only when given."""
    meals = [parse_meal_spec(s) for s in meal_specs] or [parse_meal_spec("lunch=")]
    defaults: dict[str, Any] = {
        "address": address,
        "lat": lat,
        "lng": lng,
        "robot_keys": robot_keys,
    }
    for field, value in (
        ("portions_per_account", portions_per_account),
        ("portions_per_recipient", portions_per_recipient),
    ):
        if value is not None:
            if value < 1:
                raise ValueError(f"--{field.replace('_', '-')} must be at least 1")
            defaults[field] = value
    canteen, _ = await Canteen.update_or_create(name=name, defaults=defaults)
    for fields in meals:
        meal = fields.pop("meal")
        await CanteenMeal.update_or_create(canteen=canteen, meal=meal, defaults=fields)
    return canteen


def _run(settings: Settings, coro_factory: Any) -> int:
    async def go() -> int:
        async with database.open_database(settings):
            try:
                print(await coro_factory())
            except ValueError as exc:
                print(f"error: {exc}")
                return 2
        return 0

    return asyncio.run(go())


def cmd_add_canteen(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> str:
        c = await add_canteen(
            args.name,
            args.address,
            args.lat,
            args.lng,
            args.robot_key,
            args.meal,
            portions_per_account=args.portions_per_account,
            portions_per_recipient=args.portions_per_recipient,
        )
        return f"canteen {c.pk}: {c.name}"

    return _run(settings, go)


def cmd_grant_role(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> str:
        g = await grant_role(
            args.openid, Role(args.role), args.canteen, args.area, args.grid_worker
        )
        duty = " (grid worker)" if g.duty == "grid" else ""
        return f"granted {g.role}{duty} to {args.openid}"

    return _run(settings, go)


def register(sub: Any) -> None:
    add = sub.add_parser("add-canteen", help="create or update a canteen and its meals")
    add.add_argument("name")
    add.add_argument("--address", required=True)
    add.add_argument("--lat", type=finite_float)
    add.add_argument("--lng", type=finite_float)
    add.add_argument("--robot-key", action="append", default=[], help="WeCom group-robot key")
    add.add_argument(
        "--meal",
        action="append",
        default=[],
        help="e.g. lunch=11:00-12:30,cutoff=09:30,capacity=50,price=10 (repeatable)",
    )
    add.add_argument(
        "--portions-per-account",
        type=int,
        help="residents: portions one account may book for one meal, all recipients (default 6)",
    )
    add.add_argument(
        "--portions-per-recipient",
        type=int,
        help="residents: portions one recipient may get for one meal (default 5)",
    )
    add.set_defaults(func=cmd_add_canteen)
    grant = sub.add_parser("grant-role", help="give a user a role")
    grant.add_argument("openid")
    grant.add_argument("role", choices=[r.value for r in Role])
    grant.add_argument("--canteen", type=int)
    grant.add_argument("--area", help="volunteers: the buildings they cover, e.g. 1-5号楼")
    grant.add_argument(
        "--grid-worker", action="store_true", help="volunteers: the area's grid worker (网格员)"
    )
    grant.set_defaults(func=cmd_grant_role)
