"""Bulk import of the craftsman lists communities keep in spreadsheets (.csv, .xlsx).

Columns: name, category, phone, address, lat, lng, coord, hours, notes (optional: compound,
description). `coord` is gcj02 (default) or wgs84; wgs84 is converted, GCJ-02 is stored.
A row matches an existing craftsman by phone + name, so re-importing updates, never duplicates.
Bad rows are reported with their spreadsheet row number and do not stop the good ones.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from community import geo, hours
from craftsman_directory import index
from craftsman_directory.service import (
    DirectoryError,
    guess_compound,
    normalise_phone,
    parse_categories,
)
from infra import importing
from infra.importing import ImportReport
from infra.spreadsheets import SpreadsheetError
from models.directory import Craftsman, Source, Status

COLUMNS = ("name", "category", "phone", "address", "lat", "lng", "coord", "hours", "notes")
REQUIRED = ("name", "category", "phone", "lat", "lng")
# Fields an import owns; status, ratings and openid are left alone on update.
_UPDATABLE = (
    "categories",
    "phone",
    "address",
    "compound",
    "lat",
    "lng",
    "hours",
    "notes",
    "description",
)


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {column: text}); the header is row 1. The file is read within
    the bounds of `infra.spreadsheets` (size, rows, columns, cells): a file past one stops the
    import with the reason, before anything is written."""
    try:
        return importing.read_rows(path, lambda h: h.strip().lower(), REQUIRED)
    except SpreadsheetError as exc:
        raise DirectoryError(str(exc)) from None


def clean_row(row: dict[str, str]) -> dict[str, Any]:
    """Validate one row into Craftsman fields; raises DirectoryError with the reason."""
    name = row.get("name", "")
    if not name:
        raise DirectoryError("没有名字")
    categories = parse_categories(row.get("category", ""))
    phone = normalise_phone(row.get("phone", ""))
    try:
        lat, lng = float(row.get("lat", "")), float(row.get("lng", ""))
    except ValueError:
        raise DirectoryError("经纬度不是数字") from None
    if not (math.isfinite(lat) and math.isfinite(lng)):  # "nan", "inf": float() takes them
        raise DirectoryError("经纬度不是有效的数字")
    if not geo.on_map(lat, lng):
        raise DirectoryError("经纬度超出范围（是不是把 lat 和 lng 写反了？）")
    coord = (row.get("coord") or "gcj02").lower().replace("-", "")
    if coord == "wgs84":
        lat, lng = geo.wgs84_to_gcj02(lat, lng)
    elif coord != "gcj02":
        raise DirectoryError(f"coord 只能是 gcj02 或 wgs84，不是“{row.get('coord')}”")
    hours_text = row.get("hours", "")
    if hours_text:
        try:
            hours_text = hours.parse(hours_text).text
        except hours.HoursError as exc:
            raise DirectoryError(f"营业时间：{exc}") from None
    address = row.get("address", "")
    return {
        "name": name[:64],
        "categories": categories,
        "phone": phone,
        "address": address[:200],
        "compound": (row.get("compound") or guess_compound(address) or None),
        "lat": round(lat, 7),
        "lng": round(lng, 7),
        "hours": hours_text,
        "notes": row.get("notes", "")[:500],
        "description": (row.get("description") or row.get("notes", ""))[:500],
    }


async def import_file(
    path: Path, redis: Redis | None = None, *, pending: bool = False, dry_run: bool = False
) -> ImportReport:
    """Import `path`; the index is rebuilt afterwards when `redis` is given (and not dry-run)."""
    report = ImportReport(dry_run=dry_run)
    seen: set[tuple[str, str]] = set()
    for number, row in read_rows(path):
        try:
            values = clean_row(row)
        except DirectoryError as exc:
            report.errors.append((number, str(exc)))
            continue
        key = (values["phone"], values["name"])
        if key in seen:
            report.errors.append((number, "与前面的行重复（同名同电话）"))
            continue
        seen.add(key)
        await importing.upsert(
            report,
            Craftsman,
            values,
            ("phone", "name"),
            _UPDATABLE,
            source=Source.IMPORT,
            status=Status.PENDING if pending else Status.APPROVED,
        )
    if redis is not None and not dry_run:
        await index.rebuild(redis)
    return report
