"""Find craftsmen: category + location → approved ones within a 15-minute walk, open-now first.

Nobody within reach → widen to 3 km, then 10 km, and say so. Replies fit WeChat's text limit
(about 2048 bytes); the full ordered list is kept in Redis for "更多" and for 评价/投诉 N.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import Any, NamedTuple

from redis.asyncio import Redis

from bot.context import StateView
from community import geo, hours
from craftsman_directory.index import Card, Hit, cards, nearby
from craftsman_directory.service import category_name
from infra import jsontext, keys
from wechat_api import REPLY_MAX_BYTES

PAGE_SIZE = 5
WIDER_RADII_M = (3000.0, 10000.0)
MAX_RESULTS = 50
RESULTS_TTL = 30 * 60

# Open-now states and their cached assessment are shared with the places (community.hours).
OPEN, UNKNOWN, CLOSED = hours.OPEN, hours.UNKNOWN, hours.CLOSED
_state = hours.state_at


class Found(NamedTuple):  # a tuple: a search builds up to MAX_RESULTS of them per message
    card: Card
    distance_m: float
    minutes: int
    state: int  # OPEN, UNKNOWN or CLOSED
    note: str  # 营业中 / 今天14:00开门 / 营业时间未登记


_STATE = itemgetter(3)  # Found.state, for sorting without a lambda call per result
_found = partial(tuple.__new__, Found)  # Found((...)) without NamedTuple's Python __new__


@dataclass(frozen=True)
class Outcome:
    category: str
    found: list[Found]
    radius_m: float
    widened: bool


def _assess(hits: list[Hit], now: datetime, elderly: bool) -> list[Found]:
    minute = now.replace(second=0, microsecond=0)
    speed = geo.walk_speed(elderly)
    states: dict[str, tuple[int, str]] = {}
    found: list[Found] = []
    add = found.append
    for card, distance in hits:  # up to MAX_RESULTS a message: kept to the least work
        text = card.hours
        if (state := states.get(text)) is None:
            state = states[text] = _state(text, minute)
        add(_found((card, distance, _walk_minutes(distance, speed), state[0], state[1])))
    return found


def _walk_minutes(distance_m: float, speed: float) -> int:
    """geo.walk_minutes at a pace looked up once per search (tests hold the two equal)."""
    return max(1, int(distance_m / speed + 0.5))


async def search(
    redis: Redis, category: str, lat: float, lng: float, now: datetime, elderly: bool = False
) -> Outcome:
    """Within a 15-minute walk first; then wider circles until someone is found."""
    radii = (geo.walk_radius_m(elderly), *WIDER_RADII_M)
    hits = []
    radius = radii[0]
    today = now.date().isoformat()
    for radius in radii:
        hits = await nearby(redis, category, lat, lng, radius, limit=MAX_RESULTS)
        # A craftsman resting until a date (paused_until) is not offered before it.
        hits = [h for h in hits if h.card.away_until <= today]
        if hits:
            break
    found = _assess(hits, now, elderly)
    # Open now first, then unknown hours, then closed; nearest first within each (stable sort).
    found.sort(key=_STATE)
    return Outcome(category, found, radius, widened=radius != radii[0])


def line(n: int, card: Card, minutes: int, note: str, category: str = "") -> str:
    """One result; the trade shown is the one asked for ("找个保姆": 李阿姨 under 家政, not the
    first trade she registered)."""
    extra = ""
    if card.rating_count:
        extra += f" {card.rating_avg:.1f}分"
    if card.home_visits:
        extra += " 可上门"
    shown = category if category in card.categories else (card.categories or [""])[0]
    trade = category_name(shown) if shown else ""
    return f"{n}. {card.name}（{trade}）步行约{minutes}分钟 电话{card.phone} {note}{extra}"


def header(outcome: Outcome, elderly: bool) -> str:
    name = category_name(outcome.category)
    if not outcome.found:
        return f"抱歉，附近10公里内还没有登记的{name}师傅。"
    if outcome.widened:
        walk = int(geo.walk_radius_m(elderly))
        km = outcome.radius_m / 1000
        return f"步行15分钟（约{walk}米）内没有{name}师傅，已扩大到{km:g}公里："
    return f"附近的{name}师傅（步行15分钟内）："


FOOTER_MORE = "回复“更多”看下一页。"
FOOTER_ACTIONS = "评价：回复“评价 序号 5 很好”；投诉：“投诉 序号 原因”。"


def fit(lines: list[str], limit: int = REPLY_MAX_BYTES) -> str:
    """Join lines, dropping whole lines from the end of the list part until it fits."""
    text = "\n".join(lines)
    while len(text.encode()) > limit and len(lines) > 1:
        lines = lines[:-2] + lines[-1:]  # keep the footer, drop the last result
        text = "\n".join(lines)
    return text


def remember(state_view: StateView, user: str, outcome: Outcome, head: str) -> str:
    """Keep the whole ordered list for "更多" and 评价/投诉 N; returns its first page.

    Only the order, walking minutes and open/closed notes are kept: each page's lines are
    written when that page is shown (most residents never ask for a second page). The list
    is written with the answer (`set_later`): only the resident's next messages read it.
    """
    found = outcome.found
    state = {
        "head": head,
        "ids": [f.card.id for f in found],
        "minutes": [f.minutes for f in found],
        "notes": [f.note for f in found],
        "page": 0,
        "category": outcome.category,
    }
    state_view.set_later(keys.scratch(user, "dir_results"), jsontext.dumps(state), RESULTS_TTL)
    shown = [
        line(i + 1, f.card, f.minutes, f.note, outcome.category)
        for i, f in enumerate(found[:PAGE_SIZE])
    ]
    return _render(state, shown)


FOUND_TTL = 62 * 24 * 3600  # this month's and last month's tallies


def tally(state_view: StateView, outcome: Outcome, now: datetime) -> None:
    """Count each craftsman shown on the first page as found once (我的数据), with the answer."""
    key = keys.directory_found(f"{now:%Y-%m}")
    for f in outcome.found[:PAGE_SIZE]:
        state_view.count_later(key, str(f.card.id), FOUND_TTL)


def _render(state: dict[str, Any], shown: list[str]) -> str:
    """The page `state` points at, given its result lines."""
    start = state["page"] * PAGE_SIZE
    more = start + PAGE_SIZE < len(state["ids"])
    head = state["head"] if state["page"] == 0 else f"第{state['page'] + 1}页："
    return fit([head, *shown, (FOOTER_MORE if more else "") + FOOTER_ACTIONS])


async def _page_lines(redis: Redis, state: dict[str, Any]) -> list[str]:
    start = state["page"] * PAGE_SIZE
    ids = state["ids"][start : start + PAGE_SIZE]
    out = []
    for offset, card in enumerate(await cards(redis, ids)):
        n = start + offset
        if card is None:  # suspended or removed since the search
            out.append(f"{n + 1}. （这位师傅已暂停接单）")
        else:
            out.append(
                line(n + 1, card, state["minutes"][n], state["notes"][n], state.get("category", ""))
            )
    return out


async def page(redis: Redis, user: str, advance: bool) -> str | None:
    """The current page (or the next one with `advance`); None when no results are kept."""
    raw = await redis.get(keys.scratch(user, "dir_results"))
    if not raw:
        return None
    state = jsontext.loads(raw)
    if advance:
        state["page"] += 1
    if state["page"] * PAGE_SIZE >= len(state["ids"]):
        return "没有更多了。换个行当试试，比如“找修鞋的”。"
    text = _render(state, await _page_lines(redis, state))
    if advance:
        await redis.set(keys.scratch(user, "dir_results"), jsontext.dumps(state), keepttl=True)
    return text


async def result_id(redis: Redis, user: str, n: int) -> int | None:
    """The craftsman behind number `n` of the user's last result list."""
    raw = await redis.get(keys.scratch(user, "dir_results"))
    if not raw:
        return None
    ids = jsontext.loads(raw)["ids"]
    return ids[n - 1] if 1 <= n <= len(ids) else None
