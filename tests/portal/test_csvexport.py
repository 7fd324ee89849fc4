"""The one CSV writer: formulas neutralised, numbers kept, UTF-8 with a byte-order mark — and
every CSV download of the portal goes through it."""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from portal.csvexport import BOM, csv_response, csv_text, safe_cell

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+1+1",
        "-1+1",
        "@SUM(A1:A2)",
        "\t=1",
        "\r=1",
        "\n=1",
        '=HYPERLINK("x")',
        "＝1+1",
        "-",
        "+44 20 7946 0000",
    ],
)
def test_text_a_spreadsheet_would_run_gets_a_leading_apostrophe(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Fylde Coast", "", "1 = 1", "a-b", "£12,000.00", "O'Neill"])
def test_ordinary_text_is_unchanged(text):
    assert safe_cell(text) == text


@pytest.mark.parametrize("value", ["-12.50", "+3", "-0.5", "1e5", "12000", Decimal("-5.00"), -3, 2.5])
def test_numbers_and_number_text_pass_through_so_sums_still_work(value):
    assert safe_cell(value) == value


def test_none_dates_and_booleans_are_written_plainly():
    assert safe_cell(None) == ""
    assert safe_cell(True) == "yes"
    assert safe_cell(date(2026, 9, 1)) == "2026-09-01"
    assert safe_cell(datetime(2026, 9, 1, 8, 30)) == "2026-09-01T08:30:00"


def test_the_file_starts_with_a_byte_order_mark_and_keeps_pound_signs_and_dashes():
    text = csv_text(["Cohort", "Amount"], [["ENTHUSE 2026–28", "£12,000.00"]])

    assert text.startswith(BOM)
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(text.removeprefix(BOM)))) == [
        ["Cohort", "Amount"],
        ["ENTHUSE 2026–28", "£12,000.00"],
    ]


def test_the_response_is_an_attachment_with_a_safe_file_name():
    response = csv_response('cohort "1"\r\n.csv', ["a"], [["=x"]])

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cohort-1-.csv"'
    assert response.content.decode("utf-8-sig").splitlines()[1] == "'=x"


def test_no_download_writes_csv_by_itself():
    """Every CSV of the portal goes through portal/csvexport.py: no other module of ours makes
    a csv.writer or a text/csv response."""
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if (
            # grants/filetypes.py names the content type of an uploaded CSV file; it writes none.
            relative.startswith(
                (".venv/", "tests/", "benchmarks/", "portal/csvexport.py", "grants/filetypes.py")
            )
            or "/migrations/" in relative
        ):
            continue
        source = path.read_text()
        if re.search(r"csv\.writer\(|csv\.DictWriter\(|text/csv", source):
            offenders.append(relative)
    assert offenders == []
