"""The Celery app. Worker: `celery -A portal worker -l info`; beat: `celery -A portal beat -l info`.

With CELERY_BROKER_URL unset, settings make every task run eagerly in-process.

No task is ever published with a countdown or ETA: on Redis a worker holding such a message when
the connection drops dies (kombu's AttributeError 'hostname' while restoring unacknowledged
messages; docs/operations.md). Delays live in the database, and the sweeps below pick them up.
`refuse_eta` logs any publish that breaks the rule.
"""

import logging
import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import before_task_publish

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

log = logging.getLogger(__name__)

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _seconds(name: str, default: int) -> float:
    from django.conf import settings

    return float(getattr(settings, name, default))


def _hour(name: str, default: int) -> int:
    from django.conf import settings

    return int(getattr(settings, name, default))


# Static beat schedule (no django-celery-beat): sweeps every minute, nightly jobs at fixed
# times, UK time.
app.conf.beat_schedule = {
    "worker-heartbeat": {
        "task": "portal.tasks.heartbeat",
        "schedule": _seconds("CELERY_HEARTBEAT_SECONDS", 60),
    },
    "messaging-outbox-sweep": {
        "task": "messaging.tasks.sweep",
        "schedule": _seconds("MESSAGING_SWEEP_SECONDS", 60),
    },
    "evaluation-summary-sweep": {
        "task": "evaluation.tasks.sweep_summaries",
        "schedule": _seconds("SUMMARY_SWEEP_SECONDS", 60),
    },
    "rebuild-open-cohort-summaries-nightly": {
        "task": "evaluation.tasks.rebuild_open_cohorts",
        "schedule": crontab(hour=2, minute=15),
    },
    "partnerships-reminders-daily": {
        "task": "partnerships.tasks.send_reminders",
        "schedule": crontab(hour=7, minute=30),
    },
    "messaging-digests-daily": {
        "task": "messaging.tasks.send_digests",
        "schedule": crontab(hour=17, minute=0),
    },
    "grants-reminders-daily": {
        "task": "grants.tasks.send_reminders",
        "schedule": crontab(hour=7, minute=30),
    },
    "grants-staff-digest-weekdays": {
        "task": "grants.tasks.send_staff_digest",
        "schedule": crontab(hour=8, minute=0, day_of_week="mon-fri"),
    },
    "partnerships-gias-refresh-daily": {
        "task": "partnerships.tasks.daily_gias_refresh",
        "schedule": crontab(hour=_hour("GIAS_REFRESH_HOUR", 6), minute=0),
    },
}


@before_task_publish.connect(dispatch_uid="portal.celery.refuse_eta")
def refuse_eta(sender=None, headers=None, **kwargs):
    """A countdown/ETA (or a retry with one) is a bug on Redis: say so loudly in the log."""
    if headers and headers.get("eta"):
        log.error(
            "Task %s was published with an ETA (%s): a worker holding it dies if Redis drops. "
            "Schedule the delay in the database instead.",
            sender,
            headers.get("eta"),
        )
