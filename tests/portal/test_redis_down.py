"""Redis down means slower, not broken: the cache reads as a miss, rate limits count in the
process and still hold, the error is logged once, and no page answers 500."""

import socket
import time
from unittest import mock

import pytest
from django.core.cache import caches
from django.urls import reverse

from portal import throttle
from portal.cache import CacheUnavailable, FailSoftRedisCache, count


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.FailSoftRedisCache",
            "LOCATION": f"redis://127.0.0.1:{dead_port()}/1",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    return caches["default"]


def test_reads_are_misses_and_writes_are_dropped(redis_down):
    assert isinstance(redis_down, FailSoftRedisCache)
    redis_down.set("k", 1)

    assert redis_down.get("k") is None
    assert redis_down.get("k", "default") == "default"
    assert redis_down.get_or_set("k", lambda: "computed") == "computed"
    assert redis_down.add("k", 1) is False
    assert redis_down.get_many(["a", "b"]) == {}
    with pytest.raises(ValueError):
        redis_down.incr("k")


def test_after_one_failure_the_cache_is_left_alone_for_a_while(redis_down):
    # (the log is read through a mock: other tests may reconfigure logging, as a worker does)
    with mock.patch("portal.cache.log.warning") as warned:
        redis_down.get("a")
        started = time.monotonic()
        for _ in range(50):
            redis_down.get("a")

    assert redis_down.is_down()
    assert time.monotonic() - started < 0.5  # no new connection attempt per call
    assert warned.call_count == 1  # logged once per outage
    assert "Cache unreachable" in warned.call_args.args[0]


def test_counting_says_when_it_could_not_count(redis_down):
    with pytest.raises(CacheUnavailable):
        count(redis_down, "bucket", 60)


def test_rate_limits_still_hold_when_the_cache_is_down(redis_down, settings):
    settings.PORTAL_RATE_LIMITS = {"signup": (3, 3600)}

    with mock.patch("portal.throttle.log.warning") as warned:
        verdicts = [bool(throttle.hit("signup", "203.0.113.5")) for _ in range(5)]

    assert verdicts == [False, False, False, True, True]
    assert "counted in this process only" in warned.call_args.args[0]


def test_pages_that_use_the_cache_answer_while_redis_is_down(redis_down, client, staff_carol, lead_alice, db):
    from tests import factories
    from tests.partnerships.permission_rows import STRONG_PASSWORD

    client.force_login(staff_carol)
    assert client.get(reverse("grants:review_queue")).status_code == 200
    client.logout()
    assert client.get(reverse("partnerships:signup")).status_code == 200
    school = factories.SchoolFactory()
    signup = client.post(
        reverse("partnerships:signup"),
        {
            "school": school.pk,
            "first_name": "Nia",
            "last_name": "Okafor",
            "email": "nia@school.sch.uk",
            "role_at_school": "Teacher",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )
    assert signup.status_code == 302
    partnership = factories.PartnershipFactory(lead_school=lead_alice.school_links.first().school, partners=1)
    client.force_login(lead_alice)
    invite = client.post(
        reverse("partnerships:email_invite", args=[partnership.pk]),
        {"school": factories.SchoolFactory().pk, "email": "head@invited.sch.uk"},
    )
    assert invite.status_code == 302


def test_counting_on_a_working_redis_counts_once_per_hit(settings):
    """The same code path against the real shared Redis of the test run (its own db number)."""
    from urllib.parse import urlsplit

    from tests.conftest import _reachable

    url = settings.TEST_CELERY_BROKER_URL
    if not _reachable(url):
        pytest.skip("needs Redis")
    parts = urlsplit(url)
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.FailSoftRedisCache",
            "LOCATION": f"{parts.scheme}://{parts.netloc}/{parts.path.strip('/') or 0}",
        }
    }
    backend = caches["default"]
    backend.delete("ratelimit-test")

    values = [count(backend, "ratelimit-test", 60) for _ in range(3)]

    assert values == [1, 2, 3]
    backend.delete("ratelimit-test")
