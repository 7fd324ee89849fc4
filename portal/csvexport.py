"""The one CSV writer of every download.

- **Formula-safe** (OWASP "CSV injection"): a text cell that a spreadsheet would run as a
  formula (it begins with =, +, -, @, a tab, a carriage return or a line feed, or the full-width
  ＝ ＋ － ＠ that some spreadsheets also accept) is written with a leading apostrophe, which
  Excel, LibreOffice and Google Sheets show as text. Numbers (int, Decimal, float) and text
  that is just a number ("-12.50") are left as they are, so sums still work.
- **UTF-8 with a byte-order mark**, so Excel on Windows shows £ and – instead of mojibake.
- Dates and times are ISO 8601; None is an empty cell.

The same rows as an .xlsx workbook: `xlsx_response` (text cells are never formulas).

    return csv_response("released-payments.csv", ["id", "amount"], rows)
"""

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value):
    """The value as a CSV cell that no spreadsheet evaluates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | Decimal | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def rows_as_csv(header: list[str], rows: Iterable[Iterable]) -> Iterable[str]:
    """The CSV text, BOM first, one line at a time (for streaming large exports)."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([safe_cell(title) for title in header])
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def csv_text(header: list[str], rows: Iterable[Iterable]) -> str:
    return "".join(rows_as_csv(header, rows))


def _disposition(filename: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "export.csv"
    return f'attachment; filename="{safe}"'


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable], *, stream: bool = False):
    """A CSV download. With `stream`, rows are written as they are read (a large queryset's
    .iterator()), so memory stays flat whatever the size."""
    content_type = "text/csv; charset=utf-8"
    if stream:
        response = StreamingHttpResponse(rows_as_csv(header, rows), content_type=content_type)
    else:
        response = HttpResponse(csv_text(header, rows), content_type=content_type)
    response["Content-Disposition"] = _disposition(filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def xlsx_bytes(sheet_title: str, header: list[str], rows: Iterable[Iterable], *, totals=()) -> bytes:
    """The same table as an .xlsx workbook (openpyxl): numbers are number cells (money shown as
    £#,##0.00), dates are dates, every other value is a text cell — never a formula, whatever it
    begins with. With `totals` (column titles), a last row holds those columns' sums, as
    numbers computed here (not formulas: every reader sees them, recalculated or not)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title[:31])
    bold = Font(bold=True)

    def cell(value, *, strong=False):
        if isinstance(value, datetime):
            value = value.replace(tzinfo=None)
        if value is None:
            value = ""
        c = WriteOnlyCell(sheet, value=value)
        if isinstance(value, Decimal):
            c.number_format = "£#,##0.00"
        elif isinstance(value, datetime):
            c.number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(value, date):
            c.number_format = "yyyy-mm-dd"
        elif not isinstance(value, int | float) or isinstance(value, bool):
            c.value = str(value) if not isinstance(value, bool) else ("yes" if value else "no")
            c.data_type = "s"  # openpyxl would otherwise store text beginning with "=" as a formula
        if strong:
            c.font = bold
        return c

    sheet.append([cell(title, strong=True) for title in header])
    indexes = [header.index(t) for t in totals]
    sums = {i: Decimal("0.00") for i in indexes}
    count = 0
    for row in rows:
        row = list(row)
        for i in indexes:
            sums[i] += row[i] or 0
        sheet.append([cell(v) for v in row])
        count += 1
    if totals:
        last = [cell(f"Total ({count} rows)", strong=True)] + [
            cell(sums[i], strong=True) if i in sums else cell("") for i in range(1, len(header))
        ]
        sheet.append(last)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(filename: str, sheet_title: str, header: list[str], rows: Iterable[Iterable], *, totals=()):
    response = HttpResponse(xlsx_bytes(sheet_title, header, rows, totals=totals), content_type=XLSX_TYPE)
    response["Content-Disposition"] = _disposition(filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response
