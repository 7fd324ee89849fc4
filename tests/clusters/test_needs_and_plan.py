"""Needs analysis questionnaires (the school's verified lead fills them in, autosaved; staff
review) and the bespoke CPD plan with planned against delivered (issue 18)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from clusters import services
from clusters.models import CPDPlanItem, FocusArea, NeedsAnalysis, NeedsQuestionnaire
from tests import factories


@pytest.fixture
def world(db, school_a, school_b, lead_alice, lead_bob):
    programme = factories.ProgrammeFactory(kind="clusters", name="Aspire to STEM", slug="aspire-to-stem")
    staff = factories.StaffFactory(username="staff_sam")
    programme.staff.add(staff)
    cluster = factories.ClusterFactory(cohort=factories.CohortFactory(programme=programme))
    for school in (school_a, school_b):
        factories.ClusterMembershipFactory(cluster=cluster, school=school)
    return cluster, staff


def full_answers(score=2):
    return {area: {"score": score, "notes": f"About {area}."} for area in FocusArea.values}


def test_a_partial_autosave_is_kept_as_a_draft_and_shown_again(client, world, school_a, lead_alice):
    cluster, _ = world
    client.force_login(lead_alice)
    url = reverse("clusters:needs_autosave", args=[cluster.pk, school_a.urn])

    response = client.post(url, {"leadership_score": "2", "leadership_notes": "Head new in post."})

    assert response.status_code == 200
    assert response.json()["saved"] is True
    questionnaire = NeedsQuestionnaire.objects.get(cluster=cluster, school=school_a)
    assert questionnaire.status == "draft"
    answers = {n.focus_area: (n.score, n.notes) for n in NeedsAnalysis.objects.filter(cluster=cluster)}
    assert answers["leadership"] == (2, "Head new in post.")
    assert answers["great_teaching"] == (None, "")
    page = client.get(
        reverse("clusters:needs_questionnaire", args=[cluster.pk, school_a.urn])
    ).content.decode()
    assert "Head new in post." in page


def test_submitting_needs_every_score_and_then_closes_the_questionnaire(world, school_a, lead_alice):
    cluster, _ = world
    partial = {"leadership": {"score": 3, "notes": ""}}

    with pytest.raises(ValidationError) as refused:
        services.needs_questionnaire_save(
            cluster=cluster, school=school_a, answers=partial, by=lead_alice, submit=True
        )
    assert "great_teaching_score" in refused.value.message_dict
    assert not NeedsQuestionnaire.objects.filter(status="submitted").exists()

    services.needs_questionnaire_save(
        cluster=cluster, school=school_a, answers=full_answers(), by=lead_alice, submit=True
    )
    with pytest.raises(ValidationError):
        services.needs_questionnaire_save(
            cluster=cluster, school=school_a, answers=full_answers(4), by=lead_alice
        )
    assert set(NeedsAnalysis.objects.filter(school=school_a).values_list("score", flat=True)) == {2}


def test_staff_review_or_return_a_submitted_questionnaire(world, school_a, lead_alice):
    cluster, staff = world
    with pytest.raises(ValidationError):
        services.needs_questionnaire_review(cluster=cluster, school=school_a, by=staff)
    services.needs_questionnaire_save(
        cluster=cluster, school=school_a, answers=full_answers(), by=lead_alice, submit=True
    )
    with pytest.raises(PermissionDenied):
        services.needs_questionnaire_review(cluster=cluster, school=school_a, by=lead_alice)

    returned = services.needs_questionnaire_review(
        cluster=cluster, school=school_a, by=staff, accept=False, comment="Say more on careers."
    )
    assert returned.status == "draft"
    services.needs_questionnaire_save(
        cluster=cluster, school=school_a, answers=full_answers(3), by=lead_alice, submit=True
    )
    reviewed = services.needs_questionnaire_review(cluster=cluster, school=school_a, by=staff)
    assert (reviewed.status, reviewed.reviewed_by) == ("reviewed", staff)


def test_the_lead_of_another_school_in_the_cluster_cannot_open_or_save_it(client, world, school_a, lead_bob):
    cluster, _ = world
    client.force_login(lead_bob)

    assert (
        client.get(reverse("clusters:needs_questionnaire", args=[cluster.pk, school_a.urn])).status_code
        == 404
    )
    response = client.post(reverse("clusters:needs_autosave", args=[cluster.pk, school_a.urn]), {})
    assert response.status_code == 404
    assert response.json()["stop"] is True  # words the autosave script shows, not an HTML page
    with pytest.raises(PermissionDenied):
        services.needs_questionnaire_save(cluster=cluster, school=school_a, answers={}, by=lead_bob)
    assert not NeedsQuestionnaire.objects.exists()
    page = client.get(reverse("clusters:cluster_detail", args=[cluster.pk])).content.decode()
    assert reverse("clusters:needs_questionnaire", args=[cluster.pk, school_a.urn]) not in page


def test_the_cluster_page_hides_another_schools_scores_from_a_lead(
    client, world, school_a, lead_alice, lead_bob
):
    cluster, _ = world
    answers = {area: {"score": 1, "notes": "Secret note of Alder."} for area in FocusArea.values}
    services.needs_questionnaire_save(cluster=cluster, school=school_a, answers=answers, by=lead_alice)
    client.force_login(lead_bob)

    page = client.get(reverse("clusters:cluster_detail", args=[cluster.pk])).content.decode()
    plan = client.get(reverse("clusters:cluster_plan", args=[cluster.pk])).content.decode()

    assert "Secret note of Alder." not in page
    assert "Alder Primary School" not in plan  # only Bob's own school's rows


# --- Plan items: on both sides of each edge -------------------------------------------------


def plan(cluster, staff, **changes):
    values = {
        "cluster": cluster,
        "focus_area": FocusArea.GREAT_TEACHING,
        "title": "Practical science coaching",
        "planned_hours": Decimal("6.0"),
        "planned_on": cluster.cohort.starts_on,
        "by": staff,
        **changes,
    }
    return services.cpd_plan_item_add(**values)


def test_plan_item_hours_must_be_more_than_zero(world):
    cluster, staff = world
    with pytest.raises(ValidationError) as refused:
        plan(cluster, staff, planned_hours="0")
    assert "planned_hours" in refused.value.message_dict
    assert plan(cluster, staff, planned_hours="0.1").planned_hours == Decimal("0.1")


def test_plan_item_date_must_lie_in_the_delivery_period(world):
    cluster, staff = world
    cohort = cluster.cohort
    for outside in (cohort.starts_on - timedelta(days=1), cohort.ends_on + timedelta(days=1)):
        with pytest.raises(ValidationError) as refused:
            plan(cluster, staff, planned_on=outside)
        assert "delivery period" in refused.value.message_dict["planned_on"][0]
    assert plan(cluster, staff, planned_on=cohort.ends_on).planned_on == cohort.ends_on


def test_plan_item_school_must_be_in_the_cluster(world):
    cluster, staff = world
    with pytest.raises(ValidationError) as refused:
        plan(cluster, staff, school=factories.SchoolFactory())
    assert "school" in refused.value.message_dict


def test_leads_cannot_write_the_plan(world, lead_alice):
    cluster, _ = world
    with pytest.raises(PermissionDenied):
        plan(cluster, lead_alice)


@pytest.mark.postgres
def test_the_database_refuses_zero_hours_and_dates_outside_the_period(world):
    cluster, _ = world
    cohort = cluster.cohort
    for bad in (
        {"planned_hours": Decimal("0"), "planned_on": cohort.starts_on},
        {"planned_hours": Decimal("2"), "planned_on": cohort.ends_on + timedelta(days=1)},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            CPDPlanItem.objects.create(cluster=cluster, focus_area="leadership", title="x", **bad)


def test_the_plan_shows_planned_against_delivered_per_school_and_focus_area(
    client, world, school_a, school_b
):
    cluster, staff = world
    plan(cluster, staff, planned_hours="6.0")  # every school
    plan(cluster, staff, planned_hours="4.0", school=school_a)
    services.activity_create(
        cluster=cluster,
        schools=[school_a],
        by=staff,
        kind="teacher_cpd",
        title="Practical science twilight",
        held_on=cluster.cohort.starts_on + timedelta(days=10),
        hours=Decimal("5.0"),
        teachers_reached=4,
        students_reached=0,
        focus_area=FocusArea.GREAT_TEACHING,
    )

    rows = {
        (row["school"].pk, row["focus_area"]): row
        for row in services.plan_progress(cluster, [school_a, school_b])
    }

    a, b = rows[(school_a.pk, "Great teaching")], rows[(school_b.pk, "Great teaching")]
    assert (a["planned"], a["delivered"], a["percent"]) == (Decimal("10.0"), Decimal("5.0"), 50)
    assert (b["planned"], b["delivered"], b["percent"]) == (Decimal("6.0"), Decimal("0"), 0)
    assert rows[(school_a.pk, "Leadership")]["percent"] is None
    client.force_login(staff)
    page = client.get(reverse("clusters:cluster_plan", args=[cluster.pk])).content.decode()
    assert "50%" in page


def test_staff_add_a_plan_item_on_the_page_and_see_errors_beside_the_field(client, world, school_a):
    cluster, staff = world
    client.force_login(staff)
    url = reverse("clusters:plan_item_add", args=[cluster.pk])
    data = {
        "school": school_a.pk,
        "focus_area": "leadership",
        "title": "Coaching",
        "planned_hours": "0",
        "planned_on": cluster.cohort.starts_on.isoformat(),
    }

    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "Hours must be more than 0" in refused.content.decode()
    assert not CPDPlanItem.objects.exists()

    assert client.post(url, {**data, "planned_hours": "2.5"}).status_code == 302
    assert CPDPlanItem.objects.get().school == school_a
