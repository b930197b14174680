"""Slot extraction: date(s), meal, count, address fragment, for whom.

Date conventions (documented for the delivery and menu features):
- ``date``: one ISO date resolved against ``today``.  A bare weekday (周五) means the next
  such day counting today; 这周五/本周五 is that day of the current Monday-based week;
  下周一 is the Monday of next week.  "3号" is this month, or next month if the 3rd has passed;
  "12月3号" is this year, or next year if already past.
- ``dates``: a list.  这周/本周 -> the remaining days of this week (today..Sunday);
  下周 -> Monday..Sunday of next week; 周末 -> the coming Saturday and Sunday;
  markers "weekdays" (每个工作日, 工作日, 周一到周五) and "daily" (每天, 天天) are strings,
  not dates, because they are standing arrangements rather than particular days.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from community.numerals import CN_DIGITS
from community.numerals import cn_number as cn_number  # re-exported

_CN_DIGITS = CN_DIGITS
_NUM = r"(?:\d{1,3}|[零一二两三四五六七八九十]{1,3})"
_WEEKDAY = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "末": 5,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}


_RELATIVE_DAYS = (
    ("大后天", 3),
    ("后天", 2),
    ("明天", 1),
    ("明儿", 1),
    ("明日", 1),
    ("明早", 1),
    ("明晚", 1),
    ("明天", 1),
    ("今天", 0),
    ("今儿", 0),
    ("今日", 0),
    ("今早", 0),
    ("今晚", 0),
    ("今个", 0),
    ("昨天", -1),
    ("前天", -2),
)
_WEEK_DAY_RE = re.compile(r"(下下|下个?|这个?|本)?(?:周|星期|礼拜)([一二三四五六日天1-7])")
_MONTH_DAY_RE = re.compile(rf"({_NUM})月({_NUM})[号日]?")
_DAY_RE = re.compile(
    rf"(?<![月\d零一二两三四五六七八九十])({_NUM})[号日](?![楼院门线床房栋幢单室座])"
)
_THIS_WEEK_RE = re.compile(r"(这|本)(个)?(周|星期|礼拜)(?![一二三四五六日天1-7末])")
_NEXT_WEEK_RE = re.compile(r"下(个)?(周|星期|礼拜)(?![一二三四五六日天1-7末])")
_WEEKDAYS_RE = re.compile(r"工作日|周一到周五|星期一到星期五|礼拜一到礼拜五")
_DAILY_RE = re.compile(r"每天|天天|每日|每一天")
_WEEKEND_RE = re.compile(r"(下)?(个)?(周末|礼拜天和礼拜六)")


def _add_month(d: dt.date, months: int) -> tuple[int, int]:
    m = d.month - 1 + months
    return d.year + m // 12, m % 12 + 1


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def extract_dates(text: str, today: dt.date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    date: dt.date | None = None
    # Each pattern is tried only when the text has a character it cannot match without (most
    # messages name no date: the searches were a tenth of a parse).
    if "天" in text or "明" in text or "今" in text:  # in every word of _RELATIVE_DAYS
        for word, delta in _RELATIVE_DAYS:
            if word in text:
                date = today + dt.timedelta(days=delta)
                break
    week = "周" in text or "星期" in text or "礼拜" in text
    if date is None and week and (m := _WEEK_DAY_RE.search(text)):
        prefix, wd = m.group(1) or "", _WEEKDAY[m.group(2)]
        monday = today - dt.timedelta(days=today.weekday())
        if prefix.startswith("下下"):
            date = monday + dt.timedelta(days=14 + wd)
        elif prefix.startswith("下"):
            date = monday + dt.timedelta(days=7 + wd)
        elif prefix:
            date = monday + dt.timedelta(days=wd)
        else:
            date = today + dt.timedelta(days=(wd - today.weekday()) % 7)
    if date is None and "月" in text and (m := _MONTH_DAY_RE.search(text)):
        mo, d = cn_number(m.group(1)), cn_number(m.group(2))
        if mo and d:
            date = _safe_date(today.year, mo, d)
            if date is not None and date < today:
                date = _safe_date(today.year + 1, mo, d)
    if date is None and ("号" in text or "日" in text) and (m := _DAY_RE.search(text)):
        d = cn_number(m.group(1))
        if d and 1 <= d <= 31:
            date = _safe_date(today.year, today.month, d)
            if date is None or date < today:
                y, mo = _add_month(today, 1)
                date = _safe_date(y, mo, d)
    if date is not None:
        out["date"] = date.isoformat()

    dates: list[str] | None = None
    if _WEEKDAYS_RE.search(text):
        dates = ["weekdays"]
    elif _DAILY_RE.search(text):
        dates = ["daily"]
    elif week and (m := _WEEKEND_RE.search(text)):
        sat = today + dt.timedelta(days=(5 - today.weekday()) % 7)
        if m.group(1):
            sat = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=12)
        dates = [sat.isoformat(), (sat + dt.timedelta(days=1)).isoformat()]
    elif week and _THIS_WEEK_RE.search(text):
        dates = [(today + dt.timedelta(days=i)).isoformat() for i in range(7 - today.weekday())]
    elif week and _NEXT_WEEK_RE.search(text):
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
        dates = [(monday + dt.timedelta(days=i)).isoformat() for i in range(7)]
    if dates is not None:
        out["dates"] = dates
    return out


_MEALS = (
    ("breakfast", ("早饭", "早餐", "早点", "早上饭", "早茶", "早上的饭")),
    ("lunch", ("中午饭", "午饭", "午餐", "中饭", "中餐", "晌午饭", "晌午")),
    ("dinner", ("晚饭", "晚餐", "夜饭", "晚上饭", "夜宵", "晚上的饭")),
)
# Time-of-day words name a meal only when the message is about eating.
_TIME_OF_DAY = (("breakfast", "早上"), ("lunch", "中午"), ("dinner", "晚上"))
_EATING = re.compile(r"[饭餐吃送菜顿肉鱼粥汤]|面条|包子|饺子|馒头|豆浆|油条|鸡蛋|稀饭|馄饨")


# per meal its words as one pattern: found anywhere in the text, the same as any(w in text)
_MEAL_RES = tuple((meal, re.compile("|".join(map(re.escape, words)))) for meal, words in _MEALS)


def extract_meal(text: str) -> str | None:
    for meal, words in _MEAL_RES:
        if words.search(text):
            return meal
    if _EATING.search(text):
        for meal, word in _TIME_OF_DAY:
            if word in text:
                return meal
    return None


_COUNT_RE = re.compile(rf"({_NUM})\s*(?:份|人份|盒|碗|个人的)")


def extract_count(text: str) -> int | None:
    if ("份" in text or "盒" in text or "碗" in text or "个人的" in text) and (
        m := _COUNT_RE.search(text)
    ):
        n = cn_number(m.group(1))
        if n is not None and 0 < n < 100:
            return n
    return None


_ADDRESS_RE = re.compile(
    rf"{_NUM}\s*(?:号楼|栋|幢|座|号院|楼)(?:\s*{_NUM}\s*(?:单元|门))?(?:\s*\d{{3,4}}\s*(?:室|号|房)?)?"
    rf"|{_NUM}\s*单元\s*(?:\d{{3,4}}\s*(?:室|号|房)?)?"
    rf"|\d{{3,4}}\s*(?:室|房间)"
)


# every address names one of these (a building, a unit, a room)
_ADDRESS_MARKS = ("楼", "栋", "幢", "座", "院", "单元", "室", "房间")


def extract_address(text: str) -> str | None:
    if any(mark in text for mark in _ADDRESS_MARKS) and (m := _ADDRESS_RE.search(text)):
        return m.group(0).replace(" ", "")
    return None


_RELATIVES = (
    "老伴儿|老伴|老头子|老太婆|老婆子|老爷子|老太太|爱人|老公|媳妇儿|媳妇|老婆|老母亲|老父亲|老妈|老爸"
    "|妈妈|爸爸|母亲|父亲|奶奶|爷爷|姥姥|姥爷|外婆|外公|婆婆|公公|岳母|岳父|丈母娘|老丈人|儿子|女儿"
    "|闺女|孙子|孙女|外孙女|外孙|孩子|小孩|父母|爸妈|公婆|爹娘|老爹|老娘|妈|爸|娘|爹|老头"
)
_FOR_WHOM_RE = re.compile(rf"(?:我|俺)?(?:家)?(?:{_RELATIVES})(?!乐)")
# "我家老头子" and "给我妈" both name a relative; these say the resident means themself.
_SELF_RE = re.compile(r"给我|我要|我想|帮我|我的|我订|我自己|俺|我一个人|我腿|我家")


def extract_for_whom(text: str) -> str | None:
    if m := _FOR_WHOM_RE.search(text):
        return m.group(0)
    if _SELF_RE.search(text):
        return "self"
    return None


def extract_slots(text: str, today: dt.date) -> dict[str, Any]:
    slots: dict[str, Any] = extract_dates(text, today)
    if meal := extract_meal(text):
        slots["meal"] = meal
    if (count := extract_count(text)) is not None:
        slots["count"] = count
    if address := extract_address(text):
        slots["address"] = address
    if who := extract_for_whom(text):
        slots["for_whom"] = who
    return slots
