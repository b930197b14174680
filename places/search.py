"""Find places: kind + location → verified places of that kind nearest by walking time (the
resident's pace), open now or when they open, and their phone.

Nothing within a 15-minute walk → widen as the craftsman search does, and say so. The ordered
list is kept in Redis for follow-ups ("第一个几点关门", "第二个电话多少").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from redis.asyncio import Redis

from community import geo, hours
from craftsman_directory.search import WIDER_RADII_M, fit
from infra import keys
from places import index
from places.index import PlaceCard
from places.kinds import name as kind_name

SHOWN = 5
MAX_RESULTS = 20
RESULTS_TTL = 30 * 60
RESULTS = "place_results"  # scratch name of the last list, per conversation


class PlaceFound(NamedTuple):
    card: PlaceCard
    distance_m: float
    minutes: int
    state: int  # community.hours OPEN, UNKNOWN or CLOSED
    note: str  # 营业中 / 明天08:00开门 / 营业时间未登记


@dataclass(frozen=True)
class PlaceOutcome:
    kind: str
    found: list[PlaceFound]
    radius_m: float
    widened: bool


async def nearest(
    redis: Redis,
    kind: str,
    lat: float,
    lng: float,
    now: datetime,
    elderly: bool = False,
    limit: int = MAX_RESULTS,
) -> PlaceOutcome:
    """Within a 15-minute walk first, then wider circles until one is found; nearest first
    (the nearest is what a resident walks to: a closed one says when it opens)."""
    radii = (geo.walk_radius_m(elderly), *WIDER_RADII_M)
    hits: list[index.PlaceHit] = []
    radius = radii[0]
    for radius in radii:
        hits = await index.nearby(redis, kind, lat, lng, radius, limit=limit)
        if hits:
            break
    minute = now.replace(second=0, microsecond=0)
    found = [
        PlaceFound(card, dist, geo.walk_minutes(dist, elderly), *hours.state_at(card.hours, minute))
        for card, dist in hits
    ]
    return PlaceOutcome(kind, found, radius, widened=radius != radii[0])


def line(n: int, f: PlaceFound) -> str:
    phone = f" 电话{f.card.phone}" if f.card.phone else ""
    where = f"（{f.card.address}）" if f.card.address else ""
    return f"{n}. {f.card.name}{where}步行约{f.minutes}分钟 {f.note}{phone}"


def header(outcome: PlaceOutcome, elderly: bool) -> str:
    name = kind_name(outcome.kind)
    if not outcome.found:
        return f"抱歉，附近10公里内还没有登记的{name}。"
    if outcome.widened:
        walk = int(geo.walk_radius_m(elderly))
        return f"步行15分钟（约{walk}米）内没有{name}，最近的在{outcome.radius_m / 1000:g}公里内："
    return f"离您最近的{name}（按步行时间）："


FOOTER = "想问营业时间或电话，回复如“第一个几点关门”。"


def remember(state: Any, conv: str, outcome: PlaceOutcome, head: str) -> str:
    """Keep the shown list for follow-ups (written with the answer); returns the reply."""
    shown = outcome.found[:SHOWN]
    kept = {"kind": outcome.kind, "ids": [f.card.id for f in shown]}
    state.set_later(keys.scratch(conv, RESULTS), json.dumps(kept, ensure_ascii=False), RESULTS_TTL)
    return fit([head, *(line(i + 1, f) for i, f in enumerate(shown)), FOOTER])


async def last_results(redis: Any, conv: str) -> list[PlaceCard | None] | None:
    """The cards of the conversation's last place list (None when there is none)."""
    raw = await redis.get(keys.scratch(conv, RESULTS))
    if not raw:
        return None
    return await index.cards(redis, json.loads(raw)["ids"])


def hours_answer(card: PlaceCard, now: datetime, asked: str) -> str:
    """'几点关门' / '几点开门' / '营业时间' about one place, in one sentence."""
    oh = hours.cached(card.hours)
    if oh is None:
        return f"{card.name}没有登记营业时间" + (
            f"，可以打电话问：{card.phone}。" if card.phone else "。"
        )
    week = f"（营业时间：{hours.in_words(card.hours)}）"
    if oh.is_open(now):
        closes = oh.closes_at(now)
        if closes is None:
            return f"{card.name}24小时营业。"
        day = "" if closes.date() == now.date() else "明天"
        return f"{card.name}现在营业，{day}{closes:%H:%M}关门{week}。"
    nxt = oh.next_opening(now)
    when = hours.describe_opening(nxt, now) if nxt else "暂不营业"
    return f"{card.name}现在没开门，{when}{week}。"
