"""The demo ENTHUSE Partnerships 2014–16 cohort: 38 completed partnerships (fully paid) of 248 distinct
schools (201 primary, 47 secondary), whether the register is empty or imported."""

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import Count, Q, Sum

from clusters.models import CPDActivity, Feedback
from evaluation import demo, process
from evaluation.models import CohortSummary
from grants.models import Application, EndOfGrantReport, Payment
from partnerships import eligibility, services
from partnerships.models import Cohort, Funding, Membership, Partnership, Phase, School
from partnerships.selectors import search_schools
from tests import factories


@pytest.fixture
def users(lead_alice, lead_bob, staff_carol, admin_dan):
    return {
        "lead_alice": lead_alice,
        "lead_bob": lead_bob,
        "staff_carol": staff_carol,
        "admin_dan": admin_dan,
    }


def seed(users) -> Cohort:
    return demo.seed(users=users, stdout=io.StringIO())


def summary_json(cohort) -> dict:
    out = io.StringIO()
    call_command("cohort_summary", cohort=cohort.pk, json=True, stdout=out)
    return json.loads(out.getvalue())


def register(phase, count, *, urn_base, **extra):
    return School.objects.bulk_create(
        School(
            urn=urn_base + n,
            name=f"Register {phase} {n}",
            phase=phase,
            region="North West",
            local_authority="Lancashire",
            **extra,
        )
        for n in range(count)
    )


def test_seed_then_cohort_summary_prints_the_published_figures(users):
    cohort = seed(users)

    figures = summary_json(cohort)

    assert figures["partnerships"] == 38
    assert figures["schools"] == 248
    assert figures["primary"] == 201
    assert figures["secondary"] == 47
    assert Decimal(figures["awarded"]) <= 38 * Decimal("12000.00")
    assert figures["built_at"]


def test_demo_cohort_belongs_to_enthuse_partnerships(users):
    cohort = seed(users)

    assert cohort.programme.slug == "enthuse-partnerships"
    assert cohort.programme.grant_cap == Decimal("12000.00")
    assert cohort.programme.min_schools == 5
    assert cohort.name == "2014–16"


def test_every_demo_partnership_has_five_confirmed_schools_and_a_completed_award_within_the_cap(users):
    cohort = seed(users)

    partnerships = Partnership.objects.filter(cohort=cohort).annotate(
        confirmed=Count("memberships", filter=Q(memberships__status=Membership.Status.CONFIRMED))
    )
    assert partnerships.count() == 38
    assert min(p.confirmed for p in partnerships) >= 5
    applications = Application.objects.filter(cohort=cohort)
    assert applications.filter(status=Application.Status.COMPLETED).count() == 38
    assert set(partnerships.values_list("status", flat=True)) == {Partnership.Status.COMPLETED}
    assert EndOfGrantReport.objects.filter(application__in=applications, status="accepted").count() == 38
    assert not applications.filter(awarded__gt=Decimal("12000.00")).exists()
    assert not applications.filter(awarded__isnull=True).exists()


def test_every_demo_award_is_fully_paid(users):
    cohort = seed(users)

    for application in Application.objects.filter(cohort=cohort).annotate(
        paid=Sum("payments__amount", filter=Q(payments__status=Payment.Status.PAID))
    ):
        assert application.paid == application.awarded
    assert not Payment.objects.filter(application__cohort=cohort).exclude(status=Payment.Status.PAID).exists()


def test_demo_activities_are_of_every_kind_within_2014_to_2016_with_feedback(users):
    cohort = seed(users)

    activities = CPDActivity.objects.filter(partnership__cohort=cohort)
    assert set(activities.values_list("kind", flat=True)) == set(CPDActivity.Kind.values)
    assert not activities.filter(Q(held_on__lt=date(2014, 9, 1)) | Q(held_on__gt=date(2016, 8, 31))).exists()
    assert Feedback.objects.filter(activity__partnership__cohort=cohort).count() > 100
    assert not activities.filter(schools__isnull=True).exists()


def test_seeding_twice_adds_nothing(users):
    seed(users)
    counts = [
        model.objects.count() for model in (School, Partnership, Membership, CPDActivity, Feedback, Payment)
    ]

    cohort = seed(users)

    assert [
        model.objects.count() for model in (School, Partnership, Membership, CPDActivity, Feedback, Payment)
    ] == counts
    assert summary_json(cohort)["schools"] == 248


def test_with_an_empty_register_the_demo_creates_clearly_named_synthetic_schools(users):
    cohort = seed(users)

    schools = School.objects.filter(memberships__cohort=cohort)
    assert not schools.filter(urn__lt=demo.SYNTHETIC_URN_BASE).exists()
    assert all("(synthetic)" in name for name in schools.values_list("name", flat=True))


def test_the_demo_placeholder_schools_are_flagged_synthetic_never_eligible_found_or_invitable(
    users, cohort, school_a
):
    demo_cohort = seed(users)
    placeholders = School.objects.filter(
        urn__gte=demo.SYNTHETIC_URN_BASE, memberships__cohort=demo_cohort
    ).distinct()
    assert placeholders.count() == 248
    assert not placeholders.filter(is_synthetic=False).exists()

    programme = demo_cohort.programme
    assert not placeholders.filter(eligibility.eligible_schools_q(programme)).exists()
    school = placeholders.first()
    assert "synthetic demo record" in " ".join(eligibility.ineligibility_reasons(school, programme))
    assert not search_schools(str(school.urn)).exists()
    lead = users["lead_alice"]
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=school_a, created_by=lead)
    with pytest.raises(ValidationError, match="synthetic demo record"):
        services.membership_invite(partnership=partnership, school=school, by=lead)


def test_placeholders_an_earlier_demo_left_unflagged_are_flagged_on_the_next_run(users):
    cohort = seed(users)
    School.objects.filter(urn__gte=demo.SYNTHETIC_URN_BASE).update(is_synthetic=False)  # as before the flag

    seed(users)

    assert not School.objects.filter(memberships__cohort=cohort, is_synthetic=False).exists()


def test_with_enough_register_schools_the_demo_draws_from_the_register(users):
    register(Phase.PRIMARY, 210, urn_base=300000)
    register(Phase.SECONDARY, 50, urn_base=310000)

    cohort = seed(users)

    assert not School.objects.filter(urn__gte=demo.SYNTHETIC_URN_BASE).exists()
    assert summary_json(cohort)["primary"] == 201
    assert summary_json(cohort)["secondary"] == 47


def test_register_schools_that_are_closed_independent_or_demo_leads_are_not_drawn(users):
    register(Phase.PRIMARY, 50, urn_base=300000, is_open=False)
    register(Phase.PRIMARY, 50, urn_base=320000, funding=Funding.INDEPENDENT)
    register(Phase.SECONDARY, 10, urn_base=340000, is_open=False)
    eligible = register(Phase.PRIMARY, 201, urn_base=330000) + register(Phase.SECONDARY, 47, urn_base=310000)

    cohort = seed(users)

    drawn = School.objects.filter(memberships__cohort=cohort)
    assert set(drawn.values_list("urn", flat=True)) == {school.urn for school in eligible}
    assert not drawn.filter(lead_links__isnull=False).exists()


def test_one_register_school_too_few_falls_back_to_synthetic_schools(users):
    register(Phase.PRIMARY, 200, urn_base=300000)
    register(Phase.SECONDARY, 47, urn_base=310000)

    cohort = seed(users)

    assert School.objects.filter(memberships__cohort=cohort, urn__gte=demo.SYNTHETIC_URN_BASE).count() == 248
    assert summary_json(cohort)["schools"] == 248


def test_seed_builds_every_cohorts_summary(users, cohort):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")

    seed(users)

    assert CohortSummary.objects.get(cohort=cohort).data["schools"] == 5
    assert CohortSummary.objects.filter(built_at__isnull=False).count() == Cohort.objects.count()


def test_seed_demo_then_build_then_cohort_summary_prints_the_published_figures(db):
    # Summaries and the process page read partnerships, clusters and activities, not outcomes
    # (those are tests/evaluation/test_impact_pages.py's demo test).
    call_command("seed_demo", without_outcomes=True, stdout=io.StringIO())
    call_command("build_cohort_summaries", sync=True, stdout=io.StringIO())
    cohort = Cohort.objects.get(programme__slug="enthuse-partnerships", name="2014–16")

    figures = summary_json(cohort)

    assert (figures["partnerships"], figures["schools"], figures["primary"], figures["secondary"]) == (
        38,
        248,
        201,
        47,
    )

    # The same seeded world's Aspire cohort fills every part of its process page (issue 18): hours
    # delivered against a plan for every cluster, survey answers, ranked CPD elements and themed comments.
    aspire = Cohort.objects.get(programme__slug="aspire-to-stem", name="2018–20")
    page = process.cohort_process(aspire)
    clusters = [unit for unit in page["units"] if unit.kind == "Cluster"]
    assert clusters
    assert all(
        unit.planned_hours and unit.cpd_hours > 0 and 0 < unit.answered <= unit.invited for unit in clusters
    )
    assert len(page["cohort_ranking"]) == 3
    themes = process.comment_themes(aspire)
    assert {group["kind"] for group in themes["groups"]} == {"Barrier", "Facilitator"}
    assert themes["unthemed"] == 0
    enthuse = [unit for unit in page["units"] if unit.kind == "Partnership"]
    assert enthuse == []  # an Aspire cohort has clusters only
