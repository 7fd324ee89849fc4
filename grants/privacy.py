"""Grants' sections of the personal-data export (registered in grants.apps). Closing an account
erases nothing here: applications and the audit trail stay whole, pointing at the anonymised
user (partnerships/privacy.py)."""

from grants.models import Application, ApplicationMessage, AuditEvent


def _when(value):
    return value.isoformat() if value else None


def applications_started(user) -> list[dict]:
    return [
        {"reference": a.reference, "partnership": a.partnership.name, "status": a.status}
        for a in Application.objects.filter(created_by=user).select_related("partnership").order_by("pk")
    ]


def audit_events(user) -> list[dict]:
    return [
        {
            "application": e.application.reference or f"draft {e.application_id}",
            "action": e.action,
            "at": _when(e.at),
            "from_status": e.from_status,
            "to_status": e.to_status,
            "comment": e.comment,
        }
        for e in AuditEvent.objects.filter(actor=user).select_related("application").order_by("at", "pk")
    ]


def application_messages(user) -> list[dict]:
    """The messages the user wrote in applications' conversations (a lead never writes a staff
    note, so a lead's download holds none)."""
    return [
        {
            "application": m.application.reference or f"draft {m.application_id}",
            "at": _when(m.created_at),
            "staff_note": m.staff_only,
            "body": m.body,
        }
        for m in ApplicationMessage.objects.filter(author=user).select_related("application").order_by("pk")
    ]
