"""The Redis GEO index the search reads: one GEO set per category plus a hash of display cards.

The database is the truth. `rebuild` replaces the index from it (at start-up, after imports);
`sync` puts one craftsman in step after any change. Only approved craftsmen are indexed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, NamedTuple

from redis.asyncio import Redis

from bot.nlu.labels import CATEGORIES
from community import geo
from infra import geo_index, jsontext, keys
from infra.redis import awaitable
from models.directory import Craftsman, Status

log = logging.getLogger(__name__)


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
    # ISO date the craftsman is back from a timed pause ("" when not paused): search skips
    # the card until then (compared as text: ISO dates sort as dates).
    away_until: str = ""
    # The services with a price the craftsman gave (改裤脚15元、换拉链20元), for "他收费贵不贵".
    prices: str = ""

    def dumps(self) -> str:
        return jsontext.dumps(self.__dict__)

    @classmethod
    def loads(cls, raw: str | bytes) -> Card:
        return _card(raw)

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
            c.paused_until.isoformat() if c.paused_until else "",
            priced(c.description),
        )


_PRICED = re.compile(r"(?<![\d.])\d++(?:\.\d++)?\s*+(?:元|块)")  # linear on a run of digits


def priced(description: str) -> str:
    """The parts of a description with a price: '改裤脚15元、换拉链20元、缝补' → the first two."""
    parts = re.split(r"[、，,；;\s]+", description)
    return "、".join(p for p in parts if _PRICED.search(p))[:120]


@lru_cache(maxsize=131072)
def _card(raw: str | bytes) -> Card:
    # Keyed by the stored text itself, so a changed card is simply a new entry: hot cards are
    # decoded once per process instead of on every search (most of a search's CPU before).
    return Card(**jsontext.loads(raw))


class Hit(NamedTuple):  # a tuple, not a dataclass: a search builds up to 50 per message
    card: Card
    distance_m: float


_hit = partial(tuple.__new__, Hit)  # Hit((card, distance)) without NamedTuple's Python __new__


def _add(pipe: Any, cards: Iterable[Card]) -> None:
    by_category: dict[str, list[Any]] = {}
    mapping: dict[str, str] = {}
    for card in cards:
        if not geo.on_map(card.lat, card.lng):
            # A NaN (or off-map) row stored before the API refused them: GEOADD fails the whole
            # command on it ("value is not a valid float"), and every start-up's rebuild with it.
            log.warning("craftsman not indexed: no valid coordinates", extra={"id": card.id})
            continue
        mapping[str(card.id)] = card.dumps()
        for cat in card.categories:
            by_category.setdefault(cat, []).extend((card.lng, card.lat, str(card.id)))
    for cat, values in by_category.items():
        geo_index.add_points(pipe, keys.directory_geo(cat), values)
    geo_index.add_cards(pipe, keys.directory_cards(), mapping)


def _drop(pipe: Any, member: str) -> None:
    # Categories may have changed: out of every GEO set first.
    geo_index.drop(
        pipe, (keys.directory_geo(c) for c in CATEGORIES), keys.directory_cards(), member
    )


async def rebuild(redis: Redis) -> int:
    """Replace the whole index from the database; returns how many craftsmen are searchable."""
    rows = await Craftsman.filter(status=Status.APPROVED).all()
    cards = [Card.of(c) for c in rows]
    # One MULTI/EXEC: searches never see a half-built index.
    async with redis.pipeline(transaction=True) as pipe:
        geo_index.clear(pipe, (keys.directory_geo(c) for c in CATEGORIES), keys.directory_cards())
        _add(pipe, cards)
        await pipe.execute()
    return len(cards)


async def sync(redis: Redis, craftsman: Craftsman) -> None:
    """Put one craftsman in step: indexed under their categories when approved, else removed."""
    async with redis.pipeline(transaction=True) as pipe:
        _drop(pipe, str(craftsman.id))
        if craftsman.status is Status.APPROVED:
            _add(pipe, [Card.of(craftsman)])
        await pipe.execute()


async def remove(redis: Redis, craftsman_id: int) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        _drop(pipe, str(craftsman_id))
        await pipe.execute()


async def nearby(
    redis: Redis, category: str, lat: float, lng: float, radius_m: float, limit: int = 100
) -> list[Hit]:
    """Approved craftsmen of `category` within `radius_m`, nearest first (at most `limit`)."""
    # One round trip: the GEO search and the cards of what it found, in a server-side script.
    found = await geo_index.nearby(
        redis, keys.directory_geo(category), keys.directory_cards(), lat, lng, radius_m, limit
    )
    return [_hit((_card(raw), dist)) for dist, raw in found]


async def cards(redis: Redis, ids: list[int]) -> list[Card | None]:
    """The indexed cards of `ids`, in order; None for any no longer indexed."""
    if not ids:
        return []
    raws = await awaitable(redis.hmget(keys.directory_cards(), [str(i) for i in ids]))
    return [Card.loads(raw) if raw else None for raw in raws]
