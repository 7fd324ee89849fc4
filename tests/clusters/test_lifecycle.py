"""A cluster's lifecycle (issue 18): forming → active (its plan or delivery begins) → completed
(its final report accepted by programme staff), through the services only; the database refuses
"completed" without an accepted report. One test per transition, both sides."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from clusters.models import Cluster, ClusterReport, FocusArea
from clusters.services import cluster_report_accept, cluster_report_submit, cpd_plan_item_add
from partnerships.models import OfstedRating
from tests.factories import (
    ClusterFactory,
    ClusterMembershipFactory,
    CohortFactory,
    LeadFactory,
    ProgrammeFactory,
    SchoolFactory,
    StaffFactory,
    link_lead,
)


@pytest.fixture
def aspire(db):
    return ProgrammeFactory(name="Aspire to STEM", slug="aspire-to-stem", kind="clusters")


@pytest.fixture
def aspire_staff(aspire):
    user = StaffFactory()
    aspire.staff.add(user)
    return user


@pytest.fixture
def cluster(aspire):
    return ClusterFactory(cohort=CohortFactory(programme=aspire))


@pytest.fixture
def member_lead(cluster):
    school = SchoolFactory(ofsted_rating=OfstedRating.REQUIRES_IMPROVEMENT, opportunity_area="Blackpool")
    ClusterMembershipFactory(cluster=cluster, school=school)
    lead = LeadFactory()
    link_lead(lead, school)
    return lead


@pytest.fixture
def active(cluster, aspire_staff):
    cpd_plan_item_add(
        cluster=cluster,
        focus_area=FocusArea.LEADERSHIP,
        title="Coaching",
        planned_hours="4",
        planned_on=cluster.cohort.starts_on,
        by=aspire_staff,
    )
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.ACTIVE
    return cluster


def status(cluster) -> str:
    return Cluster.objects.get(pk=cluster.pk).status


def test_a_forming_cluster_cannot_send_a_final_report(cluster, aspire_staff):
    with pytest.raises(ValidationError, match="only an active cluster"):
        cluster_report_submit(cluster=cluster, summary="Done.", by=aspire_staff)

    assert not ClusterReport.objects.exists()


def test_a_submitted_report_leaves_the_cluster_active(active, member_lead):
    cluster_report_submit(cluster=active, summary="Six twilights delivered.", by=member_lead)

    assert status(active) == Cluster.Status.ACTIVE


def test_accepting_the_final_report_completes_the_cluster(active, member_lead, aspire_staff):
    cluster_report_submit(cluster=active, summary="Six twilights delivered.", by=member_lead)

    report = cluster_report_accept(cluster=active, by=aspire_staff)

    assert report.status == ClusterReport.Status.ACCEPTED
    assert status(active) == Cluster.Status.COMPLETED


def test_accepting_twice_changes_nothing(active, aspire_staff):
    cluster_report_submit(cluster=active, summary="Delivered.", by=aspire_staff)
    first = cluster_report_accept(cluster=active, by=aspire_staff)

    second = cluster_report_accept(cluster=active, by=aspire_staff)

    assert second.accepted_at == first.accepted_at
    assert status(active) == Cluster.Status.COMPLETED


def test_nothing_to_accept_before_the_report_is_sent(active, aspire_staff):
    with pytest.raises(ValidationError, match="not sent its final report"):
        cluster_report_accept(cluster=active, by=aspire_staff)

    assert status(active) == Cluster.Status.ACTIVE


def test_a_lead_cannot_accept_the_report(active, member_lead):
    cluster_report_submit(cluster=active, summary="Delivered.", by=member_lead)

    with pytest.raises(PermissionDenied):
        cluster_report_accept(cluster=active, by=member_lead)

    assert status(active) == Cluster.Status.ACTIVE


def test_a_lead_of_a_school_outside_the_cluster_cannot_write_the_report(active):
    outsider = LeadFactory()
    link_lead(outsider, SchoolFactory())

    with pytest.raises(PermissionDenied):
        cluster_report_submit(cluster=active, summary="Delivered.", by=outsider)


def test_an_accepted_report_cannot_be_rewritten(active, aspire_staff):
    cluster_report_submit(cluster=active, summary="Delivered.", by=aspire_staff)
    cluster_report_accept(cluster=active, by=aspire_staff)

    with pytest.raises(ValidationError):
        cluster_report_submit(cluster=active, summary="Changed.", by=aspire_staff)


@pytest.mark.postgres
def test_the_database_refuses_completed_without_an_accepted_report(active, aspire_staff):
    with pytest.raises(IntegrityError, match="cluster_completed_has_accepted_report"), transaction.atomic():
        Cluster.objects.filter(pk=active.pk).update(status=Cluster.Status.COMPLETED)

    cluster_report_submit(cluster=active, summary="Delivered.", by=aspire_staff)
    with pytest.raises(IntegrityError, match="cluster_completed_has_accepted_report"), transaction.atomic():
        Cluster.objects.filter(pk=active.pk).update(status=Cluster.Status.COMPLETED)

    assert status(active) == Cluster.Status.ACTIVE


@pytest.mark.postgres
def test_the_database_keeps_the_accepted_report_of_a_completed_cluster(active, aspire_staff):
    cluster_report_submit(cluster=active, summary="Delivered.", by=aspire_staff)
    cluster_report_accept(cluster=active, by=aspire_staff)

    with pytest.raises(IntegrityError, match="cluster_completed_has_accepted_report"), transaction.atomic():
        ClusterReport.objects.filter(cluster=active).update(status=ClusterReport.Status.SUBMITTED)
    with pytest.raises(IntegrityError, match="cluster_completed_has_accepted_report"), transaction.atomic():
        ClusterReport.objects.filter(cluster=active).delete()


def test_lead_sends_and_staff_accept_on_the_cluster_page(client, active, member_lead, aspire_staff):
    client.force_login(member_lead)
    empty = client.post(reverse("clusters:cluster_report_submit", args=[active.pk]), {"summary": ""})
    assert empty.status_code == 400
    client.post(reverse("clusters:cluster_report_submit", args=[active.pk]), {"summary": "Delivered."})
    page = client.get(reverse("clusters:cluster_detail", args=[active.pk])).content.decode()
    assert "waiting for programme staff to accept it" in page
    assert "Accept the final report" not in page

    client.force_login(aspire_staff)
    client.post(reverse("clusters:cluster_report_accept", args=[active.pk]))

    page = client.get(reverse("clusters:cluster_detail", args=[active.pk])).content.decode()
    assert '<span id="cluster-status">Completed</span>' in page
    assert status(active) == Cluster.Status.COMPLETED
