"""Partnerships' daily reminder job, run by Celery beat (portal/celery.py). It is idempotent: each
reminder is recorded in ReminderSent under a unique constraint and goes once, however often
the job runs (partnerships/reminders.py)."""

from celery import shared_task

from partnerships import reminders


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540, ignore_result=True)
def send_reminders() -> dict[str, int]:
    """Unanswered invitations (5 days). Grants' reminders are grants.tasks."""
    return reminders.send_all_reminders()
