"""Building clusters: exactly the programme's size of eligible, unclustered schools, by the
service, the staff screens and the database alike; and the cluster builder's proposals."""

import itertools
import math

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from clusters.builder import DEFAULT_MAX_SPAN_M, propose_clusters
from clusters.models import Cluster, ClusterMembership
from clusters.services import cluster_add_school, cluster_build
from partnerships.models import OfstedRating, Phase
from tests.factories import ClusterFactory, CohortFactory, ProgrammeFactory, SchoolFactory, StaffFactory


@pytest.fixture
def aspire(db):
    return ProgrammeFactory(
        name="Aspire to STEM",
        slug="aspire-to-stem",
        kind="clusters",
        eligible_phases=["primary", "secondary"],
        eligible_ofsted_ratings=[OfstedRating.REQUIRES_IMPROVEMENT, OfstedRating.INADEQUATE],
        opportunity_areas_only=True,
    )


@pytest.fixture
def cohort(aspire):
    return CohortFactory(programme=aspire)


@pytest.fixture
def aspire_staff(aspire):
    user = StaffFactory()
    aspire.staff.add(user)
    return user


def weak_school(**extra):
    values = {"ofsted_rating": OfstedRating.REQUIRES_IMPROVEMENT, "opportunity_area": "Blackpool"}
    return SchoolFactory(**(values | extra))


def weak_schools(n, **extra):
    return [weak_school(**extra) for _ in range(n)]


# --- The service ------------------------------------------------------------------------


@pytest.mark.parametrize("count", [4, 6])
def test_cluster_of_other_than_five_is_refused(cohort, aspire_staff, count):
    with pytest.raises(ValidationError) as exc:
        cluster_build(cohort=cohort, name="Blackpool North", schools=weak_schools(count), by=aspire_staff)

    assert f"exactly 5 schools; {count} chosen" in exc.value.message_dict["schools"][0]
    assert not Cluster.objects.exists()
    assert not ClusterMembership.objects.exists()


def test_cluster_of_five_is_accepted(cohort, aspire_staff):
    cluster = cluster_build(cohort=cohort, name="Blackpool North", schools=weak_schools(5), by=aspire_staff)

    assert cluster.memberships.count() == 5
    assert cluster.status == Cluster.Status.FORMING


def test_the_same_school_twice_does_not_make_five(cohort, aspire_staff):
    schools = weak_schools(4)

    with pytest.raises(ValidationError):
        cluster_build(cohort=cohort, name="X", schools=[*schools, schools[0]], by=aspire_staff)


@pytest.mark.parametrize(
    ("school_kwargs", "reason"),
    [
        ({"ofsted_rating": OfstedRating.GOOD}, "rated Good"),
        ({"opportunity_area": ""}, "outside them"),
        ({"is_open": False}, "closed"),
        ({"funding": "independent"}, "state-funded"),
    ],
)
def test_ineligible_school_is_refused_with_its_reason_and_nothing_is_saved(
    cohort, aspire_staff, school_kwargs, reason
):
    bad = weak_school(name="Odd One Out", **school_kwargs)

    with pytest.raises(ValidationError) as exc:
        cluster_build(cohort=cohort, name="X", schools=[*weak_schools(4), bad], by=aspire_staff)

    [message] = exc.value.message_dict["schools"]
    assert message.startswith("Odd One Out cannot join")
    assert reason in message
    assert not Cluster.objects.exists()


def test_school_already_clustered_in_the_cohort_is_refused(cohort, aspire_staff):
    schools = weak_schools(5)
    cluster_build(cohort=cohort, name="First", schools=schools, by=aspire_staff)

    with pytest.raises(ValidationError) as exc:
        cluster_build(cohort=cohort, name="Second", schools=[schools[0], *weak_schools(4)], by=aspire_staff)

    assert "already in the cluster First" in exc.value.message_dict["schools"][0]


def test_a_full_cluster_takes_no_sixth_school_by_adding(cohort, aspire_staff):
    cluster = cluster_build(cohort=cohort, name="X", schools=weak_schools(5), by=aspire_staff)

    with pytest.raises(ValidationError) as exc:
        cluster_add_school(cluster=cluster, school=weak_school(), by=aspire_staff)

    assert "exactly 5" in exc.value.message_dict["school"][0]


@pytest.mark.postgres
def test_database_refuses_a_sixth_school_in_a_cluster(cohort, aspire_staff):
    cluster = cluster_build(cohort=cohort, name="X", schools=weak_schools(5), by=aspire_staff)

    with pytest.raises(IntegrityError, match="clustermembership_within_size"), transaction.atomic():
        ClusterMembership.objects.create(cluster=cluster, school=weak_school(), cohort=cohort)


@pytest.mark.postgres
def test_database_accepts_the_fifth_school(cohort):
    cluster = ClusterFactory(cohort=cohort)
    ClusterMembership.objects.bulk_create(
        ClusterMembership(cluster=cluster, school=school, cohort=cohort) for school in weak_schools(5)
    )

    assert cluster.memberships.count() == 5


# --- The screens ------------------------------------------------------------------------


def test_staff_build_a_cluster_on_the_form(client, cohort, aspire_staff):
    schools = weak_schools(5)
    client.force_login(aspire_staff)

    response = client.post(
        reverse("clusters:cluster_build", args=[cohort.pk]),
        {"name": "Blackpool North", "schools": [s.pk for s in schools]},
    )

    cluster = Cluster.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("clusters:cluster_detail", args=[cluster.pk])
    assert cluster.memberships.count() == 5


def test_form_shows_the_reason_next_to_the_schools(client, cohort, aspire_staff):
    bad = weak_school(name="Good School", ofsted_rating=OfstedRating.GOOD)
    client.force_login(aspire_staff)

    response = client.post(
        reverse("clusters:cluster_build", args=[cohort.pk]),
        {"name": "X", "schools": [s.pk for s in [*weak_schools(4), bad]]},
    )

    assert response.status_code == 400
    assert "Good School cannot join" in response.context["form"].errors["schools"][0]
    assert not Cluster.objects.exists()


def test_form_refuses_four_schools_next_to_the_field(client, cohort, aspire_staff):
    client.force_login(aspire_staff)

    response = client.post(
        reverse("clusters:cluster_build", args=[cohort.pk]),
        {"name": "X", "schools": [s.pk for s in weak_schools(4)]},
    )

    assert response.status_code == 400
    assert "exactly 5" in response.context["form"].errors["schools"][0]


def test_other_programmes_staff_cannot_build_here(client, cohort, staff_carol):
    client.force_login(staff_carol)

    assert client.get(reverse("clusters:cluster_build", args=[cohort.pk])).status_code == 404
    assert client.get(reverse("clusters:cluster_builder", args=[cohort.pk])).status_code == 404


def test_admin_inline_cannot_add_change_or_delete_schools(rf, admin_dan, cohort):
    from django.contrib import admin

    from clusters.admin import ClusterMembershipInline

    inline = ClusterMembershipInline(Cluster, admin.site)
    request = rf.get("/")
    request.user = admin_dan
    cluster = ClusterFactory(cohort=cohort)

    assert not inline.has_add_permission(request, cluster)
    assert not inline.has_change_permission(request, cluster)
    assert not inline.has_delete_permission(request, cluster)


# --- The builder ------------------------------------------------------------------------


def located(easting, northing, **extra):
    return weak_school(easting=easting, northing=northing, **extra)


def test_proposals_contain_only_eligible_unclustered_schools_within_the_bound(cohort, aspire_staff):
    # Two towns 100 km apart, six eligible schools in each, with ineligible ones among them.
    for x0 in (300_000, 400_000):
        for i in range(6):
            phase = Phase.SECONDARY if i % 3 == 0 else Phase.PRIMARY
            located(x0 + i * 1_500, 430_000 + i * 700, phase=phase)
        located(x0 + 200, 430_100, ofsted_rating=OfstedRating.GOOD)
        located(x0 + 300, 430_200, opportunity_area="")
        located(x0 + 400, 430_300, is_open=False)
    clustered = weak_schools(5, easting=300_100, northing=430_050)
    cluster_build(cohort=cohort, name="Already", schools=clustered, by=aspire_staff)

    proposals, _ = propose_clusters(cohort)

    assert len(proposals) == 2
    clustered_ids = {s.pk for s in clustered}
    for proposal in proposals:
        assert len(proposal.schools) == 5
        for school in proposal.schools:
            assert school.ofsted_rating == OfstedRating.REQUIRES_IMPROVEMENT
            assert school.opportunity_area
            assert school.is_open
            assert school.pk not in clustered_ids
        for a, b in itertools.combinations(proposal.schools, 2):
            assert math.hypot(a.easting - b.easting, a.northing - b.northing) <= DEFAULT_MAX_SPAN_M
        assert set(proposal.phases) == {Phase.PRIMARY, Phase.SECONDARY}


def test_schools_too_far_apart_are_not_proposed_together(cohort):
    for i in range(5):
        located(300_000 + i * (DEFAULT_MAX_SPAN_M // 3), 430_000)  # the outer two lie 26.7 km apart

    proposals, _ = propose_clusters(cohort)

    assert proposals == []


def test_five_schools_just_within_the_bound_are_proposed(cohort):
    for i in range(5):
        located(300_000 + i * (DEFAULT_MAX_SPAN_M // 4), 430_000)  # the outer two lie exactly 20 km apart

    proposals, _ = propose_clusters(cohort)

    assert len(proposals) == 1


def test_a_school_without_location_is_listed_not_proposed(cohort):
    nowhere = weak_school(name="Nowhere Primary")

    proposals, unlocated = propose_clusters(cohort)

    assert unlocated == [nowhere]
    assert proposals == []


def test_staff_accept_a_proposal_and_reject_another(client, cohort, aspire_staff):
    for x0 in (300_000, 400_000):
        for i in range(5):
            located(x0 + i * 1_000, 430_000)
    client.force_login(aspire_staff)
    url = reverse("clusters:cluster_builder", args=[cohort.pk])
    first, second = client.get(url).context["proposals"]

    client.post(url, {"schools": second.school_ids})
    [left] = client.get(url).context["proposals"]
    client.post(
        reverse("clusters:cluster_build", args=[cohort.pk]), {"name": left.name, "schools": left.school_ids}
    )

    assert left.school_ids == first.school_ids
    assert sorted(Cluster.objects.get().memberships.values_list("school_id", flat=True)) == first.school_ids
    assert client.get(url).context["proposals"] == []
