"""Numbers as residents write them: '3', '三', '十二', '二十三', '两' (building numbers, portions,
days)."""

from __future__ import annotations

import re

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


# A numeral that counts off a list ("一号送到了", "三、五号没人", "二和四都送到"): before 号, a
# list separator, or the word that follows the numbers. Not inside words ("一起", "一会儿").
_LISTED = re.compile(
    r"(?<![零一二两三四五六七八九十])([零一二两三四五六七八九十]{1,3})"
    r"(?=\s*(?:号|、|，|,|和|都|全|送|没|已|到了|不在|出去|外出|无人|敲门|家里))"
)


def listed_numbers(text: str) -> str:
    """`text` with numerals that number things written as digits ("一号送到了" -> "1号送到了")."""
    if not any(c in CN_DIGITS or c == "十" for c in text[:12]):
        return text
    return _LISTED.sub(lambda m: str(cn_number(m.group(1)) or m.group(1)), text)
