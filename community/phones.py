"""Phone numbers as residents write them: '138 1234 5678', '+86 138-1234-5678', '021-12345678',
or buried in words ('就是我 13812345678')."""

from __future__ import annotations

import re
import unicodedata

from community.errors import DomainError

_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(?:-\d{1,6})?")
_LOCAL = re.compile(r"[2-9]\d{6,7}")  # a local number without area code
_SEPARATORS = str.maketrans({"—": "-", "－": "-", "–": "-"})
# A run of digits with the separators people put inside a number (spaces, dashes, brackets).
# Linear: one character class, one quantifier.
_DIGIT_RUN = re.compile(r"\+?[\d\s\-()（）—－–]{7,24}")

# A number read out digit by digit ("一三八一二三四五六七八", 幺 for 1 as phone numbers are said):
# seven or more numerals in a row, spaces between allowed.
_SPOKEN = re.compile(r"[零〇一幺二两三四五六七八九](?:\s?[零〇一幺二两三四五六七八九]){6,}")
_SPOKEN_DIGITS = str.maketrans("零〇一幺二两三四五六七八九", "0011223456789")


def as_digits(text: str) -> str:
    """Full-width digits and a number read out in numerals as plain digits."""
    text = unicodedata.normalize("NFKC", text)
    return _SPOKEN.sub(lambda m: m.group(0).replace(" ", "").translate(_SPOKEN_DIGITS), text)


PHONE_MESSAGE = "电话号码不对，手机是1开头的11位数字，座机如 021-12345678"


def normalise_phone(text: str) -> str:
    """A Chinese mobile or landline number, spaces removed; raises DomainError."""
    raw = re.sub(r"[\s()（）]", "", as_digits(text.strip()[:40])).translate(_SEPARATORS)
    if raw.startswith("+86"):
        raw = raw[3:]
    digits = raw.replace("-", "")
    if _MOBILE.fullmatch(digits):
        return digits
    if _LANDLINE.fullmatch(raw) or _LOCAL.fullmatch(raw):
        return raw
    raise DomainError(PHONE_MESSAGE, code="invalid_phone", field="phone")


def find_phone(text: str) -> str | None:
    """The first phone number written anywhere in a message, normalised, or None."""
    for m in _DIGIT_RUN.finditer(as_digits(text[:200])):
        candidate = m.group(0).strip(" -")
        try:
            return normalise_phone(candidate)
        except DomainError:
            continue
    return None
