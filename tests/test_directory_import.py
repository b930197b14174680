"""Bulk import from .csv and .xlsx: approval, bad rows, re-import, dry run, WGS-84."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from craftsman_directory import geo
from craftsman_directory.importer import COLUMNS, import_file
from models.directory import Craftsman, Status
from tests.directory_support import HOME, freeze, say, send_location

GOOD = [
    [
        "王师傅",
        "裁缝、修鞋",
        "13800000001",
        "幸福小区3号楼",
        "31.2310",
        "121.4737",
        "",
        "Mo-Sa 08:00-18:00",
        "老裁缝",
    ],
    ["李师傅", "key_lock", "021-12345678", "和平里", "31.2300", "121.4740", "gcj02", "24/7", ""],
]
BAD = [
    ["", "裁缝", "13800000009", "", "31.23", "121.47", "", "", ""],  # no name
    ["赵师傅", "炒股", "13800000003", "", "31.23", "121.47", "", "", ""],
    ["钱师傅", "裁缝", "12345", "", "31.23", "121.47", "", "", ""],
    ["孙师傅", "裁缝", "13800000004", "", "abc", "121.47", "", "", ""],
    ["周师傅", "裁缝", "13800000005", "", "31.23", "121.47", "bd09", "", ""],
    ["吴师傅", "裁缝", "13800000006", "", "31.23", "121.47", "", "Mo 25:00-26:00", ""],
]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(list(COLUMNS))
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


async def test_csv_rows_are_approved_and_searchable(bot: Any, tmp_path: Path) -> None:
    freeze(bot)
    report = await import_file(write_csv(tmp_path / "list.csv", GOOD), bot.services.redis)
    assert (len(report.created), report.errors) == (2, [])
    wang = await Craftsman.get(name="王师傅")
    assert (wang.status, wang.categories, wang.compound) == (
        Status.APPROVED,
        ["tailor", "shoe_repair"],
        "幸福小区",
    )
    await send_location(bot, *HOME)
    assert "王师傅（裁缝）" in await say(bot, "找裁缝")
    assert "李师傅" in await say(bot, "配钥匙")


async def test_xlsx_with_bad_rows_reports_row_numbers_and_keeps_good_ones(
    bot: Any, tmp_path: Path
) -> None:
    rows: list[list[Any]] = [GOOD[0], *BAD, GOOD[1]]
    rows[0] = [*rows[0][:4], 31.2310, 121.4737, *rows[0][6:]]  # numbers as numbers, as Excel does
    report = await import_file(write_xlsx(tmp_path / "list.xlsx", rows), bot.services.redis)
    assert len(report.created) == 2
    reasons = dict(report.errors)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert "没有名字" in reasons[3]
    assert "炒股" in reasons[4]
    assert "电话" in reasons[5]
    assert "经纬度" in reasons[6]
    assert "coord" in reasons[7]
    assert "营业时间" in reasons[8]
    assert "第4行" in report.summary()
    assert await Craftsman.all().count() == 2


async def test_reimport_updates_never_duplicates_and_dry_run_changes_nothing(
    bot: Any, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", GOOD)
    await import_file(path, bot.services.redis)
    again = await import_file(path, bot.services.redis)
    assert (again.created, again.updated, again.unchanged) == ([], [], 2)
    changed = [list(GOOD[0]), GOOD[1]]
    changed[0][7] = "Mo-Fr 09:00-17:00"
    path = write_csv(tmp_path / "list2.csv", changed)
    dry = await import_file(path, bot.services.redis, dry_run=True)
    assert dry.updated == ["王师傅（hours）"] and "将更新 1" in dry.summary()
    assert (await Craftsman.get(name="王师傅")).hours == "Mo-Sa 08:00-18:00"
    await import_file(path, bot.services.redis)
    assert (await Craftsman.get(name="王师傅")).hours == "Mo-Fr 09:00-17:00"
    assert await Craftsman.all().count() == 2


async def test_pending_import_waits_for_approval(bot: Any, tmp_path: Path) -> None:
    await import_file(write_csv(tmp_path / "l.csv", GOOD), bot.services.redis, pending=True)
    assert set(await Craftsman.all().values_list("status", flat=True)) == {Status.PENDING}


async def test_wgs84_rows_are_converted_to_gcj02(bot: Any, tmp_path: Path) -> None:
    row = ["王师傅", "裁缝", "13800000001", "", "31.2304", "121.4737", "wgs84", "", ""]
    await import_file(write_csv(tmp_path / "l.csv", [row]), bot.services.redis)
    c = await Craftsman.get(name="王师傅")
    # GCJ-02 lies about 480 m from the GPS point here (south-east).
    assert 400 < geo.haversine_m(31.2304, 121.4737, c.lat, c.lng) < 600
    assert c.lng > 121.4737 and c.lat < 31.2304
    expected = geo.wgs84_to_gcj02(31.2304, 121.4737)
    assert abs(c.lat - expected[0]) < 1e-6 and abs(c.lng - expected[1]) < 1e-6
