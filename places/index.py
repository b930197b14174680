"""The Redis GEO index place searches read: one GEO set per kind plus a hash of display cards
(the craftsman directory's approach, through infra.geo_index). Verified places only.

The database is the truth: `rebuild` replaces the index from it (at start-up, after imports);
`sync` puts one place in step after any change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from redis.asyncio import Redis

from infra import geo_index, keys
from infra.redis import awaitable
from models.places import Place
from places.kinds import IDS


@dataclass(frozen=True)
class PlaceCard:
    """What a search result shows, copied from the database row."""

    id: int
    name: str
    kind: str
    address: str
    phone: str
    hours: str
    lat: float
    lng: float

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def of(cls, p: Place) -> PlaceCard:
        return cls(p.pk, p.name, p.kind, p.address, p.phone, p.hours, p.lat, p.lng)


@lru_cache(maxsize=32768)
def _card(raw: str | bytes) -> PlaceCard:
    # Keyed by the stored text: a changed card is a new entry, hot cards are decoded once.
    return PlaceCard(**json.loads(raw))


class PlaceHit(NamedTuple):
    card: PlaceCard
    distance_m: float


def _add(pipe: Any, places: list[PlaceCard]) -> None:
    by_kind: dict[str, list[Any]] = {}
    mapping: dict[str, str] = {}
    for card in places:
        mapping[str(card.id)] = card.dumps()
        by_kind.setdefault(card.kind, []).extend((card.lng, card.lat, str(card.id)))
    for kind, values in by_kind.items():
        geo_index.add_points(pipe, keys.place_geo(kind), values)
    geo_index.add_cards(pipe, keys.place_cards(), mapping)


def _drop(pipe: Any, member: str) -> None:
    geo_index.drop(pipe, (keys.place_geo(k) for k in IDS), keys.place_cards(), member)


async def rebuild(redis: Redis) -> int:
    """Replace the whole index from the database; returns how many places are searchable."""
    cards = [PlaceCard.of(p) for p in await Place.filter(verified=True)]
    async with redis.pipeline(transaction=True) as pipe:  # searches never see half an index
        geo_index.clear(pipe, (keys.place_geo(k) for k in IDS), keys.place_cards())
        _add(pipe, cards)
        await pipe.execute()
    return len(cards)


async def sync(redis: Redis, place: Place) -> None:
    """Indexed under its kind when verified, else removed (its kind may have changed)."""
    async with redis.pipeline(transaction=True) as pipe:
        _drop(pipe, str(place.pk))
        if place.verified:
            _add(pipe, [PlaceCard.of(place)])
        await pipe.execute()


async def remove(redis: Redis, place_id: int) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        _drop(pipe, str(place_id))
        await pipe.execute()


async def nearby(
    redis: Redis, kind: str, lat: float, lng: float, radius_m: float, limit: int = 20
) -> list[PlaceHit]:
    """Verified places of `kind` within `radius_m`, nearest first (one round trip)."""
    found = await geo_index.nearby(
        redis, keys.place_geo(kind), keys.place_cards(), lat, lng, radius_m, limit
    )
    return [PlaceHit(_card(raw), dist) for dist, raw in found]


async def cards(redis: Redis, ids: list[int]) -> list[PlaceCard | None]:
    """The indexed cards of `ids`, in order; None for any no longer shown."""
    if not ids:
        return []
    raws = await awaitable(redis.hmget(keys.place_cards(), [str(i) for i in ids]))
    return [_card(raw) if raw else None for raw in raws]
