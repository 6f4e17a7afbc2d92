"""Any table as a download: a `Table` (a title, column headers and rows of plain
values) written as CSV or as an Excel sheet.

CSV is UTF-8 with a byte-order mark (so spreadsheets read Vietnamese as UTF-8)
and CRLF line ends; an empty cell stands for "no value". XLSX goes through
`xlsx.workbook`, which keeps numbers, booleans and times typed.

`table_response` serves any table (the scores API uses it); `page_download`
serves a dashboard page's table the way every page does: audited, and with an
error page when an Excel sheet cannot hold it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from fastapi import Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hailong.i18n import _
from hailong.sync.server import audit, xlsx
from hailong.sync.server.deps import client_address
from hailong.sync.server.models import User
from hailong.sync.server.web import PageError

Format = Literal["csv", "xlsx"]
CSV_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"


@dataclass(frozen=True)
class Table:
    """`title` names the sheet; `columns` are the headers, already in the
    reader's language; each row holds one plain value per column."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


# A spreadsheet runs a cell that starts with one of these as a formula: a citizen's
# comment such as "=HYPERLINK(...)" must reach the supervisor as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_value(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(part) for part in value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_value(v) for v in values])
    return buffer.getvalue()


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return BOM + csv_line(columns) + "".join(csv_line(row) for row in rows)


def table_response(table: Table, fmt: Format, filename: str) -> Response:
    """The table as an attachment named `filename`.`fmt`. Raises
    xlsx.TooManyRows when an XLSX would not fit one sheet."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'}
    if fmt == "csv":
        return Response(csv_text(table.columns, table.rows), media_type=CSV_TYPE,
                        headers=headers)
    content = xlsx.workbook(table.title, table.columns, table.rows)
    return Response(content, media_type=xlsx.XLSX_TYPE, headers=headers)


def page_download(request: Request, db: Session, user: User, table: Table, fmt: Format,
                  filename: str, detail: str = "") -> Response:
    """A dashboard page's table, sent after the export is written to the audit
    log. The caller has already checked that `user` may see the table."""
    audit.record(db, user, "export", f"{filename} ({fmt})", detail,
                 client=client_address(request))
    try:
        return table_response(table, fmt, filename)
    except xlsx.TooManyRows:
        raise PageError(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                        _("More rows than one Excel sheet holds: choose fewer rows or "
                          "download the CSV.")) from None
