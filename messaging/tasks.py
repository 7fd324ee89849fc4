"""The outbox's Celery tasks. Both are idempotent: a message is claimed by one UPDATE, so a task
run twice (a redelivered message) sends nothing twice. No countdowns: retries are due times in
the database, picked up by the sweep that beat sends every MESSAGING_SWEEP_SECONDS."""

from celery import shared_task
from django.conf import settings

from messaging import outbox


@shared_task(
    name="messaging.tasks.deliver",
    acks_late=True,
    ignore_result=True,
    time_limit=3 * settings.EMAIL_TIMEOUT + 30,
    soft_time_limit=3 * settings.EMAIL_TIMEOUT + 20,
)
def deliver(outbox_id: int) -> str:
    return outbox.deliver(outbox_id)


@shared_task(
    name="messaging.tasks.sweep",
    acks_late=True,
    ignore_result=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def sweep() -> dict:
    return outbox.sweep()


@shared_task(
    name="messaging.tasks.send_digests",
    acks_late=True,
    ignore_result=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def send_digests() -> int:
    """The daily digest e-mails (beat, once a day). Each notification goes in one digest: it is
    taken out of the waiting list in the transaction that queues the e-mail."""
    from messaging.delivery import send_digests as send

    return send()
