from unittest import mock

import pytest
from django.db.utils import OperationalError


def test_healthz_is_ok_with_database_and_eager_broker(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager", "worker_heartbeat": None}


def test_healthz_answers_503_naming_a_broker_that_is_down(client, db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "down"
    assert response.json()["down"] == ["broker"]


def test_healthz_answers_503_naming_a_database_that_is_down(client, db):
    with mock.patch("portal.views.connection.cursor", side_effect=OperationalError("connection refused")):
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
