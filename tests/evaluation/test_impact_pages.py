"""Comparison groups end to end: computed by the Celery task from the database, stored, and shown
by pages that never recompute; progress while busy; CSV of estimates; the demo cohort's page."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from evaluation import outcomes
from evaluation.impact_services import comparison_group_compute, comparison_groups_request
from evaluation.models import ComparisonGroup, MatchedPair, Measure, OutcomeValue
from evaluation.tasks import compute_comparison_group
from grants.models import Application
from partnerships.models import Membership, School
from tests import factories

MEASURE = Measure.KS2_SCIENCE_TA
REGIONS = ["North West", "North East", "London", "South West"]


@pytest.fixture
def evaluated_cohort(programme):
    """A 2014–16 cohort: 6 awarded partnerships of 5 primary schools (one declined invitation, one
    draft partnership), 300 candidate schools; KS2 science 2012–2017 with a +4 effect."""
    cohort = factories.CohortFactory(
        programme=programme, starts_on=date(2014, 9, 1), ends_on=date(2016, 8, 31)
    )
    rng = np.random.default_rng(5)
    schools = School.objects.bulk_create(
        [
            School(
                urn=500000 + i,
                name=f"School {i}",
                phase="primary",
                region=REGIONS[i % 4],
                pupils=int(rng.normal(300, 60)),
                fsm_percent=Decimal(str(round(float(rng.uniform(5, 45)), 1))),
                ofsted_rating=["good", "outstanding", "requires_improvement"][i % 3],
            )
            for i in range(330)
        ]
    )
    participants = schools[:30]
    for k in range(6):
        members = participants[5 * k : 5 * k + 5]
        partnership = factories.PartnershipFactory(cohort=cohort, lead_school=members[0])
        for school in members[1:]:
            factories.MembershipFactory(partnership=partnership, school=school)
        factories.ApplicationFactory(
            partnership=partnership,
            status=Application.Status.APPROVED,
            requested=Decimal("12000.00"),
            awarded=Decimal("12000.00"),
            reference=f"T-{k}",
            decided_at=timezone.now(),
        )
    declined = factories.PartnershipFactory(cohort=cohort, lead_school=schools[30])
    factories.MembershipFactory(partnership=declined, school=schools[31], status=Membership.Status.DECLINED)
    factories.ApplicationFactory(partnership=declined)  # a draft: not awarded, not a participant
    ids = {s.id for s in participants}
    OutcomeValue.objects.bulk_create(
        [
            OutcomeValue(
                school=s,
                year=year,
                measure=MEASURE,
                value=Decimal(
                    str(
                        round(
                            min(
                                100,
                                max(
                                    0,
                                    70
                                    - 0.3 * float(s.fsm_percent)
                                    + (s.urn % 7)
                                    + (year - 2012)
                                    + (4 if s.id in ids and year > 2014 else 0)
                                    + rng.normal(0, 1.5),
                                ),
                            ),
                            2,
                        )
                    )
                ),
            )
            for s in schools
            for year in range(2012, 2018)
        ]
    )
    return cohort


def group_for(cohort) -> ComparisonGroup:
    return ComparisonGroup.objects.get(cohort=cohort, measure=MEASURE)


def compute(cohort) -> ComparisonGroup:
    group, _ = ComparisonGroup.objects.get_or_create(cohort=cohort, measure=MEASURE)
    return comparison_group_compute(group_id=group.pk)


def test_participants_are_confirmed_members_of_awarded_partnerships(evaluated_cohort):
    units = outcomes.participants(evaluated_cohort)

    assert len(units) == 30
    assert len(set(units.values())) == 6
    assert not School.objects.filter(urn__in=[500030, 500031], id__in=list(units)).exists()


def test_baseline_year_is_the_last_academic_year_before_the_start(evaluated_cohort):
    assert outcomes.baseline_year(evaluated_cohort) == 2014
    evaluated_cohort.starts_on = date(2015, 1, 5)
    assert outcomes.baseline_year(evaluated_cohort) == 2014
    evaluated_cohort.starts_on = date(2014, 8, 31)
    assert outcomes.baseline_year(evaluated_cohort) == 2013


def test_task_stores_pairs_balance_and_estimate(evaluated_cohort):
    group = compute(evaluated_cohort)

    assert group.state == ComparisonGroup.State.READY
    assert group.pairs.count() == 30
    assert group.balance
    assert group.method["with_replacement"] is False
    assert group.estimate["ci_low"] <= 4 <= group.estimate["ci_high"]
    assert group.estimate["clusters"] == 6
    assert group.trends["years"] == list(range(2012, 2018))
    assert group.computed_at is not None
    assert group.inputs_fingerprint


def test_comparison_schools_never_include_participants(evaluated_cohort):
    group = compute(evaluated_cohort)
    units = outcomes.participants(evaluated_cohort)

    comparisons = set(group.pairs.values_list("comparison__urn", flat=True))

    assert not comparisons & set(School.objects.filter(id__in=list(units)).values_list("urn", flat=True))


def test_schools_in_another_cohort_are_not_comparison_schools(evaluated_cohort, programme):
    other = factories.PartnershipFactory(
        cohort=factories.CohortFactory(programme=programme), lead_school=School.objects.get(urn=500100)
    )
    assert other.pk

    group = compute(evaluated_cohort)

    assert 500100 not in set(group.pairs.values_list("comparison__urn", flat=True))


def test_rerun_replaces_the_result_without_duplicates(evaluated_cohort):
    compute(evaluated_cohort)

    group = compute(evaluated_cohort)

    assert MatchedPair.objects.filter(group=group).count() == 30


def test_task_marks_group_failed_when_nobody_reports_the_measure(evaluated_cohort):
    group = ComparisonGroup.objects.create(cohort=evaluated_cohort, measure=Measure.KS4_ATTAINMENT8)

    compute_comparison_group.delay(group.pk)

    group.refresh_from_db()
    assert group.state == ComparisonGroup.State.FAILED
    assert "No participating school" in group.error


def test_staff_request_queues_one_group_per_measure_with_data_and_runs_it(
    evaluated_cohort, staff_carol, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queued = comparison_groups_request(cohort_id=evaluated_cohort.pk, by=staff_carol)

    assert [g.measure for g in queued] == [MEASURE]
    assert group_for(evaluated_cohort).state == ComparisonGroup.State.READY


def test_request_while_queued_queues_nothing_more(evaluated_cohort, staff_carol):
    ComparisonGroup.objects.create(
        cohort=evaluated_cohort, measure=MEASURE, state="queued", queued_at=timezone.now()
    )

    assert comparison_groups_request(cohort_id=evaluated_cohort.pk, by=staff_carol) == []


def test_staff_of_another_programme_cannot_request(evaluated_cohort):
    from django.core.exceptions import PermissionDenied

    stranger = factories.StaffFactory()

    with pytest.raises(PermissionDenied):
        comparison_groups_request(cohort_id=evaluated_cohort.pk, by=stranger)


def test_page_shows_stored_result_without_recomputing(client, staff_carol, evaluated_cohort, monkeypatch):
    group = compute(evaluated_cohort)

    def refuse(*args, **kwargs):
        raise AssertionError("the page recomputed the matching")

    monkeypatch.setattr("evaluation.matching.match", refuse)
    monkeypatch.setattr("evaluation.impact.did_estimate", refuse)
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:impact_cohort", args=[evaluated_cohort.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert escape(group.estimate["reading"]) in body
    assert all(escape(pair.comparison.name) in body for pair in group.pairs.select_related("comparison"))


def test_page_query_count_does_not_grow_with_the_number_of_pairs(
    client, staff_carol, evaluated_cohort, django_assert_max_num_queries
):
    compute(evaluated_cohort)
    client.force_login(staff_carol)

    # 20, plus the URN lineage read by participants() and the table of the values' sources (issue 15).
    with django_assert_max_num_queries(22):
        client.get(reverse("evaluation:impact_cohort", args=[evaluated_cohort.pk]))


def test_page_says_when_the_data_changed_since_computed(client, staff_carol, evaluated_cohort):
    compute(evaluated_cohort)
    client.force_login(staff_carol)
    url = reverse("evaluation:impact_cohort", args=[evaluated_cohort.pk])
    assert "Data changed since computed" not in client.get(url).content.decode()

    outcome = OutcomeValue.objects.filter(measure=MEASURE).first()
    outcome.value += 1
    outcome.save()

    assert "Data changed since computed" in client.get(url).content.decode()


def test_page_shows_progress_while_busy(client, staff_carol, evaluated_cohort):
    ComparisonGroup.objects.create(
        cohort=evaluated_cohort,
        measure=MEASURE,
        state="running",
        progress=40,
        progress_note="Matching primary schools",
    )
    client.force_login(staff_carol)

    body = client.get(reverse("evaluation:impact_cohort", args=[evaluated_cohort.pk])).content.decode()

    assert "Matching primary schools" in body
    assert 'data-busy="true"' in body


def test_status_endpoint_reports_state_and_progress(client, staff_carol, evaluated_cohort):
    ComparisonGroup.objects.create(cohort=evaluated_cohort, measure=MEASURE, state="running", progress=40)
    client.force_login(staff_carol)

    data = client.get(reverse("evaluation:impact_status", args=[evaluated_cohort.pk])).json()

    assert data["busy"] is True
    assert data["groups"] == [
        {
            "measure": MEASURE,
            "label": "KS2: % expected standard in science (teacher assessment)",
            "state": "running",
            "state_label": "Running",
            "progress": 40,
            "note": "",
            "computed_at": None,
        }
    ]


def test_unknown_measure_in_the_query_is_a_404(client, staff_carol, evaluated_cohort):
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:impact_cohort", args=[evaluated_cohort.pk]) + "?measure=nope")

    assert response.status_code == 404


def test_estimates_csv_has_a_row_per_computed_measure(client, staff_carol, evaluated_cohort):
    group = compute(evaluated_cohort)
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:impact_estimates_csv", args=[evaluated_cohort.pk]))

    lines = response.content.decode().strip().splitlines()
    assert response["Content-Type"].startswith("text/csv")
    assert len(lines) == 2
    assert lines[1].startswith(f"{MEASURE},")
    assert f"{group.estimate['estimate']:.4f}" in lines[1]


@pytest.mark.postgres
def test_database_refuses_the_same_comparison_school_twice_in_a_group(evaluated_cohort):
    group = compute(evaluated_cohort)
    pair = group.pairs.first()
    other = group.pairs.exclude(pk=pair.pk).first()

    with pytest.raises(IntegrityError, match="matchedpair_comparison_once"):
        MatchedPair.objects.filter(pk=other.pk).update(comparison=pair.comparison)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_the_group(celery_worker, programme, staff_carol, request):
    import time

    cohort = request.getfixturevalue("evaluated_cohort")

    comparison_groups_request(cohort_id=cohort.pk, by=staff_carol)

    deadline = time.monotonic() + 60
    while group_for(cohort).state != ComparisonGroup.State.READY and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_for(cohort).state == ComparisonGroup.State.READY
    assert group_for(cohort).pairs.count() == 30


def test_demo_cohort_page_is_full_and_balanced(client, db):
    """seed_demo gives the ENTHUSE 2014–16 cohort synthetic outcomes, a plan frozen before the
    post-programme years were loaded, and an estimate of every planned outcome, every matching
    variable within 0.1 SMD, labelled as synthetic."""
    from django.contrib.auth.models import User

    from evaluation import impact_plans
    from evaluation.demo_outcomes import demo_cohort
    from evaluation.models import GAP
    from portal.management.commands.seed_demo import Command as SeedDemo

    SeedDemo().handle()
    cohort = demo_cohort()
    plan = impact_plans.current_frozen(cohort)
    groups = list(ComparisonGroup.objects.filter(cohort=cohort))
    client.force_login(User.objects.get(username="staff_carol"))

    body = client.get(reverse("evaluation:impact_cohort", args=[cohort.pk])).content.decode()

    assert plan.version == 1
    assert plan.post_values_at_freeze == 0
    assert {g.measure for g in groups} == set(impact_plans.plan_outcomes(plan.content))
    assert GAP in {g.measure for g in groups}
    assert all(g.state == ComparisonGroup.State.READY and g.estimate for g in groups), [
        (g.measure, g.error) for g in groups if not g.estimate
    ]
    assert all(g.plan_version == 1 for g in groups)
    assert all(abs(row["smd_after"]) < 0.1 for g in groups for row in g.balance), [
        (g.measure, row["variable"], row["smd_after"])
        for g in groups
        for row in g.balance
        if not row["balanced"]
    ]
    assert "Synthetic demo data" in body
    assert "Frozen before any post-programme result" in body
    assert all(g.uses_synthetic_data for g in groups)
