"""Cohort summary build time on PostgreSQL: the ORM aggregates of evaluation.summaries
against the same figures computed by one raw SQL query, measured in the same run.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python benchmarks/summary_bench.py [--repeat 5] [--fresh]

Generates (once; reused on later runs, --fresh to regenerate) a cohort of 2,000
partnerships (12,000 schools), 20 clusters and 100,000 CPD activities with feedback,
applications and payments, using bulk_create into the benchmark database (created and
migrated if needed). Then times, `--repeat` times each and interleaved: `compute()` (what the
Celery task runs), `build()` (compute + write the row), and the single SQL query, and checks
that the two give the same headline figures.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARTNERSHIPS = 2_000
SCHOOLS_PER_PARTNERSHIP = 6
CLUSTERS = 20
ACTIVITIES = 100_000
URN_BASE = 5_000_000
BATCH = 5_000
PROGRAMME_SLUG = "benchmark-summaries"


def ensure_database(url: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    conn.close()


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "false")  # no query logging while loading 100k rows
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 50)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def generate(fresh: bool):
    from django.db import connection, transaction

    from clusters.models import Cluster, ClusterMembership, CPDActivity, Feedback
    from grants.models import Application, Payment
    from partnerships.models import Cohort, Membership, Partnership, Phase, Programme, School

    programme, _ = Programme.objects.get_or_create(
        slug=PROGRAMME_SLUG, defaults={"name": "Benchmark programme (summaries)"}
    )
    existing = Cohort.objects.filter(programme=programme, name="2,000 partnerships").first()
    if existing and not fresh:
        n = CPDActivity.objects.filter(partnership__cohort=existing).count()
        n += CPDActivity.objects.filter(cluster__cohort=existing).count()
        if n == ACTIVITIES:
            print(f"reusing cohort {existing.pk}: {n:,} activities")
            return existing
    if existing:
        drop(existing)

    rng = random.Random(2000)
    started = time.perf_counter()
    with transaction.atomic():
        cohort = Cohort.objects.create(
            programme=programme,
            name="2,000 partnerships",
            starts_on=date(2024, 9, 1),
            ends_on=date(2026, 8, 31),
            applications_open_at="2024-01-01T09:00Z",
            applications_close_at="2024-04-30T17:00Z",
            budget=Decimal("24000000.00"),
        )
        regions = [f"Region {n}" for n in range(9)]
        School.objects.filter(urn__gte=URN_BASE).delete()
        n_schools = PARTNERSHIPS * SCHOOLS_PER_PARTNERSHIP + CLUSTERS * 5
        schools = School.objects.bulk_create(
            (
                School(
                    urn=URN_BASE + n,
                    name=f"Benchmark school {n}",
                    phase=rng.choice([Phase.PRIMARY] * 5 + [Phase.SECONDARY, Phase.ALL_THROUGH]),
                    region=regions[n % 9],
                    local_authority=f"Authority {n % 150}",
                    pupils=rng.randint(80, 1600),
                    fsm_percent=Decimal(rng.randint(0, 700)) / 10,
                    opportunity_area="Area" if n % 7 == 0 else "",
                )
                for n in range(n_schools)
            ),
            batch_size=BATCH,
        )
        partnerships = Partnership.objects.bulk_create(
            (
                Partnership(
                    cohort=cohort,
                    name=f"Benchmark partnership {n}",
                    lead_school=schools[n * SCHOOLS_PER_PARTNERSHIP],
                    local_stem_issue="benchmark",
                    status=rng.choice(Partnership.Status.values),
                )
                for n in range(PARTNERSHIPS)
            ),
            batch_size=BATCH,
        )
        Membership.objects.bulk_create(
            (
                Membership(
                    partnership=p,
                    school=schools[n * SCHOOLS_PER_PARTNERSHIP + k],
                    cohort=cohort,
                    role="lead" if k == 0 else "partner",
                    status="confirmed" if k == 0 or rng.random() < 0.9 else "invited",
                )
                for n, p in enumerate(partnerships)
                for k in range(SCHOOLS_PER_PARTNERSHIP)
            ),
            batch_size=BATCH,
        )
        clusters = Cluster.objects.bulk_create(
            Cluster(cohort=cohort, name=f"Benchmark cluster {n}", status="active") for n in range(CLUSTERS)
        )
        ClusterMembership.objects.bulk_create(
            ClusterMembership(
                cluster=c, school=schools[PARTNERSHIPS * SCHOOLS_PER_PARTNERSHIP + n * 5 + k], cohort=cohort
            )
            for n, c in enumerate(clusters)
            for k in range(5)
        )
        applications = Application.objects.bulk_create(
            (
                Application(
                    partnership=p,
                    cohort=cohort,
                    status=(status := rng.choice(Application.Status.values)),
                    grant_cap=Decimal("12000.00"),
                    requested=Decimal("12000.00"),
                    awarded=Decimal(rng.randint(8000, 12000))
                    if status in ("approved", "completed")
                    else None,
                )
                for p in partnerships
            ),
            batch_size=BATCH,
        )
        now = "2025-01-01T12:00Z"
        Payment.objects.bulk_create(
            (
                Payment(
                    application=a,
                    sequence=seq,
                    amount=a.awarded / 2,
                    trigger="on_approval" if seq == 1 else "on_final_report",
                    status=(st := rng.choice(["scheduled", "released", "paid"])),
                    released_at=None if st == "scheduled" else now,
                    paid_at=now if st == "paid" else None,
                    paid_amount=a.awarded / 2 if st == "paid" else 0,
                )
                for a in applications
                if a.awarded
                for seq in (1, 2)
            ),
            batch_size=BATCH,
        )

        def activity(n):
            in_cluster = n % 50 == 0
            return CPDActivity(
                partnership=None if in_cluster else partnerships[n % PARTNERSHIPS],
                cluster=clusters[n % CLUSTERS] if in_cluster else None,
                kind=rng.choice(CPDActivity.Kind.values),
                title="Benchmark activity",
                held_on=date(2024, 9, 1) + timedelta(days=rng.randrange(0, 700)),
                hours=Decimal(rng.randint(5, 60)) / 10,
                teachers_reached=rng.randint(0, 25),
                students_reached=rng.randint(0, 150),
            )

        activities = CPDActivity.objects.bulk_create(
            (activity(n) for n in range(ACTIVITIES)), batch_size=BATCH
        )
        Feedback.objects.bulk_create(
            (
                Feedback(
                    activity=a,
                    engaging_ideas=rng.randint(1, 5),
                    hands_on=rng.randint(1, 5),
                    sharing_across_schools=rng.randint(1, 5),
                    overall_usefulness=rng.randint(1, 5),
                    expects_more_cpd=rng.random() < 0.8,
                )
                for a in activities
                if a.kind == CPDActivity.Kind.TEACHER_CPD and rng.random() < 0.5
            ),
            batch_size=BATCH,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"generated cohort {cohort.pk} in {time.perf_counter() - started:.1f} s")
    return cohort


def drop(cohort):
    from django.db import transaction

    from clusters.models import Cluster, ClusterMembership, CPDActivity, Feedback
    from evaluation.models import CohortSummary
    from grants.models import Application, Payment
    from partnerships.models import Membership, Partnership

    with transaction.atomic():
        activities = CPDActivity.objects.filter(partnership__cohort=cohort) | CPDActivity.objects.filter(
            cluster__cohort=cohort
        )
        Feedback.objects.filter(activity__in=activities).delete()
        activities.delete()
        Payment.objects.filter(application__cohort=cohort).delete()
        Application.objects.filter(cohort=cohort).delete()
        Membership.objects.filter(cohort=cohort).delete()
        ClusterMembership.objects.filter(cohort=cohort).delete()
        Partnership.objects.filter(cohort=cohort).delete()
        Cluster.objects.filter(cohort=cohort).delete()
        CohortSummary.objects.filter(cohort=cohort).delete()
        cohort.delete()


ONE_QUERY = """
WITH
  p AS (SELECT id, status FROM partnerships_partnership WHERE cohort_id = %(c)s),
  cl AS (SELECT id, status FROM clusters_cluster WHERE cohort_id = %(c)s),
  s AS (
    SELECT * FROM partnerships_school WHERE id IN (
      SELECT school_id FROM partnerships_membership WHERE cohort_id = %(c)s AND status = 'confirmed'
      UNION SELECT school_id FROM clusters_clustermembership WHERE cohort_id = %(c)s)
  ),
  a AS (
    SELECT id, kind, held_on, hours, teachers_reached, students_reached FROM clusters_cpdactivity
    WHERE partnership_id IN (SELECT id FROM p) OR cluster_id IN (SELECT id FROM cl)
  ),
  app AS (SELECT id, status, requested, awarded FROM grants_application WHERE cohort_id = %(c)s)
SELECT json_build_object(
  'partnerships_by_status',
    (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) n FROM p GROUP BY status) x),
  'partnerships', (SELECT count(*) FROM p),
  'clusters_by_status',
    (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) n FROM cl GROUP BY status) x),
  'schools', (SELECT count(*) FROM s),
  'schools_by_phase',
    (SELECT json_object_agg(phase, n) FROM (SELECT phase, count(*) n FROM s GROUP BY phase) x),
  'schools_by_region',
    (SELECT json_agg(json_build_array(region, n) ORDER BY n DESC, region)
     FROM (SELECT region, count(*) n FROM s GROUP BY region) x),
  'schools_by_local_authority',
    (SELECT json_agg(json_build_array(local_authority, n) ORDER BY n DESC, local_authority)
     FROM (SELECT local_authority, count(*) n FROM s GROUP BY local_authority) x),
  'pupils', (SELECT coalesce(sum(pupils), 0) FROM s),
  'mean_fsm_percent', (SELECT round(avg(fsm_percent), 2) FROM s),
  'schools_in_opportunity_areas', (SELECT count(*) FROM s WHERE opportunity_area <> ''),
  'applications_by_status',
    (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) n FROM app GROUP BY status) x),
  'requested',
    (SELECT coalesce(sum(requested) FILTER (WHERE status NOT IN ('draft', 'withdrawn')), 0) FROM app),
  'awarded', (SELECT coalesce(sum(awarded) FILTER (WHERE status IN ('approved', 'completed')), 0) FROM app),
  'paid',
    (SELECT coalesce(sum(amount), 0) FROM grants_payment
     WHERE status = 'paid' AND application_id IN (SELECT id FROM app)),
  'activities', (SELECT count(*) FROM a),
  'activity_hours', (SELECT coalesce(sum(hours), 0) FROM a),
  'cpd_hours', (SELECT coalesce(sum(hours) FILTER (WHERE kind = 'teacher_cpd'), 0) FROM a),
  'teachers_reached', (SELECT coalesce(sum(teachers_reached), 0) FROM a),
  'students_reached', (SELECT coalesce(sum(students_reached), 0) FROM a),
  'activities_by_kind',
    (SELECT json_object_agg(kind, json_build_array(n, h, t, st)) FROM (
       SELECT kind, count(*) n, sum(hours) h, sum(teachers_reached) t, sum(students_reached) st
       FROM a GROUP BY kind) x),
  'activities_by_month',
    (SELECT json_agg(json_build_array(m, n, h, t, st) ORDER BY m) FROM (
       SELECT to_char(date_trunc('month', held_on), 'YYYY-MM') m, count(*) n, sum(hours) h,
              sum(teachers_reached) t, sum(students_reached) st FROM a GROUP BY 1) x),
  'feedback',
    (SELECT json_build_array(count(*), avg(engaging_ideas), avg(hands_on), avg(sharing_across_schools),
                             avg(overall_usefulness), count(*) FILTER (WHERE expects_more_cpd))
     FROM clusters_feedback WHERE activity_id IN (SELECT id FROM a))
)
"""


def one_query(cohort_id: int) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(ONE_QUERY, {"c": cohort_id})
        return cursor.fetchone()[0]


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="regenerate the benchmark cohort")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
    if not url.startswith("postgres"):
        sys.exit("BENCH_DATABASE_URL must be a PostgreSQL URL")
    ensure_database(url)
    setup_django(url)

    from django.db import connection

    from evaluation import summaries, tasks

    cohort = generate(args.fresh)
    print(f"PostgreSQL {connection.cursor().connection.server_version}, cohort {cohort.pk}")

    one_query(cohort.pk)  # warm the caches for both
    summaries.compute(cohort.pk)
    orm, build, raw = [], [], []
    for _ in range(args.repeat):
        t, data = timed(summaries.compute, cohort.pk)
        orm.append(t)
        t, sql = timed(one_query, cohort.pk)
        raw.append(t)
        t, _ = timed(tasks.build, cohort.pk)
        build.append(t)

    checks = {
        "partnerships": (data["partnerships"], sql["partnerships"]),
        "schools": (data["schools"], sql["schools"]),
        "primary": (data["primary"], sql["schools_by_phase"].get("primary", 0)),
        "secondary": (data["secondary"], sql["schools_by_phase"].get("secondary", 0)),
        "awarded": (Decimal(data["awarded"]), Decimal(str(sql["awarded"]))),
        "paid": (Decimal(data["paid"]), Decimal(str(sql["paid"]))),
        "activities": (data["activities"], sql["activities"]),
        "teachers_reached": (data["teachers_reached"], sql["teachers_reached"]),
        "students_reached": (data["students_reached"], sql["students_reached"]),
        "months": (len(data["activities_by_month"]), len(sql["activities_by_month"])),
        "feedback": (data["feedback"]["responses"], sql["feedback"][0]),
    }
    mismatched = {k: v for k, v in checks.items() if v[0] != v[1]}
    print(
        f"{data['partnerships']:,} partnerships, {data['schools']:,} schools, "
        f"{data['activities']:,} activities, {data['feedback']['responses']:,} feedback; "
        f"figures agree: {not mismatched}"
    )
    if mismatched:
        print(f"MISMATCH: {mismatched}")

    def fmt(values):
        median, low, high = (1000 * f(values) for f in (statistics.median, min, max))
        return f"median {median:7.1f} ms  (min {low:.1f}, max {high:.1f})"

    print(f"summaries.compute() (ORM, ~13 queries): {fmt(orm)}")
    print(f"tasks.build() (compute + write row)   : {fmt(build)}")
    print(f"one raw SQL query                     : {fmt(raw)}")
    print(f"ratio compute / raw SQL: {statistics.median(orm) / statistics.median(raw):.2f}")
    sys.exit(1 if mismatched else 0)


if __name__ == "__main__":
    main()
