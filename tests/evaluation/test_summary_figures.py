"""Every figure of a cohort summary, checked against an independent raw SQL GROUP BY on a
generated cohort: mixed phases, statuses, activities, feedback and payments, with schools
that also take part in another cohort (whose data must not leak in)."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from clusters.models import Cluster, ClusterMembership, CPDActivity, Feedback
from evaluation import summaries
from grants.models import Application, Payment
from partnerships.models import Membership, Partnership, Phase, School
from tests import factories

REGIONS = ["North West", "London", "South West", ""]
AUTHORITIES = ["Blackpool", "Hackney", "Cornwall", "Plymouth", ""]


def t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def sql(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def make_school(rng: random.Random) -> School:
    return factories.SchoolFactory(
        phase=rng.choice([Phase.PRIMARY] * 4 + [Phase.SECONDARY] * 2 + [Phase.ALL_THROUGH, Phase.FE_COLLEGE]),
        region=rng.choice(REGIONS),
        local_authority=rng.choice(AUTHORITIES),
        pupils=rng.choice([None, rng.randint(50, 1500)]),
        fsm_percent=rng.choice([None, Decimal(rng.randint(0, 999)) / 10]),
        opportunity_area=rng.choice(["", "", "Blackpool"]),
    )


def make_activity(rng, *, partnership=None, cluster=None) -> CPDActivity:
    activity = factories.CPDActivityFactory(
        partnership=partnership,
        cluster=cluster,
        kind=rng.choice(CPDActivity.Kind.values),
        held_on=date(2015, 1, 1) + timedelta(days=rng.randrange(0, 540)),
        hours=Decimal(rng.randint(1, 80)) / 10,
        teachers_reached=rng.randint(0, 30),
        students_reached=rng.randint(0, 200),
    )
    for _ in range(rng.randint(0, 4)):
        factories.FeedbackFactory(
            activity=activity,
            engaging_ideas=rng.randint(1, 5),
            hands_on=rng.randint(1, 5),
            sharing_across_schools=rng.randint(1, 5),
            overall_usefulness=rng.randint(1, 5),
            expects_more_cpd=rng.random() < 0.7,
        )
    return activity


def make_application(rng, partnership, *, approved_and_paid=False) -> Application:
    status = Application.Status.APPROVED if approved_and_paid else rng.choice(Application.Status.values)
    requested = Decimal(rng.randint(0, 1_200_000)) / 100
    awarded = None
    if status in (Application.Status.APPROVED, Application.Status.COMPLETED) or rng.random() < 0.2:
        awarded = (requested * Decimal(rng.randint(50, 100)) / 100).quantize(Decimal("0.01"))
    application = factories.ApplicationFactory(
        partnership=partnership, status=status, requested=requested, awarded=awarded
    )
    if awarded:
        now = timezone.now()
        for sequence in (1, 2):
            state = (
                Payment.Status.PAID if approved_and_paid else rng.choice(["scheduled", "released", "paid"])
            )
            half = (awarded / 2).quantize(Decimal("0.01"))
            amount = half if sequence == 1 else awarded - half  # the instalments add up to the award
            Payment.objects.create(
                application=application,
                sequence=sequence,
                amount=amount,
                paid_amount=amount if state == Payment.Status.PAID else 0,
                trigger=Payment.Trigger.ON_APPROVAL if sequence == 1 else Payment.Trigger.ON_FINAL_REPORT,
                status=state,
                released_at=None if state == Payment.Status.SCHEDULED else now,
                paid_at=now if state == Payment.Status.PAID else None,
            )
    return application


def generate(seed: int):
    """A cohort to summarise and a second cohort sharing some of its schools."""
    rng = random.Random(seed)
    programme = factories.ProgrammeFactory()
    cohort = factories.CohortFactory(programme=programme, budget=Decimal("250000.00"))
    other = factories.CohortFactory(programme=programme)
    schools = [make_school(rng) for _ in range(45)]

    pool = list(schools)
    rng.shuffle(pool)
    for n in range(8):
        status = rng.choice(Partnership.Status.values)
        partnership = factories.PartnershipFactory(
            cohort=cohort, lead_school=pool.pop(), status="active" if n == 1 else status
        )
        for _ in range(rng.randint(1, 4)):
            factories.MembershipFactory(
                partnership=partnership,
                school=pool.pop(),
                status=rng.choice(Membership.Status.values),
            )
        if n % 3:
            make_application(rng, partnership, approved_and_paid=n == 1)
        for _ in range(rng.randint(0, 6)):
            make_activity(rng, partnership=partnership)
    # A declined school invited again to another partnership of the same cohort.
    declined = Membership.objects.filter(cohort=cohort, status=Membership.Status.DECLINED).first()
    if declined:
        retry = Partnership.objects.filter(cohort=cohort).exclude(pk=declined.partnership_id).first()
        factories.MembershipFactory(partnership=retry, school=declined.school)

    for n in range(2):
        cluster = factories.ClusterFactory(cohort=cohort, status=rng.choice(Cluster.Status.values))
        members = [pool.pop() for _ in range(3)]
        if n == 0:  # also a confirmed partnership member: counted once
            members.append(Membership.objects.filter(cohort=cohort, status="confirmed").first().school)
        for school in members:
            factories.ClusterMembershipFactory(cluster=cluster, school=school)
        for _ in range(rng.randint(1, 5)):
            make_activity(rng, cluster=cluster)

    # The other cohort shares schools with this one: none of its figures may leak in.
    shared = [m.school for m in Membership.objects.filter(cohort=cohort, status="confirmed")[:3]]
    leak = factories.PartnershipFactory(cohort=other, lead_school=shared[0], status="active")
    for school in [*shared[1:], *pool[:3]]:
        factories.MembershipFactory(partnership=leak, school=school)
    leaked = factories.ApplicationFactory(
        partnership=leak, status="approved", requested=Decimal("9000.00"), awarded=Decimal("4500.00")
    )
    Payment.objects.create(
        application=leaked,
        sequence=1,
        amount=Decimal("4500.00"),
        paid_amount=Decimal("4500.00"),
        trigger=Payment.Trigger.ON_APPROVAL,
        status=Payment.Status.PAID,
        released_at=timezone.now(),
        paid_at=timezone.now(),
    )
    for _ in range(3):
        make_activity(rng, partnership=leak)
    leak_cluster = factories.ClusterFactory(cohort=other)
    factories.ClusterMembershipFactory(cluster=leak_cluster, school=pool[3])
    make_activity(rng, cluster=leak_cluster)
    return cohort


SCHOOLS_IN = """
    SELECT s.* FROM {school} s WHERE s.id IN (
        SELECT m.school_id FROM {membership} m JOIN {partnership} p ON p.id = m.partnership_id
        WHERE m.cohort_id = %(c)s AND m.status = 'confirmed' AND p.status IN ('active', 'completed')
        UNION
        SELECT school_id FROM {clustermembership} WHERE cohort_id = %(c)s
    )
"""
ACTIVITIES_IN = """
    SELECT a.* FROM {activity} a
    LEFT JOIN {partnership} p ON p.id = a.partnership_id
    LEFT JOIN {cluster} c ON c.id = a.cluster_id
    WHERE p.cohort_id = %(c)s OR c.cohort_id = %(c)s
"""


def count_by_status(table: str, cohort_id: int) -> dict:
    return dict(
        sql(f"SELECT status, COUNT(*) FROM {table} WHERE cohort_id = %s GROUP BY status", [cohort_id])
    )


def expected_figures(cohort) -> dict:
    """The same figures, from SQL written without the ORM."""
    names = {
        "school": t(School),
        "membership": t(Membership),
        "clustermembership": t(ClusterMembership),
        "activity": t(CPDActivity),
        "partnership": t(Partnership),
        "cluster": t(Cluster),
        "feedback": t(Feedback),
        "application": t(Application),
        "payment": t(Payment),
    }
    schools = SCHOOLS_IN.format(**names)
    activities = ACTIVITIES_IN.format(**names)
    p = {"c": cohort.pk}
    n_schools, pupils, mean_fsm, in_oa = sql(
        f"""SELECT COUNT(*), COALESCE(SUM(pupils), 0), AVG(fsm_percent),
                   SUM(CASE WHEN opportunity_area <> '' THEN 1 ELSE 0 END) FROM ({schools}) x""",
        p,
    )[0]
    applying = sql(
        f"""SELECT COUNT(DISTINCT m.school_id) FROM {names["membership"]} m
            JOIN {names["partnership"]} p ON p.id = m.partnership_id
            WHERE m.cohort_id = %(c)s AND m.status = 'confirmed' AND p.status = 'forming'
              AND m.school_id NOT IN (SELECT id FROM ({schools}) x)""",
        p,
    )[0][0]
    by_phase = dict.fromkeys(Phase.values, 0)
    by_phase.update(dict(sql(f"SELECT phase, COUNT(*) FROM ({schools}) x GROUP BY phase", p)))
    by_region = sql(f"SELECT region, COUNT(*) FROM ({schools}) x GROUP BY region", p)
    by_la = sql(f"SELECT local_authority, COUNT(*) FROM ({schools}) x GROUP BY local_authority", p)

    partnerships = dict.fromkeys(Partnership.Status.values, 0)
    partnerships.update(count_by_status(names["partnership"], cohort.pk))
    clusters = dict.fromkeys(Cluster.Status.values, 0)
    clusters.update(
        dict(
            sql(f"SELECT status, COUNT(*) FROM {names['cluster']} WHERE cohort_id = %(c)s GROUP BY status", p)
        )
    )
    applications = dict.fromkeys(Application.Status.values, 0)
    applications.update(count_by_status(names["application"], cohort.pk))
    requested, awarded = sql(
        f"""SELECT
              SUM(CASE WHEN status NOT IN ('draft', 'withdrawn') THEN requested ELSE 0 END),
              SUM(CASE WHEN status IN ('approved', 'completed') THEN awarded ELSE 0 END)
            FROM {names["application"]} WHERE cohort_id = %(c)s""",
        p,
    )[0]
    (paid,) = sql(
        f"""SELECT SUM(pay.amount) FROM {names["payment"]} pay
            JOIN {names["application"]} app ON app.id = pay.application_id
            WHERE app.cohort_id = %(c)s AND pay.status = 'paid'""",
        p,
    )[0]

    n_activities, hours, cpd_hours, teachers, students = sql(
        f"""SELECT COUNT(*), SUM(hours), SUM(CASE WHEN kind = 'teacher_cpd' THEN hours ELSE 0 END),
                   SUM(teachers_reached), SUM(students_reached) FROM ({activities}) x""",
        p,
    )[0]
    by_kind = sql(
        f"""SELECT kind, COUNT(*), SUM(hours), SUM(teachers_reached), SUM(students_reached)
            FROM ({activities}) x GROUP BY kind""",
        p,
    )
    by_month = sql(
        f"""SELECT SUBSTR(CAST(held_on AS TEXT), 1, 7) AS month, COUNT(*), SUM(hours),
                   SUM(teachers_reached), SUM(students_reached)
            FROM ({activities}) x GROUP BY SUBSTR(CAST(held_on AS TEXT), 1, 7) ORDER BY month""",
        p,
    )
    feedback = sql(
        f"""SELECT COUNT(*), AVG(engaging_ideas), AVG(hands_on), AVG(sharing_across_schools),
                   AVG(overall_usefulness), SUM(CASE WHEN expects_more_cpd THEN 1 ELSE 0 END)
            FROM {names["feedback"]} WHERE activity_id IN (SELECT id FROM ({activities}) x)""",
        p,
    )[0]
    return {
        "schools": n_schools,
        "pupils": pupils,
        "mean_fsm": mean_fsm,
        "in_oa": in_oa or 0,
        "applying": applying,
        "by_phase": by_phase,
        "by_region": by_region,
        "by_la": by_la,
        "partnerships": partnerships,
        "clusters": clusters,
        "applications": applications,
        "requested": Decimal(requested or 0),
        "awarded": Decimal(awarded or 0),
        "paid": Decimal(paid or 0),
        "activities": n_activities,
        "hours": Decimal(str(hours or 0)),
        "cpd_hours": Decimal(str(cpd_hours or 0)),
        "teachers": teachers or 0,
        "students": students or 0,
        "by_kind": by_kind,
        "by_month": by_month,
        "feedback": feedback,
    }


def money(value) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def hours(value) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.1")))


def mean(value):
    return None if value is None else round(float(value), 2)


CHECKED_KEYS = {
    "schema",
    "built_at",
    "cohort",
    "partnerships",
    "partnerships_by_status",
    "clusters",
    "clusters_by_status",
    "schools",
    "primary",
    "secondary",
    "schools_by_phase",
    "schools_by_region",
    "schools_by_local_authority",
    "applying_schools",
    "pupils",
    "mean_fsm_percent",
    "schools_in_opportunity_areas",
    "applications_by_status",
    "grants_awarded",
    "budget",
    "requested",
    "awarded",
    "paid",
    "remaining",
    "activities",
    "activities_by_kind",
    "activity_hours",
    "cpd_hours",
    "teachers_reached",
    "students_reached",
    "activities_by_month",
    "feedback",
}


@pytest.fixture(params=[1, 2, 3], ids=lambda seed: f"seed{seed}")
def generated(request, db):
    cohort = generate(request.param)
    return cohort, expected_figures(cohort)


def test_generated_cohort_exercises_the_edges(generated):
    cohort, expected = generated
    assert expected["schools"] > 5
    assert expected["schools"] + expected["applying"] > 10
    assert sum(1 for n in expected["by_phase"].values() if n) >= 3
    assert expected["activities"] > 5
    assert expected["feedback"][0] > 0
    assert expected["paid"] > 0
    assert sum(expected["clusters"].values()) == 2
    shared = Membership.objects.filter(cohort=cohort, status="confirmed").values("school_id")
    assert Membership.objects.exclude(cohort=cohort).filter(school_id__in=shared).exists()


def test_summary_has_no_figure_the_sql_check_leaves_out(generated):
    cohort, _ = generated

    data = summaries.compute(cohort.pk)

    assert set(data) == CHECKED_KEYS


def test_school_figures_match_sql(generated):
    cohort, expected = generated

    data = summaries.compute(cohort.pk)

    assert data["schools"] == expected["schools"]
    assert data["applying_schools"] == expected["applying"]
    assert data["schools_by_phase"] == expected["by_phase"]
    assert data["primary"] == expected["by_phase"]["primary"]
    assert data["secondary"] == expected["by_phase"]["secondary"]
    assert sum(data["schools_by_phase"].values()) == data["schools"]
    assert data["pupils"] == expected["pupils"]
    assert data["mean_fsm_percent"] == mean(expected["mean_fsm"])
    assert data["schools_in_opportunity_areas"] == expected["in_oa"]
    assert {(r["region"], r["schools"]) for r in data["schools_by_region"]} == {
        (region or "Not recorded", n) for region, n in expected["by_region"]
    }
    assert {(r["local_authority"], r["schools"]) for r in data["schools_by_local_authority"]} == {
        (la or "Not recorded", n) for la, n in expected["by_la"]
    }


def test_partnership_and_cluster_counts_match_sql(generated):
    cohort, expected = generated

    data = summaries.compute(cohort.pk)

    assert data["partnerships_by_status"] == expected["partnerships"]
    assert data["partnerships"] == sum(expected["partnerships"].values())
    assert data["clusters_by_status"] == expected["clusters"]
    assert data["clusters"] == sum(expected["clusters"].values())


def test_money_figures_match_sql(generated):
    cohort, expected = generated

    data = summaries.compute(cohort.pk)

    assert data["applications_by_status"] == expected["applications"]
    assert (
        data["grants_awarded"] == expected["applications"]["approved"] + expected["applications"]["completed"]
    )
    assert data["budget"] == money(cohort.budget)
    assert data["requested"] == money(expected["requested"])
    assert data["awarded"] == money(expected["awarded"])
    assert data["paid"] == money(expected["paid"])
    assert data["remaining"] == money(cohort.budget - expected["awarded"])


def test_activity_figures_match_sql(generated):
    cohort, expected = generated

    data = summaries.compute(cohort.pk)

    assert data["activities"] == expected["activities"]
    assert data["activity_hours"] == hours(expected["hours"])
    assert data["cpd_hours"] == hours(expected["cpd_hours"])
    assert data["teachers_reached"] == expected["teachers"]
    assert data["students_reached"] == expected["students"]
    by_kind = {kind: (n, hours(h), tch, st) for kind, n, h, tch, st in expected["by_kind"]}
    assert data["activities_by_kind"] == {
        kind: dict(
            zip(
                ["activities", "hours", "teachers_reached", "students_reached"],
                by_kind.get(kind, (0, "0.0", 0, 0)),
                strict=True,
            )
        )
        for kind in CPDActivity.Kind.values
    }
    assert data["activities_by_month"] == [
        {"month": m, "activities": n, "hours": hours(h), "teachers_reached": tch, "students_reached": st}
        for m, n, h, tch, st in expected["by_month"]
    ]


def test_feedback_figures_match_sql(generated):
    cohort, expected = generated
    responses, engaging, hands_on, sharing, overall, expecting = expected["feedback"]

    data = summaries.compute(cohort.pk)

    assert data["feedback"] == {
        "responses": responses,
        "engaging_ideas": mean(engaging),
        "hands_on": mean(hands_on),
        "sharing_across_schools": mean(sharing),
        "overall_usefulness": mean(overall),
        "expects_more_cpd_percent": round(100 * expecting / responses, 1),
    }


def test_summary_runs_a_fixed_number_of_queries(generated, django_assert_max_num_queries):
    cohort, _ = generated

    with django_assert_max_num_queries(16):
        summaries.compute(cohort.pk)


def test_empty_cohort_has_every_key_with_zeros(db):
    cohort = factories.CohortFactory(budget=Decimal("5000.00"))

    data = summaries.compute(cohort.pk)

    assert data["schools"] == 0
    assert data["partnerships"] == 0
    assert data["schools_by_phase"] == dict.fromkeys(Phase.values, 0)
    assert data["awarded"] == "0.00"
    assert data["remaining"] == "5000.00"
    assert data["feedback"]["expects_more_cpd_percent"] is None
    assert data["mean_fsm_percent"] is None


@pytest.mark.parametrize(
    ("status", "taking_part", "applying"),
    [("forming", 0, 1), ("active", 1, 0), ("completed", 1, 0), ("withdrawn", 0, 0)],
)
def test_only_funded_partnerships_schools_take_part(db, cohort, status, taking_part, applying):
    factories.PartnershipFactory(cohort=cohort, status=status)  # its lead school is confirmed

    data = summaries.compute(cohort.pk)

    assert (data["schools"], data["applying_schools"]) == (taking_part, applying)


def test_invited_and_declined_schools_are_not_counted(db, cohort):
    partnership = factories.PartnershipFactory(cohort=cohort, status="active")
    factories.MembershipFactory(partnership=partnership, status=Membership.Status.INVITED)
    factories.MembershipFactory(partnership=partnership, status=Membership.Status.DECLINED)

    data = summaries.compute(cohort.pk)

    assert data["schools"] == 1  # the lead only


def test_a_phase_outside_primary_and_secondary_is_counted_not_dropped(db, cohort):
    partnership = factories.PartnershipFactory(
        cohort=cohort, lead_school__phase=Phase.SIXTEEN_PLUS, status="active"
    )
    factories.MembershipFactory(partnership=partnership, school__phase=Phase.OTHER)

    data = summaries.compute(cohort.pk)

    assert data["schools_by_phase"][Phase.SIXTEEN_PLUS] == 1
    assert data["schools_by_phase"][Phase.OTHER] == 1
    assert data["schools"] == 2
    assert data["primary"] == 0
