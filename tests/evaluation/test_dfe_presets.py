"""DfE performance tables straight in: the KS2/KS4/KS5 presets, suppression markers as missing
values counted per marker, local-authority and national rows skipped, a mapping for any other
file, and provenance (file, publication, import time) on every value."""

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from evaluation.models import Measure, OutcomeValue
from evaluation.outcome_import import OutcomesFileError, import_outcomes_file, parse_mapping
from tests import factories

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data"
KS4 = DATA / "england_ks4final_sample.csv"
KS2 = DATA / "england_ks2final_sample.csv"
KS5 = DATA / "england_ks5final_sample.csv"


@pytest.fixture
def register():
    urns = (100001, 100002, 100003, 100004, 100005, 100011, 100012, 100013)
    return {urn: factories.SchoolFactory(urn=urn) for urn in urns}


def stored():
    return {(o.school.urn, o.measure): o.value for o in OutcomeValue.objects.select_related("school")}


def test_the_ks4_tables_import_with_their_counts_markers_and_values(register):
    report = import_outcomes_file(KS4, year=2024, preset="ks4", publication="2023/24 revised")

    assert report.encoding == "cp1252"
    assert (report.rows, report.skipped_not_school) == (8, 2)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (8, 0, 0, 1)
    assert report.rejections == ["line 9: URN 999999 is not in the schools register (unknown URN)"]
    assert dict(report.missing) == {
        "SUPP": 5,
        "NE": 5,
        "x": 1,
        "LOWCOV": 1,
        "NEW": 1,
        "NP": 1,
        "c": 1,
        "..": 1,
        ":": 1,
        "z": 1,
    }
    assert stored() == {
        (100001, Measure.KS4_ATTAINMENT8): Decimal("46.20"),
        (100001, Measure.KS4_PROGRESS8): Decimal("-0.12"),
        (100001, Measure.KS4_ATTAINMENT8_DISADVANTAGED): Decimal("35.10"),
        (100001, Measure.KS4_ATTAINMENT8_OTHER): Decimal("50.30"),
        (100001, Measure.KS4_TRIPLE_SCIENCE): Decimal("30.00"),
        (100004, Measure.KS4_ATTAINMENT8): Decimal("52.00"),
        (100004, Measure.KS4_PROGRESS8): Decimal("0.35"),
        (100004, Measure.KS4_ATTAINMENT8_OTHER): Decimal("54.00"),
    }
    assert "missing 18 (" in report.summary()


def test_every_value_keeps_its_file_publication_and_import_time(register):
    import_outcomes_file(KS4, year=2024, preset="ks4", publication="2023/24 revised")

    provenance = set(OutcomeValue.objects.values_list("source", "publication", "year"))
    assert provenance == {("england_ks4final_sample.csv", "2023/24 revised", 2024)}
    assert not OutcomeValue.objects.filter(imported_at__isnull=True).exists()


def test_reimporting_the_same_tables_changes_nothing(register):
    import_outcomes_file(KS4, year=2024, preset="ks4", publication="2023/24 revised")
    before = {o.pk: (o.updated_at, o.imported_at) for o in OutcomeValue.objects.all()}

    again = import_outcomes_file(KS4, year=2024, preset="ks4", publication="2023/24 revised")

    assert (again.created, again.updated, again.unchanged) == (0, 0, 8)
    assert {o.pk: (o.updated_at, o.imported_at) for o in OutcomeValue.objects.all()} == before


def test_the_revised_release_replaces_the_provisional_provenance(register):
    import_outcomes_file(KS4, year=2024, preset="ks4", publication="2023/24 provisional")

    report = import_outcomes_file(KS4, year=2024, preset="ks4", publication="2023/24 revised")

    assert (report.created, report.updated) == (0, 8)
    assert set(OutcomeValue.objects.values_list("publication", flat=True)) == {"2023/24 revised"}


def test_the_ks2_tables_import_percentages_and_skip_la_and_national_rows(register):
    report = import_outcomes_file(KS2, year=2024, preset="ks2")

    assert report.encoding == "utf-8-sig"
    assert (report.rows, report.skipped_not_school, report.created, report.rejected) == (5, 2, 3, 0)
    assert dict(report.missing) == {"SUPP": 2, "NEW": 1}
    assert stored() == {
        (100011, Measure.KS2_RWM_EXPECTED): Decimal("65.00"),
        (100011, Measure.KS2_SCIENCE_TA): Decimal("80.00"),
        (100013, Measure.KS2_RWM_EXPECTED): Decimal("71.00"),
    }


def test_the_ks5_tables_give_stem_a_level_entries(register):
    report = import_outcomes_file(KS5, year=2024, preset="ks5")

    assert (report.skipped_not_school, report.created, dict(report.missing)) == (1, 1, {"SUPP": 1})
    assert stored() == {(100001, Measure.POST16_STEM_ALEVEL_ENTRIES): Decimal("85.00")}


def test_a_mapping_reads_any_other_file_and_can_sum_columns(register, tmp_path):
    path = tmp_path / "stem_entries.csv"
    path.write_text("urn,maths,physics,chemistry\n100001,40,12,SUPP\n100004,10,5,3\n", encoding="utf-8")

    report = import_outcomes_file(
        path, year=2024, mapping=parse_mapping(["MATHS+PHYSICS+CHEMISTRY=post16_stem_alevel_entries"])
    )

    assert report.created == 1  # a suppressed part leaves the sum missing, never too small
    assert stored() == {(100004, Measure.POST16_STEM_ALEVEL_ENTRIES): Decimal("18.00")}


def test_a_preset_column_missing_from_this_years_file_is_reported_not_fatal(register, tmp_path):
    path = tmp_path / "england_ks4final.csv"
    path.write_text("RECTYPE,URN,ATT8SCR\n1,100001,47.5\n", encoding="utf-8")

    report = import_outcomes_file(path, year=2025, preset="ks4")

    assert report.created == 1
    assert set(report.columns_absent) == {"P8MEA", "ATT8SCR_FSM6CLA1A", "ATT8SCR_NFSM6CLA1A", "PTSCI3_E"}


def test_a_file_with_none_of_the_presets_columns_changes_nothing(register):
    with pytest.raises(OutcomesFileError, match="Missing column"):
        import_outcomes_file(KS2, year=2024, preset="ks4")
    assert not OutcomeValue.objects.exists()


@pytest.mark.parametrize(
    ("items", "message"),
    [(["ATT8SCR"], "COLUMN=MEASURE"), (["ATT8SCR=ks9_magic"], "unknown measure 'ks9_magic'")],
)
def test_a_bad_mapping_is_refused_with_the_reason(items, message):
    with pytest.raises(OutcomesFileError, match=message):
        parse_mapping(items)


def test_the_command_takes_a_preset_and_prints_the_markers(register):
    out = StringIO()
    call_command(
        "import_outcomes", str(KS4), year="2024", preset="ks4", publication="2023/24 revised", stdout=out
    )

    text = out.getvalue()
    assert "created 8, updated 0, unchanged 0, rejected 1, missing 18" in text
    assert "SUPP 5" in text
    assert "rejected line 9: URN 999999" in text


def test_the_command_refuses_a_mapping_without_a_measure(register):
    with pytest.raises(CommandError, match="COLUMN=MEASURE"):
        call_command("import_outcomes", str(KS4), year="2024", map=["ATT8SCR"], stdout=StringIO())


def test_the_impact_page_names_the_sources_of_the_values(client, register):
    from evaluation.models import ComparisonGroup, MatchedPair

    import_outcomes_file(KS4, year=2024, preset="ks4", publication="2023/24 revised")
    cohort = factories.CohortFactory()
    group = ComparisonGroup.objects.create(cohort=cohort, measure=Measure.KS4_ATTAINMENT8, state="ready")
    MatchedPair.objects.create(
        group=group,
        participant=register[100001],
        comparison=register[100004],
        unit="partnership:1",
        participant_score=0.5,
        comparison_score=0.5,
    )
    staff = factories.StaffFactory()
    cohort.programme.staff.add(staff)
    client.force_login(staff)

    response = client.get(
        reverse("evaluation:impact_cohort", args=[cohort.pk]), {"measure": Measure.KS4_ATTAINMENT8}
    )

    page = response.content.decode()
    assert "england_ks4final_sample.csv" in page
    assert "2023/24 revised" in page
