"""Pages benchmark: for each page, its query count (CaptureQueriesContext) and its server time
as a ratio to a trivial view (/healthz) timed in the same run, the two interleaved request by
request so that a busy machine slows both alike. Requests go through django.test.Client
(the whole middleware stack, templates rendered) with force_login, DEBUG off.

Run on the national data set and on the small one: the query count must not grow.

    python benchmarks/bench_pages.py --dataset national|small
    python benchmarks/bench_pages.py --dataset national --paths   # only the URLs (for locust)
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import QUICK, bench_meta, emit, setup_django

TRIVIAL = "/healthz"


def cast(meta: dict) -> dict:
    """Who looks at what: the largest cohort, its staff, an admin, and a lead whose application
    in that cohort has the most history (approved: budget, payments, audit trail)."""
    leads = [row for row in meta["leads"] if row["cohort"] == meta["largest_cohort"]]
    preference = ["approved", "completed", "changes_requested", "submitted", "rejected", "draft", "withdrawn"]
    leads.sort(key=lambda row: (preference.index(row["status"]), row["application"]))
    submitted = [row for row in leads if row["status"] == "submitted"] or leads
    return {
        "cohort": meta["largest_cohort"],
        "admin": meta["admins"][0],
        "staff": meta["staff"][0],
        "lead": leads[0]["username"],
        "lead_application": leads[0]["application"],
        "submitted_application": submitted[0]["application"],
    }


def page_specs(meta: dict) -> list[dict]:
    """The pages measured: (key, label, role, URL name, kwargs, query string)."""
    c = cast(meta)
    return [
        {
            "key": "dashboard",
            "label": "Cohort dashboard (admin, largest cohort)",
            "user": c["admin"],
            "name": "evaluation:cohort",
            "kwargs": {"pk": c["cohort"]},
        },
        {
            "key": "dashboard_index",
            "label": "Dashboards index (admin)",
            "user": c["admin"],
            "name": "evaluation:dashboard",
        },
        {
            "key": "review_queue",
            "label": "Staff review queue, page 1",
            "user": c["staff"],
            "name": "grants:review_queue",
            # explicit: with no query the queue goes back to the filters kept in the session
            "query": "?page=1",
        },
        {
            "key": "review_queue_filtered",
            "label": "Staff review queue, filtered, page 2",
            "user": c["staff"],
            "name": "grants:review_queue",
            "query": f"?cohort={c['cohort']}&status=submitted&page=2",
        },
        {
            "key": "review_queue_search",
            "label": "Staff review queue, searched by school name, sorted by score (issue 17)",
            "user": c["staff"],
            "name": "grants:review_queue",
            "query": "?q=school&round=all&sort=-score",
        },
        {
            "key": "panel",
            "label": "Panel of the largest cohort (issue 17)",
            "user": c["staff"],
            "name": "grants:panel",
            "kwargs": {"cohort_pk": c["cohort"]},
        },
        {
            "key": "lead_application",
            "label": "Lead's application page",
            "user": c["lead"],
            "name": "grants:application_detail",
            "kwargs": {"pk": c["lead_application"]},
        },
        {
            "key": "staff_application",
            "label": "Application page, staff view",
            "user": c["staff"],
            "name": "grants:application_detail",
            "kwargs": {"pk": c["submitted_application"]},
        },
        {
            "key": "lead_home",
            "label": "Lead's home",
            "user": c["lead"],
            "name": "partnerships:lead_home",
        },
    ]


def resolve_paths(meta: dict) -> dict:
    """key -> path, or None when the page does not exist (yet)."""
    from django.urls import NoReverseMatch, reverse

    paths = {"login": reverse("login")}
    for spec in page_specs(meta):
        try:
            paths[spec["key"]] = reverse(spec["name"], kwargs=spec.get("kwargs")) + spec.get("query", "")
        except NoReverseMatch:
            paths[spec["key"]] = None
    return paths


def _ensure_summaries(meta: dict) -> None:
    """The dashboard reads the stored summary: build any that is missing."""
    try:
        from evaluation.models import CohortSummary
        from evaluation.tasks import build
    except ImportError:
        return
    built = set(CohortSummary.objects.filter(built_at__isnull=False).values_list("cohort_id", flat=True))
    for cohort_id in meta["cohorts"]:
        if cohort_id not in built:
            build(cohort_id)


def _pass_second_factor(client, user) -> None:
    """Staff and admins must pass a second factor (portal/two_factor.py): give the bench user a
    confirmed authenticator (in the bench data only) and mark the session as having used it, as
    tests/conftest.py does for force_login."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from portal.two_factor import must_use_second_factor

    if not must_use_second_factor(user):  # a lead given a device would owe one at every log-in after
        return
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def _second_factor_tokens(usernames: list[str], per_user: int) -> dict[str, list[str]]:
    """Single-use second-factor codes (a StaticDevice, as recovery codes are) for each staff and
    admin account of the bench data, so that a load test's users log in through the verify page.
    New codes on every call; the accounts' other codes are left alone."""
    import secrets

    from django.contrib.auth.models import User
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    tokens = {}
    for user in User.objects.filter(username__in=usernames):
        device, _ = StaticDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
        device.token_set.all().delete()
        codes = sorted({f"{secrets.randbelow(10**8):08d}" for _ in range(per_user)})
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
        tokens[user.username] = codes
    return tokens


def logged_in_client(clients: dict, username: str):
    """One test Client per bench user, logged in with the second factor passed; reused."""
    from django.contrib.auth.models import User
    from django.test import Client

    if username not in clients:
        client = Client()
        user = User.objects.get(username=username)
        client.force_login(user)
        _pass_second_factor(client, user)
        clients[username] = client
    return clients[username]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="national")
    parser.add_argument("--paths", action="store_true", help="print only the pages' paths")
    parser.add_argument("--sql", action="store_true", help="print each page's queries")
    parser.add_argument(
        "--tokens", type=int, default=200, help="with --paths: second-factor codes per account"
    )
    args = parser.parse_args(argv)
    setup_django(args.dataset)

    from django.conf import settings

    settings.PAGE_CACHE = False  # a render's cost, every time (hits: benchmarks/bench_pagecache.py)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    meta = bench_meta()
    paths = resolve_paths(meta)
    if args.paths:
        from django.urls import reverse

        leads = [
            {
                "username": row["username"],
                "path": reverse("grants:application_detail", kwargs={"pk": row["application"]}),
            }
            if paths.get("lead_application")
            else {"username": row["username"], "path": None}
            for row in meta["leads"]
        ]
        _ensure_summaries(meta)
        emit(
            {
                "paths": paths,
                "cast": cast(meta),
                "leads": leads,
                "staff": meta["staff"],
                "admins": meta["admins"],
                "password": meta["password"],
                "tokens": _second_factor_tokens(meta["staff"] + meta["admins"], args.tokens),
            }
        )
        return
    _ensure_summaries(meta)

    n = 5 if QUICK else 20
    trivial = Client()
    clients: dict[str, Client] = {}
    results = {}
    for spec in page_specs(meta):
        path = paths[spec["key"]]
        entry = {"label": spec["label"], "path": path}
        results[spec["key"]] = entry
        if path is None:
            entry["available"] = False
            entry["reason"] = f"not available yet (no URL named {spec['name']})"
            continue
        client = logged_in_client(clients, spec["user"])
        response = client.get(path)
        if response.status_code != 200:
            entry["available"] = False
            entry["reason"] = f"answered {response.status_code}"
            continue
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        captured = list(queries.captured_queries)  # the next request's signal clears the log
        trivial.get(TRIVIAL)
        page_ms, trivial_ms = [], []
        for _ in range(n):
            started = time.perf_counter()
            trivial.get(TRIVIAL)
            trivial_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            client.get(path)
            page_ms.append((time.perf_counter() - started) * 1000)
        ratios = sorted(p / t for p, t in zip(page_ms, trivial_ms, strict=True))
        entry.update(
            available=True,
            queries=len(captured),
            bytes=len(response.content),
            page_ms=statistics.median(page_ms),
            trivial_ms=statistics.median(trivial_ms),
            ratio=statistics.median(page_ms) / statistics.median(trivial_ms),
            ratio_min=ratios[0],
            ratio_max=ratios[-1],
            n=n,
        )
        if args.sql:
            for query in captured:
                print(f"{query['time']:>8}  {query['sql'][:400]}")
    emit({"dataset": args.dataset, "pages": results, "cast": cast(meta)})


if __name__ == "__main__":
    main()
