"""Fault tests: the broker (Redis) and the worker fail while decisions are made and mail is on
its way. Each test owns its fault: it starts its own redis-server on a free port (never the
shared one), a real `celery -A portal worker` and `celery -A portal beat` as subprocesses on it,
and points this process (the "web") at the same Redis for its broker and cache.

What every scenario checks: the worker still serves (or, when it was killed, a restarted one
does), the cohort summary is rebuilt with every decision, every decision's e-mail is delivered
exactly once (counted by a file backend in the worker), /healthz told the truth at every
sample, and the review queue, sign-up and invitation pages never answered 500. Each scenario
prints its counts ("FAULT …"), which docs/operations.md and the issue note quote."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from evaluation.models import CohortSummary
from grants import services
from grants.models import Application
from messaging.models import OutboxMessage
from tests import factories
from tests.conftest import broker_at, missing_service
from tests.grants.conftest import complete
from tests.mailbackends import recorded
from tests.partnerships.permission_rows import STRONG_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
AWARD = Decimal("3000.00")
STALE_AFTER = 8  # seconds without a heartbeat before /healthz says "degraded" (heartbeat: 1 s)

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


class Redis:
    """A redis-server of this test's own, without persistence (as a restarted cache box would be)."""

    def __init__(self, folder: Path):
        if not shutil.which("redis-server"):
            missing_service("needs redis-server on PATH for the broker fault tests")
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, 10, "redis-server to start")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        wait_until(lambda: not self.answers(), 5, "redis-server to die")


class Celery:
    """`celery -A portal worker` or `beat` in a subprocess, on the test's database and Redis."""

    def __init__(self, kind: str, env: dict, log: Path):
        self.kind, self.env, self.log = kind, env, log
        self.process = None
        self.terminating = False

    def start(self):
        self.terminating = False
        args = [CELERY, "-A", "portal", self.kind, "-l", "info"]
        if self.kind == "worker":
            args += [
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "-n",
                f"fault-{os.getpid()}@%h",
                "--without-mingle",
                "--without-gossip",
            ]
        else:
            args += ["--schedule", str(self.log.with_suffix(".schedule"))]
        self.out = self.log.open("a")
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=self.out, stderr=subprocess.STDOUT
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def pause_pool(self):
        for pid in self.children():
            os.kill(pid, signal.SIGSTOP)

    def resume_pool(self):
        for pid in self.children():
            os.kill(pid, signal.SIGCONT)

    def kill(self):
        for pid in self.children():
            os.kill(pid, signal.SIGKILL)
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self):
        """Ask for a warm shutdown; `stop()` then waits for it (so worker and beat stop together)."""
        if self.alive() and not self.terminating:
            self.terminating = True
            self.resume_pool()
            self.process.send_signal(signal.SIGTERM)

    def stop(self):
        if self.alive():
            self.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.out.close()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def stack(tmp_path, settings):
    """Own Redis, a worker and beat on it; this process's broker, cache and /healthz on it too."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        missing_service("needs PostgreSQL: the worker subprocess shares the test database")
    redis = Redis(tmp_path)
    redis.start()
    mail_log = tmp_path / "delivered.jsonl"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": redis.url,
        "CACHE_URL": redis.url.replace("/0", "/1"),
        "EMAIL_BACKEND": "tests.mailbackends.RecordingFileBackend",
        "MAIL_RECORD_PATH": str(mail_log),
        "CELERY_HEARTBEAT_SECONDS": "1",
        "MESSAGING_SWEEP_SECONDS": "2",
        "SUMMARY_SWEEP_SECONDS": "2",
        "SUMMARY_QUEUED_EXPIRES_SECONDS": "5",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("TEST_DATABASE_URL", None)
    worker = Celery("worker", env, tmp_path / "worker.log")
    beat = Celery("beat", env, tmp_path / "beat.log")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis.url
    settings.HEALTHZ_WORKER_STALE_SECONDS = STALE_AFTER
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.FailSoftRedisCache",
            "LOCATION": redis.url.replace("/0", "/1"),
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
        }
    }
    with broker_at(redis.url):
        worker.start()
        beat.start()
        try:
            yield {"redis": redis, "worker": worker, "beat": beat, "mail": mail_log}
        finally:
            worker.terminate()
            beat.terminate()
            worker.stop()
            beat.stop()
            if redis.process.poll() is None:
                redis.process.terminate()
                redis.process.wait(10)
            print(f"--- worker log (tail) ---\n{worker.text()[-3000:]}")


@pytest.fixture
def cast(programme, staff_carol, admin_dan):
    """Five submitted applications of one open cohort, each lead school with one lead; a lead
    with a forming partnership (for invitations); the register school a newcomer signs up at."""
    cohort = factories.CohortFactory(programme=programme, budget=Decimal("100000.00"))
    applications = []
    for n in range(5):
        school = factories.SchoolFactory(name=f"Fault School {n}")
        lead = factories.LeadFactory(username=f"fault_lead_{n}")
        factories.link_lead(lead, school)
        partnership = factories.PartnershipFactory(cohort=cohort, lead_school=school, partners=4)
        application = services.application_start(partnership_id=partnership.pk, by=lead)
        complete(application, lead)
        services.application_submit(application_id=application.pk, by=lead)
        applications.append((application, lead))
    inviter = applications[0][1]
    newcomer_school = factories.SchoolFactory(name="Newcomer Primary")
    return {"cohort": cohort, "applications": applications, "inviter": inviter, "newcomer": newcomer_school}


class Web:
    """The pages people use during the fault, through the test client; every answer is kept."""

    def __init__(self, client, cast, staff):
        self.client, self.cast, self.staff = client, cast, staff
        self.answers: list[tuple[str, int]] = []
        self.health: list[tuple[str, int, dict]] = []
        self.signups = 0

    def _keep(self, name, response):
        self.answers.append((name, response.status_code))
        return response

    def approve(self, application):
        self.client.force_login(self.staff)
        url = reverse("grants:application_approve", args=[application.pk])
        response = self._keep("approve", self.client.post(url, {"amount": str(AWARD), "confirm": "yes"}))
        assert response.status_code == 302, response.content[:500]

    def browse(self, tag):
        """The review queue, sign-up (page and form) and an e-mail invitation."""
        self.client.force_login(self.staff)
        self._keep("review queue", self.client.get(reverse("grants:review_queue")))
        self.client.logout()
        self._keep("sign-up page", self.client.get(reverse("partnerships:signup")))
        self.signups += 1
        data = {
            "school": self.cast["newcomer"].pk,
            "first_name": "Nia",
            "last_name": f"Okafor {tag}",
            "email": f"nia.{tag}@newcomer.sch.uk",
            "role_at_school": "Head of science",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        }
        self._keep("sign-up", self.client.post(reverse("partnerships:signup"), data))
        self.client.force_login(self.cast["inviter"])
        partnership = self.cast["applications"][0][0].partnership
        invited = factories.SchoolFactory(name=f"Invited {tag}")
        url = reverse("partnerships:email_invite", args=[partnership.pk])
        self._keep(
            "invitation", self.client.post(url, {"school": invited.pk, "email": f"head.{tag}@invited.sch.uk"})
        )
        self.client.logout()

    def healthz(self, truth: str):
        """Sample /healthz and check it against what the test knows: "redis down", "up"."""
        response = self.client.get("/healthz")
        body = response.json()
        self.health.append((truth, response.status_code, body))
        if truth == "redis down":
            assert (response.status_code, body["broker"], body["status"]) == (503, "down", "down"), body
        else:
            assert response.status_code == 200, body
            assert body["broker"] == "ok", body
            seen = body.get("worker_heartbeat")
            age = (timezone.now() - timezone.datetime.fromisoformat(seen)).total_seconds() if seen else None
            # (one second of slack: the page read the clock a moment before this test does)
            if body["worker"] == "ok":
                assert age is not None, body
                assert age <= STALE_AFTER + 1, body
            else:
                assert body["status"] == "degraded", body
                assert age is None or age > STALE_AFTER - 1, body
        return body


def summary_awarded(cohort) -> Decimal | None:
    summary = CohortSummary.objects.filter(cohort=cohort).first()
    if not summary or not summary.built_at or summary.state != CohortSummary.State.READY:
        return None
    return Decimal(summary.data.get("awarded", "0"))


def delivered_exactly_once(mail_log, rows) -> tuple[int, int, int]:
    """(messages, delivered once, lost); a duplicate delivery fails the test."""
    deliveries = recorded(mail_log)
    wanted = [(row.subject, row.to) for row in rows]
    seen = [(d["subject"], d["to"]) for d in deliveries]
    duplicates = [key for key in set(map(str, seen)) if [str(s) for s in seen].count(key) > 1]
    assert duplicates == [], f"delivered twice: {duplicates}"
    lost = [key for key in wanted if key not in seen]
    return len(wanted), len(wanted) - len(lost), len(lost)


def test_redis_dies_while_the_worker_holds_a_pending_rebuild(stack, cast, client, staff_carol, capsys):
    redis, worker, mail_log = stack["redis"], stack["worker"], stack["mail"]
    cohort = cast["cohort"]
    web = Web(client, cast, staff_carol)
    first_row = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    # Up and running: the heartbeat is fresh, /healthz is ok.
    wait_until(lambda: web.healthz("up")["status"] == "ok", 60, "a fresh worker heartbeat")

    # The worker's pool is held (paused) so that the rebuild queued by the next decision is
    # taken by the worker and waits, unacknowledged, while Redis goes away.
    worker.pause_pool()
    (held_app, _), *rest = cast["applications"]
    web.approve(held_app)
    wait_until(
        lambda: "build_cohort_summary" in worker.text() and "received" in worker.text(),
        20,
        "the worker to take the rebuild",
    )
    in_flight_before = OutboxMessage.objects.filter(pk__gt=first_row).exclude(state="sent").count()
    redis.kill()

    # Redis is down: decisions still commit, pages still answer, /healthz says so.
    outage_decisions = rest[:3]
    for application, _ in outage_decisions:
        web.approve(application)
        web.healthz("redis down")
    web.browse("outage")
    web.healthz("redis down")
    time.sleep(2)  # the worker notices the lost connection (and, before the fix, died here)
    assert worker.alive(), "the worker died when Redis went away"

    # Redis comes back empty: the worker reconnects, the held rebuild finishes, the sweeps send
    # what the empty Redis forgot.
    redis.start()
    worker.resume_pool()
    decided = [held_app, *(a for a, _ in outage_decisions)]
    expected = AWARD * len(decided)
    wait_until(lambda: summary_awarded(cohort) == expected, 90, f"the summary to show {expected}")
    rows = list(OutboxMessage.objects.filter(pk__gt=first_row).order_by("pk"))
    wait_until(
        lambda: not OutboxMessage.objects.filter(pk__gt=first_row).exclude(state="sent").exists(),
        90,
        "every message to be sent",
    )
    wait_until(lambda: web.healthz("up")["status"] == "ok", 60, "/healthz to be ok again")
    web.browse("after")

    assert worker.alive()
    assert "Unrecoverable error" not in worker.text()
    assert [a for a in decided if Application.objects.get(pk=a.pk).status != "approved"] == []
    assert [answer for answer in web.answers if answer[1] >= 500] == []
    messages, once, lost = delivered_exactly_once(mail_log, rows)
    assert lost == 0
    with capsys.disabled():
        print(
            f"\nFAULT redis-killed-with-pending-rebuild: decisions in flight {len(decided)} "
            f"(1 held by the worker, {len(outage_decisions)} during the outage), rebuilds in flight 1, "
            f"messages in flight {messages} ({in_flight_before} queued when Redis died), "
            f"delivered once {once}, lost {lost}, duplicates 0, worker restarted 0, "
            f"/healthz samples {len(web.health)}, 5xx answers 0"
        )


def test_the_worker_is_killed_and_a_restarted_one_sends_the_backlog(stack, cast, client, staff_carol, capsys):
    worker, mail_log = stack["worker"], stack["mail"]
    cohort = cast["cohort"]
    web = Web(client, cast, staff_carol)
    first_row = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    wait_until(lambda: web.healthz("up")["status"] == "ok", 60, "a fresh worker heartbeat")

    worker.pause_pool()  # mid-task, as a worker killed by the OOM killer would be
    applications = [a for a, _ in cast["applications"][:3]]
    web.approve(applications[0])
    wait_until(lambda: "received" in worker.text(), 20, "the worker to take a task")
    worker.kill()
    for application in applications[1:]:
        web.approve(application)
    web.browse("no-worker")

    # No worker: after STALE_AFTER seconds /healthz says "degraded" (and still serves).
    body = wait_until(
        lambda: (b := web.healthz("up"))["status"] == "degraded" and b,
        STALE_AFTER + 20,
        "/healthz to report the stale heartbeat",
    )
    assert body["degraded"][0] == "worker"

    worker.start()  # what the compose restart policy / systemd does
    expected = AWARD * len(applications)
    wait_until(lambda: summary_awarded(cohort) == expected, 90, f"the summary to show {expected}")
    wait_until(
        lambda: not OutboxMessage.objects.filter(pk__gt=first_row).exclude(state="sent").exists(),
        90,
        "every message to be sent",
    )
    wait_until(lambda: web.healthz("up")["status"] == "ok", 60, "/healthz to be ok again")

    rows = list(OutboxMessage.objects.filter(pk__gt=first_row).order_by("pk"))
    assert [answer for answer in web.answers if answer[1] >= 500] == []
    messages, once, lost = delivered_exactly_once(mail_log, rows)
    assert lost == 0
    with capsys.disabled():
        print(
            f"\nFAULT worker-killed-mid-task: decisions in flight {len(applications)}, rebuilds in flight 1, "
            f"messages in flight {messages}, delivered once {once}, lost {lost}, duplicates 0, "
            f"worker restarted 1, /healthz samples {len(web.health)} (degraded seen), 5xx answers 0"
        )
