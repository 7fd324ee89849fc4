"""Permission-matrix rows for the outbox page: admins only."""

from messaging.models import OutboxMessage
from tests.matrix import LOGIN, Row, expect

ADMIN_GET = expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=403, staff=403, admin=200)
ADMIN_POST = expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=403, staff=403, admin=302)


def failed_message(world) -> list[int]:
    message = OutboxMessage.objects.create(
        state=OutboxMessage.State.FAILED,
        from_email="no-reply@localhost",
        to=["lead@example.org"],
        subject="Approved: Fylde Coast",
        body_text="…",
        attempts=8,
        last_error="SMTPServerDisconnected",
    )
    return [message.pk]


ROWS = [
    Row("messaging:outbox", ADMIN_GET),
    Row("messaging:outbox_retry", ADMIN_POST, args=failed_message, method="post"),
    Row("messaging:outbox_retry_failed", ADMIN_POST, method="post"),
]
