"""Reminders that go once: before sending, a job inserts a ReminderSent row (kind, key,
recipient) that a unique constraint allows only once, in the same transaction as the send. A
second run the same day finds the row and sends nothing; two runs at once queue on the row's
insert and the loser sends nothing; a failure to queue rolls the row back so the next run tries
again. The jobs themselves live with their owners (partnerships/reminders.py, grants/reminders.py).
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

import messaging
from messaging.models import ReminderSent

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    sent: int = 0
    skipped: int = 0


def once(kind: str, key: str, recipient: str, send) -> bool:
    """Send through `send()` unless this (kind, key, recipient) was sent before. True when sent."""
    try:
        with transaction.atomic():
            ReminderSent.objects.create(kind=kind, key=key, recipient=recipient)
            send()
    except IntegrityError:
        return False
    except Exception:
        log.exception("reminder %s %s to %s failed; it will be tried again", kind, key, recipient)
        return False
    return True


def notify_users(users, *, kind: str, key: str, message_for, outcome: Outcome) -> None:
    for user in users:
        sent = once(
            kind,
            key,
            f"user:{user.pk}",
            lambda u=user: messaging.send(kind, [u], message_for(u), fail_silently=False),
        )
        if sent:
            outcome.sent += 1
        else:
            outcome.skipped += 1
