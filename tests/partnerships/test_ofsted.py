"""Ofsted judgements from Ofsted's own management information, with history, and eligibility
rules that say which judgement they use and why a school has none."""

from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from partnerships import eligibility
from partnerships.gias import import_gias
from partnerships.models import OfstedInspection, OfstedRating, School
from partnerships.ofsted import import_ofsted_mi, judgement_status
from tests.factories import ProgrammeFactory
from tests.partnerships.test_gias_layouts import GIAS_2024, GIAS_2025

DATA = Path(__file__).resolve().parent.parent / "data" / "ofsted"
MI_2023, MI_2025 = DATA / "ofsted_mi_2023.csv", DATA / "ofsted_mi_2025.csv"
WEAK = [OfstedRating.REQUIRES_IMPROVEMENT, OfstedRating.INADEQUATE]

pytestmark = pytest.mark.django_db


@pytest.fixture
def register():
    import_gias(GIAS_2025)  # the 2025 layout: no Ofsted columns, every school "not yet rated"


def rating(urn):
    school = School.objects.get(urn=urn)
    return school.ofsted_rating, school.ofsted_inspected_on


def test_the_pre_2024_layout_sets_judgements_and_dates(register):
    report = import_ofsted_mi(MI_2023, publication="MI state-funded schools, as at 31 August 2024")

    assert (report.rows, report.inspections_added, report.schools_updated, report.not_inspected) == (
        4,
        3,
        3,
        1,
    )
    assert rating(100001) == (OfstedRating.GOOD, date(2019, 3, 14))
    assert rating(100002) == (OfstedRating.REQUIRES_IMPROVEMENT, date(2023, 11, 7))
    assert rating(100003) == (OfstedRating.INADEQUATE, date(2022, 6, 21))
    assert rating(100007) == (OfstedRating.NOT_RATED, None)
    inspection = OfstedInspection.objects.get(urn=100002)
    assert (inspection.overall_effectiveness, inspection.inspection_type, inspection.published_on) == (
        "3",
        "S5 Inspection",
        date(2023, 12, 11),
    )
    assert inspection.source_file == "ofsted_mi_2023.csv (MI state-funded schools, as at 31 August 2024)"
    assert inspection.publication == "MI state-funded schools, as at 31 August 2024"
    assert inspection.school == School.objects.get(urn=100002)


def test_the_2025_layout_keeps_history_and_marks_inspections_without_a_grade(register):
    import_ofsted_mi(MI_2023)

    report = import_ofsted_mi(MI_2025)

    # New: Beech's graded inspection of 12 Nov 2024 (no grade), Alder's ungraded one, the URN not
    # in the register; Cedar's inspection was already known.
    assert (report.inspections_added, report.schools_updated, report.not_in_register) == (3, 1, 1)
    assert rating(100002) == (OfstedRating.NOT_JUDGED, date(2024, 11, 12))
    history = list(
        OfstedInspection.objects.filter(urn=100002).values_list("started_on", "overall_effectiveness")
    )
    assert history == [(date(2024, 11, 12), "not_judged"), (date(2023, 11, 7), "3")]
    assert rating(100001) == (OfstedRating.GOOD, date(2019, 3, 14))  # ungraded: the grade stands
    assert OfstedInspection.objects.filter(urn=100001, kind="ungraded", started_on=date(2025, 2, 5)).exists()


def test_importing_the_same_file_twice_changes_nothing(register):
    import_ofsted_mi(MI_2025)
    before = dict(School.objects.values_list("urn", "updated_at"))

    report = import_ofsted_mi(MI_2025)

    assert (report.inspections_added, report.schools_updated) == (0, 0)
    assert dict(School.objects.values_list("urn", "updated_at")) == before


def test_an_older_file_after_a_newer_one_does_not_roll_the_register_back(register):
    import_ofsted_mi(MI_2025)

    import_ofsted_mi(MI_2023)

    assert rating(100002) == (OfstedRating.NOT_JUDGED, date(2024, 11, 12))
    assert OfstedInspection.objects.filter(urn=100002).count() == 2


def test_a_gias_file_with_ofsted_columns_does_not_overwrite_ofsteds_own_judgement(register):
    import_ofsted_mi(MI_2023)

    import_gias(GIAS_2024, full=True)  # GIAS 2024 still says Beech is "Good"

    assert rating(100002) == (OfstedRating.REQUIRES_IMPROVEMENT, date(2023, 11, 7))


def test_bad_grades_are_rejected_with_their_line(tmp_path, register):
    path = tmp_path / "mi.csv"
    path.write_text(
        "URN,Inspection start date,Overall effectiveness\r\n100001,01/02/2023,5\r\n100002,31/02/2023,2\r\n",
        encoding="utf-8",
    )

    report = import_ofsted_mi(path)

    assert [(e.line, e.urn) for e in report.errors] == [(2, "100001"), (3, "100002")]
    assert "overall effectiveness '5' is not 1–4" in report.errors[0].reason
    assert "is not a date" in report.errors[1].reason


def test_a_file_that_is_not_the_mi_is_refused_and_changes_nothing(register):
    with pytest.raises(CommandError, match=r"missing 'Inspection start date'.*Nothing was changed"):
        call_command("import_ofsted", str(GIAS_2025))

    assert not OfstedInspection.objects.exists()


# --- Eligibility says which judgement it uses and why there is none ----------------------------


def test_a_school_with_no_graded_judgement_says_so_with_the_date(register):
    import_ofsted_mi(MI_2025)
    aspire = ProgrammeFactory(eligible_ofsted_ratings=WEAK, eligible_phases=[])
    beech = School.objects.get(urn=100002)

    reasons = eligibility.ineligibility_reasons(beech, aspire)

    assert reasons == [
        "The programme is for schools rated Requires improvement or Inadequate; this school has no graded "
        "judgement since its inspection of 12 November 2024: Ofsted no longer gives state-funded schools an "
        "overall effectiveness grade. Programme staff can decide on the school's latest report."
    ]
    assert judgement_status(beech).startswith("No graded judgement since the inspection of 12 November 2024")


def test_a_school_never_inspected_says_not_yet_inspected(register):
    aspire = ProgrammeFactory(eligible_ofsted_ratings=WEAK, eligible_phases=[])
    hawthorn = School.objects.get(urn=100008)

    assert eligibility.ineligibility_reasons(hawthorn, aspire) == [
        "The programme is for schools rated Requires improvement or Inadequate; this school has not yet "
        "been inspected (no graded Ofsted judgement)."
    ]
    assert judgement_status(hawthorn) == "Not yet inspected (no graded Ofsted judgement)"


def test_aspire_uses_the_latest_graded_judgement_from_ofsted(register):
    import_ofsted_mi(MI_2023)
    aspire = ProgrammeFactory(eligible_ofsted_ratings=WEAK, eligible_phases=[])

    eligible = School.objects.filter(eligibility.eligible_schools_q(aspire)).values_list("urn", flat=True)

    assert set(eligible) == {100002, 100003}
    assert "latest graded Ofsted inspection" in eligibility.judgement_rule(aspire)
    reasons = eligibility.ineligibility_reasons(School.objects.get(urn=100001), aspire)
    assert reasons == [
        "The programme is for schools rated Requires improvement or Inadequate; this school was rated Good "
        "at its inspection of 14 March 2019."
    ]
