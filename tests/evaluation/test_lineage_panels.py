"""An academy conversion in the GIAS links file moves a school's outcome panel onto one school:
values recorded under the old URN count for the new one in the evaluation's frames and panels."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from evaluation import impact_data, outcomes
from evaluation.models import Measure, OutcomeValue
from grants.models import Application
from partnerships.gias_links import import_links
from tests import factories

pytestmark = pytest.mark.django_db

LINKS = Path(__file__).resolve().parents[1] / "data" / "links_edubasealldata_sample.csv"
MEASURE = Measure.KS2_SCIENCE_TA


def _values(school, years_values):
    OutcomeValue.objects.bulk_create(
        [
            OutcomeValue(school=school, year=year, measure=MEASURE, value=Decimal(value))
            for year, value in years_values.items()
        ]
    )


@pytest.fixture
def converted():
    """St Mary's (URN 100001) took part in a 2014 cohort and became an academy (URN 140001) in
    2014/15; its KS2 results up to 2014 (the baseline year) are under the old URN, later ones under
    the new."""
    cohort = factories.CohortFactory(starts_on=date(2014, 9, 1), ends_on=date(2016, 8, 31))
    old = factories.SchoolFactory(urn=100001, name="St Mary's CofE Primary", is_open=False)
    new = factories.SchoolFactory(urn=140001, name="St Mary's Academy")
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=old)
    factories.ApplicationFactory(
        partnership=partnership,
        status=Application.Status.APPROVED,
        requested=Decimal("12000.00"),
        awarded=Decimal("12000.00"),
        decided_at=timezone.now(),
    )
    _values(old, {2012: "60.00", 2013: "62.00", 2014: "63.00"})
    _values(new, {2015: "70.00", 2016: "72.00"})
    return cohort, old, new


def _panel(cohort, school):
    units = outcomes.participants(cohort)
    pairs = [{"participant": school.pk, "comparison": factories.SchoolFactory().pk}]
    return outcomes.did_panel(MEASURE, pairs=pairs, units=units, baseline=outcomes.baseline_year(cohort))


def test_without_the_links_the_conversion_splits_the_school_in_two(converted):
    cohort, old, _new = converted

    assert set(outcomes.participants(cohort)) == {old.pk}
    panel = _panel(cohort, old)
    assert sorted(panel["year"]) == [2012, 2013, 2014]  # the academy's results are lost to the panel


def test_a_conversion_in_the_links_file_moves_the_panel_onto_one_school(converted):
    cohort, old, new = converted

    import_links(LINKS)

    units = outcomes.participants(cohort)
    assert set(units) == {new.pk}  # the membership follows the school to its new URN
    panel = _panel(cohort, new)
    mine = panel[panel["school_id"] == new.pk].sort_values("year")
    assert mine["year"].tolist() == [2012, 2013, 2014, 2015, 2016]
    assert mine["value"].tolist() == [60.0, 62.0, 63.0, 70.0, 72.0]
    assert mine["post"].tolist() == [0, 0, 0, 1, 1]
    assert set(mine["treated"]) == {1}
    assert old.pk not in set(panel["school_id"])


def test_the_converter_is_matched_on_its_predecessors_baseline(converted):
    cohort, old, new = converted
    import_links(LINKS)

    frame = outcomes.matching_frame(cohort, MEASURE)

    row = frame[frame["school_id"] == new.pk].iloc[0]
    assert outcomes.baseline_year(cohort) == 2014
    assert row["baseline"] == 63.0  # recorded under the old URN
    assert old.pk not in set(frame["school_id"])
    assert outcomes.measures_with_data(cohort) == [MEASURE]


def test_a_converted_comparison_school_is_a_candidate_with_its_old_baseline(converted):
    cohort, _, _ = converted
    import_links(LINKS)
    # A second conversion, not in the cohort: 100010 → 137010 (amalgamated with 100011).
    before = factories.SchoolFactory(urn=100010, is_open=False)
    after = factories.SchoolFactory(urn=137010)
    _values(before, {2014: "58.00"})

    frame = outcomes.matching_frame(cohort, MEASURE)

    candidate = frame[frame["school_id"] == after.pk]
    assert candidate["baseline"].tolist() == [58.0]
    assert not candidate["treated"].any()


def test_the_schools_own_value_wins_over_its_predecessors(converted):
    _, _, new = converted
    import_links(LINKS)
    _values(new, {2013: "99.00"})

    found = impact_data.values(MEASURE, school_ids=[new.pk])

    assert found[(new.pk, 2013)] == 99.0
    assert found[(new.pk, 2012)] == 60.0


def test_a_year_both_amalgamated_schools_have_is_left_out():
    import_links(LINKS)
    first = factories.SchoolFactory(urn=100010, is_open=False)
    second = factories.SchoolFactory(urn=100011, is_open=False)
    merged = factories.SchoolFactory(urn=137010)
    _values(first, {2011: "50.00", 2012: "51.00"})
    _values(second, {2012: "70.00"})

    found = impact_data.values(MEASURE, school_ids=[merged.pk])

    assert found == {(merged.pk, 2011): 50.0}
