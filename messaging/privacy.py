"""Messaging's section of the personal-data export and purge (registered in messaging.apps):
a user's notifications are exported, and deleted when the account is closed."""

from messaging.models import Notification


def _when(value):
    return value.isoformat() if value else None


def notifications(user) -> list[dict]:
    return [
        {"title": n.title, "body": n.body, "created_at": _when(n.created_at), "read_at": _when(n.read_at)}
        for n in Notification.objects.filter(user=user).order_by("pk")
    ]


def shred_notifications(user, *, old_email: str) -> None:
    Notification.objects.filter(user=user).delete()
