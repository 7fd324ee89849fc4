"""Partnerships' daily reminder job, run by Celery beat (portal/celery.py). It is idempotent: each
reminder is recorded in ReminderSent under a unique constraint and goes once, however often
the job runs (partnerships/reminders.py)."""

from celery import shared_task

from partnerships import reminders


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540, ignore_result=True)
def send_reminders() -> dict[str, int]:
    """Unanswered invitations (5 days). Grants' reminders are grants.tasks."""
    return reminders.send_all_reminders()


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3540, ignore_result=True)
def run_data_import(import_id: int) -> str:
    """An uploaded public-data file (GIAS, links, outcomes …): partnerships.imports."""
    from partnerships.imports import data_import_run

    return data_import_run(import_id).state


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3540, ignore_result=True)
def daily_gias_refresh() -> str:
    """Download the day's GIAS and links files and import them (partnerships.refresh)."""
    from partnerships.refresh import daily_refresh

    return daily_refresh()["state"]
