"""/healthz: ok, degraded (web works, background work does not) or down (503)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db.utils import OperationalError
from django.utils import timezone

from portal.models import Heartbeat


@pytest.fixture
def broker_configured(settings):
    """As in production: tasks go through a broker (here one that is never contacted)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with mock.patch("portal.health.broker_state", return_value="ok"):
        yield


def test_healthz_is_ok_with_database_and_eager_broker(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert (body["database"], body["broker"], body["worker"]) == ("ok", "eager", "eager")
    assert body["outbox"]["state"] == "ok"


def test_healthz_is_ok_while_a_worker_ran_the_heartbeat_recently(client, db, settings, broker_configured):
    settings.HEALTHZ_WORKER_STALE_SECONDS = 180
    # Well inside the limit: at 179 s a loaded machine took the second that made it stale.
    Heartbeat.objects.create(name="worker", seen_at=timezone.now() - timedelta(seconds=150))

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["worker"] == "ok"


def test_healthz_is_degraded_when_the_worker_heartbeat_is_stale(client, db, settings, broker_configured):
    settings.HEALTHZ_WORKER_STALE_SECONDS = 180
    Heartbeat.objects.create(name="worker", seen_at=timezone.now() - timedelta(seconds=181))

    response = client.get("/healthz")

    assert response.status_code == 200  # the web pages work: keep serving them
    assert response.json()["status"] == "degraded"
    assert response.json()["degraded"] == ["worker"]
    assert response.json()["worker"] == "stale"


def test_healthz_is_degraded_when_no_worker_ever_ran_the_heartbeat(client, db, broker_configured):
    response = client.get("/healthz")

    assert response.json()["status"] == "degraded"
    assert response.json()["worker_heartbeat"] is None


def test_healthz_is_degraded_when_mail_has_waited_too_long(client, db, settings):
    from messaging.models import OutboxMessage

    settings.MESSAGING_WAITING_ALERT_SECONDS = 900
    message = OutboxMessage.objects.create(
        from_email="a@example.org", to=["b@example.org"], subject="s", body_text="b"
    )
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(seconds=901))

    body = client.get("/healthz").json()

    assert body["status"] == "degraded"
    assert body["degraded"] == ["outbox"]
    assert body["outbox"]["oldest_waiting_seconds"] >= 901


def test_healthz_answers_503_naming_a_broker_that_is_down(client, db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "down"
    assert response.json()["down"] == ["broker"]
    assert response.json()["status"] == "down"


def test_healthz_answers_503_naming_a_database_that_is_down(client, db):
    with mock.patch("portal.health.connection.cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["database"]


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_healthz_reports_a_reachable_redis_broker(client, settings, celery_worker):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = settings.TEST_CELERY_BROKER_URL

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["broker"] == "ok"


def test_healthz_refuses_post(client, db):
    assert client.post("/healthz").status_code == 405
