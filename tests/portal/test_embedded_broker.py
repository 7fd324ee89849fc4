"""The embedded default (`make run`) runs long work off the request, as production does: a Celery
worker on kombu's filesystem transport, which needs no broker server (issue 21)."""

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.urls import reverse

from evaluation.models import CohortSummary
from portal.env import env_broker
from tests import factories
from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parents[2]


def test_a_filesystem_broker_url_is_accepted(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")
    assert env_broker("CELERY_BROKER_URL") == "filesystem://"

    monkeypatch.setenv("CELERY_BROKER_URL", "sqs://nowhere")
    with pytest.raises(ImproperlyConfigured, match="filesystem://"):
        env_broker("CELERY_BROKER_URL")


def test_settings_with_the_filesystem_broker_send_tasks_to_a_folder_and_not_eagerly(tmp_path):
    """Outside pytest (as under `make run`) the filesystem broker turns eager execution off and
    points both sides of the transport at one folder, which settings create."""
    folder = tmp_path / "celery"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CELERY_", "DATABASE_URL", "TEST_", "PYTEST"))
    }
    env.update(
        CELERY_BROKER_URL="filesystem://",
        CELERY_FILESYSTEM_FOLDER=str(folder),
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'eager': s.CELERY_TASK_ALWAYS_EAGER, 'url': s.CELERY_BROKER_URL, "
        "'options': s.CELERY_BROKER_TRANSPORT_OPTIONS}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["eager"] is False
    assert seen["url"] == "filesystem://"
    assert seen["options"]["data_folder_in"] == seen["options"]["data_folder_out"] == str(folder / "messages")
    assert (folder / "messages").is_dir()
    assert (folder / "control").is_dir()


def test_make_run_starts_a_worker_on_the_filesystem_broker_beside_the_web_server():
    result = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ}
    )
    script = result.stdout

    assert "CELERY_BROKER_URL=${CELERY_BROKER_URL:-filesystem://" in script
    assert "celery -A portal worker -B" in script
    assert script.index("celery -A portal worker") < script.index("manage.py runserver")
    # restarted on code changes, as runserver is (the apps' directories, not the virtualenv)
    assert "watchfiles --filter python '.venv/bin/celery -A portal worker" in script
    assert " portal partnerships clusters grants evaluation messaging &" in script


@contextmanager
def filesystem_broker(folder: Path):
    """Point the Celery app at a filesystem broker in `folder` (not eager), then restore it."""
    from portal.celery import app

    for sub in ("messages", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    keys = ("task_always_eager", "broker_url", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(
        task_always_eager=False,
        broker_url="filesystem://localhost/",
        broker_transport_options={
            "data_folder_in": str(folder / "messages"),
            "data_folder_out": str(folder / "messages"),
            "control_folder": str(folder / "control"),
            "polling_interval": 0.1,
        },
    )
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield app
    finally:
        app.conf.update(saved)
        app._pool = None
        app.amqp._producer_pool = None


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_rebuild_now_leaves_the_request_queued_and_a_filesystem_worker_builds_it(
    client, tmp_path, staff_carol, cohort
):
    """The embedded default, end to end: "Rebuild now" only queues (a message file appears, the
    page says queued and refreshes itself); the worker then builds the summary."""
    from celery.contrib.testing.worker import start_worker

    if connection.vendor != "postgresql":
        missing_service("a real Celery worker needs PostgreSQL: set TEST_DATABASE_URL")
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    client.force_login(staff_carol)
    CohortSummary.objects.filter(cohort=cohort).delete()

    with filesystem_broker(tmp_path) as app:
        response = client.post(reverse("evaluation:cohort_rebuild", args=[cohort.pk]))

        assert response.status_code == 302
        summary = CohortSummary.objects.get(cohort=cohort)
        assert summary.state == CohortSummary.State.QUEUED
        assert summary.built_at is None
        assert list((tmp_path / "messages").iterdir()), "the rebuild was not sent to the broker"
        page = client.get(reverse("evaluation:cohort", args=[cohort.pk]))
        assert '<meta http-equiv="refresh"' in page.text
        assert "Queued" in page.text

        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            deadline = time.monotonic() + 30
            while CohortSummary.objects.get(cohort=cohort).state != CohortSummary.State.READY:
                assert time.monotonic() < deadline, "the worker never built the summary"
                time.sleep(0.1)

    summary = CohortSummary.objects.get(cohort=cohort)
    assert summary.data["schools"] == 5
    page = client.get(reverse("evaluation:cohort", args=[cohort.pk]))
    assert '<meta http-equiv="refresh"' not in page.text
