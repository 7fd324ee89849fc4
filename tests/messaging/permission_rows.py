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


SIGNED_IN_200 = expect(anonymous=LOGIN, owner_lead=200, other_lead=200, other_staff=200, staff=200, admin=200)
SIGNED_IN_302 = expect(anonymous=LOGIN, owner_lead=302, other_lead=302, other_staff=302, staff=302, admin=302)

ROWS = [
    Row("messaging:notifications", SIGNED_IN_200),
    Row("messaging:notifications_read", SIGNED_IN_302, method="post"),
    Row("messaging:preferences", SIGNED_IN_200),
    Row("messaging:outbox", ADMIN_GET),
    Row("messaging:outbox_retry", ADMIN_POST, args=failed_message, method="post"),
    Row("messaging:outbox_retry_failed", ADMIN_POST, method="post"),
]
