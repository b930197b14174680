"""Migrations upgrade a database that already holds rows, not only an empty one.

A column added to an existing table must be nullable or carry a database default: SQLite (and
PostgreSQL) refuse `ADD COLUMN ... NOT NULL` without one once the table has rows, so a deployed
community could not upgrade ("Cannot add a NOT NULL column with default value NULL"). The test
suite's fresh databases never see it; this check reads every migration instead.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from tortoise.fields.base import DB_DEFAULT_NOT_SET
from tortoise.migrations import operations as ops

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _added_fields() -> list[tuple[str, str, object]]:
    found = []
    for path in sorted(MIGRATIONS.glob("*/[0-9]*.py")):
        module = importlib.import_module(f"migrations.{path.parent.name}.{path.stem}")
        for op in module.Migration.operations:
            if isinstance(op, ops.AddField):
                found.append((f"{path.parent.name}/{path.name}", op.name, op.field))
    return found


def test_every_added_column_can_be_added_to_a_table_with_rows() -> None:
    added = _added_fields()
    assert added, "no AddField found: the check would pass vacuously"
    wrong = [
        f"{where}: {name}"
        for where, name, field in added
        if not getattr(field, "null", False)
        and getattr(field, "db_default", DB_DEFAULT_NOT_SET) is DB_DEFAULT_NOT_SET
    ]
    assert not wrong, "NOT NULL without a database default: " + ", ".join(wrong)
