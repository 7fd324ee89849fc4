"""The pre-registered analysis plan: its hash changes when and only when its content does; it is
frozen at the cohort's first award with its comparison schools drawn then; a frozen version never
changes (a change is a new, dated version with a reason); and every estimate names its version."""

import copy
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from evaluation import impact, impact_plans, outcomes
from evaluation.impact_runs import comparison_group_compute
from evaluation.models import GAP, AnalysisPlan, ComparisonGroup, Measure, OutcomeValue, PlanDraw
from grants import services as grants
from grants.models import Application
from partnerships.models import School
from tests import factories
from tests.evaluation.test_impact_pages import MEASURE, compute

V = PlanDraw.Variant


def leaves(content, path=()):
    """Every leaf of a nested plan content, with its path."""
    if isinstance(content, dict):
        for key, value in content.items():
            yield from leaves(value, (*path, key))
    elif isinstance(content, list) and content and not all(isinstance(v, str) for v in content):
        for i, value in enumerate(content):
            yield from leaves(value, (*path, i))
    else:
        yield path, content


def changed(content, path):
    content = copy.deepcopy(content)
    target = content
    for key in path[:-1]:
        target = target[key]
    value = target[path[-1]]
    if isinstance(value, bool):
        target[path[-1]] = not value
    elif isinstance(value, int | float):
        target[path[-1]] = value + 1
    elif isinstance(value, list):
        target[path[-1]] = [*value, "extra"]
    else:
        target[path[-1]] = f"{value}!"
    return content


# --- The hash ---------------------------------------------------------------------------------


def test_hash_is_sha256_of_the_canonical_json(cohort):
    content = impact_plans.default_content(cohort)

    import hashlib
    import json

    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert impact_plans.content_hash(content) == hashlib.sha256(text.encode()).hexdigest()


def test_hash_does_not_change_when_only_the_key_order_does(cohort):
    content = impact_plans.default_content(cohort)
    reordered = {key: content[key] for key in reversed(list(content))}
    reordered["window"] = {"years_after": content["window"]["years_after"], "years_before": 4}

    assert impact_plans.content_hash(reordered) == impact_plans.content_hash(content)


def test_hash_changes_when_any_single_value_of_the_content_changes(cohort):
    content = impact_plans.default_content(cohort)
    original = impact_plans.content_hash(content)
    paths = [path for path, _ in leaves(content)]
    assert len(paths) > 20

    hashes = {impact_plans.content_hash(changed(content, path)) for path in paths}

    assert original not in hashes
    assert len(hashes) == len(paths)  # and every change gives its own hash


def test_hash_survives_the_database_round_trip(cohort):
    plan = impact_plans.plan_freeze(cohort_id=cohort.pk, because="test")

    plan = AnalysisPlan.objects.get(pk=plan.pk)

    assert impact_plans.plan_intact(plan)


def test_a_plan_altered_outside_the_portal_no_longer_matches_its_hash(cohort):
    plan = impact_plans.plan_freeze(cohort_id=cohort.pk, because="test")
    content = {**plan.content, "primary_outcome": Measure.KS4_PROGRESS8.value}
    AnalysisPlan.objects.filter(pk=plan.pk).update(content=content)

    assert not impact_plans.plan_intact(AnalysisPlan.objects.get(pk=plan.pk))


# --- Draft, freeze, versions --------------------------------------------------------------------


def test_a_draft_is_edited_in_place_and_its_hash_follows_its_content(cohort, staff_carol):
    draft = impact_plans.plan_draft(cohort_id=cohort.pk, by=staff_carol)
    content = {**draft.content, "window": {"years_before": 3, "years_after": 2}}

    edited = impact_plans.plan_amend(cohort_id=cohort.pk, by=staff_carol, content=content)

    assert (edited.pk, edited.version, edited.is_frozen) == (draft.pk, 1, False)
    assert edited.content_hash == impact_plans.content_hash(content) != draft.content_hash


def test_freezing_twice_changes_nothing(cohort, staff_carol):
    first = impact_plans.plan_freeze(cohort_id=cohort.pk, by=staff_carol, because="by staff")

    again = impact_plans.plan_freeze(cohort_id=cohort.pk, by=staff_carol, because="again")

    assert (again.pk, again.frozen_at, again.frozen_because) == (first.pk, first.frozen_at, "by staff")
    assert AnalysisPlan.objects.filter(cohort=cohort).count() == 1


def test_changing_a_frozen_plan_needs_a_reason(cohort, staff_carol):
    plan = impact_plans.plan_freeze(cohort_id=cohort.pk, because="test")
    content = {**plan.content, "window": {"years_before": 3, "years_after": 4}}

    with pytest.raises(ValidationError, match="Say why"):
        impact_plans.plan_amend(cohort_id=cohort.pk, by=staff_carol, content=content, reason="  ")


def test_a_change_to_a_frozen_plan_is_a_new_dated_version_and_the_old_one_stays(cohort, staff_carol):
    plan = impact_plans.plan_freeze(cohort_id=cohort.pk, because="test")
    content = {**plan.content, "window": {"years_before": 3, "years_after": 4}}

    amended = impact_plans.plan_amend(
        cohort_id=cohort.pk, by=staff_carol, content=content, reason="2012 tables were withdrawn"
    )

    old = AnalysisPlan.objects.get(pk=plan.pk)
    assert (amended.version, amended.reason, amended.is_frozen) == (2, "2012 tables were withdrawn", True)
    assert amended.frozen_at >= old.frozen_at
    assert old.content == plan.content
    assert old.content_hash == plan.content_hash
    assert amended.content_hash != old.content_hash
    assert impact_plans.current_frozen(cohort) == amended


def test_the_same_content_again_is_refused_not_versioned(cohort, staff_carol):
    plan = impact_plans.plan_freeze(cohort_id=cohort.pk, because="test")

    with pytest.raises(ValidationError, match="Nothing changed"):
        impact_plans.plan_amend(cohort_id=cohort.pk, by=staff_carol, content=plan.content, reason="again")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"primary_outcome": "nope"}, "primary outcome"),
        ({"secondary_outcomes": [Measure.KS2_SCIENCE_TA.value]}, "cannot also be"),
        ({"window": {"years_before": 1, "years_after": 4}}, "from 2 to 10"),
        ({"window": {"years_before": 4, "years_after": 0}}, "from 1 to 10"),
    ],
)
def test_a_plan_that_cannot_be_carried_out_is_refused(cohort, staff_carol, change, message):
    content = {**impact_plans.default_content(cohort), "primary_outcome": Measure.KS2_SCIENCE_TA.value}
    content = {**content, **change}

    with pytest.raises(ValidationError, match=message):
        impact_plans.plan_amend(cohort_id=cohort.pk, by=staff_carol, content=content)


def test_staff_of_another_programme_cannot_plan(cohort):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        impact_plans.plan_draft(cohort_id=cohort.pk, by=factories.StaffFactory())


@pytest.mark.postgres
def test_database_refuses_a_later_version_without_a_reason(cohort):
    impact_plans.plan_freeze(cohort_id=cohort.pk, because="test")

    with pytest.raises(IntegrityError, match="analysisplan_amendment_has_reason"), transaction.atomic():
        AnalysisPlan.objects.create(
            cohort=cohort, version=2, content={}, content_hash="0" * 64, frozen_at=timezone.now()
        )


@pytest.mark.postgres
def test_database_keeps_one_draft_per_cohort_and_a_hash_on_every_frozen_plan(cohort):
    impact_plans.plan_draft(cohort_id=cohort.pk)

    with pytest.raises(IntegrityError, match="analysisplan_one_draft_per_cohort"), transaction.atomic():
        AnalysisPlan.objects.create(cohort=cohort, version=2, content={}, content_hash="", reason="x")
    with pytest.raises(IntegrityError, match="analysisplan_frozen_has_hash"), transaction.atomic():
        AnalysisPlan.objects.filter(cohort=cohort).update(frozen_at=timezone.now(), content_hash="abc")


# --- Frozen at the award, comparison schools drawn then -------------------------------------------


@pytest.fixture
def awarding_cohort(programme, staff_carol):
    """A cohort starting September 2014 with two submitted applications of five primary schools,
    80 candidate schools, and KS2 science for 2011-2014 only: nothing after the start exists yet."""
    cohort = factories.CohortFactory(
        programme=programme, starts_on=date(2014, 9, 1), ends_on=date(2016, 8, 31), budget=Decimal("50000")
    )
    rng = np.random.default_rng(3)
    schools = School.objects.bulk_create(
        [
            School(
                urn=600000 + i,
                name=f"School {i}",
                phase="primary",
                region=["North West", "London"][i % 2],
                pupils=int(rng.normal(300, 50)),
                fsm_percent=Decimal(str(round(float(rng.uniform(5, 40)), 1))),
                ofsted_rating="good",
            )
            for i in range(90)
        ]
    )
    applications = []
    for k in range(2):
        members = schools[5 * k : 5 * k + 5]
        partnership = factories.PartnershipFactory(cohort=cohort, lead_school=members[0])
        for school in members[1:]:
            factories.MembershipFactory(partnership=partnership, school=school)
        applications.append(
            factories.ApplicationFactory(
                partnership=partnership,
                status=Application.Status.SUBMITTED,
                requested=Decimal("12000.00"),
                reference=f"AW-{k}",
            )
        )
    OutcomeValue.objects.bulk_create(
        [
            OutcomeValue(
                school=s, year=y, measure=MEASURE, value=Decimal(str(round(70 + rng.normal(0, 5), 2)))
            )
            for s in schools
            for y in range(2011, 2015)
        ]
    )
    return cohort, applications


def approve(application, staff, callbacks):
    with callbacks(execute=True):
        grants.application_approve(application_id=application.pk, by=staff, amount=Decimal("12000.00"))


def test_the_first_award_freezes_the_plan_and_draws_the_comparison_schools(
    awarding_cohort, staff_carol, django_capture_on_commit_callbacks
):
    cohort, (first, _second) = awarding_cohort
    assert impact_plans.current_frozen(cohort) is None

    approve(first, staff_carol, django_capture_on_commit_callbacks)

    plan = impact_plans.current_frozen(cohort)
    assert plan.version == 1
    assert plan.frozen_because == "first award (AW-0)"
    assert plan.post_values_at_freeze == 0
    draw = plan.draws.get(outcome=MEASURE, variant=V.MAIN)
    assert (draw.sequence, len(draw.pairs) + len(draw.unmatched), draw.post_values_at_draw) == (1, 5, 0)
    assert len(draw.pairs) >= 4
    assert impact_plans.draw_intact(draw)
    assert set(plan.draws.filter(outcome=MEASURE).values_list("variant", flat=True)) == set(V.values)


def test_a_later_award_is_drawn_as_a_later_draw_and_the_first_is_untouched(
    awarding_cohort, staff_carol, django_capture_on_commit_callbacks
):
    cohort, (first, second) = awarding_cohort
    approve(first, staff_carol, django_capture_on_commit_callbacks)
    plan = impact_plans.current_frozen(cohort)
    before = plan.draws.get(outcome=MEASURE, variant=V.MAIN, sequence=1)

    approve(second, staff_carol, django_capture_on_commit_callbacks)

    draws = list(plan.draws.filter(outcome=MEASURE, variant=V.MAIN).order_by("sequence"))
    assert [(d.sequence, len(d.pairs) + len(d.unmatched)) for d in draws] == [(1, 5), (2, 5)]
    assert draws[0].content_hash == before.content_hash
    assert draws[0].pairs == before.pairs
    assert "AW-1" in draws[1].reason
    comparisons = [p["comparison"] for d in draws for p in d.pairs]
    assert len(set(comparisons)) == len(comparisons) >= 8  # never the same comparison school twice
    assert AnalysisPlan.objects.filter(cohort=cohort).count() == 1


def test_saving_an_approved_application_again_draws_nothing_new(
    awarding_cohort, staff_carol, django_capture_on_commit_callbacks
):
    _cohort, (first, _second) = awarding_cohort
    approve(first, staff_carol, django_capture_on_commit_callbacks)
    count = PlanDraw.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        Application.objects.get(pk=first.pk).save()

    assert PlanDraw.objects.count() == count


def test_draws_are_carried_over_when_the_matching_is_unchanged(
    awarding_cohort, staff_carol, django_capture_on_commit_callbacks
):
    cohort, (first, _second) = awarding_cohort
    approve(first, staff_carol, django_capture_on_commit_callbacks)
    plan = impact_plans.current_frozen(cohort)
    content = {**plan.content, "window": {"years_before": 3, "years_after": 3}}

    amended = impact_plans.plan_amend(cohort_id=cohort.pk, by=staff_carol, content=content, reason="window")

    old = plan.draws.get(outcome=MEASURE, variant=V.MAIN)
    new = amended.draws.get(outcome=MEASURE, variant=V.MAIN)
    assert (new.content_hash, new.pairs, new.drawn_at) == (old.content_hash, old.pairs, old.drawn_at)
    assert new.reason.startswith("carried over from version 1")


def test_a_change_of_matching_draws_afresh_and_says_how_much_was_already_seen(
    awarding_cohort, staff_carol, django_capture_on_commit_callbacks
):
    from evaluation.impact_services import plan_amend_request

    cohort, (first, _second) = awarding_cohort
    approve(first, staff_carol, django_capture_on_commit_callbacks)
    OutcomeValue.objects.bulk_create(
        [
            OutcomeValue(school=s, year=2015, measure=MEASURE, value=Decimal("71"))
            for s in School.objects.all()
        ]
    )
    plan = impact_plans.current_frozen(cohort)
    content = copy.deepcopy(plan.content)
    content["matching"]["caliper_sd"] = 0.3

    with django_capture_on_commit_callbacks(execute=True):
        amended = plan_amend_request(cohort_id=cohort.pk, by=staff_carol, content=content, reason="caliper")

    draw = amended.draws.get(outcome=MEASURE, variant=V.MAIN)
    assert draw.reason == "drawn for version 2"
    assert draw.post_values_at_draw == 5  # the awarded schools' 2015 results were in the portal
    assert amended.post_values_at_freeze == 5


# --- Every estimate names its plan version ------------------------------------------------------------


def test_estimate_records_and_page_shows_the_plan_version(client, staff_carol, evaluated_cohort):
    group = compute(evaluated_cohort)
    plan = impact_plans.current_frozen(evaluated_cohort)
    client.force_login(staff_carol)

    body = client.get(reverse("evaluation:impact_cohort", args=[evaluated_cohort.pk])).content.decode()

    assert (group.plan_id, group.plan_version, group.plan_hash) == (plan.pk, 1, plan.content_hash)
    assert "version 1</strong> of the pre-registered plan" in body
    assert plan.content_hash[:16] in body
    assert "estimates were asked for before anyone froze the plan" in body


def test_page_says_when_the_plan_changed_since_the_estimate(client, staff_carol, evaluated_cohort):
    compute(evaluated_cohort)
    plan = impact_plans.current_frozen(evaluated_cohort)
    content = {**plan.content, "window": {"years_before": 3, "years_after": 3}}
    impact_plans.plan_amend(cohort_id=evaluated_cohort.pk, by=staff_carol, content=content, reason="window")
    client.force_login(staff_carol)

    body = client.get(reverse("evaluation:impact_cohort", args=[evaluated_cohort.pk])).content.decode()

    assert "Plan changed since computed" in body


def test_secondary_outcomes_are_holm_corrected_and_the_primary_is_not(client, staff_carol, evaluated_cohort):
    """KS2 science is the primary outcome of the default primary-school plan; retention and KS2
    reading, writing and maths are two of its secondary outcomes, corrected together."""
    rng = np.random.default_rng(8)
    secondaries = (Measure.STEM_TEACHER_RETENTION, Measure.KS2_RWM_EXPECTED)
    OutcomeValue.objects.bulk_create(
        [
            OutcomeValue(
                school_id=o.school_id,
                year=o.year,
                measure=measure,
                value=Decimal(str(round(60 + rng.normal(0, 4), 2))),
            )
            for o in OutcomeValue.objects.filter(measure=MEASURE)
            for measure in secondaries
        ]
    )
    groups = {}
    for measure in (MEASURE, *secondaries):
        group, _ = ComparisonGroup.objects.get_or_create(cohort=evaluated_cohort, measure=measure)
        groups[measure] = comparison_group_compute(group_id=group.pk)
    expected = impact.holm({m: groups[m].estimate["p_used"] for m in secondaries})
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:impact_estimates_csv", args=[evaluated_cohort.pk]))

    import csv
    import io

    rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    by_outcome = {row["outcome"]: row for row in rows}
    assert by_outcome[MEASURE]["role_in_plan"] == "primary"
    assert by_outcome[MEASURE]["holm_adjusted_p_value"] == ""
    for measure, adjusted in expected.items():
        assert by_outcome[measure]["role_in_plan"] == "secondary"
        assert float(by_outcome[measure]["holm_adjusted_p_value"]) == pytest.approx(adjusted, abs=1e-4)
    assert max(expected.values()) > min(groups[m].estimate["p_used"] for m in secondaries)


def test_disadvantaged_gap_is_estimated_as_an_outcome_of_its_own(evaluated_cohort):
    """Secondary schools with other and disadvantaged pupils' Attainment 8; participants' gap
    narrows by 3 points after the start."""
    rng = np.random.default_rng(12)
    secondary = School.objects.filter(urn__gte=500000, urn__lt=500330)
    School.objects.filter(pk__in=secondary).update(phase="secondary")
    units = outcomes.participants(evaluated_cohort)
    rows = []
    for school in secondary:
        level, gap = rng.normal(48, 4), rng.normal(13, 2)
        for year in range(2011, 2017):
            narrowing = 3.0 if school.id in units and year > 2014 else 0.0
            value = level + 0.3 * (year - 2011) + rng.normal(0, 1)
            g = gap - narrowing + rng.normal(0, 1)
            rows.append(
                OutcomeValue(
                    school=school,
                    year=year,
                    measure=Measure.KS4_ATTAINMENT8_OTHER,
                    value=Decimal(str(round(value + 0.35 * g, 2))),
                )
            )
            rows.append(
                OutcomeValue(
                    school=school,
                    year=year,
                    measure=Measure.KS4_ATTAINMENT8_DISADVANTAGED,
                    value=Decimal(str(round(value - 0.65 * g, 2))),
                )
            )
    OutcomeValue.objects.bulk_create(rows)
    group = ComparisonGroup.objects.create(cohort=evaluated_cohort, measure=GAP)

    group = comparison_group_compute(group_id=group.pk)

    assert group.state == ComparisonGroup.State.READY, group.error
    low, high = group.estimate["ci_used"]
    assert low <= -3.0 <= high
    assert high < 0
    assert "the gap narrowed by" in group.estimate["reading"]


# --- The plan page -----------------------------------------------------------------------------


def plan_post(**overrides):
    data = {
        "primary_outcome": Measure.KS2_SCIENCE_TA.value,
        "secondary_outcomes": [Measure.KS2_RWM_EXPECTED.value],
        "years_before": "4",
        "years_after": "3",
        "caliper_sd": "0.20",
        "pupil_sd": "40",
        "reason": "",
    }
    return {**data, **overrides}


def test_plan_page_shows_the_default_before_the_cohort_has_a_plan(client, staff_carol, cohort):
    client.force_login(staff_carol)

    body = client.get(reverse("evaluation:impact_plan", args=[cohort.pk])).content.decode()

    assert "below is the default it will get" in body
    assert "Save the draft" in body
    assert not AnalysisPlan.objects.filter(cohort=cohort).exists()  # a page view writes nothing


def test_staff_save_a_draft_then_freeze_it(client, staff_carol, cohort, django_capture_on_commit_callbacks):
    client.force_login(staff_carol)

    client.post(reverse("evaluation:impact_plan_amend", args=[cohort.pk]), plan_post())
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("evaluation:impact_plan_freeze", args=[cohort.pk]))

    plan = AnalysisPlan.objects.get(cohort=cohort)
    assert plan.is_frozen
    assert plan.frozen_by == staff_carol
    assert plan.content["window"] == {"years_before": 4, "years_after": 3}
    assert plan.content["effect_size"]["pupil_sd"] == {Measure.KS2_SCIENCE_TA.value: 40.0}


def test_changing_a_frozen_plan_without_a_reason_shows_the_error_and_changes_nothing(
    client, staff_carol, cohort
):
    impact_plans.plan_freeze(cohort_id=cohort.pk, because="test")
    client.force_login(staff_carol)

    response = client.post(reverse("evaluation:impact_plan_amend", args=[cohort.pk]), plan_post())

    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert "Reason for the change" in response.content.decode()
    assert AnalysisPlan.objects.filter(cohort=cohort).count() == 1


def test_a_change_with_a_reason_becomes_version_2_on_the_page(client, staff_carol, cohort):
    impact_plans.plan_freeze(cohort_id=cohort.pk, because="test")
    client.force_login(staff_carol)

    response = client.post(
        reverse("evaluation:impact_plan_amend", args=[cohort.pk]),
        plan_post(reason="KS2 2016 break"),
        follow=True,
    )

    body = response.content.decode()
    assert "Version 2 of the plan is frozen" in body
    assert "KS2 2016 break" in body
    assert AnalysisPlan.objects.filter(cohort=cohort).count() == 2


def test_the_primary_outcome_cannot_also_be_secondary_on_the_form(client, staff_carol, cohort):
    client.force_login(staff_carol)

    response = client.post(
        reverse("evaluation:impact_plan_amend", args=[cohort.pk]),
        plan_post(secondary_outcomes=[Measure.KS2_SCIENCE_TA.value]),
    )

    assert response.status_code == 400
    assert "cannot also be a secondary outcome" in response.content.decode()


def test_cohort_dashboard_shows_the_benchmarks_stored_with_the_estimate(
    client, staff_carol, evaluated_cohort
):
    group = compute(evaluated_cohort)
    client.force_login(staff_carol)

    body = client.get(reverse("evaluation:cohort", args=[evaluated_cohort.pk])).content.decode()

    fsm = group.analysis["benchmarks"][0]["rows"][0]
    assert fsm["measure"] == "fsm"
    assert fsm["cohort"]["n"] == 30
    assert fsm["comparison"]["n"] == group.pairs.count()
    assert "Benchmarks" in body
    assert "% eligible for free school meals (register)" in body


def test_an_admin_cannot_add_or_change_a_plan_in_the_django_admin(client, admin_dan, cohort):
    plan = impact_plans.plan_freeze(cohort_id=cohort.pk, because="test")
    client.force_login(admin_dan)

    assert client.get(reverse("admin:evaluation_analysisplan_add")).status_code == 403
    response = client.post(
        reverse("admin:evaluation_analysisplan_change", args=[plan.pk]), {"reason": "edited in the admin"}
    )

    assert response.status_code == 403
    assert AnalysisPlan.objects.get(pk=plan.pk).content_hash == plan.content_hash
