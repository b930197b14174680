"""Addresses and volunteer areas: which building a flat is in, which area covers a building.

A volunteer's area is a name the community already uses for a set of buildings, e.g. "1-5号楼",
"1至5栋", "3、7、9号楼". A name without building numbers ("东区") covers the addresses that
mention it. Lines matching no area go to the canteen staff, marked as unassigned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from community.errors import DomainError
from community.numerals import cn_number

UNASSIGNED = "未分片区"

_NUM = r"(?:\d{1,4}|[零一二两三四五六七八九十百]{1,4})"
_BUILDING_RE = re.compile(rf"({_NUM})\s*(?:号楼|号|栋|幢|座|楼)")
_RANGE_RE = re.compile(rf"({_NUM})\s*(?:-|~|－|—|到|至)\s*({_NUM})")


class AddressError(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_address", field="address")


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else cn_number(text)


def parse_address(text: str) -> tuple[str, str]:
    """'3号楼2单元401' → ('3号楼2单元401', '3'); raises AddressError with what is missing."""
    value = re.sub(r"\s+", "", text.strip()).translate(
        str.maketrans("０１２３４５６７８９－", "0123456789-")
    )
    if len(value) > 64:
        raise AddressError("地址太长了，写楼号、单元、门牌就行。")
    m = _BUILDING_RE.search(value)
    if m is None or (number := _int(m.group(1))) is None:
        raise AddressError("没看到楼号，请写成“3号楼2单元401”这样。")
    rest = value[m.end() :]
    if not re.search(r"\d{2,4}", rest):
        raise AddressError("还差门牌号，请写成“3号楼2单元401”这样。")
    return value, str(number)


def parse_building(text: str) -> tuple[str, str]:
    """A place in a building, the room optional ('5号楼楼道') → (place, building number)."""
    value = re.sub(r"\s+", "", text.strip())
    if len(value) > 64:
        raise AddressError("地址太长了，写楼号和大概位置就行。")
    m = _BUILDING_RE.search(value)
    if m is None or (number := _int(m.group(1))) is None:
        raise AddressError("没看到楼号，请写成“5号楼”或“3号楼2单元401”这样。")
    return value, str(number)


def buildings_of(area: str) -> set[str] | None:
    """The building numbers an area name covers, or None when it names no numbers."""
    text = area.replace("，", ",").replace("、", ",").replace("和", ",")
    found: set[str] = set()
    for part in text.split(","):
        if m := _RANGE_RE.search(part):
            lo, hi = _int(m.group(1)), _int(m.group(2))
            if lo is not None and hi is not None and 0 < lo <= hi and hi - lo < 500:
                found.update(str(n) for n in range(lo, hi + 1))
                continue
        for n in re.findall(_NUM, part):
            if (value := _int(n)) is not None:
                found.add(str(value))
    return found or None


def covers(area: str | None, building: str, address: str) -> bool:
    """Whether a volunteer's area covers this address; no area means all of them."""
    if not area:
        return True
    numbers = buildings_of(area)
    if numbers is None:
        return area in address
    return building in numbers


def area_for(areas: Iterable[str], building: str, address: str) -> str:
    """The first named area (in sorted order, for stable rosters) covering the address."""
    for area in sorted(set(areas)):
        if area and covers(area, building, address):
            return area
    return UNASSIGNED
