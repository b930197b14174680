"""Read a menu pasted the way canteen staff already post it to their groups:

发布菜单 明天午餐
凉菜：拍黄瓜、凉拌木耳
热菜：红烧肉、西红柿炒鸡蛋…
汤：紫菜蛋花汤
主食：米饭、花卷
10元
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from bot.nlu.slots import extract_dates, extract_meal
from models.canteen import MEAL_NAMES, DishKind, Meal

KIND_NAMES = {
    DishKind.COLD: "凉菜",
    DishKind.HOT: "热菜",
    DishKind.SOUP: "汤",
    DishKind.STAPLE: "主食",
    DishKind.OTHER: "其他",
}
# Section headers staff use, longest first so 汤品 wins over 汤.
_HEADERS: list[tuple[str, DishKind]] = sorted(
    [
        ("凉菜", DishKind.COLD),
        ("冷菜", DishKind.COLD),
        ("小菜", DishKind.COLD),
        ("凉拌", DishKind.COLD),
        ("热菜", DishKind.HOT),
        ("荤菜", DishKind.HOT),
        ("素菜", DishKind.HOT),
        ("炒菜", DishKind.HOT),
        ("大荤", DishKind.HOT),
        ("小荤", DishKind.HOT),
        ("菜品", DishKind.HOT),
        ("汤品", DishKind.SOUP),
        ("例汤", DishKind.SOUP),
        ("汤", DishKind.SOUP),
        ("主食", DishKind.STAPLE),
        ("面点", DishKind.STAPLE),
        ("点心", DishKind.STAPLE),
        ("水果", DishKind.OTHER),
        ("饮品", DishKind.OTHER),
    ],
    key=lambda h: -len(h[0]),
)
# Possessive spaces (`\s*+`) and digit runs tried from their start only (`(?<!\d)`): these
# run on every message (is_menu_post) and were quadratic in a run of spaces or digits.
_COMMAND = re.compile(r"^\s*+(?:(发布|更新|更正|修改)\s*+)?(菜单|菜谱|食谱)")
_SPLIT = re.compile(r"[、，,；;/|\s]+")
_PRICE = re.compile(r"(?:[￥¥]\s*(\d+(?:\.\d{1,2})?))|(?<!\d)(\d+(?:\.\d{1,2})?)\s*(?:元|块)")
_NUMBERING = re.compile(r"^(?:\d+[.、)）]|[①-⑳]|[-*•·])\s*")
_NOISE = re.compile(r"[…。.！!~～\u2600-\u27bf\U0001F000-\U0001FAFF\ufe0f]+")
MAX_DISHES = 40
# "发布菜单 明天午餐 热菜：红烧肉、青菜 汤：紫菜蛋花汤 10元": a break before each "label："
# and before a trailing price. Each run of spaces is tried once, from its start (it was cubic:
# 2000 spaces took 54 s).
_ONE_LINE_BREAKS = re.compile(
    r"(?<!\s)\s++(?=[\u4e00-\u9fa5]{1,4}\s*[:：])"
    r"|(?<!\s)\s++(?=[￥¥]?\s*\d+(?:\.\d{1,2})?\s*(?:元|块)?\s*$)"
)
_LABELLED = re.compile(r"^(.{1,6}?)\s*[:：]\s*(.*)$")


def _header(label: str) -> DishKind | None:
    label = label.strip()
    if len(label) > 4:
        return None
    return next((kind for name, kind in _HEADERS if name in label), None)


class MenuParseError(ValueError):
    """What is missing or wrong, in words staff understand."""


@dataclass(frozen=True)
class Dish:
    name: str
    kind: DishKind


@dataclass
class MenuDraft:
    date: dt.date
    meal: Meal
    dishes: list[Dish] = field(default_factory=list)
    price_cents: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "date": self.date.isoformat(),
            "meal": self.meal.value,
            "dishes": [{"name": d.name, "kind": d.kind.value} for d in self.dishes],
            "price_cents": self.price_cents,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MenuDraft:
        """The draft `to_json` stored (JSON: dishes a list of {"name", "kind"})."""
        dishes = [Dish(str(d["name"]), DishKind(d["kind"])) for d in data["dishes"]]
        return cls(
            date=dt.date.fromisoformat(str(data["date"])),
            meal=Meal(str(data["meal"])),
            dishes=dishes,
            price_cents=data.get("price_cents"),
        )


def is_menu_post(text: str) -> bool:
    """A staff message that publishes a menu starts with 发布菜单 (or 更新/更正菜单)."""
    return bool(_COMMAND.match(text)) and ("\n" in text.strip() or "：" in text or ":" in text)


def _price(text: str) -> int | None:
    m = _PRICE.search(text)
    if not m:
        return None
    return round(float(m.group(1) or m.group(2)) * 100)


def parse_menu(text: str, today: dt.date) -> MenuDraft:
    text = text.replace("\r", "")
    if "\n" not in text.strip():  # all on one line (a terminal, a short post): split at labels
        text = _ONE_LINE_BREAKS.sub("\n", text)
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if not lines:
        raise MenuParseError("菜单是空的。")
    header = _COMMAND.sub("", lines[0]) if _COMMAND.match(lines[0]) else ""
    body = lines[1:] if _COMMAND.match(lines[0]) else lines
    # Date and meal may sit on the first line or anywhere in the post ("明天午餐").
    where = header or " ".join(lines[:2])
    dates = extract_dates(where, today)
    date = dt.date.fromisoformat(dates["date"]) if dates.get("date") else today
    meal_name = extract_meal(where) or extract_meal(text)
    if meal_name is None:
        raise MenuParseError("没看出是哪一餐。请在第一行写明，比如“发布菜单 明天午餐”。")
    meal = Meal(meal_name)

    dishes: list[Dish] = []
    price: int | None = None
    kind = DishKind.HOT
    for raw in body:
        line = _NOISE.sub("", _NUMBERING.sub("", raw)).strip()
        if not line:
            continue
        labelled = _LABELLED.match(line)
        if not labelled and len(line) <= 8 and extract_meal(line):
            continue  # the "今天午餐" line when it was not on the command line
        if labelled:
            head, line = labelled.groups()
            if "价" in head:
                price = _price(line)
                continue
            kind = _header(head) or kind
        elif _price(line) is not None and len(_PRICE.sub("", line).strip(" 每份位人/")) <= 3:
            price = _price(line)  # a line like "10元" or "￥10/位"
            continue
        else:
            first, _, rest = line.partition(" ")
            if rest and _header(first):  # "热菜 红烧肉 青菜"
                kind = _header(first) or kind
                line = rest
        for name in _SPLIT.split(line):
            name = name.strip()
            if name and not any(name == d.name for d in dishes):
                if len(name) > 20:
                    raise MenuParseError(f"“{name[:10]}…”不像一道菜名，请用顿号分开菜名。")
                dishes.append(Dish(name, kind))
    if not dishes:
        raise MenuParseError("没看到菜名。请每类一行，比如“热菜：红烧肉、西红柿炒鸡蛋”。")
    if len(dishes) > MAX_DISHES:
        raise MenuParseError(f"菜太多了（{len(dishes)}道），一次最多{MAX_DISHES}道。")
    return MenuDraft(date=date, meal=meal, dishes=dishes, price_cents=price)


def yuan(cents: int) -> str:
    return f"{cents / 100:g}元"


def render_menu(canteen_name: str, draft: MenuDraft, weekday_names: str = "一二三四五六日") -> str:
    """The menu as residents read it (plain lines, grouped by kind)."""
    day = f"{draft.date.month}月{draft.date.day}日（周{weekday_names[draft.date.weekday()]}）"
    lines = [f"{canteen_name} {day}{MEAL_NAMES[draft.meal]}"]
    for kind, label in KIND_NAMES.items():
        names = [d.name for d in draft.dishes if d.kind == kind]
        if names:
            lines.append(f"{label}：{'、'.join(names)}")
    if draft.price_cents is not None:
        lines.append(f"价格：{yuan(draft.price_cents)}")
    return "\n".join(lines)
