"""import_outcomes: idempotent, streamed, every rejected row reported with its line and reason,
and a malformed file changes nothing."""

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from evaluation.models import Measure, OutcomeValue
from tests import factories

DATA = Path(__file__).resolve().parent.parent / "data"
MEASURE = Measure.KS2_RWM_EXPECTED


@pytest.fixture
def register(db):
    return {urn: factories.SchoolFactory(urn=urn) for urn in (100001, 100002, 100003, 100004, 100005)}


def run(name, measure=MEASURE, year="2016"):
    out = StringIO()
    call_command("import_outcomes", str(DATA / name), measure=measure, year=year, stdout=out)
    return out.getvalue()


def values():
    return {(o.school.urn, o.year, o.measure): o.value for o in OutcomeValue.objects.select_related("school")}


def test_valid_file_creates_one_value_per_school(register):
    report = run("outcomes_valid.csv")

    assert "created 3, updated 0, unchanged 0, rejected 0" in report
    assert values() == {
        (100001, 2016, MEASURE): Decimal("65.50"),
        (100002, 2016, MEASURE): Decimal("71.00"),
        (100003, 2016, MEASURE): Decimal("80.25"),
    }


def test_second_run_of_the_same_file_reports_everything_unchanged(register):
    run("outcomes_valid.csv")
    before = {o.pk: o.updated_at for o in OutcomeValue.objects.all()}

    report = run("outcomes_valid.csv")

    assert "created 0, updated 0, unchanged 3, rejected 0" in report
    assert {o.pk: o.updated_at for o in OutcomeValue.objects.all()} == before


def test_same_file_for_another_year_adds_rows_for_that_year(register):
    run("outcomes_valid.csv", year="2016")

    report = run("outcomes_valid.csv", year="2017")

    assert "created 3" in report
    assert OutcomeValue.objects.count() == 6


def test_mixed_file_updates_creates_and_reports_each_rejected_row_with_line_and_reason(register):
    run("outcomes_valid.csv")

    report = run("outcomes_mixed.csv")

    # SUPP and a blank are missing values, counted per marker, not rejections.
    assert "created 1, updated 1, unchanged 0, rejected 6, missing 2 (SUPP 1, blank 1)" in report
    for expected in [
        "line 4: URN 100003: value 101.00 is out of range",
        "line 5: URN 999999 is not in the schools register (unknown URN)",
        "line 6: URN 'ABC' is not a number",
        "line 7: URN 100006 is not in the schools register",
        "line 8: URN 100001 appears more than once",
        "line 9: URN 100004: value '4O' is not a number",
    ]:
        assert expected in report
    assert values()[(100001, 2016, MEASURE)] == Decimal("66.00")
    assert values()[(100003, 2016, MEASURE)] == Decimal("80.25")  # the out-of-range row changed nothing
    assert values()[(100005, 2016, MEASURE)] == Decimal("45.00")  # "45%" accepted


def test_update_replaces_synthetic_value_and_clears_the_flag(register):
    OutcomeValue.objects.create(
        school=register[100001], year=2016, measure=MEASURE, value=Decimal("65.50"), is_synthetic=True
    )

    report = run("outcomes_valid.csv")

    assert "created 2, updated 1" in report
    assert not OutcomeValue.objects.get(school=register[100001]).is_synthetic


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("outcomes_missing_column.csv", "Missing column(s): value"),
        ("outcomes_empty.csv", "empty"),
        ("outcomes_header_only.csv", "no data rows"),
    ],
)
def test_malformed_file_stops_with_a_message(register, name, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(name)

    assert OutcomeValue.objects.count() == 0


def test_a_windows_1252_file_is_read_as_such(register):
    report = run("outcomes_latin1.csv")  # "Café" written as 0xE9: not UTF-8, so Windows-1252

    assert "created 1" in report


def test_malformed_file_leaves_earlier_data_untouched(register):
    run("outcomes_valid.csv")
    before = values()

    with pytest.raises(CommandError):
        run("outcomes_missing_column.csv")

    assert values() == before


def test_a_byte_that_is_not_text_is_refused_before_anything_is_saved(register, tmp_path):
    path = tmp_path / "late_bad_byte.csv"
    # 0x81 is neither UTF-8 nor Windows-1252: not text in any encoding we read.
    path.write_bytes(b"URN,value\n100001,50\n100002,51\n100003,52\n100004,5\x81\n")

    with pytest.raises(CommandError, match="neither UTF-8 nor Windows-1252 text: line 5 holds the byte 0x81"):
        call_command("import_outcomes", str(path), measure=MEASURE, year="2016", stdout=StringIO())

    assert OutcomeValue.objects.count() == 0


def test_a_file_error_after_saved_rows_rolls_them_back(register, tmp_path, monkeypatch):
    from evaluation import outcome_import

    monkeypatch.setattr(outcome_import, "BATCH_SIZE", 2)
    saved_batches = []
    original_save = outcome_import._Importer.save
    monkeypatch.setattr(
        outcome_import._Importer, "save", lambda self, batch: saved_batches.append(original_save(self, batch))
    )
    path = tmp_path / "late_error.csv"
    # A cell longer than the csv module's field limit: the file stops being readable on line 5.
    path.write_text(f"URN,value,note\n100001,50,a\n100002,51,b\n100003,52,c\n100004,5,{'x' * 200_000}\n")

    with pytest.raises(CommandError, match=r"not a readable CSV file \(line \d+: field larger"):
        call_command("import_outcomes", str(path), measure=MEASURE, year="2016", stdout=StringIO())

    assert saved_batches, "the first batch should have been written before the error"
    assert OutcomeValue.objects.count() == 0


def test_large_file_is_saved_in_batches(register, tmp_path, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr("evaluation.outcome_import.BATCH_SIZE", 2)
    path = tmp_path / "many.csv"
    path.write_text("URN,value\n" + "".join(f"{urn},{50 + i}\n" for i, urn in enumerate(register)))

    with django_assert_max_num_queries(20):
        call_command("import_outcomes", str(path), measure=MEASURE, year="2016", stdout=StringIO())

    assert OutcomeValue.objects.count() == 5


def test_unknown_measure_is_refused(register):
    with pytest.raises(CommandError, match="Unknown measure 'ks3_science'"):
        run("outcomes_valid.csv", measure="ks3_science")


@pytest.mark.parametrize("year", ["16", "2015/16", "1989", "2101", "twenty"])
def test_bad_year_is_refused(register, year):
    with pytest.raises(CommandError, match="Bad year"):
        run("outcomes_valid.csv", year=year)


@pytest.mark.parametrize("year", ["1990", "2100"])
def test_years_at_the_edges_are_accepted(register, year):
    assert "created 3" in run("outcomes_valid.csv", year=year)


@pytest.mark.parametrize(
    ("measure", "value", "accepted"),
    [
        (Measure.KS2_RWM_EXPECTED, "100", True),
        (Measure.KS2_RWM_EXPECTED, "100.01", False),
        (Measure.KS2_RWM_EXPECTED, "0", True),
        (Measure.KS2_RWM_EXPECTED, "-0.01", False),
        (Measure.KS4_ATTAINMENT8, "90", True),
        (Measure.KS4_ATTAINMENT8, "90.01", False),
        (Measure.KS4_PROGRESS8, "-5", True),
        (Measure.KS4_PROGRESS8, "-5.01", False),
        (Measure.POST16_STEM_ALEVEL_ENTRIES, "1200", True),
    ],
)
def test_value_range_edges(register, tmp_path, measure, value, accepted):
    path = tmp_path / "one.csv"
    path.write_text(f"URN,value\n100001,{value}\n")
    out = StringIO()

    call_command("import_outcomes", str(path), measure=measure, year="2016", stdout=out)

    assert OutcomeValue.objects.filter(measure=measure).exists() is accepted


def test_missing_file_is_refused(db):
    with pytest.raises(CommandError, match="No such file"):
        run("outcomes_nowhere.csv")


@pytest.mark.postgres
def test_database_refuses_out_of_range_value(register):
    with pytest.raises(IntegrityError, match="outcomevalue_value_in_measure_range"):
        OutcomeValue.objects.create(
            school=register[100001], year=2016, measure=Measure.KS4_PROGRESS8, value=Decimal("5.01")
        )


@pytest.mark.postgres
def test_database_refuses_a_second_value_for_the_same_school_year_and_measure(register):
    OutcomeValue.objects.create(school=register[100001], year=2016, measure=MEASURE, value=Decimal(50))

    with pytest.raises(IntegrityError, match="outcomevalue_unique_school_year_measure"):
        OutcomeValue.objects.create(school=register[100001], year=2016, measure=MEASURE, value=Decimal(51))
