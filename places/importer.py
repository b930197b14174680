"""Bulk import of the service points a community lists in a spreadsheet (.csv, .xlsx):
`python main.py import-places FILE`.

Columns (English or Chinese headers): name 名称, kind 类型, address 地址, lat 纬度, lng 经度,
coord 坐标系 (gcj02, the default, or wgs84: converted, GCJ-02 is stored), hours 营业时间,
phone 电话, offerings 服务内容, verified 已核实 (是/否). A row matches an existing place by name +
address, so re-importing updates, never duplicates. The file is read within the bounds of
`infra.spreadsheets`; a bad row (NaN coordinates, control characters, an unknown kind, ...) is
reported with its spreadsheet row number and does not stop the good ones.
"""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from infra import importing
from infra.importing import ImportReport
from infra.spreadsheets import SpreadsheetError
from models.places import Place, PlaceSource
from places import index
from places.service import PlaceError, clean

HEADERS = {
    "name": ("name", "名称", "名字", "服务点"),
    "kind": ("kind", "类型", "类别", "种类"),
    "address": ("address", "地址"),
    "lat": ("lat", "纬度", "latitude"),
    "lng": ("lng", "经度", "lon", "longitude"),
    "coord": ("coord", "坐标系", "datum"),
    "hours": ("hours", "营业时间", "开放时间"),
    "phone": ("phone", "电话", "联系电话"),
    "offerings": ("offerings", "服务内容", "服务", "提供"),
    "verified": ("verified", "已核实", "核实"),
}
REQUIRED = ("name", "kind", "lat", "lng")
_UPDATABLE = ("kind", "lat", "lng", "hours", "phone", "offerings", "verified")
_BY_HEADER = {h.lower(): col for col, names in HEADERS.items() for h in names}


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {column: text}); the header is row 1. Raises PlaceError when
    the file as a whole cannot be used (too big, wrong type, columns missing)."""
    try:
        return importing.read_rows(path, lambda h: _BY_HEADER.get(h.strip().lower(), ""), REQUIRED)
    except SpreadsheetError as exc:
        raise PlaceError(str(exc)) from None


async def import_file(
    path: Path, redis: Redis | None = None, *, verified: bool = False, dry_run: bool = False
) -> ImportReport:
    """Import `path`. Rows without a `verified` column wait for staff to verify them in the
    console, unless `verified` says the whole list is checked. The index is rebuilt afterwards
    when `redis` is given (and not dry-run)."""
    report = ImportReport(dry_run=dry_run)
    seen: set[tuple[str, str]] = set()
    for number, row in read_rows(path):
        try:
            # A re-import without the column leaves what staff verified as it is.
            given = {k: v for k, v in row.items() if v.strip()}
            values = clean({"verified": True, **given} if verified else given)
        except PlaceError as exc:
            report.errors.append((number, exc.message))
            continue
        values.setdefault("address", "")
        key = (values["name"], values["address"])
        if key in seen:
            report.errors.append((number, "与前面的行重复（同名同地址）"))
            continue
        seen.add(key)
        await importing.upsert(
            report, Place, values, ("name", "address"), _UPDATABLE, source=PlaceSource.IMPORT
        )
    if redis is not None and not dry_run:
        await index.rebuild(redis)
    return report
