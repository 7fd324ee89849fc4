"""The Celery app. Worker: `celery -A portal worker -l info`; beat: `celery -A portal beat -l info`.

With CELERY_BROKER_URL unset, settings make every task run eagerly in-process.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Static beat schedule (no django-celery-beat): nightly jobs at fixed times, UK time.
app.conf.beat_schedule = {
    "worker-heartbeat": {"task": "portal.tasks.heartbeat", "schedule": 60.0},
    "rebuild-open-cohort-summaries-nightly": {
        "task": "evaluation.tasks.rebuild_open_cohorts",
        "schedule": crontab(hour=2, minute=15),
    },
    "partnerships-reminders-daily": {
        "task": "partnerships.tasks.send_reminders",
        "schedule": crontab(hour=7, minute=30),
    },
    "partnerships-staff-digest-weekdays": {
        "task": "partnerships.tasks.send_staff_digest",
        "schedule": crontab(hour=8, minute=0, day_of_week="mon-fri"),
    },
}
