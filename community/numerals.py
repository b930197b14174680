"""Numbers as residents write them: '3', '三', '十二', '二十三', '两' (building numbers, portions,
days)."""

from __future__ import annotations

CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def cn_number(s: str) -> int | None:
    """'3' / '三' / '十二' / '二十三' / '两' -> int."""
    if s.isdigit():
        return int(s)
    if not s or any(c not in CN_DIGITS and c != "十" for c in s):
        return None
    if "十" not in s:
        return int("".join(str(CN_DIGITS[c]) for c in s)) if len(s) > 1 else CN_DIGITS[s]
    tens, _, ones = s.partition("十")
    t = CN_DIGITS.get(tens, 0) if tens else 1
    o = CN_DIGITS.get(ones, 0) if ones else 0
    return t * 10 + o
