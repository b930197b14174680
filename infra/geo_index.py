"""A Redis GEO index with display cards: one GEO set per kind of thing (a craft category, a
kind of place) and one hash of small JSON cards by member id, so a search never touches the
database. The craftsman directory and the places both index this way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis

from infra.redis_lane import Script

log = logging.getLogger(__name__)

# GEOADD arguments per command while rebuilding (keeps each command small).
CHUNK = 5000
GEO_LAT_MAX = 85.05112878

# GEOSEARCH, then HMGET of the members found: returns distance, card, distance, card, ...
NEARBY = Script(
    b"""
local found = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],
                         'BYRADIUS', ARGV[3], 'm', 'ASC', 'COUNT', ARGV[4], 'WITHDIST')
if #found == 0 then return {} end
local ids = {}
for i, hit in ipairs(found) do ids[i] = hit[1] end
local cards = redis.call('HMGET', KEYS[2], unpack(ids))
local out = {}
for i, hit in ipairs(found) do
  out[2 * i - 1] = hit[2]
  out[2 * i] = cards[i]
end
return out
"""
)


async def nearby(
    redis: Redis, geo_key: str, cards_key: str, lat: float, lng: float, radius_m: float, limit: int
) -> list[tuple[float, Any]]:
    """(distance in metres, raw card) of the members of `geo_key` within `radius_m`, nearest
    first; one round trip. A member whose card is gone (removed meanwhile) is skipped."""
    found = await NEARBY(keys=[geo_key, cards_key], args=[lng, lat, radius_m, limit], client=redis)
    return [(float(d), raw) for d, raw in zip(found[0::2], found[1::2], strict=True) if raw]


def add_points(pipe: Any, geo_key: str, values: list[Any]) -> None:
    """GEOADD lng, lat, member triples in commands of CHUNK points. A point off the map (NaN
    included: a row stored before the inputs refused it) is left out, logged: GEOADD would
    fail the whole command on it ("value is not a valid float"), and every rebuild with it."""
    triples = [values[i : i + 3] for i in range(0, len(values), 3)]
    bad = [t for t in triples if not _indexable(float(t[0]), float(t[1]))]
    if bad:
        members = [t[2] for t in bad[:20]]
        log.warning("points not indexed: no valid coordinates", extra={"members": members})
        values = [v for t in triples if _indexable(float(t[0]), float(t[1])) for v in t]
    for i in range(0, len(values), CHUNK * 3):
        pipe.execute_command("GEOADD", geo_key, *values[i : i + CHUNK * 3])


def add_cards(pipe: Any, cards_key: str, mapping: dict[str, str]) -> None:
    """HSET the cards by member id, in commands of CHUNK cards."""
    items = list(mapping.items())
    for i in range(0, len(items), CHUNK):
        pipe.hset(cards_key, mapping=dict(items[i : i + CHUNK]))


def drop(pipe: Any, geo_keys: Iterable[str], cards_key: str, member: str) -> None:
    """Take `member` out of every GEO set (its kind may have changed) and its card away."""
    for geo_key in geo_keys:
        pipe.zrem(geo_key, member)
    pipe.hdel(cards_key, member)


def _indexable(lng: float, lat: float) -> bool:
    # Redis GEO holds the Web Mercator band only; comparisons are False for NaN.
    return -GEO_LAT_MAX <= lat <= GEO_LAT_MAX and -180 <= lng <= 180
