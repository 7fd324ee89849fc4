from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clusters.models import ClusterMembership, CPDActivity, FocusArea, NeedsAnalysis
from clusters.services import (
    activity_create,
    activity_delete,
    activity_update,
    cluster_add_school,
    cluster_create,
    cluster_shortfall,
    cpd_plan_item_add,
    feedback_submit,
    needs_analysis_record,
)
from partnerships.models import Membership, OfstedRating
from tests.factories import (
    ClusterFactory,
    CohortFactory,
    CPDActivityFactory,
    FeedbackFactory,
    LeadFactory,
    MembershipFactory,
    PartnershipFactory,
    ProgrammeFactory,
    SchoolFactory,
    StaffFactory,
    link_lead,
)


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
def aspire_staff(aspire):
    user = StaffFactory()
    aspire.staff.add(user)
    return user


@pytest.fixture
def cluster(aspire):
    return ClusterFactory(cohort=CohortFactory(programme=aspire))


def weak_school(**extra):
    return SchoolFactory(
        ofsted_rating=OfstedRating.REQUIRES_IMPROVEMENT, opportunity_area="Blackpool", **extra
    )


def fill(cluster, n, by):
    return [cluster_add_school(cluster=cluster, school=weak_school(), by=by) for _ in range(n)]


# --- Clusters of exactly five ---------------------------------------------------------


def test_staff_create_a_cluster_in_a_clusters_cohort(aspire, aspire_staff):
    cluster = cluster_create(cohort=CohortFactory(programme=aspire), name="Blackpool North", by=aspire_staff)

    assert cluster.status == "forming"


def test_other_programmes_staff_cannot_create_a_cluster(aspire, staff_carol):
    with pytest.raises(PermissionDenied):
        cluster_create(cohort=CohortFactory(programme=aspire), name="X", by=staff_carol)


def test_partnerships_cohort_refuses_clusters(cohort, programme, staff_carol):
    with pytest.raises(ValidationError):
        cluster_create(cohort=cohort, name="X", by=staff_carol)


def test_fifth_school_completes_the_cluster(cluster, aspire_staff):
    fill(cluster, 4, aspire_staff)
    assert cluster_shortfall(cluster) == 1

    fill(cluster, 1, aspire_staff)

    assert cluster_shortfall(cluster) == 0


def test_sixth_school_is_refused(cluster, aspire_staff):
    fill(cluster, 5, aspire_staff)

    with pytest.raises(ValidationError) as exc:
        cluster_add_school(cluster=cluster, school=weak_school(), by=aspire_staff)

    assert "exactly 5" in exc.value.message_dict["school"][0]
    assert cluster.memberships.count() == 5


@pytest.mark.parametrize(
    ("school_kwargs", "reason"),
    [
        ({"ofsted_rating": OfstedRating.GOOD, "opportunity_area": "Blackpool"}, "rated Good"),
        ({"ofsted_rating": OfstedRating.INADEQUATE, "opportunity_area": ""}, "outside them"),
        ({"ofsted_rating": OfstedRating.INADEQUATE, "opportunity_area": "Derby", "is_open": False}, "closed"),
    ],
)
def test_ineligible_school_is_refused_with_its_reason(cluster, aspire_staff, school_kwargs, reason):
    with pytest.raises(ValidationError) as exc:
        cluster_add_school(cluster=cluster, school=SchoolFactory(**school_kwargs), by=aspire_staff)

    assert reason in exc.value.message_dict["school"][0]


def test_school_cannot_be_in_two_clusters_of_a_cohort(cluster, aspire_staff):
    school = weak_school()
    cluster_add_school(cluster=cluster, school=school, by=aspire_staff)
    other = ClusterFactory(cohort=cluster.cohort)

    with pytest.raises(ValidationError):
        cluster_add_school(cluster=other, school=school, by=aspire_staff)


@pytest.mark.postgres
def test_database_refuses_one_school_in_two_clusters_of_a_cohort(cluster):
    school = weak_school()
    ClusterMembership.objects.create(cluster=cluster, school=school, cohort=cluster.cohort)

    with (
        pytest.raises(IntegrityError, match="clustermembership_one_cluster_per_cohort"),
        transaction.atomic(),
    ):
        ClusterMembership.objects.create(
            cluster=ClusterFactory(cohort=cluster.cohort), school=school, cohort=cluster.cohort
        )


# --- Needs analysis and CPD plan ------------------------------------------------------


def test_needs_analysis_is_recorded_and_corrected(cluster, aspire_staff):
    school = fill(cluster, 1, aspire_staff)[0].school

    needs_analysis_record(cluster=cluster, school=school, focus_area="leadership", score=2, by=aspire_staff)
    needs_analysis_record(cluster=cluster, school=school, focus_area="leadership", score=4, by=aspire_staff)

    assert NeedsAnalysis.objects.get().score == 4


@pytest.mark.parametrize("score", [0, 6, "high"])
def test_needs_score_outside_1_to_5_is_refused(cluster, aspire_staff, score):
    school = fill(cluster, 1, aspire_staff)[0].school

    with pytest.raises(ValidationError):
        needs_analysis_record(
            cluster=cluster, school=school, focus_area="leadership", score=score, by=aspire_staff
        )


def test_needs_analysis_only_for_member_schools(cluster, aspire_staff):
    with pytest.raises(ValidationError):
        needs_analysis_record(
            cluster=cluster, school=weak_school(), focus_area="careers_guidance", score=3, by=aspire_staff
        )


WHEN = {"planned_hours": "2.0", "planned_on": timezone.localdate() + timedelta(days=90)}


def test_plan_item_is_tied_to_a_focus_area(cluster, aspire_staff):
    item = cpd_plan_item_add(
        cluster=cluster,
        focus_area=FocusArea.SCIENCE_CAPITAL,
        title="Family science evenings",
        planned_hours="3.0",
        planned_on=cluster.cohort.starts_on,
        by=aspire_staff,
    )

    assert item.get_focus_area_display() == "Science capital"
    with pytest.raises(ValidationError):
        cpd_plan_item_add(cluster=cluster, focus_area="football", title="Nope", by=aspire_staff, **WHEN)


def test_a_cluster_becomes_active_when_its_plan_starts_and_not_before(cluster, aspire_staff):
    assert cluster.status == "forming"
    with pytest.raises(ValidationError):
        cpd_plan_item_add(cluster=cluster, focus_area="football", title="Nope", by=aspire_staff, **WHEN)
    cluster.refresh_from_db()
    assert cluster.status == "forming"

    cpd_plan_item_add(
        cluster=cluster, focus_area=FocusArea.LEADERSHIP, title="Coaching", by=aspire_staff, **WHEN
    )

    cluster.refresh_from_db()
    assert cluster.status == "active"


# --- CPD activities -------------------------------------------------------------------


# CohortFactory's delivery period runs from today + 60 days for two years.
IN_DELIVERY = timezone.localdate() + timedelta(days=90)


def activity_values(**changes):
    return {
        "kind": CPDActivity.Kind.TEACHER_CPD,
        "title": "Practical physics twilight",
        "held_on": IN_DELIVERY,
        "hours": Decimal("2.5"),
        "teachers_reached": 12,
        "students_reached": 0,
        "focus_area": FocusArea.GREAT_TEACHING,
    } | changes


@pytest.fixture
def partnership(cohort, lead_alice, school_a):
    return PartnershipFactory(cohort=cohort, lead_school=school_a, partners=4)


def test_lead_records_an_activity_with_member_schools(partnership, lead_alice):
    members = [m.school for m in partnership.memberships.all()]

    activity = activity_create(
        partnership=partnership, schools=members[:3], by=lead_alice, **activity_values()
    )

    assert activity.schools.count() == 3
    assert activity.cluster is None


def test_non_member_school_cannot_take_part(partnership, lead_alice, school_b):
    with pytest.raises(ValidationError) as exc:
        activity_create(partnership=partnership, schools=[school_b], by=lead_alice, **activity_values())

    assert "Beech Academy" in exc.value.message_dict["schools"][0]


def test_invited_but_unconfirmed_school_cannot_take_part(partnership, lead_alice):
    invited = MembershipFactory(partnership=partnership, status=Membership.Status.INVITED).school

    with pytest.raises(ValidationError):
        activity_create(partnership=partnership, schools=[invited], by=lead_alice, **activity_values())


@pytest.mark.parametrize(("hours", "ok"), [("0", False), ("0.1", True), ("1000", True), ("1000.1", False)])
def test_activity_hours_must_be_above_zero_and_at_most_1000(partnership, lead_alice, school_a, hours, ok):
    def go():
        return activity_create(
            partnership=partnership,
            schools=[school_a],
            by=lead_alice,
            **activity_values(hours=Decimal(hours)),
        )

    if ok:
        assert go().hours == Decimal(hours)
    else:
        with pytest.raises(ValidationError):
            go()


def test_activity_needs_exactly_one_parent_in_the_service(partnership, lead_alice, cluster):
    with pytest.raises(ValidationError):
        activity_create(partnership=partnership, cluster=cluster, by=lead_alice, **activity_values())
    with pytest.raises(ValidationError):
        activity_create(by=lead_alice, **activity_values())


def test_partner_lead_cannot_record_the_partnerships_activities(partnership):
    partner = partnership.memberships.filter(role="partner").first().school
    partner_lead = LeadFactory()
    link_lead(partner_lead, partner)

    with pytest.raises(PermissionDenied):
        activity_create(partnership=partnership, by=partner_lead, **activity_values())


def test_cluster_staff_record_a_cluster_activity(cluster, aspire_staff):
    schools = [m.school for m in fill(cluster, 5, aspire_staff)]

    activity = activity_create(cluster=cluster, schools=schools, by=aspire_staff, **activity_values())

    assert activity.schools.count() == 5


def test_activity_update_checks_the_same_rules(partnership, lead_alice, school_a, school_b):
    activity = activity_create(
        partnership=partnership, schools=[school_a], by=lead_alice, **activity_values()
    )

    activity_update(activity=activity, by=lead_alice, title="Renamed", hours=Decimal("4"))
    with pytest.raises(ValidationError):
        activity_update(activity=activity, by=lead_alice, schools=[school_b])

    activity.refresh_from_db()
    assert (activity.title, activity.hours, activity.schools.count()) == ("Renamed", Decimal("4.0"), 1)


def test_activity_with_feedback_cannot_be_deleted(partnership, lead_alice):
    activity = CPDActivityFactory(partnership=partnership)
    FeedbackFactory(activity=activity)

    with pytest.raises(ValidationError):
        activity_delete(activity=activity, by=lead_alice)


def test_activity_without_feedback_is_deleted(partnership, lead_alice):
    activity = CPDActivityFactory(partnership=partnership)

    activity_delete(activity=activity, by=lead_alice)

    assert not CPDActivity.objects.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("parents", ["both", "neither"])
def test_database_refuses_an_activity_with_both_or_neither_parent(partnership, cluster, parents):
    both = parents == "both"

    with pytest.raises(IntegrityError, match="cpdactivity_exactly_one_parent"), transaction.atomic():
        CPDActivityFactory(partnership=partnership if both else None, cluster=cluster if both else None)


@pytest.mark.postgres
def test_database_accepts_an_activity_with_only_a_cluster(cluster):
    CPDActivityFactory(partnership=None, cluster=cluster)

    assert CPDActivity.objects.filter(cluster=cluster).count() == 1


# --- Feedback -------------------------------------------------------------------------


def ratings(**changes):
    return {
        "engaging_ideas": 5,
        "hands_on": 4,
        "sharing_across_schools": 3,
        "overall_usefulness": 1,
    } | changes


def test_member_lead_submits_feedback(partnership, lead_alice):
    activity = CPDActivityFactory(partnership=partnership)

    feedback = feedback_submit(activity=activity, by=lead_alice, expects_more_cpd=True, **ratings())

    assert (feedback.overall_usefulness, feedback.expects_more_cpd) == (1, True)


@pytest.mark.parametrize("bad", [0, 6, None, "five"])
def test_feedback_rating_outside_1_to_5_is_refused(partnership, lead_alice, bad):
    activity = CPDActivityFactory(partnership=partnership)

    with pytest.raises(ValidationError) as exc:
        feedback_submit(activity=activity, by=lead_alice, **ratings(hands_on=bad))

    assert list(exc.value.message_dict) == ["hands_on"]


def test_lead_of_a_non_member_school_cannot_give_feedback(partnership, lead_bob):
    with pytest.raises(PermissionDenied):
        feedback_submit(activity=CPDActivityFactory(partnership=partnership), by=lead_bob, **ratings())


# --- Activities that make sense: the delivery period, a school, a reach the schools can have ----


@pytest.mark.parametrize(("offset", "ok"), [(-1, False), (0, True)])
def test_activity_date_at_the_start_of_the_delivery_period(partnership, lead_alice, school_a, offset, ok):
    held_on = partnership.cohort.starts_on + timedelta(days=offset)

    def go():
        return activity_create(
            partnership=partnership, schools=[school_a], by=lead_alice, **activity_values(held_on=held_on)
        )

    if ok:
        assert go().held_on == held_on
    else:
        with pytest.raises(ValidationError) as exc:
            go()
        assert "delivery period" in exc.value.message_dict["held_on"][0]


@pytest.mark.parametrize(("offset", "ok"), [(0, True), (1, False)])
def test_activity_date_at_the_end_of_the_delivery_period(partnership, lead_alice, school_a, offset, ok):
    held_on = partnership.cohort.ends_on + timedelta(days=offset)

    def go():
        return activity_create(
            partnership=partnership, schools=[school_a], by=lead_alice, **activity_values(held_on=held_on)
        )

    if ok:
        assert go().held_on == held_on
    else:
        with pytest.raises(ValidationError):
            go()


def test_activity_with_no_school_is_refused(partnership, lead_alice):
    with pytest.raises(ValidationError) as exc:
        activity_create(partnership=partnership, schools=[], by=lead_alice, **activity_values())

    assert "at least one school" in exc.value.message_dict["schools"][0]


@pytest.mark.parametrize(("students", "ok"), [(300, True), (301, False)])
def test_students_reached_bounded_by_the_register(partnership, lead_alice, school_a, students, ok):
    school_a.pupils = 300
    school_a.save()

    def go():
        return activity_create(
            partnership=partnership,
            schools=[school_a],
            by=lead_alice,
            **activity_values(students_reached=students, teachers_reached=1),
        )

    if ok:
        assert go().students_reached == students
    else:
        with pytest.raises(ValidationError) as exc:
            go()
        assert "At most 300" in exc.value.message_dict["students_reached"][0]


@pytest.mark.parametrize(("teachers", "ok"), [(30, True), (31, False)])
def test_teachers_reached_bounded_by_one_per_ten_pupils(partnership, lead_alice, school_a, teachers, ok):
    school_a.pupils = 300
    school_a.save()

    def go():
        return activity_create(
            partnership=partnership,
            schools=[school_a],
            by=lead_alice,
            **activity_values(teachers_reached=teachers),
        )

    if ok:
        assert go().teachers_reached == teachers
    else:
        with pytest.raises(ValidationError) as exc:
            go()
        assert "At most 30" in exc.value.message_dict["teachers_reached"][0]
