"""Which days a resident means: 明天, 周五, 3号, 周一到周三, 每个工作日, 下周, 全部."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.nlu.slots import extract_dates

# "Every weekday" and "every day" book this far ahead; residents renew (the bot says until when).
HORIZON_DAYS = 14
WEEKDAY_NAMES = "一二三四五六日"

_RANGE_SPLIT = re.compile(r"(?:到|至|~|～|-|－|—)")
_LIST_SPLIT = re.compile(r"[和、，,及跟还有]+")
# Day words said back to back without a separator ("明天后天"): a list all the same.
_RELATIVE = "大后天|后天|明天|明儿|今天|今儿"
_ADJACENT = re.compile(rf"({_RELATIVE})(?={_RELATIVE})")
_FROM_RE = re.compile(r"开始|起")
_ALL_RE = re.compile(r"全部|所有|都不|都取消|以后都|一直|不用再送|别再送|不送了$|停了")


@dataclass(frozen=True)
class Days:
    dates: list[dt.date]
    recurring: bool  # "every weekday": days already past their cutoff are skipped quietly


def _one(text: str, today: dt.date) -> dt.date | None:
    found = extract_dates(text, today).get("date")
    return dt.date.fromisoformat(found) if found else None


def parse_days(text: str, today: dt.date) -> Days | None:
    """The days named in `text`, or None when it names none."""
    text = _ADJACENT.sub(r"\1、", text)
    parts = _RANGE_SPLIT.split(text, maxsplit=1)
    if len(parts) == 2:
        start, end = _one(parts[0], today), _one(parts[1], today)
        # "周一到周三": the end may be a bare weekday or day; resolve it relative to the start.
        if start is not None and end is not None:
            if end < start and (end + dt.timedelta(days=7)) >= start:
                end += dt.timedelta(days=7)
            if start <= end and (end - start).days <= 31:
                return Days(
                    [start + dt.timedelta(days=i) for i in range((end - start).days + 1)], False
                )
    pieces = [p for p in _LIST_SPLIT.split(text) if p.strip()]
    if len(pieces) > 1:  # "明天和后天", "周一、周三、周五"
        listed = sorted({d for p in pieces if (d := _one(p, today)) is not None})
        if len(listed) > 1:
            return Days(listed, False)
    found = extract_dates(text, today)
    if "dates" in found:
        spec = found["dates"]
        if spec in (["weekdays"], ["daily"]):
            # "从明天开始每天" / "下周一起每个工作日" start there; a bare "每天" starts today.
            start = today
            if "date" in found and _FROM_RE.search(text):
                start = max(today, dt.date.fromisoformat(found["date"]))
            days = [start + dt.timedelta(days=i) for i in range(HORIZON_DAYS)]
            if spec == ["weekdays"]:
                days = [d for d in days if d.weekday() < 5]
            return Days(days, True)
        return Days(sorted(dt.date.fromisoformat(d) for d in spec), False)
    if "date" in found:
        return Days([dt.date.fromisoformat(found["date"])], False)
    return None


def means_all(text: str) -> bool:
    return bool(_ALL_RE.search(text))


def day_name(day: dt.date, today: dt.date | None = None) -> str:
    """'11月26日（周四）', or 今天/明天 in front when that is clearer."""
    label = f"{day.month}月{day.day}日（周{WEEKDAY_NAMES[day.weekday()]}）"
    if today is not None:
        rel = {0: "今天", 1: "明天", 2: "后天"}.get((day - today).days)
        if rel:
            return f"{rel} {label}"
    return label


def days_summary(days: list[dt.date], today: dt.date | None = None, limit: int = 6) -> str:
    shown = "、".join(day_name(d, today) for d in days[:limit])
    if len(days) > limit:
        shown += f" 等{len(days)}天"
    return shown
