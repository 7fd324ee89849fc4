"""Shared fixtures: the fixed cast, and the real services (PostgreSQL, a Celery worker on
Redis, headless Chromium). With REQUIRE_SERVICES=1 (CI) a missing service fails the
test that needs it; otherwise such a test is skipped with the reason."""

import copy
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from tests import factories

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
RESULTS = Path(__file__).resolve().parent.parent / "test-results"


def pytest_configure(config):
    """Under pytest-xdist each worker process (gw0, gw1, …) has its own test database
    (pytest-django adds the suffix) and its own Redis database for the Celery broker, counted
    down from TEST_CELERY_BROKER_URL's (15, 14, …), so no worker's Celery worker consumes another's
    tasks and no cache.clear() flushes another's queue."""
    # Celery reads its configuration from Django's settings once, on first use. Load it now, from
    # the test settings, so that a test which changes settings.CELERY_* (and is the first to touch
    # Celery in its worker process) cannot fix that value for every later test of the process.
    from portal.celery import app

    app.conf.task_always_eager  # noqa: B018 - the read loads the configuration
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        parts = urlsplit(settings.TEST_CELERY_BROKER_URL)
        if parts.scheme.startswith("redis"):
            base = int(parts.path.strip("/") or 0)
            db = (base - int(worker.removeprefix("gw"))) % 16
            settings.TEST_CELERY_BROKER_URL = urlunsplit(parts._replace(path=f"/{db}"))


def missing_service(reason: str):
    """Fail under CI, skip on a developer's machine."""
    if REQUIRE_SERVICES:
        pytest.fail(f"Required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            missing_service(
                "needs PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal"
            )


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _celery_conf_restored():
    """Whatever a test does to the Celery app's configuration is undone after it.

    So is Celery's "joining a result would block" flag. It is one global for the whole process,
    not per thread: an eager `.delay()` sets it for the length of the task and then puts back
    the value it found. Two threads running eager tasks at once (live_server answers a browser's
    requests in several threads) can interleave so that the last to finish puts back the other's
    True; every later test's `.delay().get()` then raised "Never call result.get() within a
    task!" (CI, 2026-12-02). Production never runs tasks eagerly."""
    from celery._state import _set_task_join_will_block

    from portal.celery import app

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    _set_task_join_will_block(False)
    yield
    app.conf.update(saved)
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _isolated_counters():
    """Every test starts with empty caches and rate-limit counters, so no test's sign-ups,
    invitations or log-in failures count against the next one (the suite passes in any order:
    pytest-randomly shuffles it; `-p no:randomly` turns that off, `-p randomly --randomly-seed=N`
    replays an order)."""
    from portal import throttle

    def reset():
        from django.core.cache import caches

        for cache in caches.all(initialized_only=True):
            cache.clear()
        throttle.reset_local_counters()

    reset()
    yield
    reset()


@pytest.fixture
def pages_drawn(settings):
    """Every view renders: for tests that count a render's queries, which the page cache
    (portal/pagecache.py, tests/portal/test_pagecache.py) would answer on a repeat view
    without running the view."""
    settings.PAGE_CACHE = False


@pytest.fixture
def outbox_sends_at_once(monkeypatch):
    """E-mail written to the outbox goes out at once, as if the test's own transaction had
    committed. For tests of *what* a job sends; tests/messaging tests that nothing leaves before
    the real commit."""
    from messaging import outbox

    monkeypatch.setattr(outbox, "after_commit", lambda callback: callback())


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Worker and live-server threads leave their own connections open; end them so the
    test database can be dropped cleanly at the end of the run."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


# --- The cast -------------------------------------------------------------------------


@pytest.fixture
def school_a(db):
    return factories.SchoolFactory(urn=100001, name="Alder Primary School")


@pytest.fixture
def school_b(db):
    return factories.SchoolFactory(urn=100002, name="Beech Academy", phase="secondary")


@pytest.fixture
def lead_alice(school_a):
    user = factories.LeadFactory(username="lead_alice", first_name="Alice")
    factories.link_lead(user, school_a)
    return user


@pytest.fixture
def lead_bob(school_b):
    user = factories.LeadFactory(username="lead_bob", first_name="Bob")
    factories.link_lead(user, school_b)
    return user


@pytest.fixture
def programme(db):
    return factories.ProgrammeFactory(name="ENTHUSE Partnerships", slug="enthuse-partnerships")


@pytest.fixture
def staff_carol(programme):
    user = factories.StaffFactory(username="staff_carol", first_name="Carol")
    programme.staff.add(user)
    return user


@pytest.fixture
def finance_fay(db):
    """The finance team (issue 19): pays every programme's grants, decides none."""
    return factories.FinanceFactory(username="finance_fay", first_name="Fay")


@pytest.fixture
def admin_dan(db):
    return factories.AdminFactory(username="admin_dan", first_name="Dan")


@pytest.fixture
def cohort(programme):
    return factories.CohortFactory(programme=programme, name="2026–28")


@pytest.fixture
def password():
    return factories.PASSWORD


# --- The permission matrix's World, built once per module ----------------------------------


@pytest.fixture(scope="module")
def _world_snapshot(django_db_setup, django_db_blocker):
    """A tests.matrix.World built once for the module inside a transaction that is held open and
    rolled back after the module's last test. Only for modules whose tests use `db` (never
    transactional_db: its flush would run inside this transaction)."""
    from django.db import transaction

    from tests.matrix import World

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            world = World()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield world
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def world(_world_snapshot, db):
    """A fresh-looking World: the module's one in the database (each test runs in a savepoint that
    is rolled back, pytest-django's `db`), and a deep copy of its Python objects, so what one test
    changes or caches on them never reaches the next."""
    from django.db import connection

    assert connection.savepoint_ids, "world needs `db` (a savepoint inside the module transaction)"
    return copy.deepcopy(_world_snapshot)


# --- A real Celery worker on Redis ----------------------------------------------------


@contextmanager
def broker_at(url: str):
    """Point the Celery app at a real (non-eager) broker for the duration, then restore it."""
    from portal.celery import app

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    app.conf.update(task_always_eager=False, broker_url=url)
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield app
    finally:
        app.conf.update(saved)
        app._pool = None
        app.amqp._producer_pool = None


@pytest.fixture
def celery_worker(transactional_db):
    """Start a worker thread consuming from Redis; tasks sent with .delay() travel
    through the broker. Use with @pytest.mark.celery_worker and transaction=True."""
    from celery.contrib.testing.worker import start_worker
    from django.db import connection

    if connection.vendor != "postgresql":
        # A worker thread writing to SQLite's shared in-memory test database while the test polls
        # it fails with "database table is locked": not a scenario production (PostgreSQL) has.
        missing_service("a real Celery worker needs PostgreSQL: set TEST_DATABASE_URL")
    url = settings.TEST_CELERY_BROKER_URL
    if not _reachable(url):
        missing_service(f"needs Redis at {url} for a real Celery worker")
    with broker_at(url) as app:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(app.conf.task_default_queue)
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker


# --- Headless Chromium through Playwright --------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        missing_service(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context on the live server; `page.shot(name)` saves a screenshot
    under test-results/<test name>/ (kept by CI as an artefact)."""
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    folder = RESULTS / request.node.name
    counter = iter(range(1, 1000))

    def shot(name: str):
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{next(counter):02d}-{name}.png"), full_page=True)

    page.shot = shot
    yield page
    context.close()


def current_totp(user) -> str:
    """The code a user's test authenticator shows now (tests/factories.second_factor); the
    device's last-used step is reset, so a test may sign the same person in twice."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def login(page, username, password=factories.PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():  # the form's POST, whatever it answers
        page.get_by_role("button", name="Log in").click()
    if "/account/two-factor/" in page.url and "/set-up/" not in page.url:  # staff and admins
        from django.contrib.auth.models import User

        page.get_by_label("Code").fill(current_totp(User.objects.get(username=username)))
        with page.expect_navigation():
            page.get_by_role("button", name="Continue").click()


# --- The second factor in tests: force_login passes it for users with a device ----------


def _force_login_with_second_factor():
    """`client.force_login(user)` also marks the session as having passed the second factor
    when the user has a confirmed device (the staff and admin factories give them one), so
    tests of staff pages need not sign in twice. tests/portal/test_two_factor.py proves that a
    session without it reaches no staff page."""
    from django.test.client import ClientMixin

    if getattr(ClientMixin.force_login, "_with_second_factor", False):
        return
    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    force_login._with_second_factor = True
    ClientMixin.force_login = force_login


_force_login_with_second_factor()


# --- What ran on the real services ----------------------------------------------------

_SERVICE_MARKERS = ("postgres", "celery_worker", "e2e")
_outcomes: dict[str, dict[str, int]] = {m: {} for m in _SERVICE_MARKERS}
_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        for marker in _SERVICE_MARKERS:
            if marker in report.keywords:
                counts = _outcomes[marker]
                counts[report.outcome] = counts.get(report.outcome, 0) + 1
        if report.skipped:
            _skipped.append(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section("real services")
    for marker, counts in _outcomes.items():
        parts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "none run"
        terminalreporter.write_line(f"{marker:>14}: {parts}")


def pytest_sessionfinish(session, exitstatus):
    if REQUIRE_SERVICES and _skipped and exitstatus == 0:
        session.exitstatus = 1
        print(f"\nREQUIRE_SERVICES is set but {len(_skipped)} test(s) were skipped: {_skipped[:10]}")
