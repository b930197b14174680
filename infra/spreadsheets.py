"""Spreadsheets in and out: bounded reading of the lists communities keep (.csv, .xlsx) and cells
safe to open in Excel or WPS.

Reading is bounded before anything is built in memory: the file's size, the .xlsx archive's
unpacked size (a 5 KB .xlsx can unpack to hundreds of megabytes), the rows, the columns and the
cells. An .xlsx's own `<dimension ref="A1:XFD1048576"/>` is ignored: openpyxl pads every row to
the declared width and fills the gap up to a far cell with empty rows, so one crafted cell took
all the memory. Every importer reads through `read_table`, so each gets the same limits and the
same clear message.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path

from infra.text import printable

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # every member of an .xlsx archive together
MAX_ROWS = 5000  # the header included
MAX_COLUMNS = 30
MAX_CELLS = 60_000  # filled cells, all rows together
MAX_CELL_CHARS = 2000


class SpreadsheetError(ValueError):
    """The file cannot be read as a table; the message says why, in words for the person who
    made the file."""


@dataclass(frozen=True)
class Limits:
    rows: int = MAX_ROWS
    columns: int = MAX_COLUMNS
    cells: int = MAX_CELLS
    file_bytes: int = MAX_FILE_BYTES
    unpacked_bytes: int = MAX_UNPACKED_BYTES


def read_table(path: Path, limits: Limits = Limits()) -> list[list[str]]:
    """The first sheet as rows of text ("" for an empty cell), within `limits`; raises
    SpreadsheetError with the reason (too big, unreadable, unsupported type)."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".xlsx", ".xlsm"}:
        raise SpreadsheetError(f"不支持的文件类型 {suffix}（只支持 .csv 和 .xlsx）")
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise SpreadsheetError(
            f"文件太大了（{size // 1024} KB），最多 {limits.file_bytes // 1024 // 1024} MB，"
            "请分成几个文件导入。"
        )
    counter = _Counter(limits)
    if suffix == ".csv":
        return _read_csv(path, counter)
    return _read_xlsx(path, counter, limits)


class _Counter:
    """Counts what is read and stops at the first limit passed, naming it."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cells = 0

    def row(self, number: int, values: list[str]) -> list[str]:
        limits = self.limits
        if number > limits.rows:
            raise SpreadsheetError(
                f"表格太大了：最多读{limits.rows}行，第{number}行起还有内容（或格式），"
                "请删掉多余的行，或分成几个文件导入。"
            )
        while values and not values[-1]:
            values.pop()
        if len(values) > limits.columns:
            raise SpreadsheetError(
                f"表格太宽了：最多读{limits.columns}列，第{number}行有第{len(values)}列，"
                "请删掉多余的列。"
            )
        self.cells += sum(1 for v in values if v)
        if self.cells > limits.cells:
            raise SpreadsheetError(
                f"表格太大了：最多读{limits.cells}个格子（读到第{number}行），"
                "请分成几个文件导入。"
            )
        # invisible control characters (infra.text) would break the replies that show a cell
        return [printable(v)[:MAX_CELL_CHARS] for v in values]


def _read_csv(path: Path, counter: _Counter) -> list[list[str]]:
    table: list[list[str]] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for number, row in enumerate(csv.reader(fh), start=1):
                table.append(counter.row(number, row))
    except UnicodeDecodeError:
        raise SpreadsheetError(
            "文件不是 UTF-8 编码的 CSV，请在表格软件里另存为“CSV UTF-8”。"
        ) from None
    except csv.Error as exc:  # e.g. a field longer than the csv module's own limit
        raise SpreadsheetError(f"CSV 文件读不了：{exc}") from None
    return table


def _read_xlsx(path: Path, counter: _Counter, limits: Limits) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise SpreadsheetError("不是有效的 .xlsx 文件，请用表格软件重新保存。") from None
    # The declared sizes bound what is read: zipfile stops each member at its declared size.
    if unpacked > limits.unpacked_bytes:
        raise SpreadsheetError(
            f"表格解压后太大了（{unpacked // 1024 // 1024} MB），"
            "请删掉多余的内容或分成几个文件导入。"
        )
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SpreadsheetError(
            f"不是有效的 .xlsx 文件（{type(exc).__name__}），请用表格软件重新保存。"
        ) from None
    table: list[list[str]] = []
    try:
        sheet = wb.worksheets[0]
        sheet.reset_dimensions()  # the file's declared size is not to be trusted (see above)
        # One column more than allowed, so that a filled one there is seen and refused; the
        # rows come as the file has them, a gap up to a far row as cheap empty rows.
        rows = sheet.iter_rows(max_col=limits.columns + 1, values_only=True)
        for number, row in enumerate(rows, start=1):
            table.append(counter.row(number, ["" if v is None else str(v) for v in row]))
    except SpreadsheetError:
        raise
    except Exception as exc:
        raise SpreadsheetError(
            f"表格读不了（{type(exc).__name__}），请用表格软件重新保存。"
        ) from None
    finally:
        wb.close()
    return table


# ---- export ----------------------------------------------------------------------------------

# A cell starting with one of these is a formula to Excel, WPS and LibreOffice (=HYPERLINK(...),
# +cmd|..., @SUM(...)); tab and carriage return are the other ways in (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text that a spreadsheet shows as text: a leading quote before a formula character.
    Numbers are left as numbers (a negative count is a number, not a formula)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_row(values: list[object]) -> list[object]:
    return [safe_cell(v) for v in values]
