"""Capacity settings (issue 21): the threaded gunicorn configuration, cached sessions with a capped
lifetime in the cache, and an Argon2id password hash whose cost comes from settings, with older
hashes re-hashed at log-in. Speed itself is measured in benchmarks/ (docs/performance.md)."""

import runpy
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password, get_hasher, identify_hasher, make_password
from django.test import Client, override_settings
from django.urls import reverse

from portal.sessions import SessionStore, _CappedCache
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
ARGON2_THEN_PBKDF2 = [
    "portal.passwords.TunedArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
CHEAP = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}


def test_gunicorn_runs_threaded_workers_sized_by_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    assert conf["worker_class"] == "gthread"
    assert (conf["workers"], conf["threads"]) == (2, 4)


def test_gunicorn_preloads_and_replaces_its_workers_rarely_and_far_apart(monkeypatch):
    monkeypatch.delenv("GUNICORN_MAX_REQUESTS", raising=False)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    # A replaced worker is forked from the loaded master, not started from scratch (2.4 s of
    # imports), and the workers' turns are spread over half as much again: the old 2000 +/- 200
    # replaced both workers within seconds of each other and stopped the server for 4 s.
    assert conf["preload_app"] is True
    assert conf["max_requests"] >= 10000
    assert conf["max_requests_jitter"] >= conf["max_requests"] // 2

    monkeypatch.setenv("GUNICORN_MAX_REQUESTS", "0")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["max_requests"] == 0  # never replaced


def test_the_settings_hash_with_tuned_argon2_and_still_read_pbkdf2():
    settings_source = (ROOT / "portal" / "settings.py").read_text()
    argon2 = settings_source.index('"portal.passwords.TunedArgon2PasswordHasher"')
    assert argon2 < settings_source.index('"django.contrib.auth.hashers.PBKDF2PasswordHasher"')


@override_settings(PASSWORD_HASHERS=ARGON2_THEN_PBKDF2, PASSWORD_ARGON2=CHEAP)
def test_argon2_cost_comes_from_settings():
    encoded = make_password("correct horse battery")

    assert encoded.startswith("argon2$argon2id$")
    assert "m=8192,t=1,p=1" in encoded
    assert check_password("correct horse battery", encoded)


@pytest.mark.django_db
@override_settings(PASSWORD_HASHERS=ARGON2_THEN_PBKDF2, PASSWORD_ARGON2=CHEAP)
def test_a_pbkdf2_hash_is_rehashed_with_argon2_at_log_in():
    user = factories.UserFactory(username="old-hash")
    user.password = get_hasher("pbkdf2_sha256").encode("correct horse battery", "somesaltvalue1234567")
    user.save(update_fields=["password"])

    response = Client().post(reverse("login"), {"username": "old-hash", "password": "correct horse battery"})
    assert response.status_code == 302

    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert "m=8192,t=1,p=1" in user.password


@pytest.mark.django_db
@override_settings(PASSWORD_HASHERS=ARGON2_THEN_PBKDF2, PASSWORD_ARGON2=CHEAP)
def test_changed_argon2_parameters_rehash_at_log_in():
    user = factories.UserFactory(username="tuned")
    user.set_password("correct horse battery")
    user.save(update_fields=["password"])

    # Nested override_settings, not pytest-django's `settings` fixture: that fixture's teardown runs
    # after the decorator has ended and would put the decorator's hashers back for the whole process.
    with override_settings(PASSWORD_ARGON2={**CHEAP, "time_cost": 2}):
        response = Client().post(reverse("login"), {"username": "tuned", "password": "correct horse battery"})
    assert response.status_code == 302

    user.refresh_from_db()
    assert "m=8192,t=2,p=1" in user.password


class _Recorder:
    def __init__(self):
        self.timeouts = []

    def set(self, key, value, timeout=None, version=None):
        self.timeouts.append(timeout)


def test_the_session_cache_caps_every_lifetime():
    recorder = _Recorder()
    capped = _CappedCache(recorder, 300)

    capped.set("a", 1, 14 * 24 * 3600)
    capped.set("b", 1, 60)
    capped.set("c", 1, None)

    assert recorder.timeouts == [300, 60, 300]


@pytest.mark.django_db
@override_settings(SESSION_ENGINE="portal.sessions", SESSION_CACHE_SECONDS=120)
def test_a_cached_session_is_read_without_a_query_and_a_deleted_one_is_gone(django_assert_num_queries):
    store = SessionStore()
    store["hello"] = "world"
    store.save()

    with django_assert_num_queries(0):
        assert SessionStore(store.session_key)["hello"] == "world"

    store.delete()
    with django_assert_num_queries(1):  # a miss falls through to the database, which has no row
        assert "hello" not in SessionStore(store.session_key)


def _notification_counts(queries) -> int:
    return sum(1 for q in queries if "notification" in q["sql"] and "COUNT(" in q["sql"])


@pytest.mark.django_db
def test_the_header_costs_no_query_per_page_for_the_unread_count(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging.models import Notification

    lead = factories.LeadFactory(username="lead-header")
    client.force_login(lead)
    client.get(reverse("account"))  # the first page counts once

    with CaptureQueriesContext(connection) as second:
        page = client.get(reverse("account"))
    assert page.status_code == 200
    assert _notification_counts(second.captured_queries) == 0

    Notification.objects.create(user=lead, kind="test", title="Something happened")
    assert 'visually-hidden"> unread' in client.get(reverse("account")).text  # a new one is counted at once

    client.post(reverse("messaging:notifications_read"))
    with CaptureQueriesContext(connection) as after:
        page = client.get(reverse("account"))
    assert 'visually-hidden"> unread' not in page.text
    assert _notification_counts(after.captured_queries) == 1  # counted again after the change, once
