"""The Redis GEO index the search reads: one GEO set per category plus a hash of display cards.

The database is the truth. `rebuild` replaces the index from it (at start-up, after imports);
`sync` puts one craftsman in step after any change. Only approved craftsmen are indexed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.nlu.labels import CATEGORIES
from infra import keys
from models.directory import Craftsman, Status

# GEOADD arguments per command while rebuilding (keeps each command small).
_CHUNK = 5000


@dataclass(frozen=True)
class Card:
    """What a search result needs to show, copied from the database row."""

    id: int
    name: str
    categories: list[str]
    phone: str
    hours: str
    home_visits: bool
    lat: float
    lng: float
    rating_avg: float = 0.0
    rating_count: int = 0

    def dumps(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> Card:
        return cls(**json.loads(raw))

    @classmethod
    def of(cls, c: Craftsman) -> Card:
        return cls(
            c.id,
            c.name,
            list(c.categories),
            c.phone,
            c.hours,
            c.home_visits,
            c.lat,
            c.lng,
            c.rating_avg,
            c.rating_count,
        )


@dataclass(frozen=True)
class Hit:
    card: Card
    distance_m: float


def _add(pipe: Any, cards: Iterable[Card]) -> None:
    by_category: dict[str, list[Any]] = {}
    mapping: dict[str, str] = {}
    for card in cards:
        mapping[str(card.id)] = card.dumps()
        for cat in card.categories:
            by_category.setdefault(cat, []).extend((card.lng, card.lat, str(card.id)))
    for cat, values in by_category.items():
        for i in range(0, len(values), _CHUNK * 3):
            pipe.execute_command("GEOADD", keys.directory_geo(cat), *values[i : i + _CHUNK * 3])
    items = list(mapping.items())
    for i in range(0, len(items), _CHUNK):
        pipe.hset(keys.directory_cards(), mapping=dict(items[i : i + _CHUNK]))


async def rebuild(redis: Redis) -> int:
    """Replace the whole index from the database; returns how many craftsmen are searchable."""
    rows = await Craftsman.filter(status=Status.APPROVED).all()
    cards = [Card.of(c) for c in rows]
    # One MULTI/EXEC: searches never see a half-built index.
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(keys.directory_cards(), *(keys.directory_geo(c) for c in CATEGORIES))
        _add(pipe, cards)
        await pipe.execute()
    return len(cards)


async def sync(redis: Redis, craftsman: Craftsman) -> None:
    """Put one craftsman in step: indexed under their categories when approved, else removed."""
    member = str(craftsman.id)
    async with redis.pipeline(transaction=True) as pipe:
        for cat in CATEGORIES:  # categories may have changed: drop from all first
            pipe.zrem(keys.directory_geo(cat), member)
        pipe.hdel(keys.directory_cards(), member)
        if craftsman.status is Status.APPROVED:
            _add(pipe, [Card.of(craftsman)])
        await pipe.execute()


async def remove(redis: Redis, craftsman_id: int) -> None:
    member = str(craftsman_id)
    async with redis.pipeline(transaction=True) as pipe:
        for cat in CATEGORIES:
            pipe.zrem(keys.directory_geo(cat), member)
        pipe.hdel(keys.directory_cards(), member)
        await pipe.execute()


async def nearby(
    redis: Redis, category: str, lat: float, lng: float, radius_m: float, limit: int = 100
) -> list[Hit]:
    """Approved craftsmen of `category` within `radius_m`, nearest first (at most `limit`)."""
    found = await redis.execute_command(
        "GEOSEARCH",
        keys.directory_geo(category),
        "FROMLONLAT",
        lng,
        lat,
        "BYRADIUS",
        radius_m,
        "m",
        "ASC",
        "COUNT",
        limit,
        "WITHDIST",
    )
    if not found:
        return []
    ids = [member for member, _ in found]
    raw_cards = await redis.hmget(keys.directory_cards(), ids)
    return [
        Hit(Card.loads(raw), float(dist))
        for (_, dist), raw in zip(found, raw_cards, strict=True)
        if raw  # a card removed between the two calls: skip it
    ]
