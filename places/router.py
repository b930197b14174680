"""Chat flows of the places: "附近有药店吗", "哪里能给电动车充电", "社区医院几点开门", then
follow-ups about the list ("第一个几点关门", "第二个电话多少"), and "生活圈地图" for the map page.

The location comes as for craftsman searches: the last one sent, else the resident's compound,
else the search waits for it (the same pending-location flow, its own action).
"""

from __future__ import annotations

import re

from bot.context import Context
from bot.messages import Kind
from bot.nearby import NearbySearch
from bot.router import HandlerResult, Router, gate, intent, said, words
from community import geo
from craftsman_directory import service as directory_service
from infra import keys
from places import search
from places.index import PlaceCard
from places.kinds import KINDS, words_for_kinds

router = Router("places")
KIND_WORDS = sorted(words_for_kinds(), key=len, reverse=True)  # longest first: 大药房 before 药房

SEARCH_ACTION = "places.search"
CRAFTSMAN_RESULTS = "dir_results"  # the directory's last list (craftsman_directory.search)
ASK_KIND = (
    "您要找哪一类地方？比如药店、社区卫生服务站、菜市场、超市、快递驿站、电动车充电、公厕、"
    "党群服务中心。"
)
MAP_WORDS = ("地图", "生活圈地图", "便民地图", "布点图", "15分钟生活圈", "十五分钟生活圈", "生活圈")


def map_url(ctx: Context) -> str:
    settings = ctx.services.settings
    return (settings.base_url if settings else "http://127.0.0.1:8080") + "/map/"


# ---- searching -------------------------------------------------------------------------------


async def _answer(ctx: Context, kind: str, lat: float, lng: float) -> str:
    if not geo.on_map(lat, lng):
        return "这个位置不在地图范围内，请重新发送您的位置。"
    elderly = await directory_service.walks_slowly(ctx.redis, ctx.user)
    outcome = await search.nearest(ctx.redis, kind, lat, lng, ctx.now(), elderly)
    head = search.header(outcome, elderly)
    if not outcome.found:
        await ctx.redis.delete(keys.scratch(ctx.conv, search.RESULTS))
        return head + f"全部服务点见地图：{map_url(ctx)}"
    # Follow-ups ("第一个几点关门", "评价 1 5") are about the list shown last: the craftsman list
    # goes, so the dialogue's craftsman follow-ups do not answer about an older list.
    await ctx.redis.delete(keys.scratch(ctx.conv, CRAFTSMAN_RESULTS))
    return search.remember(ctx.state, ctx.conv, outcome, head)


# The location it needs: the last one sent, the resident's compound, or the question.
nearby = NearbySearch(router, SEARCH_ACTION, "kind", _answer, directory_service.compound_location)
find = nearby.find


# ---- follow-ups about the last list ------------------------------------------------------------

_ORDINAL = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_WHICH = re.compile(r"第\s*([1-5一二两三四五])\s*[个家处]?|([1-5])\s*号")
_HOURS_Q = re.compile(
    r"几点(关门|下班|结束|打烊|开门|上班|营业)|开到几点|营业时间|开门时间|还开着|开门吗|关门了吗"
)
_PHONE_Q = re.compile(r"电话|号码|怎么联系")
_WHERE_Q = re.compile(r"在哪|地址|怎么走|位置")
_NEAREST = re.compile(r"最近的?那?[个家]|这[个家]|那[个家]")
# The first one, said the northern way: "头一个", "头一家", "打头那个".
_FIRST = re.compile(r"头一?[个家处]|打头的?那?[个家]?")


# Any of `_question`'s questions, in one search: a cheap test for routing (bot.router.gated).
_ASKED = re.compile("|".join(f"(?:{p.pattern})" for p in (_HOURS_Q, _PHONE_Q, _WHERE_Q)))


def _question(text: str) -> str | None:
    if _HOURS_Q.search(text):
        return "hours"
    if _PHONE_Q.search(text):
        return "phone"
    if _WHERE_Q.search(text):
        return "where"
    return None


def _pick(text: str, cards: list[PlaceCard | None]) -> int | None:
    """Which of the listed places the question is about: "第二个", "2号", a name, "最近的"."""
    m = _WHICH.search(text)
    if m:
        raw = m.group(1) or m.group(2)
        n = int(raw) if raw.isdigit() else _ORDINAL[raw]
        return n - 1 if n <= len(cards) else None
    if _FIRST.search(text):
        return 0
    for i, card in enumerate(cards):
        if card is not None and (card.name in text or _short(card.name) in text):
            return i
    if _NEAREST.search(text):
        return 0
    return None


def _short(name: str) -> str:
    """'仁心大药房' is asked about as '仁心': the name without its bracket and kind word."""
    short = re.split(r"[（(]", name)[0]
    for word in KIND_WORDS:
        if short.endswith(word) and len(short) - len(word) >= 2:
            return short[: -len(word)]
    return short


@gate(kinds=[Kind.TEXT], test=_ASKED.search)
async def _follow_up(ctx: Context) -> bool:
    if ctx.msg.kind is not Kind.TEXT or _question(said(ctx)) is None:
        return False
    if await ctx.redis.exists(keys.scratch(ctx.conv, CRAFTSMAN_RESULTS)):
        return False  # craftsmen were listed after the places: the question is about them
    cards = await search.last_results(ctx.redis, ctx.conv)
    return bool(cards) and _pick(said(ctx), cards) is not None  # type: ignore[arg-type]


@router.message(_follow_up)
async def follow_up(ctx: Context) -> HandlerResult:
    """ "第一个几点关门", "仁心几点开门", "第二个电话": about a place of the last list."""
    text = said(ctx)
    cards = await search.last_results(ctx.redis, ctx.conv)
    assert cards
    i = _pick(text, cards)
    assert i is not None
    card = cards[i]
    if card is None:
        return "这个服务点的信息正在核实，暂时不显示。"
    asked = _question(text)
    if asked == "phone":
        return f"{card.name}的电话：{card.phone}。" if card.phone else f"{card.name}没有登记电话。"
    if asked == "where":
        return f"{card.name}在{card.address or '（地址未登记）'}。地图：{map_url(ctx)}"
    return search.hours_answer(card, ctx.now(), text)


# ---- the map page ------------------------------------------------------------------------------


@router.message(words(*MAP_WORDS))
async def map_link(ctx: Context) -> HandlerResult:
    """ "生活圈地图": the link to the map page (WeChat shows it as a tappable link)."""
    settings = ctx.services.settings
    name = settings.community_name if settings else "社区"
    what = "药店、菜场、快递、充电、公厕等，按步行时间排"
    return f"{name}15分钟便民生活圈地图（{what}）：{map_url(ctx)}"


@router.message(intent("find_place"))
async def find_place(ctx: Context) -> HandlerResult:
    """ "附近有药店吗", "哪有公厕": the nearest places of that kind by walking time."""
    kind = getattr(ctx.nlu, "place", None)
    if kind not in KINDS:
        return ASK_KIND
    text = said(ctx)
    answer = await find(ctx, kind)
    if _HOURS_Q.search(text) and not answer.startswith(("请", "抱歉", "这个位置")):
        # "社区医院几点开门": the list already says open or when it opens; the nearest one's
        # hours in words go first.
        cards = await search.last_results(ctx.state, ctx.conv)
        if cards and cards[0] is not None:
            return [search.hours_answer(cards[0], ctx.now(), text), answer]
    return answer
