"""Matching time: 248 participants against 24,000 candidate schools.

    .venv/bin/python benchmarks/matching_bench.py            # in memory: propensity model, matching, balance
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python benchmarks/matching_bench.py --db   # end to end through the Celery task's code

--db loads 24,248 synthetic schools and their outcomes into the (migrated) database, times
evaluation.impact_services.comparison_group_compute (load, match, estimate, store), and rolls
everything back: nothing is left behind. Not part of the test run.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

PARTICIPANTS, CANDIDATES = 248, 24_000


def in_memory(repeats: int) -> None:
    from evaluation.demo_outcomes import synthetic_matching_frame
    from evaluation.matching import match

    frame = synthetic_matching_frame(PARTICIPANTS, CANDIDATES, seed=1)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = match(frame)
        times.append(time.perf_counter() - start)
    worst = max(abs(row["smd_after"]) for row in result.balance)
    print(
        f"in memory: {PARTICIPANTS} participants vs {CANDIDATES:,} candidates: "
        f"median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, {repeats} runs); matched {len(result.pairs)}, "
        f"max |SMD| after {worst:.3f}"
    )


def through_database() -> None:
    from datetime import date
    from decimal import Decimal

    from django.db import connection, transaction

    from evaluation.demo_outcomes import synthetic_matching_frame
    from evaluation.impact_services import comparison_group_compute
    from evaluation.models import ComparisonGroup, Measure, OutcomeValue
    from grants.models import Application
    from partnerships.models import Cohort, Membership, Partnership, Programme, School

    class Rollback(Exception):
        pass

    frame = synthetic_matching_frame(PARTICIPANTS, CANDIDATES, seed=1)
    try:
        with transaction.atomic():
            programme = Programme.objects.create(name="Bench programme", slug="bench-programme")
            cohort = Cohort.objects.create(
                programme=programme,
                name="bench",
                starts_on=date(2014, 9, 1),
                ends_on=date(2016, 8, 31),
                applications_open_at="2014-01-01T00:00Z",
                applications_close_at="2014-03-01T00:00Z",
            )
            schools = School.objects.bulk_create(
                [
                    School(
                        urn=700000 + int(row.school_id),
                        name=f"Bench school {row.school_id}",
                        phase=row.phase,
                        region=row.region,
                        ofsted_rating=row.ofsted,
                        pupils=int(row.pupils),
                        fsm_percent=Decimal(str(round(row.fsm, 1))),
                    )
                    for row in frame.itertuples()
                ],
                batch_size=2000,
            )
            OutcomeValue.objects.bulk_create(
                [
                    OutcomeValue(
                        school=school,
                        year=year,
                        measure=Measure.STEM_TEACHER_RETENTION,
                        value=Decimal(str(round(min(100, max(0, row.baseline + 30 + (year - 2014))), 2))),
                        is_synthetic=True,
                    )
                    for school, row in zip(schools, frame.itertuples(), strict=True)
                    for year in range(2012, 2018)
                ],
                batch_size=5000,
            )
            for k in range(0, PARTICIPANTS, 7):
                members = schools[k : min(k + 7, PARTICIPANTS)]
                partnership = Partnership.objects.create(
                    cohort=cohort, name=f"Bench {k}", lead_school=members[0]
                )
                Membership.objects.bulk_create(
                    [
                        Membership(
                            partnership=partnership,
                            school=school,
                            cohort=cohort,
                            role="lead" if i == 0 else "partner",
                            status="confirmed",
                        )
                        for i, school in enumerate(members)
                    ]
                )
                Application.objects.create(
                    partnership=partnership,
                    cohort=cohort,
                    status="approved",
                    grant_cap=Decimal(12000),
                    requested=Decimal(12000),
                    awarded=Decimal(12000),
                )
            group = ComparisonGroup.objects.create(cohort=cohort, measure=Measure.STEM_TEACHER_RETENTION)
            start = time.perf_counter()
            group = comparison_group_compute(group_id=group.pk)
            elapsed = time.perf_counter() - start
            print(
                f"through {connection.vendor}: load + match + estimate + store for "
                f"{group.method['participants']} participants vs {group.method['candidates']:,} candidates: "
                f"{elapsed:.2f} s; "
                f"matched {group.pairs.count()}"
            )
            raise Rollback
    except Rollback:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--db", action="store_true", help="also time the task's code against BENCH_DATABASE_URL"
    )
    args = parser.parse_args()
    if args.db:
        url = os.environ.get("BENCH_DATABASE_URL")
        if not url:
            sys.exit("--db needs BENCH_DATABASE_URL (a scratch, migrated database).")
        os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    in_memory(args.repeats)
    if args.db:
        through_database()


if __name__ == "__main__":
    main()
