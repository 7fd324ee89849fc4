from celery import shared_task
from django.utils import timezone

from portal.models import Heartbeat


@shared_task(acks_late=True, time_limit=30, soft_time_limit=20, ignore_result=True)
def heartbeat(name: str = "worker") -> None:
    """Proves a worker is consuming: beat sends it every minute, /healthz shows its age."""
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50, ignore_result=True)
def send_password_reset(email: str) -> None:
    """Look the address up and, for each active account with a usable password, queue Django's
    password-reset e-mail in the outbox (portal/accounts.py explains why this is a task)."""
    from django.contrib.auth.forms import PasswordResetForm

    from portal.accounts import reset_link_parts

    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return
    protocol, domain = reset_link_parts()
    form.save(domain_override=domain, use_https=protocol == "https")
