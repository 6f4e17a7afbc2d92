"""Excel (XLSX) files of a table: one sheet, a header row, then the rows.

Cells keep their types (numbers, booleans, days, times) so a spreadsheet can compute
with them. Times are written in UTC without a zone (Excel has none); text that
looks like a formula stays text, so a comment typed at a kiosk cannot run in the
supervisor's spreadsheet.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A sheet holds 1,048,576 rows, the header included.
MAX_ROWS = 1_048_575
SHEET_TITLE_MAX = 31
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DAY_FORMAT = "yyyy-mm-dd"


class TooManyRows(ValueError):
    pass


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        stamp = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        cell = WriteOnlyCell(sheet, stamp)
        cell.number_format = TIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = DAY_FORMAT
        return cell
    if isinstance(value, list | tuple):
        value = ";".join(str(part) for part in value)
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"  # never a formula, even when it starts with "="
    return cell


def workbook(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The XLSX file of `rows` under `header`. Raises TooManyRows past one sheet."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(ILLEGAL_CHARACTERS_RE.sub("", title)[:SHEET_TITLE_MAX] or "Sheet")
    sheet.append(list(header))
    try:
        for count, row in enumerate(rows, start=1):
            if count > MAX_ROWS:
                raise TooManyRows(count)
            sheet.append([_cell(sheet, value) for value in row])
    except BaseException:
        sheet.close()  # ends the sheet's writer, which would otherwise fail when collected
        raise
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
