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
from community.numerals import cn_number
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
MENU_COMMAND = _COMMAND  # how a menu post starts: the router's cheap test (bot.router.gated)
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


def menu_post(draft: MenuDraft) -> str:
    """The draft written back as a menu post ("发布菜单 12月2日午餐", one line per kind):
    `parse_menu` reads it back to the same draft, so staff can edit it as text (the console)."""
    lines = [f"发布菜单 {draft.date.month}月{draft.date.day}日{MEAL_NAMES[draft.meal]}"]
    for kind, label in KIND_NAMES.items():
        names = [d.name for d in draft.dishes if d.kind == kind]
        if names:
            lines.append(f"{label}：{'、'.join(names)}")
    if draft.price_cents is not None:
        lines.append(yuan(draft.price_cents))
    return "\n".join(lines)


# Edits said to a draft before it is confirmed: "红烧肉换成红烧鸡腿", "去掉拍黄瓜",
# "加 汤：冬瓜汤", "价格12元"; a meal in front ("晚餐加青菜") picks the draft among several.
_MEAL_FRONT = re.compile(r"^(早餐|早饭|午餐|午饭|中午|晚餐|晚饭|晚上)的?\s*")
_RENAME = re.compile(r"^把?\s*+(.{1,20}?)\s*+(?:换成|改成|改为|换为|换)\s*+(.{1,20})$")
_REMOVE = re.compile(r"^(?:去掉|删掉|删除|删去|不要|拿掉|去除)\s*(.{1,60})$")
_ADD = re.compile(r"^(?:加上|添加|增加|再加|加)\s*(?:一[个道份样]\s*)?(.{1,80})$")
# An edit said as a correction ("不对 价格是12元", "哦对了 去掉拍黄瓜"): the marker goes first.
_CORRECTING = re.compile(r"^(?:不对|错了|说错了|写错了|哦对了|对了|嗯)[，,。\s]*+")
# "十二块", "两元", "价格改成十二": a price said in Chinese numerals
_CN_YUAN = re.compile(
    r"([零一二两三四五六七八九十]{1,3})(?=\s*(?:元|块))"
    r"|(?<=价格|价钱|单价)(?:\s*+(?:应该是|改成|改为|换成|是|为|改))?\s*+([零一二两三四五六七八九十]{1,3})$"
)
_NEW_PRICE = re.compile(
    r"^(?:(?:价格|价钱|单价|改价)\s*(?:应该是|改成|改为|换成|是|为|改)?\s*[:：]?\s*[￥¥]?\s*(\d+(?:\.\d{1,2})?)"
    r"\s*(?:元|块)?|[￥¥]?\s*(\d+(?:\.\d{1,2})?)\s*(?:元|块))钱?$"
)


class DraftEditError(ValueError):
    """An edit that cannot be applied, in words staff understand."""


def _names(text: str) -> list[str]:
    return [n.strip() for n in _SPLIT.split(_NOISE.sub("", text)) if n.strip()]


def _numeral_as_digits(m: re.Match[str]) -> str:
    if m.group(1):
        return str(cn_number(m.group(1)) or m.group(1))
    said = m.group(0)
    return said[: len(said) - len(m.group(2))] + str(cn_number(m.group(2)) or m.group(2))


def _dish_named(drafts: list[MenuDraft], name: str) -> list[Dish]:
    """The dishes `name` means: its exact name; else the one dish whose name holds it ("黄瓜"
    for 拍黄瓜); else the one dish of a kind named ("汤" when there is one soup). [] if none or
    unsure."""
    dishes = [x for d in drafts for x in d.dishes]
    exact = [x for x in dishes if x.name == name]
    if exact:
        return exact
    holding = [x for x in dishes if name in x.name]
    if len({x.name for x in holding}) == 1:
        return holding
    kind = _header(name) if len(name) <= 2 else None
    of_kind = [x for x in dishes if kind is not None and x.kind == kind]
    return of_kind if len({x.name for x in of_kind}) == 1 else []


def edit_drafts(drafts: list[MenuDraft], text: str) -> str | None:
    """Apply one edit said in words to the drafts (changed in place) and say what changed;
    None when `text` is no edit. DraftEditError when it is one that cannot apply."""
    text = _CORRECTING.sub("", text.strip(), count=1)
    text = _CN_YUAN.sub(_numeral_as_digits, text)
    meal = None
    front = _MEAL_FRONT.match(text)
    if front:
        meal = extract_meal(front.group(1))
        text = text[front.end() :]
    chosen = [d for d in drafts if meal is None or d.meal.value == meal]
    if not chosen:
        raise DraftEditError("草稿里没有这一餐。")
    if price := _NEW_PRICE.match(text):
        if len(chosen) > 1:
            raise DraftEditError("改哪一餐的价格？比如“午餐价格12元”。")
        chosen[0].price_cents = round(float(price.group(1) or price.group(2)) * 100)
        return f"价格改成{yuan(chosen[0].price_cents)}"
    if removed := _REMOVE.match(text):
        said = _names(removed.group(1))
        gone = [x.name for n in said for x in _dish_named(chosen, n)] or said
        hit = False
        for d in chosen:
            before = len(d.dishes)
            d.dishes = [x for x in d.dishes if x.name not in gone]
            hit = hit or len(d.dishes) != before
        if not hit:
            raise DraftEditError(f"菜单里没有{'、'.join(gone)}。")
        if any(not d.dishes for d in chosen):
            raise DraftEditError("菜都去掉了就没有菜单了。要改就说“把A换成B”。")
        return f"去掉了{'、'.join(gone)}"
    if added := _ADD.match(text):
        body = added.group(1)
        kind = DishKind.HOT
        labelled = _LABELLED.match(body)
        if labelled and _header(labelled.group(1)):
            kind = _header(labelled.group(1)) or kind
            body = labelled.group(2)
        else:
            first, _, rest = body.partition(" ")
            if rest and _header(first):
                kind, body = _header(first) or kind, rest
        new = _names(body)
        if not new or any(len(n) > 20 for n in new):
            raise DraftEditError("没看清加什么菜。比如“加 热菜：青椒肉丝”。")
        if len(chosen) > 1:
            raise DraftEditError("加到哪一餐？比如“午餐加 热菜：青椒肉丝”。")
        d = chosen[0]
        d.dishes += [Dish(n, kind) for n in new if all(n != x.name for x in d.dishes)]
        if len(d.dishes) > MAX_DISHES:
            raise DraftEditError(f"菜太多了，一次最多{MAX_DISHES}道。")
        return f"加了{KIND_NAMES[kind]}{'、'.join(new)}"
    if renamed := _RENAME.match(text):
        old, new_name = renamed.group(1).strip(), renamed.group(2).strip()
        if not new_name or len(new_name) > 20:
            raise DraftEditError("新菜名太长了，请用顿号分开菜名。")
        meant = _dish_named(chosen, old)
        old = meant[0].name if meant else old
        hit = False
        for d in chosen:
            for i, x in enumerate(d.dishes):
                if x.name == old:
                    d.dishes[i] = Dish(new_name, x.kind)
                    hit = True
        if not hit:
            raise DraftEditError(f"菜单里没有{old}。")
        return f"{old}换成了{new_name}"
    return None
