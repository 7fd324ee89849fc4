from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clusters.models import CPDActivity, Feedback, NeedsAnalysis
from tests.factories import (
    ClusterFactory,
    ClusterMembershipFactory,
    CohortFactory,
    CPDActivityFactory,
    PartnershipFactory,
    SchoolFactory,
)


@pytest.fixture
def cluster(programme):
    cluster = ClusterFactory(cohort=CohortFactory(programme=programme), name="Blackpool North")
    for n in range(3):
        ClusterMembershipFactory(cluster=cluster, school=SchoolFactory(name=f"Cluster School {n}"))
    return cluster


def test_cluster_detail_shows_needs_analysis_plan_and_shortfall(client, staff_carol, cluster):
    school = cluster.memberships.first().school
    NeedsAnalysis.objects.create(
        cluster=cluster, school=school, focus_area="leadership", score=2, notes="New head"
    )
    cluster.plan_items.create(
        focus_area="careers_guidance",
        title="STEM Ambassadors visit",
        planned_hours=2,
        planned_on=cluster.cohort.starts_on,
    )
    client.force_login(staff_carol)

    page = client.get(reverse("clusters:cluster_detail", args=[cluster.pk])).content.decode()

    assert "New head" in page
    assert "STEM Ambassadors visit" in page
    assert "2 more schools needed" in page


def test_cluster_list_filters_by_status(client, staff_carol, cluster):
    client.force_login(staff_carol)
    url = reverse("clusters:cluster_list")

    assert "Blackpool North" in client.get(url, {"status": "forming"}).content.decode()
    assert "Blackpool North" not in client.get(url, {"status": "completed"}).content.decode()


@pytest.fixture
def partnership(cohort, school_a):
    return PartnershipFactory(cohort=cohort, lead_school=school_a, partners=2)


# CohortFactory's delivery period runs from today + 60 days for two years.
IN_DELIVERY = timezone.localdate() + timedelta(days=90)


def activity_post(**changes):
    return {
        "kind": "teacher_cpd",
        "title": "Forces twilight",
        "held_on": IN_DELIVERY.isoformat(),
        "hours": "2.5",
        "teachers_reached": "9",
        "students_reached": "0",
        "focus_area": "great_teaching",
    } | changes


def test_activity_form_lists_only_member_schools(client, lead_alice, partnership, school_b):
    client.force_login(lead_alice)

    page = client.get(reverse("clusters:partnership_activity_create", args=[partnership.pk])).content.decode()

    assert partnership.lead_school.name in page
    assert school_b.name not in page


def test_lead_records_an_activity_through_the_form(client, lead_alice, partnership):
    school = partnership.memberships.filter(role="partner").first().school
    client.force_login(lead_alice)

    response = client.post(
        reverse("clusters:partnership_activity_create", args=[partnership.pk]),
        activity_post(schools=[school.pk]),
    )

    activity = CPDActivity.objects.get()
    assert response.status_code == 302
    assert (activity.held_on, list(activity.schools.all())) == (IN_DELIVERY, [school])


def test_activity_with_zero_hours_shows_an_error_not_a_500(client, lead_alice, partnership):
    client.force_login(lead_alice)

    response = client.post(
        reverse("clusters:partnership_activity_create", args=[partnership.pk]), activity_post(hours="0")
    )

    assert response.status_code == 400
    assert "Hours must be more than 0" in response.content.decode()


def test_non_member_school_posted_anyway_is_refused(client, lead_alice, partnership, school_b):
    client.force_login(lead_alice)

    response = client.post(
        reverse("clusters:partnership_activity_create", args=[partnership.pk]),
        activity_post(schools=[school_b.pk]),
    )

    assert response.status_code == 400
    assert not CPDActivity.objects.exists()


def test_feedback_form_saves_ratings(client, lead_alice, partnership):
    activity = CPDActivityFactory(partnership=partnership)
    client.force_login(lead_alice)

    client.post(
        reverse("clusters:feedback_create", args=[activity.pk]),
        {"engaging_ideas": "5", "hands_on": "4", "sharing_across_schools": "3", "overall_usefulness": "2"},
    )

    feedback = Feedback.objects.get()
    assert (feedback.engaging_ideas, feedback.overall_usefulness, feedback.expects_more_cpd) == (5, 2, False)


def test_feedback_rating_of_6_is_refused(client, lead_alice, partnership):
    activity = CPDActivityFactory(partnership=partnership)
    client.force_login(lead_alice)

    response = client.post(
        reverse("clusters:feedback_create", args=[activity.pk]),
        {"engaging_ideas": "6", "hands_on": "4", "sharing_across_schools": "3", "overall_usefulness": "2"},
    )

    assert response.status_code == 400
    assert not Feedback.objects.exists()


def test_activity_of_2099_with_no_schools_shows_each_reason_next_to_its_field(
    client, lead_alice, partnership
):
    client.force_login(lead_alice)

    response = client.post(
        reverse("clusters:partnership_activity_create", args=[partnership.pk]),
        activity_post(held_on="2099-01-01", teachers_reached="50000", students_reached="1000000000"),
    )

    errors = response.context["form"].errors
    assert response.status_code == 400
    assert "delivery period" in errors["held_on"][0]
    assert "at least one school" in errors["schools"][0]
    assert not CPDActivity.objects.exists()


def test_reach_over_the_schools_register_shows_the_bound(client, lead_alice, partnership, school_a):
    client.force_login(lead_alice)

    response = client.post(
        reverse("clusters:partnership_activity_create", args=[partnership.pk]),
        activity_post(schools=[school_a.pk], teachers_reached="50000", students_reached="1000000000"),
    )

    errors = response.context["form"].errors
    assert response.status_code == 400
    assert f"At most {school_a.pupils:,}" in errors["students_reached"][0]
    assert "one teacher per 10 pupils" in errors["teachers_reached"][0]
    assert not CPDActivity.objects.exists()
