from celery import shared_task
from django.utils import timezone

from portal.models import Heartbeat


@shared_task(acks_late=True, time_limit=30, soft_time_limit=20, ignore_result=True)
def heartbeat(name: str = "worker") -> None:
    """Proves a worker is consuming: beat sends it every minute, /healthz shows its age."""
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})
