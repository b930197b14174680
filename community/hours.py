"""Opening hours in an OpenStreetMap-like syntax, evaluated in Asia/Shanghai.

    Mo-Fr 08:00-12:00,13:00-17:30; Sa 09:00-12:00
    24/7          Mo-Su 08:00-20:00        Mo-Sa 09:00-18:00; We off       18:00-02:00

Rules are separated by ";"; a later rule replaces earlier ones for the days it names (as in
OSM). A rule without days means every day. An end before the start runs past midnight.
Chinese input from the registration form (每天 8点-18点, 周一至周五 8:00-17:00, 全天) is
normalised first. PyPI's parsers (humanized-opening-hours: unmaintained since 2019;
opening-hours-py: Rust wheels) were more than this subset needs, so it is written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
DAY_NAMES_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_ZH_DAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}

Interval = tuple[int, int]  # minutes from the day's midnight; end may exceed 1440 (overnight)


class HoursError(ValueError):
    """The text is not valid opening hours; the message says why, in Chinese, for the user."""


@dataclass(frozen=True)
class OpeningHours:
    text: str  # normalised OSM-like form, stored in the database
    week: tuple[tuple[Interval, ...], ...]  # seven entries, Monday first

    def is_open(self, when: datetime) -> bool:
        minute = when.hour * 60 + when.minute
        today = when.weekday()
        if any(s <= minute < e for s, e in self.week[today]):
            return True
        yesterday = self.week[(today - 1) % 7]
        return any(e > 1440 and minute < e - 1440 for _, e in yesterday)

    def closes_at(self, when: datetime) -> datetime | None:
        """When the opening `when` falls in ends (None when closed then, or open around the
        clock)."""
        minute = when.hour * 60 + when.minute
        midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
        today = when.weekday()
        ends = [e for s, e in self.week[today] if s <= minute < e]
        ends += [e - 1440 for _, e in self.week[(today - 1) % 7] if e > 1440 and minute < e - 1440]
        if not ends or all(len(day) == 1 and day[0] == (0, 1440) for day in self.week):
            return None
        return midnight + timedelta(minutes=max(ends))

    def next_opening(self, when: datetime) -> datetime | None:
        """When it next opens after `when` (None when open now or never open)."""
        if self.is_open(when):
            return None
        midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(8):
            day = midnight + timedelta(days=offset)
            for start, _ in sorted(self.week[day.weekday()]):
                at = day + timedelta(minutes=start)
                if at > when:
                    return at
        return None


def _minutes(text: str) -> int:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not m:
        raise HoursError(f"时间“{text}”看不懂，请写成 8:00 这样")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and mi):
        raise HoursError(f"时间“{text}”不存在")
    return h * 60 + mi


def _days(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            if a not in DAYS or b not in DAYS:
                raise HoursError(f"“{part}”不是星期，请用 周一至周五 或 Mo-Fr")
            i, j = DAYS.index(a), DAYS.index(b)
            out.extend(DAYS.index(DAYS[(i + k) % 7]) for k in range((j - i) % 7 + 1))
        elif part in DAYS:
            out.append(DAYS.index(part))
        else:
            raise HoursError(f"“{part}”不是星期，请用 周一至周五 或 Mo-Fr")
    return out


def _times(spec: str) -> list[Interval]:
    out: list[Interval] = []
    for part in spec.split(","):
        if part.count("-") != 1:
            raise HoursError(f"“{part}”应写成 开始-结束，如 8:00-17:30")
        a, b = part.split("-")
        start, end = _minutes(a), _minutes(b)
        if start == end:
            raise HoursError(f"“{part}”开始和结束时间相同")
        if end < start:
            end += 1440  # past midnight
        if start >= 1440:
            raise HoursError(f"“{part}”开始时间不能是24:00")
        out.append((start, end))
    return sorted(out)


def _normalise(text: str) -> str:
    """Chinese and full-width input → the OSM-like syntax."""
    t = text.strip()
    for a, b in (
        ("；", ";"),
        ("，", ","),
        ("、", ","),
        ("：", ":"),
        ("～", "-"),
        ("~", "-"),
        ("—", "-"),
        ("－", "-"),
        ("至", "-"),
        ("到", "-"),
        ("　", " "),
    ):
        t = t.replace(a, b)
    if t in {"全天", "24小时", "全天24小时", "24h", "每天24小时", "全年无休24小时"}:
        return "24/7"
    t = re.sub(r"(\d{1,2})点半", r"\1:30", t)
    t = re.sub(r"(\d{1,2})点", r"\1:00", t)
    t = re.sub(r"(?:上午|早上|中午)", "", t)
    # 下午2点到6点: the end is in the afternoon too (14:00-18:00, not overnight to 06:00); an
    # end before the start (晚上8点到2点) is past midnight and stays as it is.
    t = re.sub(
        r"(下午|晚上)(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})",
        lambda m: (
            f"{m.group(1)}{m.group(2)}:{m.group(3)}-{int(m.group(4)) + 12}:{m.group(5)}"
            if 0 < int(m.group(2)) < int(m.group(4)) < 12
            else m.group(0)
        ),
        t,
    )
    # 下午/晚上 3:00 → 15:00
    t = re.sub(
        r"(?:下午|晚上)(\d{1,2}):(\d{2})",
        lambda m: f"{int(m.group(1)) + 12 if int(m.group(1)) < 12 else m.group(1)}:{m.group(2)}",
        t,
    )
    t = re.sub(r"(?:每天|天天|全年无休|全周)", "Mo-Su ", t)
    t = re.sub(r"(?:周末)", "Sa-Su ", t)
    t = re.sub(
        r"(?:周|星期|礼拜)([一二三四五六日天七])", lambda m: DAYS[_ZH_DAY[m.group(1)]] + " ", t
    )
    t = re.sub(r"(休息|不营业|关门|休)", "off", t)
    t = re.sub(r"\b(\d):", r"0\1:", t)
    t = re.sub(r"(?<=\d) +(?=-)|(?<=-) +(?=\d)", "", t)  # "8:00 - 17:00"
    t = re.sub(r"(?<=[A-Za-z]{2}) *- *(?=[A-Z][a-z])", "-", t)  # "Mo - Fr"
    t = re.sub(r"(?<=[a-z]) *, *(?=[A-Z][a-z])", ",", t)
    t = re.sub(r"(?<=\d) *, *(?=\d)", ",", t)
    return re.sub(r"\s+", " ", t).strip()


_RULE = re.compile(r"^(?:(?P<days>[A-Z][a-z](?:[-,][A-Z][a-z])*)\s*)?(?P<times>.*)$")


def parse(text: str) -> OpeningHours:
    """Parse and validate; raises HoursError with a reason a resident can act on."""
    norm = _normalise(text)
    if not norm:
        raise HoursError("营业时间是空的")
    if norm.lower() in {"24/7", "mo-su 00:00-24:00"}:
        return OpeningHours("24/7", tuple(((0, 1440),) for _ in range(7)))
    week: list[list[Interval]] = [[] for _ in range(7)]
    rules: list[str] = []
    for raw in norm.split(";"):
        rule = raw.strip()
        if not rule:
            continue
        m = _RULE.match(rule)
        assert m is not None  # the pattern matches any string
        days = _days(m.group("days")) if m.group("days") else list(range(7))
        times = m.group("times").strip()
        if times.lower() in {"off", "closed"}:
            intervals: list[Interval] = []
        elif not times:
            raise HoursError(f"“{rule}”缺少时间，如 8:00-17:30")
        else:
            intervals = _times(times.replace(" ", ""))
        for d in days:
            week[d] = list(intervals)  # a later rule replaces earlier ones for its days
        rules.append(_format_rule(m.group("days"), intervals))
    if not any(week):
        raise HoursError("一周里没有营业的时间")
    return OpeningHours("; ".join(rules), tuple(tuple(day) for day in week))


def _format_rule(days: str | None, intervals: list[Interval]) -> str:
    body = ",".join(f"{_hhmm(s)}-{_hhmm(e)}" for s, e in intervals) if intervals else "off"
    return f"{days} {body}" if days else body


def _hhmm(minutes: int) -> str:
    minutes = minutes % 1440 if minutes != 1440 else 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def validate(text: str) -> str | None:
    """None when valid, else the reason."""
    try:
        parse(text)
    except HoursError as exc:
        return str(exc)
    return None


def describe_opening(at: datetime, now: datetime) -> str:
    """'今天14:00开门' / '明天08:00开门' / '周六09:00开门'."""
    days = (at.date() - now.date()).days
    when = {0: "今天", 1: "明天", 2: "后天"}.get(days, DAY_NAMES_ZH[at.weekday()])
    return f"{when}{at:%H:%M}开门"


# ---- open now? (craftsmen and places alike) ----------------------------------------------------

OPEN, UNKNOWN, CLOSED = 0, 1, 2


@lru_cache(maxsize=4096)
def cached(text: str) -> OpeningHours | None:
    """Parsed hours, or None when unknown or unreadable (stored before validation tightened:
    shown as unknown rather than fail)."""
    try:
        return parse(text) if text else None
    except HoursError:
        return None


@lru_cache(maxsize=8192)
def state_at(text: str, minute: datetime) -> tuple[int, str]:
    """Open now or not, and what to say (营业中 / 今天14:00开门 / 营业时间未登记), for opening
    hours at a given minute. Most entries share a few common schedules, so a search mostly
    reads this cache."""
    oh = cached(text)
    if oh is None:
        return UNKNOWN, "营业时间未登记"
    if oh.is_open(minute):
        return OPEN, "营业中"
    nxt = oh.next_opening(minute)
    return CLOSED, describe_opening(nxt, minute) if nxt else "暂不营业"


def _clock(minutes: int) -> str:
    if minutes > 1440:
        return f"次日{(minutes - 1440) // 60}:{minutes % 60:02d}"
    return f"{minutes // 60}:{minutes % 60:02d}"


def in_words(text: str) -> str:
    """Opening hours as people say them: '每天7:30–19:00', '周一到周五8:00–17:30，周六休息'."""
    oh = cached(text)
    if oh is None:
        return text or "营业时间未登记"
    if oh.text == "24/7":
        return "24小时营业"
    groups: list[list[Any]] = []  # [first day, last day, intervals]
    for day, intervals in enumerate(oh.week):
        if groups and groups[-1][2] == intervals:
            groups[-1][1] = day
        else:
            groups.append([day, day, intervals])
    parts = []
    for first, last, intervals in groups:
        if (first, last) == (0, 6):
            days = "每天"
        elif first == last:
            days = DAY_NAMES_ZH[first]
        elif last == first + 1:
            days = f"{DAY_NAMES_ZH[first]}、{DAY_NAMES_ZH[last]}"
        else:
            days = f"{DAY_NAMES_ZH[first]}到{DAY_NAMES_ZH[last]}"
        times = "、".join(f"{_clock(s)}–{_clock(e)}" for s, e in intervals) or "休息"
        parts.append(days + times)
    return "，".join(parts)
