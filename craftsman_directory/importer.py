"""Bulk import of the craftsman lists communities keep in spreadsheets (.csv, .xlsx).

Columns: name, category, phone, address, lat, lng, coord, hours, notes (optional: compound,
description). `coord` is gcj02 (default) or wgs84; wgs84 is converted, GCJ-02 is stored.
A row matches an existing craftsman by phone + name, so re-importing updates, never duplicates.
Bad rows are reported with their spreadsheet row number and do not stop the good ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from craftsman_directory import geo, hours, index
from craftsman_directory.service import (
    DirectoryError,
    guess_compound,
    normalise_phone,
    parse_categories,
)
from infra.spreadsheets import SpreadsheetError, read_table
from models.directory import Craftsman, Source, Status

COLUMNS = ("name", "category", "phone", "address", "lat", "lng", "coord", "hours", "notes")
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


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)
    dry_run: bool = False

    def summary(self) -> str:
        verb = "将" if self.dry_run else "已"
        lines = [
            f"{verb}新增 {len(self.created)}，{verb}更新 {len(self.updated)}，"
            f"未变 {self.unchanged}，出错 {len(self.errors)}"
        ]
        lines += [f"  第{row}行：{reason}" for row, reason in self.errors]
        return "\n".join(lines)


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {column: text}); the header is row 1. The file is read within
    the bounds of `infra.spreadsheets` (size, rows, columns, cells): a file past one stops the
    import with the reason, before anything is written."""
    try:
        table = read_table(path)
    except SpreadsheetError as exc:
        raise DirectoryError(str(exc)) from None
    if not table:
        raise DirectoryError("文件是空的")
    header = [h.strip().lower() for h in table[0]]
    missing = [c for c in ("name", "category", "phone", "lat", "lng") if c not in header]
    if missing:
        raise DirectoryError(f"缺少列：{', '.join(missing)}")
    rows = []
    for number, values in enumerate(table[1:], start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are common at the end of spreadsheets
        rows.append(
            (
                number,
                {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)},
            )
        )
    return rows


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
        existing = await Craftsman.get_or_none(phone=values["phone"], name=values["name"])
        if existing is None:
            report.created.append(values["name"])
            if not dry_run:
                await Craftsman.create(
                    **values,
                    source=Source.IMPORT,
                    status=Status.PENDING if pending else Status.APPROVED,
                )
            continue
        changed = [f for f in _UPDATABLE if getattr(existing, f) != values[f]]
        if not changed:
            report.unchanged += 1
            continue
        report.updated.append(f"{values['name']}（{', '.join(changed)}）")
        if not dry_run:
            existing.update_from_dict({f: values[f] for f in changed})
            await existing.save()
    if redis is not None and not dry_run:
        await index.rebuild(redis)
    return report
