import time

import pytest

from portal.models import Heartbeat
from portal.tasks import heartbeat


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_task_travels_through_redis_to_a_real_worker(celery_worker, settings):
    from portal.celery import app

    assert app.conf.task_always_eager is False
    assert app.conf.broker_url.startswith("redis://")

    heartbeat.delay("test-worker")

    deadline = time.monotonic() + 20
    while not Heartbeat.objects.filter(name="test-worker").exists():
        assert time.monotonic() < deadline, "the worker never ran the task"
        time.sleep(0.1)
