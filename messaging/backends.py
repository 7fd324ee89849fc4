"""settings.EMAIL_BACKEND: Django's own mail (password resets, error reports, anything that
calls django.core.mail) goes into the outbox like the portal's notifications, and is sent by
the worker through settings.MESSAGING_TRANSPORT_BACKEND (SMTP in production)."""

from django.core.mail.backends.base import BaseEmailBackend

from messaging.outbox import enqueue


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        queued = 0
        for email in email_messages:
            try:
                if enqueue(email) is not None:
                    queued += 1
            except Exception:
                if not self.fail_silently:
                    raise
        return queued
