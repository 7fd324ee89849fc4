"""messaging.send: the one road every message of the portal takes.

    send(kind, recipients, context, *, about=None)

For each recipient that is a user: a Notification on their notifications page and, when they
have an active account with an address, an e-mail. A recipient given as an address (sign-up,
an invitation by e-mail) gets the e-mail only. Each e-mail has a plain-text part and an HTML
alternative rendered from the kind's templates, links made absolute from
settings.PORTAL_BASE_URL, and is written to the outbox (messaging/outbox.py) in the caller's
transaction: nothing leaves before it commits, and the outbox retries until the mail server
takes it.

Who the recipients are is not messaging's business: the app that knows the people selects them
(partnerships.selectors.school_contacts, grants.selectors.programme_staff, …), so messaging
never imports from the apps above it.
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.template import Context, Template
from django.template.loader import render_to_string
from django.urls import reverse

from messaging import kinds as registry
from messaging import outbox, programme_templates
from messaging.models import MessageTemplate, MutedProgramme, Notification, Preference

log = logging.getLogger(__name__)
_muted: ContextVar[bool] = ContextVar("messaging_muted", default=False)


@dataclass
class Sent:
    """What one send did: the notifications written and how many e-mails were queued."""

    notifications: list = field(default_factory=list)
    emails: int = 0


def absolute(link: str) -> str:
    """A portal path as an absolute URL on settings.PORTAL_BASE_URL (absolute URLs unchanged)."""
    if not link:
        return settings.PORTAL_BASE_URL.rstrip("/") + "/"
    if link.startswith(("http://", "https://")):
        return link
    return settings.PORTAL_BASE_URL.rstrip("/") + "/" + link.lstrip("/")


@contextmanager
def muted():
    """No e-mails for what happens inside this block (the demo seed); notifications are kept."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def greeting_for(user) -> str:
    return f"Dear {user.first_name}," if getattr(user, "first_name", "") else "Hello,"


def subject_of(kind: registry.MessageKind, context: dict, template: MessageTemplate | None = None) -> str:
    if kind.editable:
        subject, _body = programme_templates.wording(kind, template)
        text = programme_templates.fill(subject, kind, context)
    else:
        text = Template(kind.subject).render(Context(context, autoescape=False))
    return " ".join(text.split())


def render(
    kind: registry.MessageKind,
    context: dict,
    *,
    greeting: str = "Hello,",
    template: MessageTemplate | None = None,
) -> dict:
    """The message as it is sent: subject, text, HTML, absolute URL. A kind programme staff may
    reword takes its subject and opening text from `template` (a programme's version) or its
    built-in wording; the sender's `kept` paragraphs follow whatever the wording."""
    full = {
        "greeting": greeting,
        "paragraphs": [],
        "items": [],
        "sections": [],
        "link_label": "The STEM Partnerships Portal",
        **context,
    }
    full["url"] = absolute(full.get("link", ""))
    if kind.editable:
        _subject, body = programme_templates.wording(kind, template)
        full["paragraphs"] = programme_templates.paragraphs(body, kind, full)
    full["paragraphs"] = [*full["paragraphs"], *full.get("kept", [])]
    full["subject"] = subject_of(kind, full, template)
    return {
        "subject": full["subject"],
        "text": render_to_string(kind.text_template, full),
        "html": render_to_string(kind.html_template, full),
        "url": full["url"],
        "context": full,
    }


def _notification_body(context: dict) -> str:
    parts = [*context.get("paragraphs", []), *(f"• {item}" for item in context.get("items", []))]
    return "\n\n".join(str(p) for p in parts)[:5000]


def _email(rendered: dict, address: str) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(subject=rendered["subject"], body=rendered["text"], to=[address])
    email.attach_alternative(rendered["html"], "text/html")
    return email


def _queue(rendered: dict, address: str, *, fail_silently: bool, template=None) -> bool:
    try:
        with transaction.atomic():
            return outbox.enqueue(_email(rendered, address), template=template) is not None
    except Exception:
        if not fail_silently:
            raise
        log.exception("Could not queue %r", rendered["subject"][:80])
        return False


def send(kind: str, recipients, context: dict, *, about=None, fail_silently: bool = True) -> Sent:
    """Tell `recipients` (users, or e-mail addresses for address-only kinds) about `kind`.

    `context` fills the kind's templates; `about` is the object the message is about (an
    application, a partnership), kept for preferences that depend on it. Returns what was
    written (Sent). With fail_silently=False a message that cannot be queued raises
    (the reminder job rolls back its record and tries again the next day)."""
    message_kind = registry.get(kind)
    sent = Sent()
    seen: set = set()
    recipients = list(recipients)
    chosen = _preferences(message_kind, recipients)
    programme_id = programme_of(about)
    quiet = not message_kind.mandatory and programme_muted(programme_id)
    template = programme_templates.current(programme_id, kind) if message_kind.editable else None
    for recipient in recipients:
        if isinstance(recipient, str):
            if recipient.lower() in seen:
                continue
            seen.add(recipient.lower())
            if not _muted.get() and not quiet:
                sent.emails += _queue(
                    render(message_kind, context, template=template),
                    recipient,
                    fail_silently=fail_silently,
                    template=template,
                )
            continue
        if recipient.pk in seen:
            continue
        seen.add(recipient.pk)
        rendered = render(message_kind, context, greeting=greeting_for(recipient), template=template)
        delivery = registry.Delivery.PORTAL if quiet else chosen.get(recipient.pk, message_kind.delivery)
        if not message_kind.address_only:
            link = rendered["context"].get("link", "")
            sent.notifications.append(
                Notification.objects.create(
                    user=recipient,
                    kind=kind,
                    title=rendered["subject"][:200],
                    body=_notification_body(rendered["context"]),
                    url=link if link and not link.startswith("http") else "",
                    in_digest=delivery == registry.Delivery.DIGEST,
                    template=template,
                )
            )
        if delivery != registry.Delivery.IMMEDIATE:
            continue
        if recipient.is_active and recipient.email and not _muted.get():
            sent.emails += _queue(rendered, recipient.email, fail_silently=fail_silently, template=template)
    return sent


def programme_of(about) -> int | None:
    """The programme a message is about: `about` is a programme's cohort's object (an application,
    a partnership: `.cohort.programme_id`), a cohort (`.programme_id`) or None."""
    if about is None:
        return None
    if getattr(about, "programme_id", None):
        return about.programme_id
    cohort = getattr(about, "cohort", None)
    return getattr(cohort, "programme_id", None)


def programme_muted(programme_id: int | None) -> bool:
    return bool(programme_id) and MutedProgramme.objects.filter(programme_id=programme_id).exists()


def mute_programme(programme_id: int, *, by) -> None:
    MutedProgramme.objects.get_or_create(programme_id=programme_id, defaults={"muted_by": by})


def unmute_programme(programme_id: int) -> None:
    MutedProgramme.objects.filter(programme_id=programme_id).delete()


def _preferences(kind: registry.MessageKind, recipients) -> dict:
    """{user id: delivery} for the users who chose one for this kind (one query); mandatory
    kinds are always e-mailed at once."""
    if kind.mandatory or kind.address_only:
        return {}
    ids = [r.pk for r in recipients if not isinstance(r, str)]
    if not ids:
        return {}
    return dict(Preference.objects.filter(kind=kind.key, user_id__in=ids).values_list("user_id", "delivery"))


def delivery_for(user, kind: registry.MessageKind) -> str:
    if kind.mandatory or kind.address_only:
        return registry.Delivery.IMMEDIATE
    return _preferences(kind, [user]).get(user.pk, kind.delivery)


def send_digests() -> int:
    """Once a day (beat): one e-mail per person with the notifications they chose to receive in a
    digest since the last one. Returns how many digests were queued."""
    users = get_user_model().objects.filter(
        pk__in=Notification.objects.filter(in_digest=True).values("user_id")
    )
    queued = 0
    for user in users.order_by("pk"):
        with transaction.atomic():
            items = list(
                Notification.objects.select_for_update()
                .filter(user=user, in_digest=True)
                .order_by("created_at", "pk")
            )
            if not items:
                continue
            Notification.objects.filter(pk__in=[n.pk for n in items]).update(in_digest=False)
            if not (user.is_active and user.email):
                continue
            sent = send(
                "daily_digest",
                [user.email],
                {
                    "greeting": greeting_for(user),
                    "count": len(items),
                    "paragraphs": ["Since your last summary:"],
                    "items": [f"{n.title} — {absolute(n.url)}" if n.url else n.title for n in items],
                    "link": reverse("messaging:notifications"),
                    "link_label": "All your notifications",
                },
                fail_silently=False,
            )
            queued += bool(sent.emails)
    return queued


# The header shows every signed-in user's unread count on every page: it is kept in the cache
# (shared Redis in production) so that a page costs no query for it. Every write to a user's
# notifications forgets it (signals below, and notifications_read's bulk update), after commit as
# well so that a count read while the write was in flight is not kept; the lifetime bounds any
# count that slips through anyway (or that a Redis outage kept from being forgotten).
UNREAD_CACHE_SECONDS = 120


def _unread_key(user_id) -> str:
    return f"messaging:unread:{user_id}"


def forget_unread(user_id) -> None:
    key = _unread_key(user_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    key = _unread_key(user.pk)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(user=user, read_at__isnull=True).count()
        cache.set(key, count, UNREAD_CACHE_SECONDS)
    return count


@receiver(post_save, sender=Notification)
@receiver(post_delete, sender=Notification)
def _notification_changed(sender, instance, **kwargs):
    forget_unread(instance.user_id)
