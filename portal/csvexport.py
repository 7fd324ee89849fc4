"""The one CSV writer of every download.

- **Formula-safe** (OWASP "CSV injection"): a text cell that a spreadsheet would run as a
  formula (it begins with =, +, -, @, a tab, a carriage return or a line feed, or the full-width
  ＝ ＋ － ＠ that some spreadsheets also accept) is written with a leading apostrophe, which
  Excel, LibreOffice and Google Sheets show as text. Numbers (int, Decimal, float) and text
  that is just a number ("-12.50") are left as they are, so sums still work.
- **UTF-8 with a byte-order mark**, so Excel on Windows shows £ and – instead of mojibake.
- Dates and times are ISO 8601; None is an empty cell.

    return csv_response("released-payments.csv", ["id", "amount"], rows)
"""

import csv
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
