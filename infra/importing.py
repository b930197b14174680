"""What the bulk imports of community lists share (craftsmen, places): the rows of a
spreadsheet under known column names, matching a row to the record it updates, and the report.

Each importer keeps what is its own: its columns, how a row is checked (its domain's rules) and
which fields name a record (a craftsman by phone + name, a place by name + address).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tortoise.models import Model

from infra.spreadsheets import SpreadsheetError, read_table


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


def read_rows(
    path: Path, column: Callable[[str], str], required: Sequence[str]
) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {column: stripped text, "" for a missing cell}); the header is
    row 1 and `column` names each header cell ("" leaves the column out). The file is read within
    the bounds of `infra.spreadsheets`; raises SpreadsheetError when the file as a whole cannot
    be used (too big, wrong type, empty, `required` columns missing), before anything is written."""
    table = read_table(path)
    if not table:
        raise SpreadsheetError("文件是空的")
    header = [column(h) for h in table[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise SpreadsheetError(f"缺少列：{', '.join(missing)}")
    rows = []
    for number, values in enumerate(table[1:], start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are common at the end of spreadsheets
        cells = {h: values[i].strip() if i < len(values) else "" for i, h in enumerate(header) if h}
        rows.append((number, cells))
    return rows


async def upsert(
    report: ImportReport,
    model: type[Model],
    values: dict[str, Any],
    match: Sequence[str],
    updatable: Sequence[str],
    **on_create: Any,
) -> None:
    """Create the record `values` describe, or update the one whose `match` fields are equal
    (only the `updatable` fields given, and only when they differ), and say so in `report`.
    A dry run writes nothing and reports the same."""
    existing = await model.get_or_none(**{f: values[f] for f in match})
    if existing is None:
        report.created.append(values["name"])
        if not report.dry_run:
            await model.create(**values, **on_create)
        return
    changed = [f for f in updatable if f in values and getattr(existing, f) != values[f]]
    if not changed:
        report.unchanged += 1
        return
    report.updated.append(f"{values['name']}（{', '.join(changed)}）")
    if not report.dry_run:
        existing.update_from_dict({f: values[f] for f in changed})
        await existing.save()
