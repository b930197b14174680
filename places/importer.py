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

from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis

from infra.spreadsheets import SpreadsheetError, read_table
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
    """(spreadsheet row number, {column: text}); the header is row 1. Raises PlaceError when
    the file as a whole cannot be used (too big, wrong type, columns missing)."""
    try:
        table = read_table(path)
    except SpreadsheetError as exc:
        raise PlaceError(str(exc)) from None
    if not table:
        raise PlaceError("文件是空的")
    header = [_BY_HEADER.get(h.strip().lower(), "") for h in table[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise PlaceError(f"缺少列：{', '.join(missing)}")
    rows = []
    for number, values in enumerate(table[1:], start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are common at the end of spreadsheets
        row = {h: values[i] for i, h in enumerate(header) if h and i < len(values)}
        rows.append((number, row))
    return rows


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
        existing = await Place.get_or_none(name=values["name"], address=values["address"])
        if existing is None:
            report.created.append(values["name"])
            if not dry_run:
                await Place.create(**values, source=PlaceSource.IMPORT)
            continue
        changed = [f for f in _UPDATABLE if f in values and getattr(existing, f) != values[f]]
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
