"""The place kinds of ../shared/eval/LABELS.md, with the Chinese name, the words staff and
spreadsheets use for them, and the colour and marker shape each kind has on the map page and
the poster (one pair per kind, as on the printed 布点图 communities hang up)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from community.errors import DomainError


@dataclass(frozen=True)
class Kind:
    id: str
    name: str  # 药店
    colour: str  # #2b8a3e
    shape: str  # one of SHAPES
    aliases: tuple[str, ...] = ()


# In LABELS.md's order, which is also the legend's.
_KINDS = (
    Kind(
        "elder_care", "养老服务", "#e8590c", "circle", ("养老", "日间照料中心", "养老驿站", "助老")
    ),
    Kind(
        "health", "医疗", "#c92a2a", "cross", ("卫生服务站", "卫生室", "社区医院", "诊所", "医院")
    ),
    Kind("pharmacy", "药店", "#2b8a3e", "cross", ("药房", "大药房")),
    Kind("market", "菜市场", "#5c940d", "square", ("菜场", "菜店", "农贸市场")),
    Kind("shop", "超市便利店", "#1971c2", "square", ("超市", "便利店", "小卖部")),
    Kind("breakfast", "早餐", "#f08c00", "triangle", ("早餐店", "早点")),
    Kind("express", "快递驿站", "#7048e8", "diamond", ("快递", "菜鸟驿站", "丰巢", "快递柜")),
    Kind("canteen", "食堂", "#d6336c", "triangle_down", ("社区食堂", "助餐点", "长者食堂")),
    Kind("charging", "充电", "#0c8599", "hexagon", ("充电桩", "充电站", "电动车充电")),
    Kind("rider_station", "暖新驿站", "#e67700", "pentagon", ("骑手驿站", "暖心驿站", "户外驿站")),
    Kind(
        "culture_sports", "文体", "#9c36b5", "star", ("文体活动", "图书馆", "书屋", "健身", "公园")
    ),
    Kind("service_hall", "便民服务", "#a61e4d", "star", ("党群服务中心", "便民服务站", "服务大厅")),
    Kind("toilet", "公厕", "#495057", "circle_hollow", ("厕所", "卫生间", "洗手间")),
)

KINDS: dict[str, Kind] = {k.id: k for k in _KINDS}
IDS: tuple[str, ...] = tuple(KINDS)
SHAPES = ("circle", "circle_hollow", "square", "triangle", "triangle_down", "diamond", "cross",
          "pentagon", "hexagon", "star")  # fmt: skip

_WORDS: dict[str, str] = {}
for _k in _KINDS:
    for _w in (_k.id, _k.name, *_k.aliases):
        _WORDS[_w.lower()] = _k.id


class KindError(DomainError):
    """Not a place kind; the message lists the kinds."""


def words_for_kinds() -> list[str]:
    """Every Chinese word that names a kind (药房, 菜鸟驿站, ...)."""
    return [w for w in _WORDS if not w.isascii()]


def name(kind: str) -> str:
    return KINDS[kind].name if kind in KINDS else kind


def parse_kind(text: str) -> str:
    """'pharmacy' / '药店' / '菜鸟驿站' → the kind id; raises KindError."""
    typed = text.strip().lower()
    if typed in _WORDS:
        return _WORDS[typed]
    for word, kind in sorted(_WORDS.items(), key=lambda kv: -len(kv[0])):
        if len(word) >= 2 and word in typed:  # "XX大药房" → pharmacy
            return kind
    names = "、".join(k.name for k in _KINDS)
    raise KindError(f"“{text.strip()[:20]}”不是服务点类型，可以是：{names}")


def outline(shape: str) -> list[tuple[float, float]]:
    """The marker's polygon around (0, 0) within radius 1, y pointing down (screen and image
    coordinates); empty for the round shapes, drawn as circles. The map page's script and the
    poster draw these same points, so both show the same marker."""
    if shape in ("circle", "circle_hollow"):
        return []
    if shape == "square":
        s = 0.8
        return [(-s, -s), (s, -s), (s, s), (-s, s)]
    if shape == "diamond":
        return [(0, -1), (1, 0), (0, 1), (-1, 0)]
    if shape == "cross":
        a, b = 0.33, 0.95
        return [(-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a), (a, b), (-a, b), (-a, a),
                (-b, a), (-b, -a), (-a, -a)]  # fmt: skip
    if shape == "triangle":
        return [(0, -1), (0.95, 0.75), (-0.95, 0.75)]
    if shape == "triangle_down":
        return [(0, 1), (0.95, -0.75), (-0.95, -0.75)]
    if shape in ("pentagon", "hexagon"):
        n = 5 if shape == "pentagon" else 6
        return _ring(n, 1.0)
    if shape == "star":
        outer, inner = _ring(5, 1.05), _ring(5, 0.45, offset=math.pi / 5)
        return [p for pair in zip(outer, inner, strict=True) for p in pair]
    raise ValueError(shape)


def _ring(n: int, r: float, offset: float = 0.0) -> list[tuple[float, float]]:
    return [
        (
            round(r * math.sin(2 * math.pi * i / n + offset), 4),
            round(-r * math.cos(2 * math.pi * i / n + offset), 4),
        )
        for i in range(n)
    ]


def legend() -> list[dict[str, object]]:
    """Every kind with its name, colour and marker, in the legend's order (for the page)."""
    return [
        {
            "id": k.id,
            "name": k.name,
            "colour": k.colour,
            "shape": k.shape,
            "outline": outline(k.shape),
        }
        for k in _KINDS
    ]
