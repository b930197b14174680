"""A Redis GEO index with display cards: one GEO set per kind of thing (a craft category, a
kind of place) and one hash of small JSON cards by member id, so a search never touches the
database. The craftsman directory and the places both index this way.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis

from infra.redis import awaitable
from infra.redis_lane import Script

log = logging.getLogger(__name__)

# GEOADD arguments per command while rebuilding (keeps each command small).
CHUNK = 5000
GEO_LAT_MAX = 85.05112878

# GEOSEARCH, then the version of each card found: member, distance, version, member, ... The
# cards themselves stay in Redis: each process keeps those it has read (`_kept`), by version,
# and asks for a card only when it has not seen that version (a search of 50 hits sent ~10 KB
# of cards every time, most of the reply's parsing and of Redis's own work on it).
NEARBY = Script(
    b"""
local found = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],
                         'BYRADIUS', ARGV[3], 'm', 'ASC', 'COUNT', ARGV[4], 'WITHDIST')
if #found == 0 then return {} end
local ids = {}
for i, hit in ipairs(found) do ids[i] = hit[1] end
local versions = redis.call('HMGET', KEYS[2], unpack(ids))
local out = {}
for i, hit in ipairs(found) do
  out[3 * i - 2] = hit[1]
  out[3 * i - 1] = hit[2]
  out[3 * i] = versions[i] or ''
end
return out
"""
)

KEPT_MAX = 200_000  # cards a process keeps (all indexes); past it, it starts again
_kept: dict[tuple[str, str], tuple[str, str]] = {}  # (cards key, member) -> (version, card)


def versions_key(cards_key: str) -> str:
    """The hash of each card's version (member -> version), beside the cards' hash."""
    return f"{cards_key}:v"


def version_of(card: str) -> str:
    """A card's version: a checksum of its text (a changed card is a new version)."""
    return format(zlib.crc32(card.encode()), "x")


async def nearby(
    redis: Redis, geo_key: str, cards_key: str, lat: float, lng: float, radius_m: float, limit: int
) -> list[tuple[float, Any]]:
    """(distance in metres, raw card) of the members of `geo_key` within `radius_m`, nearest
    first; one round trip when this process has read every card found before, two otherwise.
    A member whose card is gone (removed meanwhile) is skipped."""
    found = await NEARBY(
        keys=[geo_key, versions_key(cards_key)], args=[lng, lat, radius_m, limit], client=redis
    )
    kept = _kept
    known: list[Any] = []  # each member's kept card, None when it must be read
    missing: list[str] = []
    for i in range(0, len(found), 3):  # member, distance, version: most cards are kept
        m, v = found[i], found[i + 2]
        k = kept.get((cards_key, m))
        if k is None or not v or k[0] != v:
            missing.append(m)
            known.append(None)
        else:
            known.append(k[1])
    if missing:
        raws = await awaitable(redis.hmget(cards_key, missing))
        if len(kept) + len(missing) > KEPT_MAX:
            kept.clear()
        fresh = iter(raws)
        for m, raw in zip(missing, raws, strict=True):
            if raw:
                kept[(cards_key, m)] = (version_of(raw), raw)
        known = [next(fresh) if raw is None else raw for raw in known]
    return [(float(found[3 * j + 1]), raw) for j, raw in enumerate(known) if raw]


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
    """HSET the cards by member id, and their versions, in commands of CHUNK cards."""
    items = list(mapping.items())
    for i in range(0, len(items), CHUNK):
        chunk = items[i : i + CHUNK]
        pipe.hset(cards_key, mapping=dict(chunk))
        pipe.hset(versions_key(cards_key), mapping={m: version_of(c) for m, c in chunk})


def drop(pipe: Any, geo_keys: Iterable[str], cards_key: str, member: str) -> None:
    """Take `member` out of every GEO set (its kind may have changed) and its card away."""
    for geo_key in geo_keys:
        pipe.zrem(geo_key, member)
    pipe.hdel(cards_key, member)
    pipe.hdel(versions_key(cards_key), member)


def clear(pipe: Any, geo_keys: Iterable[str], cards_key: str) -> None:
    """Empty the index (before a rebuild): every GEO set, the cards and their versions."""
    pipe.delete(cards_key, versions_key(cards_key), *geo_keys)


def _indexable(lng: float, lat: float) -> bool:
    # Redis GEO holds the Web Mercator band only; comparisons are False for NaN.
    return -GEO_LAT_MAX <= lat <= GEO_LAT_MAX and -180 <= lng <= 180
