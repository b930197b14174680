"""Pure pieces of the directory: coordinates, opening hours, phone numbers, trades."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.context import SHANGHAI
from craftsman_directory import geo, hours
from craftsman_directory.service import (
    DirectoryError,
    guess_compound,
    normalise_phone,
    parse_categories,
)

# ---- geo -------------------------------------------------------------------------------------


def test_wgs84_to_gcj02_matches_the_published_reference_point() -> None:
    # The example used by the common implementations (e.g. coordtransform's README).
    lat, lng = geo.wgs84_to_gcj02(39.915, 116.404)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)
    assert lng == pytest.approx(116.41024449916938, abs=1e-9)


def test_shanghai_offset_is_several_hundred_metres_and_round_trips() -> None:
    gcj = geo.wgs84_to_gcj02(31.2304, 121.4737)
    assert 400 < geo.haversine_m(31.2304, 121.4737, *gcj) < 600
    back = geo.gcj02_to_wgs84(*gcj)
    assert geo.haversine_m(31.2304, 121.4737, *back) < 0.5


def test_outside_china_is_left_alone() -> None:
    assert geo.wgs84_to_gcj02(48.8566, 2.3522) == (48.8566, 2.3522)


def test_haversine_and_walking_time() -> None:
    # 0.01° of latitude is about 1112 m anywhere.
    assert geo.haversine_m(31.0, 121.0, 31.01, 121.0) == pytest.approx(1112, abs=2)
    assert geo.walk_minutes(480) == 6
    assert geo.walk_minutes(480, elderly=True) == 11
    assert geo.walk_minutes(3) == 1
    assert geo.walk_radius_m() == 1200
    assert geo.walk_radius_m(elderly=True) == 675


# ---- opening hours ---------------------------------------------------------------------------

WEEKDAY_HOURS = "Mo-Fr 08:00-12:00,13:00-17:30; Sa 09:00-12:00"


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """2026-11-23 is a Monday: at(0, 9) is Monday 09:00 in Shanghai."""
    return datetime(2026, 11, 23 + day, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        (at(0, 7, 59), False),
        (at(0, 8, 0), True),
        (at(2, 12, 30), False),  # lunch break
        (at(2, 13, 0), True),
        (at(4, 17, 29), True),
        (at(4, 17, 30), False),
        (at(5, 10), True),  # Saturday morning
        (at(5, 14), False),
        (at(6, 10), False),  # Sunday
    ],
)
def test_open_now(when: datetime, is_open: bool) -> None:
    assert hours.parse(WEEKDAY_HOURS).is_open(when) is is_open


def test_next_opening() -> None:
    oh = hours.parse(WEEKDAY_HOURS)
    assert oh.next_opening(at(2, 12, 30)) == at(2, 13)
    assert oh.next_opening(at(5, 13)) == at(7, 8)  # Saturday afternoon → Monday 08:00
    assert oh.next_opening(at(0, 9)) is None  # open now
    assert hours.describe_opening(at(2, 13), at(2, 12, 30)) == "今天13:00开门"
    assert hours.describe_opening(at(3, 8), at(2, 18)) == "明天08:00开门"
    assert hours.describe_opening(at(7, 8), at(5, 13)) == "后天08:00开门"
    assert hours.describe_opening(at(7, 8), at(4, 18)) == "周一08:00开门"


def test_24_7_overnight_off_and_lists() -> None:
    assert hours.parse("24/7").is_open(at(6, 3))
    night = hours.parse("18:00-02:00")
    assert night.is_open(at(1, 23)) and night.is_open(at(2, 1, 30)) and not night.is_open(at(2, 3))
    week = hours.parse("Mo-Sa 09:00-18:00; We off")
    assert week.is_open(at(1, 10)) and not week.is_open(at(2, 10))
    assert hours.parse("Mo,We,Fr 09:00-11:00").is_open(at(4, 10))
    assert not hours.parse("Mo,We,Fr 09:00-11:00").is_open(at(3, 10))
    assert hours.parse("Sa-Mo 10:00-12:00").is_open(at(0, 11))  # wraps over the weekend


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("每天8点-18点", "Mo-Su 08:00-18:00"),
        ("周一至周五 8:00-17:00", "Mo-Fr 08:00-17:00"),
        ("周一到周六 8:00-12:00，13:00-18:00", "Mo-Sa 08:00-12:00,13:00-18:00"),
        ("全天", "24/7"),
        ("周一至周五 8点半-下午5:30；周六 9:00-12:00", "Mo-Fr 08:30-17:30; Sa 09:00-12:00"),
    ],
)
def test_chinese_input_is_normalised(typed: str, stored: str) -> None:
    assert hours.parse(typed).text == stored


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("Mo-Fr 25:00-12:00", "不存在"),
        ("Xx 08:00-12:00", "不是星期"),
        ("随便", "开始-结束"),
        ("Mo off", "没有营业"),
        ("08:00-08:00", "相同"),
        ("", "空"),
    ],
)
def test_invalid_hours_say_why(bad: str, reason: str) -> None:
    assert reason in (hours.validate(bad) or "")


# ---- phone, trades, compounds ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86 13800138000", "13800138000"),
        ("021-12345678", "021-12345678"),
        ("0571 87654321", "057187654321"),
    ],
)
def test_phone_numbers(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("bad", ["12345", "23800138000", "电话", "1380013800"])
def test_bad_phone_numbers(bad: str) -> None:
    with pytest.raises(DirectoryError):
        normalise_phone(bad)


def test_trades_from_names_ids_and_synonyms() -> None:
    assert parse_categories("裁缝、修鞋") == ["tailor", "shoe_repair"]
    assert parse_categories("key_lock,haircut") == ["key_lock", "haircut"]
    assert parse_categories("配钥匙 木工") == ["key_lock", "furniture_repair"]
    with pytest.raises(DirectoryError):
        parse_categories("炒股")


def test_compound_from_address() -> None:
    assert guess_compound("幸福小区3号楼2单元") == "幸福小区"
    assert guess_compound("南京东路100号") is None
