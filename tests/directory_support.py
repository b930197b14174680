"""Helpers shared by the directory tests: talk to the bot, make craftsmen, record notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.context import SHANGHAI
from craftsman_directory import index
from models.directory import Craftsman, Source, Status
from models.users import Role, RoleGrant, User
from tests.chat_support import Chat

HOME = (31.2304, 121.4737)  # People's Square, GCJ-02
# Wednesday 2026-11-25 10:00 in Shanghai.
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
M_PER_DEG_LAT = 111_195.0


async def say(bot: Any, text: str, user: str = "o-resident") -> str:
    return await Chat(bot)(user, text)


async def send_location(
    bot: Any, lat: float, lng: float, label: str = "", user: str = "o-resident"
) -> str:
    return await Chat(bot).location(user, lat, lng, label)


def north(metres: float, lat: float = HOME[0]) -> float:
    """The latitude `metres` north of `lat`."""
    return lat + metres / M_PER_DEG_LAT


async def make_craftsman(
    bot: Any,
    name: str,
    categories: list[str],
    metres_north: float,
    hours: str = "24/7",
    status: Status = Status.APPROVED,
    openid: str | None = None,
    compound: str | None = None,
    phone: str = "",
) -> Craftsman:
    craftsman = await Craftsman.create(
        name=name,
        categories=categories,
        phone=phone or f"139{abs(hash(name)) % 10**8:08d}",
        lat=north(metres_north),
        lng=HOME[1],
        hours=hours,
        status=status,
        openid=openid,
        compound=compound,
        source=Source.IMPORT,
    )
    await index.sync(bot.services.redis, craftsman)
    return craftsman


async def make_admin(openid: str = "o-admin") -> User:
    user, _ = await User.get_or_create(openid=openid)
    await RoleGrant.create(user=user, role=Role.ADMIN)
    return user


class Outbox:
    """Stands in for ctx.services.notify (WeChat customer-service messages)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def __call__(self, user: str, text: str) -> None:
        self.sent.append((user, text))

    def to(self, user: str) -> list[str]:
        return [text for who, text in self.sent if who == user]


def use_outbox(bot: Any) -> Outbox:
    outbox = Outbox()
    bot.services.notify = outbox
    return outbox


def freeze(bot: Any, when: datetime = WEDNESDAY_10) -> None:
    bot.services.clock = lambda: when
