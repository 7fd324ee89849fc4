"""The outbox: the one road every e-mail of the portal takes.

    enqueue(email)   write an EmailMessage / EmailMultiAlternatives as an OutboxMessage, inside
                     the caller's transaction; nothing leaves before that transaction commits,
                     and a rolled-back decision sends nothing
    deliver(pk)      one attempt at one message (the Celery task messaging.tasks.deliver, queued
                     on commit); a failure is recorded and retried later with a doubling delay
    sweep()          every minute (beat): retries that are due, messages whose task never ran
                     (the broker was down at commit, or restarted empty), and sends a worker
                     died in the middle of
    retry(pk)        programme staff's "Try again now"

Retries are scheduled in the database (`next_attempt_at`), never as Celery countdowns: a
message with an ETA held by a worker when Redis blips kills that worker (see
docs/operations.md, "Celery and its broker").

Delivery is at least once. A message is claimed by moving it from "queued" to "sending" in one
UPDATE, so two workers never send it twice; only a worker that dies after the mail server
accepted the message and before the row is marked "sent" (a few milliseconds) can cause a
second copy, when the sweep finds the message stuck in "sending".

Header values are sanitised here, once for everything: a line break or other control character
in a subject or a name (a partnership called "Fylde\\nCoast") becomes a space instead of stopping
the message with BadHeaderError.
"""

import logging
import smtplib
import unicodedata
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone
from django.utils.html import strip_tags

from messaging.models import OutboxMessage

log = logging.getLogger(__name__)

S = OutboxMessage.State
SUBJECT_LIMIT = 300
ERROR_LIMIT = 2000
# A broker that does not answer gives up quickly: the caller may be a request.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# Within one sweep, this many transient failures in a row mean the mail server is down: stop
# and leave the rest for the next sweep instead of waiting EMAIL_TIMEOUT on each.
SWEEP_GIVES_UP_AFTER = 3


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return _setting("MESSAGING_MAX_ATTEMPTS", 8)


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 2, 4, 8 … minutes, at most an hour."""
    first = _setting("MESSAGING_RETRY_SECONDS", 60)
    longest = _setting("MESSAGING_RETRY_MAX_SECONDS", 3600)
    return timedelta(seconds=min(longest, first * 2 ** max(0, min(attempts - 1, 20))))


def sending_stale_after() -> timedelta:
    """A message "sending" for longer than this lost its worker (three mail timeouts and a minute)."""
    return timedelta(seconds=3 * _setting("EMAIL_TIMEOUT", 10) + 60)


# --- Sanitising ------------------------------------------------------------------------------


def clean_header(value) -> str:
    """One line of printable text: control characters and line or paragraph separators become
    spaces, runs of white space one space."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in str(value or ""))
    return " ".join(text.split())


def clean_address(value) -> str | None:
    """A recipient as `address` or `Name <address>`, or None when it is not an e-mail address."""
    text = clean_header(value)
    name, address = parseaddr(text)
    if not address or "@" not in address:
        return None
    try:
        validate_email(address)
    except ValidationError:
        return None
    return formataddr((clean_header(name), address)) if name else address


def _addresses(values) -> list[str]:
    cleaned = []
    for value in values or []:
        address = clean_address(value)
        if address is None:
            log.warning("outbox: dropped a recipient that is not an e-mail address")
        elif address not in cleaned:
            cleaned.append(address)
    return cleaned


def _header_name(name) -> str | None:
    name = str(name or "").strip()
    if not name or any(ord(ch) < 33 or ord(ch) > 126 or ch == ":" for ch in name):
        return None
    return name


# --- Writing ---------------------------------------------------------------------------------


def after_commit(callback) -> None:
    """Run `callback` once the current transaction commits (at once outside one). One place, so
    tests of what a job sends can deliver at once (tests/conftest.py: outbox_sends_at_once)."""
    transaction.on_commit(callback, robust=True)


def enqueue(email: EmailMessage, *, template=None) -> OutboxMessage | None:
    """Put one e-mail in the outbox, in the caller's transaction, and have it sent after commit.

    Takes a Django EmailMessage or EmailMultiAlternatives (its text/html alternative becomes the
    HTML part). Returns the row, or None when no recipient is a valid address. Attachments are
    refused (ValueError): nothing the portal sends has one. `template` is the programme's
    wording (a messaging.MessageTemplate version) the e-mail was written from, if any.
    """
    if email.attachments:
        raise ValueError("The outbox sends text and HTML e-mail only; attachments are not supported.")
    to, cc, bcc = _addresses(email.to), _addresses(email.cc), _addresses(email.bcc)
    if not (to or cc or bcc):
        log.warning("outbox: %r has no valid recipient; not queued", clean_header(email.subject)[:80])
        return None
    html = ""
    for content, mimetype in getattr(email, "alternatives", []) or []:
        if mimetype == "text/html":
            html = str(content)
    text = str(email.body or "")
    if getattr(email, "content_subtype", "plain") == "html":
        html, text = text, strip_tags(text)
    headers = {}
    for name, value in (email.extra_headers or {}).items():
        clean_name = _header_name(name)
        if clean_name and clean_name.lower() not in {"from", "to", "cc", "bcc", "subject", "reply-to"}:
            headers[clean_name] = clean_header(value)[:900]
    now = timezone.now()
    message = OutboxMessage.objects.create(
        from_email=clean_address(email.from_email) or settings.DEFAULT_FROM_EMAIL,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=_addresses(email.reply_to),
        subject=clean_header(email.subject)[:SUBJECT_LIMIT],
        body_text=text,
        body_html=html,
        headers=headers,
        next_attempt_at=now,
        template=template,
    )
    pk = message.pk
    after_commit(lambda: dispatch(pk))
    return message


def dispatch(pk: int) -> bool:
    """Hand one message to the broker for messaging.tasks.deliver. False when the broker does not
    answer: the message stays queued and the next sweep sends it."""
    from messaging.tasks import deliver as deliver_task

    try:
        deliver_task.apply_async((pk,), retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # kombu OperationalError, a socket error: the broker is away
        log.warning("outbox: message %s not handed to the broker (%s); the sweep will send it", pk, exc)
        return False
    return True


# --- Sending ---------------------------------------------------------------------------------


def as_email(message: OutboxMessage, connection=None) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_email,
        to=message.to,
        cc=message.cc,
        bcc=message.bcc,
        reply_to=message.reply_to,
        headers=message.headers,
        connection=connection,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


def _permanent(exc: BaseException) -> bool:
    """Errors that another attempt will not cure: every recipient refused, a 5xx answer, an
    address the backend cannot encode."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused | ValueError | UnicodeError):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]


def deliver(pk: int, *, now=None) -> str:
    """One attempt at message `pk`, if it is queued and due. Returns the state it ends in, or
    "skipped" when it was not due, already taken by another worker, or already sent."""
    now = now or timezone.now()
    claimed = OutboxMessage.objects.filter(pk=pk, state=S.QUEUED, next_attempt_at__lte=now).update(
        state=S.SENDING, attempts=F("attempts") + 1, last_attempt_at=now, updated_at=now
    )
    if not claimed:
        return "skipped"
    message = OutboxMessage.objects.get(pk=pk)
    try:
        with get_connection(settings.MESSAGING_TRANSPORT_BACKEND, fail_silently=False) as connection:
            accepted = connection.send_messages([as_email(message, connection)])
        if not accepted:
            raise RuntimeError("The mail backend did not accept the message.")
    except Exception as exc:
        return _attempt_failed(message, exc, now)
    OutboxMessage.objects.filter(pk=pk, state=S.SENDING).update(
        state=S.SENT, sent_at=timezone.now(), last_error="", next_attempt_at=None, updated_at=timezone.now()
    )
    log.info("outbox: sent message %s (attempt %s)", pk, message.attempts)
    return S.SENT


def _attempt_failed(message: OutboxMessage, exc: BaseException, now) -> str:
    permanent = _permanent(exc)
    gave_up = permanent or message.attempts >= max_attempts()
    state = S.FAILED if gave_up else S.QUEUED
    OutboxMessage.objects.filter(pk=message.pk, state=S.SENDING).update(
        state=state,
        last_error=_describe(exc),
        next_attempt_at=None if gave_up else now + retry_delay(message.attempts),
        updated_at=timezone.now(),
    )
    (log.error if gave_up else log.warning)(
        "outbox: message %s attempt %s failed%s: %s",
        message.pk,
        message.attempts,
        " for good" if gave_up else ", will retry",
        _describe(exc),
    )
    return state


def sweep(*, now=None, limit: int = 200) -> dict:
    """Send what is due: retries whose time has come, messages whose task was lost, and messages
    left "sending" by a worker that died. Returns counts by outcome."""
    now = now or timezone.now()
    stuck = OutboxMessage.objects.filter(state=S.SENDING, last_attempt_at__lt=now - sending_stale_after())
    revived = stuck.update(
        state=S.QUEUED,
        next_attempt_at=now,
        last_error="The worker stopped while sending; trying again.",
        updated_at=now,
    )
    due = list(
        OutboxMessage.objects.filter(state=S.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcome = {"revived": revived, "sent": 0, "queued": 0, "failed": 0, "skipped": 0, "left": 0}
    failures_in_a_row = 0
    for index, pk in enumerate(due):
        state = deliver(pk, now=now)
        outcome[state] = outcome.get(state, 0) + 1
        failures_in_a_row = failures_in_a_row + 1 if state == S.QUEUED else 0
        if failures_in_a_row >= SWEEP_GIVES_UP_AFTER:
            outcome["left"] = len(due) - index - 1
            log.warning("outbox: the mail server keeps failing; %s left for the next sweep", outcome["left"])
            break
    return outcome


# --- Staff --------------------------------------------------------------------------------


def retry(pk: int) -> bool:
    """Queue a failed or waiting message to be tried again now. False if it was sent meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=pk, state__in=[S.QUEUED, S.FAILED]).update(
            state=S.QUEUED, next_attempt_at=now, updated_at=now
        )
        if updated:
            after_commit(lambda: dispatch(pk))
    return bool(updated)


def waiting() -> Q:
    """Messages staff should look at: failed, or waiting after at least one failed attempt."""
    return Q(state=S.FAILED) | Q(state__in=[S.QUEUED, S.SENDING], attempts__gt=0)


def health(now=None) -> dict:
    """For /healthz: degraded when mail has waited longer than MESSAGING_WAITING_ALERT_SECONDS."""
    now = now or timezone.now()
    pending = OutboxMessage.objects.filter(state__in=[S.QUEUED, S.SENDING])
    pending = pending.aggregate(oldest=Min("created_at"))
    failed = OutboxMessage.objects.filter(state=S.FAILED).count()
    oldest = pending["oldest"]
    waited = int((now - oldest).total_seconds()) if oldest else 0
    alert = _setting("MESSAGING_WAITING_ALERT_SECONDS", 15 * 60)
    return {
        "state": "degraded" if oldest and waited > alert else "ok",
        "oldest_waiting_seconds": waited,
        "failed": failed,
    }
