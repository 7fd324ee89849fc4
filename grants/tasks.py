"""Grants' daily reminder jobs, run by Celery beat (portal/celery.py). Idempotent: each reminder
is recorded in ReminderSent under a unique constraint and goes once, however often the job runs
(grants/reminders.py)."""

from celery import shared_task

from grants import reminders


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540, ignore_result=True)
def send_reminders() -> dict[str, int]:
    """Window closing (7 and 1 days) and end-of-grant reports."""
    return reminders.send_all_reminders()


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540, ignore_result=True)
def send_staff_digest() -> int:
    """Applications waiting for review over 10 working days, to each programme's staff."""
    return reminders.send_staff_digest().sent
