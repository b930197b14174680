"""接龙 (a group's numbered sign-up chain) as text: read one pasted from a chat, write one to post.

WeChat's native 接龙, copied from a group, looks like

    #接龙
    明天午餐送餐报名
    例 张三 3号楼2单元401 1份

    1. 王阿姨 3号楼2单元401 1份 少盐
    2、老李 5号楼 两份

Everything here is a single pass over characters or tokens (no regular expressions that could
backtrack: the text comes from anyone in a group), and a chain is capped at MAX_LINES entries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.nlu.slots import cn_number
from delivery.days import parse_days
from models.canteen import Meal

MAX_LINES = 200
MAX_CHARS = 20_000
MAX_NAME = 12
MAX_PORTIONS = 5  # as delivery.service.MAX_COUNT: portions per meal for one address

MARKER = "#接龙"
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# What may follow an entry's number: "1." "1、" "1)" "1：" "1 "
_NUMBER_ENDS = set(".．、。)）:： \t")
_SPLIT = set(" \t,，;；")
_EXAMPLE_STARTS = ("例", "示例", "格式", "举例", "参考")
_PORTION_UNITS = ("份", "个", "盒", "人份")
_BUILDING_MARKS = ("号楼", "栋", "幢", "座", "号", "楼")
_CN_NUM = set("零一二两三四五六七八九十")


class ChainError(ValueError):
    """The text cannot be read as a 接龙 at all (the reason is shown to staff)."""


@dataclass(frozen=True)
class Entry:
    """One numbered line. `problem` says why it cannot be booked as it is ("" when it can)."""

    number: int
    raw: str
    name: str = ""
    address: str = ""  # as written, without spaces: "3号楼2单元401" or "5号楼"
    building: str = ""  # "3"
    count: int = 1
    note: str = ""  # 少盐, 要软烂: kept as the recipient's diet
    problem: str = ""

    @property
    def key(self) -> str:
        """Who a line is about, across pastes: numbers shift when someone drops out, and an
        address may be completed later ("5号楼" → "5号楼1单元201"), so name and building."""
        return f"{self.name}|{self.building}"

    @property
    def public(self) -> str:
        """The line as a group may see it: name and building, never the room."""
        where = f"{self.building}号楼" if self.building else ""
        return " ".join(p for p in (self.name, where, f"{self.count}份") if p)


@dataclass
class Chain:
    title: str = ""
    day: dt.date | None = None
    meal: Meal | None = None
    entries: list[Entry] = field(default_factory=list)


def looks_like_chain(text: str) -> bool:
    """Worth reading as a 接龙: the marker, or 接龙 in the first line and a numbered line."""
    head = text.lstrip()[:40]
    if head.startswith(MARKER) or head.startswith("＃接龙"):
        return True
    first = head.split("\n", 1)[0]
    return "接龙" in first and any(_entry_start(line) for line in text.split("\n")[1:20])


def _entry_start(line: str) -> tuple[int, str] | None:
    """(number, rest) when `line` starts a numbered entry: 1-3 digits, then a separator."""
    s = line.strip().translate(_FULLWIDTH_DIGITS)
    i = 0
    while i < len(s) and i < 3 and s[i].isascii() and s[i].isdigit():
        i += 1
    if i == 0 or i >= len(s) or s[i] not in _NUMBER_ENDS:
        return None
    j = i
    while j < len(s) and s[j] in _NUMBER_ENDS:
        j += 1
    return int(s[:i]), s[j:].strip()


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    for ch in text:
        if ch in _SPLIT:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def _portions(token: str) -> int | None:
    """'1份' '两份' '2个' 'x2' '×2' → count; None when the token is not a count."""
    t = token.strip()
    if t[:1] in ("x", "X", "×", "*") and t[1:].isdigit() and len(t) <= 3:
        return int(t[1:])
    for unit in _PORTION_UNITS:
        if t.endswith(unit) and len(t) > len(unit):
            number = t[: -len(unit)]
            if len(number) <= 3:
                return cn_number(number)
    return None


def _building_of(token: str) -> tuple[int, int] | None:
    """Where the building number sits in `token`: (start, end of the mark), or None.

    One left-to-right scan: a run of digits (or Chinese numerals) followed by a building mark.
    """
    i, n = 0, len(token)
    while i < n:
        if token[i].isdigit() or token[i] in _CN_NUM:
            j = i
            while j < n and j - i < 4 and (token[j].isdigit() or token[j] in _CN_NUM):
                j += 1
            for mark in _BUILDING_MARKS:
                if token.startswith(mark, j):
                    return i, j + len(mark)
            i = j
        else:
            i += 1
    return None


def _split_name(first: str) -> tuple[str, str]:
    """'王阿姨3号楼401' (no space) → ('王阿姨', '3号楼401'); a plain name → (name, '')."""
    for i, ch in enumerate(first):
        if ch.isdigit():
            if _building_of(first[i:]) is None:
                return first, ""  # a name with a number in it ("住户1")
            return first[:i], first[i:]
    return first, ""


def parse_entry(number: int, rest: str) -> Entry:
    raw = rest
    tokens = _tokens(rest.translate(_FULLWIDTH_DIGITS))
    if not tokens:
        return Entry(number, raw, problem="这一行是空的")
    name, tail = _split_name(tokens[0])
    tokens = ([tail] if tail else []) + tokens[1:]
    if not name:
        return Entry(number, raw, problem="没写名字")
    if len(name) > MAX_NAME:
        return Entry(number, raw, name=name[:MAX_NAME], problem="名字太长")
    count: int | None = None
    address_parts: list[str] = []
    notes: list[str] = []
    for tok in tokens:
        n = _portions(tok)
        if n is not None and count is None:
            count = n
        elif (address_parts and not notes and any(c.isdigit() for c in tok)) or (
            not address_parts and _building_of(tok) is not None
        ):
            address_parts.append(tok)  # "3号楼 2单元 401" written with spaces
        else:
            notes.append(tok)
    count = 1 if count is None else count  # a line without a count means one portion
    address = "".join(address_parts)[:64]
    where = _building_of(address) if address else None
    building = ""
    if where is not None:
        digits = address[where[0] : where[1]]
        k = 0
        while k < len(digits) and (digits[k].isdigit() or digits[k] in _CN_NUM):
            k += 1
        value = cn_number(digits[:k])
        building = str(value) if value else ""
    note = " ".join(notes)[:100]
    entry = Entry(number, raw, name, address, building, count, note)
    if not building:
        return _with(entry, "没写楼号")
    if not 1 <= count <= MAX_PORTIONS:
        return _with(entry, f"份数不对（每餐1到{MAX_PORTIONS}份）")
    return entry


def _with(entry: Entry, problem: str) -> Entry:
    return Entry(
        entry.number, entry.raw, entry.name, entry.address, entry.building, entry.count,
        entry.note, problem,
    )  # fmt: skip


def _meal_in(text: str) -> Meal | None:
    found = [m for w, m in (("早", Meal.BREAKFAST), ("午", Meal.LUNCH), ("中饭", Meal.LUNCH),
                            ("晚", Meal.DINNER)) if w in text]  # fmt: skip
    return found[0] if len(set(found)) == 1 else None


def parse_chain(text: str, today: dt.date) -> Chain:
    """Read a pasted 接龙. Header lines (marker, title, example) come before the entries."""
    if len(text) > MAX_CHARS:
        raise ChainError(f"接龙太长了，一次最多{MAX_LINES}行。")
    chain = Chain()
    header: list[str] = []
    seen_numbers: set[int] = set()
    for line in text.split("\n"):
        s = line.strip()
        if not s:
            continue
        start = _entry_start(s)
        if start is None:
            if not chain.entries:
                header.append(s)
            continue  # a remark after the entries ("补充：...") is not a sign-up
        number, rest = start
        if number in seen_numbers and chain.entries:
            continue  # WeChat never repeats a number; a stray duplicate is ignored
        seen_numbers.add(number)
        if len(chain.entries) >= MAX_LINES:
            raise ChainError(f"接龙太长了，一次最多{MAX_LINES}行。")
        chain.entries.append(parse_entry(number, rest))
    titles = [
        h for h in header
        if not h.lstrip("#＃").startswith("接龙") or len(h.lstrip("#＃")) > 2
    ]  # fmt: skip
    titles = [h for h in titles if not h.startswith(_EXAMPLE_STARTS)]
    chain.title = (titles[0] if titles else "").replace(MARKER, "").strip()[:60]
    if chain.title:
        days = parse_days(chain.title, today)
        if days is not None and len(days.dates) == 1:
            chain.day = days.dates[0]
        chain.meal = _meal_in(chain.title)
    if not chain.entries:
        raise ChainError("没看到接龙的序号行（如“1. 王阿姨 3号楼2单元401 1份”）。")
    return chain


# ---- out: the text staff post in the group ---------------------------------------------------


def render_chain(
    title: str, lines: list[str], *, info: list[str], example: str = "例 王阿姨 3号楼 1份"
) -> str:
    """A 接龙 as WeChat shows it, so members can copy it and add their own line."""
    out = [MARKER, title, *info, example, ""]
    out += [f"{i}. {line}" for i, line in enumerate(lines, 1)]
    if not lines:
        out.append("1. ")
    return "\n".join(out).rstrip()
