"""E-mails and in-portal notifications for sign-up, verification, e-mail invitations and
reminders.

Every e-mail is one `Message`: a subject, a few paragraphs, optional bullet items and the page
it is about. It goes out with a plain-text part (templates/emails/message.txt) and an HTML
alternative (message.html), and its link is absolute (settings.PORTAL_BASE_URL); it is written
to the outbox (messaging/outbox.py), which sends it after commit and retries. `notify` also
keeps the message on the user's notifications page.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string

from messaging import outbox
from partnerships.models import Notification
from portal.roles import ADMINS_GROUP, STAFF_GROUP

log = logging.getLogger(__name__)


@dataclass
class Message:
    subject: str
    paragraphs: list[str]
    link: str  # a path in the portal, or an absolute URL
    link_label: str
    items: list[str] = field(default_factory=list)
    greeting: str = "Hello,"


def absolute(link: str) -> str:
    if link.startswith(("http://", "https://")):
        return link
    return settings.PORTAL_BASE_URL.rstrip("/") + link


def build_email(message: Message, to: list[str]) -> EmailMultiAlternatives:
    context = {
        "greeting": message.greeting,
        "paragraphs": message.paragraphs,
        "items": message.items,
        "url": absolute(message.link),
        "link_label": message.link_label,
        "subject": message.subject,
    }
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=render_to_string("emails/message.txt", context),
        to=to,
    )
    email.attach_alternative(render_to_string("emails/message.html", context), "text/html")
    return email


def send_email(to: str, message: Message, *, fail_silently: bool = True) -> bool:
    """Queue one message to one address in the outbox (messaging), in the caller's transaction;
    the worker sends it and retries it until the mail server takes it. True when queued.

    With fail_silently (the default) a message that cannot be queued is logged; the reminder job
    passes False so that the failure rolls back its record and the reminder is tried again on
    the next run. A failing mail server is not such a failure: the outbox retries it."""
    if not to:
        return False
    try:
        with transaction.atomic():
            return outbox.enqueue(build_email(message, [to])) is not None
    except Exception:
        if not fail_silently:
            raise
        log.exception("Could not queue %r", message.subject)
        return False


def greeting_for(user) -> str:
    return f"Dear {user.first_name}," if user.first_name else "Hello,"


def notify(
    user, *, kind: str, message: Message, email: bool = True, fail_silently: bool = True
) -> Notification:
    """Keep `message` on the user's notifications page and e-mail it to them (when they have an
    address and an active account)."""
    notification = Notification.objects.create(
        user=user,
        kind=kind,
        title=message.subject[:200],
        body="\n\n".join([*message.paragraphs, *(f"• {item}" for item in message.items)])[:5000],
        url=message.link if not message.link.startswith("http") else "",
    )
    if email and user.is_active and user.email:
        message.greeting = greeting_for(user)
        send_email(user.email, message, fail_silently=fail_silently)
    return notification


def staff_and_admins():
    """Everyone who may decide lead verification requests: programme staff and admins."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__name__in=[STAFF_GROUP, ADMINS_GROUP]) | Q(is_superuser=True))
        .distinct()
        .order_by("pk")
    )


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
