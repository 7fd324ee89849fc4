"""The page cache (portal/pagecache.py): a repeat view is answered from the cache without
rendering, and every kind of write makes the pages that read the written table render again."""

import re
import threading

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection, transaction
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerships.models import Partnership
from portal import pagecache
from portal.celery import app
from tests import factories

MIDDLEWARE_TABLES = {
    "auth_user",
    "auth_group",
    "auth_user_groups",
    "otp_totp_totpdevice",
    "otp_static_staticdevice",
}
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@app.task(name="tests.pagecache.rename")
def rename(pk, name):
    Partnership.objects.filter(pk=pk).update(name=name)


@pytest.fixture
def home(cohort, school_a, lead_alice):
    factories.PartnershipFactory(cohort=cohort, lead_school=school_a, partners=1, name="Blackpool Science")
    return reverse("partnerships:lead_home")


def warm(client, path):
    """The first view sets the CSRF cookie (never stored); the second is stored."""
    client.get(path)
    response = client.get(path)
    assert response.status_code == 200
    return response


def test_a_repeat_view_runs_at_most_two_queries_and_returns_the_same_page(
    client, lead_alice, home, django_assert_max_num_queries
):
    client.force_login(lead_alice)
    first = warm(client, home)
    assert first["X-Page-Cache"] == "miss"
    with CaptureQueriesContext(connection) as queries:
        second = client.get(home)
    assert second["X-Page-Cache"] == "hit"
    # Only the middleware's: the session (from Redis in production), the user, and the second-
    # factor check of a lead with no device (their groups, their two kinds of device).
    assert len(queries) <= 5
    assert {t for q in queries for t in pagecache.parse(q["sql"])[0]} <= MIDDLEWARE_TABLES
    assert second.content == first.content
    assert b"Blackpool Science" in second.content


def _renamed(client, path, write):
    warm(client, path)
    assert client.get(path)["X-Page-Cache"] == "hit"
    write()
    response = client.get(path)
    assert b"Renamed by" in response.content
    assert response["X-Page-Cache"] == "miss"


def test_a_model_save_invalidates(client, lead_alice, home):
    client.force_login(lead_alice)

    def write():
        p = Partnership.objects.get()
        p.name = "Renamed by save"
        p.save()

    _renamed(client, home, write)


def test_a_queryset_update_invalidates(client, lead_alice, home):
    client.force_login(lead_alice)
    _renamed(client, home, lambda: Partnership.objects.update(name="Renamed by update"))


def test_raw_sql_invalidates(client, lead_alice, home):
    client.force_login(lead_alice)

    def write():
        with connection.cursor() as cursor:
            cursor.execute("update partnerships_partnership set name = %s", ["Renamed by raw SQL"])

    _renamed(client, home, write)


def test_a_celery_task_invalidates(client, lead_alice, home, settings):
    client.force_login(lead_alice)
    pk = Partnership.objects.get().pk
    app.conf.task_always_eager = True
    _renamed(client, home, lambda: rename.delay(pk, "Renamed by a task"))


def test_a_membership_change_elsewhere_invalidates_a_table_the_page_read(client, lead_alice, home, school_b):
    """Not only the page's main table: any table its render read."""
    client.force_login(lead_alice)
    warm(client, home)
    assert client.get(home)["X-Page-Cache"] == "hit"
    factories.MembershipFactory(partnership=Partnership.objects.get(), school=school_b)
    assert client.get(home)["X-Page-Cache"] == "miss"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_write_in_another_connection_invalidates_at_its_commit(cohort, school_a, lead_alice):
    """Another thread (its own connection) renames inside a transaction: a view rendered while
    the write is uncommitted shows the old name and must not be served after the commit."""
    factories.PartnershipFactory(cohort=cohort, lead_school=school_a, partners=1, name="Blackpool Science")
    path = reverse("partnerships:lead_home")
    client = Client()
    client.force_login(lead_alice)
    warm(client, path)
    written, go_on = threading.Event(), threading.Event()

    def writer():
        from django.db import connection as own

        try:
            with transaction.atomic():
                Partnership.objects.update(name="Renamed by another connection")
                written.set()
                go_on.wait(10)
        finally:
            own.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10)
    during = client.get(path)
    assert b"Blackpool Science" in during.content  # uncommitted: not visible yet
    go_on.set()
    thread.join(10)
    after = client.get(path)
    assert b"Renamed by another connection" in after.content


def test_no_page_of_one_user_is_shown_to_another(client, lead_alice, lead_bob, home):
    client.force_login(lead_alice)
    warm(client, home)
    other = Client()
    other.force_login(lead_bob)
    warm(other, home)
    response = other.get(home)
    assert b"Blackpool Science" not in response.content
    assert b"Bob" in response.content or b"lead_bob" in response.content


def test_two_sessions_of_one_user_get_their_own_csrf_token(client, lead_alice, home):
    from django.middleware.csrf import _unmask_cipher_token

    client.force_login(lead_alice)
    warm(client, home)
    other = Client()
    other.force_login(lead_alice)
    warm(other, home)
    for c in (client, other):
        page = c.get(home)
        token = CSRF.search(page.content).group(1).decode()
        assert _unmask_cipher_token(token) == c.cookies["csrftoken"].value
    assert client.cookies["csrftoken"].value != other.cookies["csrftoken"].value


def test_staff_removed_from_the_programme_team_no_longer_get_the_cached_page(client, staff_carol, cohort):
    from django.contrib.auth.models import Group

    from portal.roles import STAFF_GROUP

    path = reverse("evaluation:cohort", kwargs={"pk": cohort.pk})
    client.force_login(staff_carol)
    warm(client, path)
    assert client.get(path)["X-Page-Cache"] == "hit"
    staff_carol.groups.remove(Group.objects.get(name=STAFF_GROUP))
    response = client.get(path)
    assert response.status_code in (302, 403, 404)


def test_staff_pages_repeat_without_rendering(client, staff_carol, cohort, django_assert_max_num_queries):
    client.force_login(staff_carol)
    for path in (
        reverse("evaluation:cohort", kwargs={"pk": cohort.pk}),
        reverse("evaluation:dashboard"),
        reverse("grants:review_queue") + "?page=1",
        reverse("grants:review_queue") + f"?cohort={cohort.pk}&status=submitted&page=1",
    ):
        first = warm(client, path)
        with django_assert_max_num_queries(3):  # the session (Redis in production), the user, their device
            second = client.get(path)
        assert second["X-Page-Cache"] == "hit", path
        assert second.content == first.content


def test_the_review_queue_still_keeps_its_filters_on_a_cached_view(client, staff_carol, cohort):
    client.force_login(staff_carol)
    queue = reverse("grants:review_queue")
    filtered = f"{queue}?cohort={cohort.pk}&status=submitted&page=1"
    warm(client, filtered)
    warm(client, queue + "?page=1")  # keeps "no filters"
    assert client.get(filtered)["X-Page-Cache"] == "hit"  # and keeps the filters again
    response = client.get(queue)
    assert response.status_code == 302
    assert f"cohort={cohort.pk}" in response["Location"]


def test_a_page_with_a_flash_message_is_not_cached(client, lead_alice, home):
    client.force_login(lead_alice)
    warm(client, home)
    storage = CookieStorage(HttpRequest())
    client.cookies["messages"] = storage._encode([Message(constants.SUCCESS, "Saved, thank you")])
    with_message = client.get(home)
    assert b"Saved, thank you" in with_message.content
    assert "X-Page-Cache" not in with_message
    after = client.get(home)
    assert b"Saved, thank you" not in after.content


def test_off_when_the_setting_is_off(client, lead_alice, home, settings):
    settings.PAGE_CACHE = False
    client.force_login(lead_alice)
    warm(client, home)
    assert "X-Page-Cache" not in client.get(home)


def test_a_stored_page_lives_at_most_the_ttl_and_expiries_are_spread(client, lead_alice, home, monkeypatch):
    lifetimes = []
    real_set = pagecache.cache.set

    def recording_set(key, value, timeout=None, **kwargs):
        if key.startswith(pagecache.PREFIX + "p:"):
            lifetimes.append(timeout)
        return real_set(key, value, timeout, **kwargs)

    monkeypatch.setattr(pagecache.cache, "set", recording_set)
    client.force_login(lead_alice)
    warm(client, home)
    assert len(lifetimes) == 1
    assert pagecache.TTL / 2 <= lifetimes[0] <= pagecache.TTL
    # Pages drawn together must not all expire together (the load bench's re-render burst)
    spread = {round(pagecache.lifetime(), 3) for _ in range(50)}
    assert len(spread) > 10
    assert all(pagecache.TTL / 2 <= t <= pagecache.TTL for t in spread)


@pytest.mark.parametrize(
    ("sql", "read", "written"),
    [
        ('SELECT "a"."id" FROM "partnerships_partnership" a', {"partnerships_partnership"}, set()),
        (
            "update partnerships_partnership set name = 'x'",
            {"partnerships_partnership"},
            {"partnerships_partnership"},
        ),
        ('DELETE FROM "grants_application" WHERE id = 1', {"grants_application"}, {"grants_application"}),
        (
            'WITH gone AS (DELETE FROM "grants_application" RETURNING id) '
            'INSERT INTO "grants_budgetline" SELECT * FROM gone',
            {"grants_application", "grants_budgetline"},
            {"grants_application", "grants_budgetline"},
        ),
        (
            'TRUNCATE "grants_application", "grants_budgetline"',
            None,
            {"grants_application", "grants_budgetline"},
        ),
        ("INSERT INTO some_staging_table VALUES (1)", set(), {pagecache.ALL}),
        ("ALTER TABLE grants_application ADD COLUMN x int", None, {pagecache.ALL, "grants_application"}),
        ('SELECT 1 FROM "grants_application" FOR UPDATE', {"grants_application"}, set()),
    ],
)
def test_which_tables_a_statement_reads_and_writes(db, sql, read, written):
    got_read, got_written = pagecache.parse(sql)
    if read is not None:
        assert got_read == read
    assert got_written == written
