"""Process evaluation: CPD hours against plan, reach, feedback averages per element, barriers and
facilitators from end-of-grant reports, and the programme-wide ranking of CPD elements."""

from decimal import Decimal

import pytest
from django.urls import reverse

from clusters.models import CPDActivity, CPDPlanItem
from evaluation import process
from grants.models import Application, EndOfGrantReport
from tests import factories


@pytest.fixture
def partnership(cohort):
    return factories.PartnershipFactory(cohort=cohort, partners=4, name="Fylde Coast")


@pytest.fixture
def cluster(programme, cohort):
    cluster = factories.ClusterFactory(cohort=cohort, name="Oldham cluster")
    for _ in range(5):
        factories.ClusterMembershipFactory(cluster=cluster)
    return cluster


def by_name(figures):
    return {unit.name: unit for unit in figures["units"]}


def test_cluster_cpd_hours_are_compared_with_its_plan(cohort, cluster):
    CPDPlanItem.objects.create(
        cluster=cluster,
        focus_area="great_teaching",
        title="A",
        planned_hours=Decimal("10"),
        planned_on=cohort.starts_on,
    )
    CPDPlanItem.objects.create(
        cluster=cluster,
        focus_area="leadership",
        title="B",
        planned_hours=Decimal("6"),
        planned_on=cohort.starts_on,
    )
    factories.CPDActivityFactory(partnership=None, cluster=cluster, hours=Decimal("4.0"))
    factories.CPDActivityFactory(partnership=None, cluster=cluster, hours=Decimal("8.0"))
    factories.CPDActivityFactory(
        partnership=None, cluster=cluster, hours=Decimal("5.0"), kind=CPDActivity.Kind.STUDENT_ACTIVITY
    )

    unit = by_name(process.cohort_process(cohort))["Oldham cluster"]

    assert unit.planned_hours == Decimal("16.0")
    assert unit.cpd_hours == Decimal("12.0")  # student activities are not teacher CPD
    assert unit.delivered_percent == 75
    assert unit.schools == 5


def test_partnership_has_no_numeric_plan_and_quotes_its_planned_cpd(cohort, partnership):
    factories.ApplicationFactory(
        partnership=partnership, planned_teacher_cpd="Six twilight sessions on practicals."
    )
    factories.CPDActivityFactory(partnership=partnership, hours=Decimal("3.0"))

    unit = by_name(process.cohort_process(cohort))["Fylde Coast"]

    assert unit.planned_hours is None
    assert unit.delivered_percent is None
    assert unit.plan_text == "Six twilight sessions on practicals."
    assert unit.cpd_hours == Decimal("3.0")


def test_reach_sums_teachers_students_and_counts_schools_taking_part(cohort, partnership):
    schools = [m.school for m in partnership.memberships.all()]
    first = factories.CPDActivityFactory(partnership=partnership, teachers_reached=12, students_reached=0)
    second = factories.CPDActivityFactory(
        partnership=partnership,
        teachers_reached=3,
        students_reached=90,
        kind=CPDActivity.Kind.STUDENT_ACTIVITY,
    )
    first.schools.set(schools[:3])
    second.schools.set(schools[2:4])

    unit = by_name(process.cohort_process(cohort))["Fylde Coast"]

    assert (unit.teachers_reached, unit.students_reached) == (15, 90)
    assert unit.schools_taking_part == 4
    assert unit.activities == 2
    assert unit.schools == 5


def test_feedback_is_averaged_per_element(cohort, partnership):
    activity = factories.CPDActivityFactory(partnership=partnership)
    factories.FeedbackFactory(
        activity=activity,
        engaging_ideas=5,
        hands_on=3,
        sharing_across_schools=2,
        overall_usefulness=4,
        expects_more_cpd=True,
    )
    factories.FeedbackFactory(
        activity=activity,
        engaging_ideas=4,
        hands_on=4,
        sharing_across_schools=3,
        overall_usefulness=4,
        expects_more_cpd=False,
    )

    unit = by_name(process.cohort_process(cohort))["Fylde Coast"]

    assert unit.element_averages == [4.5, 3.5, 2.5, 4.0]
    assert unit.feedback["responses"] == 2
    assert unit.expects_more_percent == 50


def test_barriers_and_facilitators_are_counted_once_per_report(cohort, partnership):
    second = factories.PartnershipFactory(cohort=cohort, partners=4)
    for p, barriers, facilitators in [
        (partnership, ["supply cover", "time", "time"], ["senior leader support"]),
        (second, ["time"], ["senior leader support", "technician"]),
    ]:
        application = factories.ApplicationFactory(
            partnership=p, status=Application.Status.COMPLETED, requested=Decimal(100), awarded=Decimal(100)
        )
        EndOfGrantReport.objects.create(application=application, barriers=barriers, facilitators=facilitators)

    figures = process.cohort_process(cohort)

    assert figures["barriers"] == [("time", 2), ("supply cover", 1)]
    assert dict(figures["facilitators"]) == {"senior leader support": 2, "technician": 1}
    assert figures["reports"] == 2


def test_programme_ranking_orders_elements_by_mean_rating(programme, cohort, partnership):
    other_cohort = factories.CohortFactory(programme=programme)
    other = factories.PartnershipFactory(cohort=other_cohort)
    factories.FeedbackFactory(
        activity__partnership=partnership, engaging_ideas=5, hands_on=3, sharing_across_schools=4
    )
    factories.FeedbackFactory(
        activity__partnership=other, engaging_ideas=5, hands_on=5, sharing_across_schools=2
    )

    ranking = process.cohort_process(cohort)["programme_ranking"]

    assert [row["element"] for row in ranking] == [
        process.ELEMENTS["engaging_ideas"],
        process.ELEMENTS["hands_on"],
        process.ELEMENTS["sharing_across_schools"],
    ]
    assert [row["mean"] for row in ranking] == [5.0, 4.0, 3.0]
    assert ranking[0]["responses"] == 2


def test_feedback_of_another_programme_is_not_ranked(programme, cohort, partnership):
    elsewhere = factories.PartnershipFactory()  # another programme
    factories.FeedbackFactory(activity__partnership=elsewhere, engaging_ideas=1)

    assert process.cohort_process(cohort)["programme_ranking"] == []


def test_query_count_does_not_grow_with_partnerships(
    cohort, django_assert_num_queries, django_assert_max_num_queries
):
    for _ in range(3):
        p = factories.PartnershipFactory(cohort=cohort, partners=4)
        factories.FeedbackFactory(activity__partnership=p)
    with django_assert_max_num_queries(12) as few:
        process.cohort_process(cohort)
    for _ in range(3):
        p = factories.PartnershipFactory(cohort=cohort, partners=4)
        factories.FeedbackFactory(activity__partnership=p)

    with django_assert_num_queries(len(few.captured_queries)):
        process.cohort_process(cohort)


def test_page_shows_units_and_ranking(client, staff_carol, cohort, partnership, cluster):
    factories.FeedbackFactory(activity__partnership=partnership)
    client.force_login(staff_carol)

    body = client.get(reverse("evaluation:process_cohort", args=[cohort.pk])).content.decode()

    assert "Fylde Coast" in body
    assert "Oldham cluster" in body
    assert process.ELEMENTS["engaging_ideas"] in body


def test_dosage_per_school_and_the_csv_of_every_table(client, staff_carol, cohort, cluster):
    """Planned (own + cluster-wide items) and delivered hours per school, surveys answered, and a
    CSV per table with the page's figures."""
    from clusters import surveys

    first, second = [m.school for m in cluster.memberships.order_by("school__name")[:2]]
    CPDPlanItem.objects.create(
        cluster=cluster,
        focus_area="leadership",
        title="All",
        planned_hours=Decimal("4"),
        planned_on=cohort.starts_on,
    )
    CPDPlanItem.objects.create(
        cluster=cluster,
        school=first,
        focus_area="leadership",
        title="Own",
        planned_hours=Decimal("4"),
        planned_on=cohort.starts_on,
    )
    activity = factories.CPDActivityFactory(partnership=None, cluster=cluster, hours=Decimal("6.0"))
    activity.schools.set([first])
    cohort.programme.staff.add(staff_carol)
    invitation = surveys.invitations_create(activity=activity, by=staff_carol, count=2, school=first)[0]
    surveys.answer(
        invitation=invitation,
        ratings=dict.fromkeys(process.ELEMENTS, 4),
        expects_more_cpd=True,
        comments="",
    )

    rows = {r["school"]: r for r in process.school_dosage(cohort)}

    assert (rows[first.name]["planned"], rows[first.name]["delivered"], rows[first.name]["percent"]) == (
        Decimal("8"),
        Decimal("6.0"),
        75,
    )
    assert (rows[first.name]["invited"], rows[first.name]["answered"]) == (2, 1)
    assert (rows[second.name]["planned"], rows[second.name]["delivered"]) == (Decimal("4"), Decimal("0"))
    client.force_login(staff_carol)
    page = client.get(reverse("evaluation:process_cohort", args=[cohort.pk])).content.decode()
    assert 'id="chart-delivery"' in page
    assert "1 of 2" in page
    csv = client.get(reverse("evaluation:process_cohort_csv", args=[cohort.pk, "schools"]))
    assert csv["Content-Type"].startswith("text/csv")
    assert f"Oldham cluster,{first.name},{first.urn},8.0,6.0,75,2,1" in csv.content.decode()
    for table in ("delivery", "feedback", "elements", "barriers", "facilitators"):
        assert (
            client.get(reverse("evaluation:process_cohort_csv", args=[cohort.pk, table])).status_code == 200
        )
    assert client.get(reverse("evaluation:process_cohort_csv", args=[cohort.pk, "nope"])).status_code == 404
