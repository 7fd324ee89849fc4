"""import_gias on the GIAS layouts since 2021 (tests/data/gias/, see tests/data/README.md):
columns by name, encodings detected, rows unchanged since LastChangedDate skipped cheaply."""

import csv
import io
import math
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerships.gias import GiasFileError, ImportReport, import_gias
from partnerships.models import Funding, OfstedRating, Phase, School

DATA = Path(__file__).resolve().parent.parent / "data" / "gias"
GIAS_2021, GIAS_2024, GIAS_2025 = (DATA / f"edubasealldata{year}.csv" for year in (2021, 2024, 2025))
WINDOWS_1252 = DATA / "windows1252.csv"

pytestmark = pytest.mark.django_db


def counts(report):
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "errors": len(report.errors),
    }


def minimal_file(tmp_path, rows, *, extra=(), name="gias.csv", encoding="cp1252"):
    """A 2025-layout-like file with only the required columns (plus `extra` columns)."""
    header = [
        "URN",
        "EstablishmentName",
        "TypeOfEstablishment (name)",
        "EstablishmentStatus (name)",
        "PhaseOfEducation (name)",
        *extra,
    ]
    path = tmp_path / name
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def school_row(urn, name="Oak Primary School", *extra):
    return [str(urn), name, "Community school", "Open", "Primary", *extra]


# --- Each layout imports, with its values --------------------------------------------------------


def test_2021_layout_imports_every_school_with_its_register_fields():
    report = import_gias(GIAS_2021)

    assert counts(report) == {"created": 6, "updated": 0, "unchanged": 0, "skipped": 0, "errors": 0}
    assert report.encoding == "cp1252"
    alder = School.objects.get(urn=100001)
    assert (alder.website, alder.la_code, alder.district_code, alder.ward_code, alder.lsoa_code) == (
        "www.alder.blackpool.sch.uk",
        "890",
        "E06000009",
        "E05001638",
        "E01012671",
    )
    assert (alder.easting, alder.northing, alder.last_changed_on) == (331234, 437654, date(2021, 7, 12))
    assert (alder.constituency_code, alder.fsm_percent, alder.ofsted_rating) == (
        "E14000000",
        Decimal("31.40"),
        OfstedRating.GOOD,
    )
    beech = School.objects.get(urn=100002)
    assert (beech.trust_code, beech.trust_name, beech.ofsted_rating) == (
        "4012",
        "Northern Lights Trust",
        OfstedRating.REQUIRES_IMPROVEMENT,
    )
    cedar = School.objects.get(urn=100003)
    assert (cedar.federation_code, cedar.federation_name) == ("F1234", "Coastal Schools Federation")
    assert School.objects.get(urn=100004).phase == Phase.SECONDARY
    assert School.objects.get(urn=100005).funding == Funding.INDEPENDENT
    assert School.objects.get(urn=100006).is_open is False


def test_2024_layout_read_as_utf_8_with_a_byte_order_mark():
    report = import_gias(GIAS_2024)

    assert counts(report)["created"] == 7
    assert report.encoding == "utf-8-sig"
    assert School.objects.get(urn=100007).trust_name == "Quantock Learning Trust"


def test_2025_layout_without_ofsted_columns_imports():
    report = import_gias(GIAS_2025)

    assert counts(report) == {"created": 8, "updated": 0, "unchanged": 0, "skipped": 0, "errors": 0}
    assert "OfstedRating (name)" not in report.columns
    hawthorn = School.objects.get(urn=100008)
    assert (hawthorn.name, hawthorn.trust_code, hawthorn.ofsted_rating) == (
        "Hawthorn Primary Academy",
        "4012",
        OfstedRating.NOT_RATED,
    )


def test_2025_layout_leaves_the_ofsted_rating_a_previous_file_gave():
    import_gias(GIAS_2024)

    import_gias(GIAS_2025)

    assert School.objects.get(urn=100002).ofsted_rating == OfstedRating.GOOD


def test_windows_1252_curly_apostrophes_and_accents_are_read_correctly():
    report = import_gias(WINDOWS_1252)

    assert report.encoding == "cp1252"
    names = set(School.objects.values_list("name", flat=True))
    assert names == {"Café\u2019s Corner Primary School", "St Thérèse\u2019s Catholic Primary School"}


def test_the_command_reports_the_encoding_it_read():
    out = io.StringIO()

    call_command("import_gias", str(WINDOWS_1252), stdout=out)

    assert "2 created" in out.getvalue()
    assert "read as cp1252" in out.getvalue()


# --- Idempotent, and cheap when unchanged ---------------------------------------------------------


@pytest.mark.parametrize("sample", [GIAS_2021, GIAS_2024, GIAS_2025, WINDOWS_1252], ids=lambda p: p.stem)
def test_second_import_of_each_sample_changes_nothing(sample):
    first = import_gias(sample)
    before = dict(School.objects.values_list("urn", "updated_at"))

    second = import_gias(sample)

    assert (second.created, second.updated, len(second.errors)) == (0, 0, 0)
    assert second.skipped + second.unchanged == first.created
    assert dict(School.objects.values_list("urn", "updated_at")) == before


def test_2024_after_2021_updates_only_rows_changed_since_their_last_changed_date():
    import_gias(GIAS_2021)

    report = import_gias(GIAS_2024)

    # 100002, 100003, 100004 have a new LastChangedDate; 100007 is new; three are as they were.
    assert counts(report) == {"created": 1, "updated": 3, "unchanged": 0, "skipped": 3, "errors": 0}
    assert School.objects.get(urn=100002).pupils == 1164


def test_a_row_with_its_stored_last_changed_date_is_skipped_without_an_update(tmp_path):
    import_gias(minimal_file(tmp_path, [school_row(1, "Oak", "01-02-2025")], extra=["LastChangedDate"]))
    edited = minimal_file(
        tmp_path, [school_row(1, "Oak renamed", "01-02-2025")], extra=["LastChangedDate"], name="b.csv"
    )

    report = import_gias(edited)

    assert (report.skipped, report.updated, School.objects.get().name) == (1, 0, "Oak")
    assert import_gias(edited, full=True).updated == 1
    assert School.objects.get().name == "Oak renamed"


def _queries(path, **options) -> Counter:
    with CaptureQueriesContext(connection) as captured:
        import_gias(path, **options)
    return Counter(query["sql"].split()[0].upper() for query in captured)


def _inserts_needed(rows: int) -> int:
    """One INSERT per batch, which the backend may split by its parameter limit (SQLite: 999)."""
    fields = [f for f in School._meta.concrete_fields if not f.primary_key]
    return math.ceil(rows / connection.ops.bulk_batch_size(fields, [None] * rows))


def test_query_count_does_not_grow_with_the_rows(tmp_path):
    extra = ["LastChangedDate", "DistrictAdministrative (code)", "Trusts (code)"]

    def sample(first, count, name):
        rows = [school_row(i, "S", "01-02-2025", "E06000009", "4012") for i in range(first, first + count)]
        return minimal_file(tmp_path, rows, extra=extra, name=name)

    small, large = sample(1, 10, "small.csv"), sample(1001, 100, "large.csv")
    changed = [school_row(i, "T", "02-02-2025", "E06000009", "4012") for i in range(1001, 1101)]
    changed_file = minimal_file(tmp_path, changed, extra=extra, name="changed.csv")

    if connection.vendor == "postgresql":
        # The batch's temporary table made and dropped once per import; per batch one SELECT of its
        # schools, a COPY (which Django does not log) and one INSERT ... ON CONFLICT ("WITH ...").
        per_import = Counter(SAVEPOINT=1, CREATE=1, DROP=1, RELEASE=1)
        assert _queries(small) == per_import + Counter(SELECT=1, WITH=1)
        assert _queries(large) == per_import + Counter(SELECT=1, WITH=1)
        # Unchanged rows: the SELECT only, nothing written.
        assert _queries(large) == per_import + Counter(SELECT=1)
        # Changed rows go the same way as new ones (ON CONFLICT (urn) DO UPDATE).
        assert _queries(changed_file) == per_import + Counter(SELECT=1, WITH=1)
        assert School.objects.filter(urn__range=(1001, 1100), name="T").count() == 100
        return

    # One SELECT of the batch's schools and one bulk INSERT, for 10 rows as for 100.
    assert _queries(small) == Counter(SAVEPOINT=1, SELECT=1, INSERT=_inserts_needed(10), RELEASE=1)
    assert _queries(large) == Counter(SAVEPOINT=1, SELECT=1, INSERT=_inserts_needed(100), RELEASE=1)
    # Unchanged rows: the SELECT only, no UPDATE.
    assert _queries(large) == Counter(SAVEPOINT=1, SELECT=1, RELEASE=1)
    # Changed rows: one bulk UPDATE for the batch (12 parameters a row: pk twice, 9 fields, updated_at).
    updates = _queries(changed_file)
    bulk_updates = math.ceil(100 / connection.ops.bulk_batch_size([None] * 12, [None] * 100))
    assert (updates["SELECT"], updates["UPDATE"], updates["INSERT"]) == (1, bulk_updates, 0)


def test_the_write_path_stores_values_exactly_and_leaves_columns_the_file_lacks(tmp_path):
    """PostgreSQL writes through COPY's text format: backslashes, quotes, ’ and é, blanks (NULL),
    decimals and dates must arrive as they were; an update touches only the file's columns."""
    extra = ["NumberOfPupils", "PercentageFSM", "LastChangedDate"]
    rows = [
        school_row(1, "St Peter\\Paul’s “Café” School", "", "12.5", "01-02-2025"),
        school_row(2, "N\\A \\t Academy", "1200", "", ""),
    ]
    import_gias(minimal_file(tmp_path, rows, extra=extra))

    first, second = School.objects.order_by("urn")
    assert (first.name, first.pupils, first.fsm_percent, first.last_changed_on) == (
        "St Peter\\Paul’s “Café” School",
        None,
        Decimal("12.50"),
        date(2025, 2, 1),
    )
    assert (first.is_synthetic, first.ofsted_source, first.website) == (False, "", "")
    assert (second.name, second.pupils, second.fsm_percent, second.last_changed_on) == (
        "N\\A \\t Academy",
        1200,
        None,
        None,
    )

    School.objects.filter(urn=1).update(website="www.kept.example", ofsted_source="Ofsted MI", pupils=5)
    changed = [school_row(1, "Renamed\\School", "300", "", "02-02-2025")]
    report = import_gias(minimal_file(tmp_path, changed, extra=extra, name="b.csv"))

    first.refresh_from_db()
    assert (report.updated, first.name, first.pupils, first.fsm_percent) == (1, "Renamed\\School", 300, None)
    assert (first.website, first.ofsted_source) == ("www.kept.example", "Ofsted MI")  # not in the file
    assert School.objects.count() == 2


# --- Bad rows and bad files ------------------------------------------------------------------------


def test_bad_rows_in_the_2025_layout_are_reported_with_their_lines(tmp_path):
    rows = [
        school_row(1, "Good", "12", "01-02-2025"),
        school_row(2, "Bad easting", "north", "01-02-2025"),
        school_row(3, "Bad date", "10", "31-02-2025"),
    ]

    report = import_gias(minimal_file(tmp_path, rows, extra=["Easting", "LastChangedDate"]))

    assert [(e.line, e.urn) for e in report.errors] == [(3, "2"), (4, "3")]
    assert "Easting 'north' is not a whole number" in report.errors[0].reason
    assert "LastChangedDate '31-02-2025' is not a date" in report.errors[1].reason
    assert list(School.objects.values_list("urn", flat=True)) == [1]


def test_a_file_with_a_nul_byte_is_refused_naming_the_line_and_nothing_is_saved(tmp_path):
    path = minimal_file(tmp_path, [school_row(1), school_row(2), school_row(3)])
    path.write_bytes(path.read_bytes().replace(b"2,Oak Primary", b"2,Oak\x00 Primary"))

    with pytest.raises(
        CommandError, match=r"is not a text file: line 3 holds the byte 0x00.*Nothing was changed"
    ):
        call_command("import_gias", str(path), stdout=io.StringIO())

    assert not School.objects.exists()


def test_a_zip_archive_is_refused_with_advice(tmp_path):
    path = tmp_path / "edubasealldata.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)

    with pytest.raises(GiasFileError, match="ZIP archive"):
        import_gias(path)


def test_bytes_neither_utf_8_nor_windows_1252_are_refused_naming_the_line(tmp_path):
    path = minimal_file(tmp_path, [school_row(1), school_row(2, "Caf\u00e9")])
    path.write_bytes(path.read_bytes().replace(b"Caf\xe9", b"Caf\x81"))

    with pytest.raises(
        GiasFileError, match=r"neither UTF-8 nor Windows-1252 text: line 3 holds the byte 0x81"
    ):
        import_gias(path)


def test_an_uploaded_file_object_imports_like_a_path():
    upload = io.BytesIO(WINDOWS_1252.read_bytes())
    upload.name = "upload.csv"

    report = import_gias(upload)

    assert (report.created, report.encoding) == (2, "cp1252")


def test_a_report_object_passed_in_is_filled_as_the_import_goes():
    report_seen = []
    mine = ImportReport()
    returned = import_gias(GIAS_2025, report=mine, progress=lambda r: report_seen.append(r.created))

    assert returned is mine
    assert report_seen == [8]
