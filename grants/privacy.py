"""Grants' sections of the personal-data export (registered in grants.apps). Closing an account
erases nothing here: applications and the audit trail stay whole, pointing at the anonymised
user (partnerships/privacy.py)."""

from grants.models import Application, ApplicationMessage, AuditEvent, ProgrammeFinanceEvent


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


def programme_finance_changes(user) -> list[dict]:
    """The changes the user made to programmes' finance set-up (cost codes, schedule, terms)."""
    return [
        {
            "programme": e.programme.name,
            "action": e.get_action_display(),
            "at": _when(e.at),
            "detail": e.detail,
        }
        for e in ProgrammeFinanceEvent.objects.filter(actor=user)
        .select_related("programme")
        .order_by("at", "pk")
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


# --- Files (issue 20) ---------------------------------------------------------------------------


def uploads(user) -> list[dict]:
    """Every file the user uploaded: what it is, where it went, and the portal address to take a
    copy (while the user may still see the application; a quarantined file is never served)."""
    from django.urls import reverse

    from grants.models import Attachment

    files = (
        Attachment.objects.filter(uploaded_by=user)
        .select_related("application", "attachment_type", "report")
        .order_by("pk")
    )
    return [
        {
            "file": a.download_name,
            "original_name": a.original_name,
            "application": a.application.reference or f"draft {a.application_id}",
            "attachment_type": a.attachment_type.name if a.attachment_type else None,
            "report": a.report.get_kind_display() if a.report else None,
            "caption": a.caption,
            "format": a.format,
            "bytes": a.size,
            "sha256": a.sha256,
            "uploaded_at": _when(a.uploaded_at),
            "status": a.status,
            "submitted_at": _when(a.frozen_at),
            "replaced_at": _when(a.superseded_at),
            "download": reverse("grants:attachment_download", args=[a.pk]) if a.servable else None,
        }
        for a in files
    ]


def shred_uploads(user, *, old_email: str) -> None:
    """Closing or purging an account: a file never submitted is deleted (row now, stored file
    after commit); a file submitted with an application or report is part of the grant record
    and kept, its original name (which may name people) replaced by its safe download name."""
    from django.core.files.storage import default_storage
    from django.db import transaction
    from django.db.models import F

    from grants.models import Attachment

    mine = Attachment.objects.filter(uploaded_by=user)
    drafts = list(mine.filter(frozen_at__isnull=True).values_list("pk", "file"))
    Attachment.objects.filter(pk__in=[pk for pk, _ in drafts]).delete()
    for _, name in drafts:
        transaction.on_commit(lambda name=name: default_storage.delete(name))
    mine.filter(frozen_at__isnull=False).update(original_name=F("download_name"))


def purge_files(*, days: int, dry_run: bool) -> list[str]:
    """The retention rule for files: a file never submitted, on an application that ended
    without a grant (withdrawn or rejected) more than `days` ago, is deleted. Submitted files,
    and every file of an awarded grant, are the grant record and kept."""
    from datetime import timedelta

    from django.core.files.storage import default_storage
    from django.db import transaction
    from django.utils import timezone

    from grants.models import Attachment

    cutoff = timezone.now() - timedelta(days=days)
    stale = Attachment.objects.filter(
        frozen_at__isnull=True,
        application__status__in=[Application.Status.WITHDRAWN, Application.Status.REJECTED],
        application__updated_at__lt=cutoff,
    )
    lines = [f"file {a.pk} of application {a.application_id} (never submitted)" for a in stale]
    if not dry_run:
        with transaction.atomic():
            names = list(stale.values_list("file", flat=True))
            stale.delete()
            for name in names:
                transaction.on_commit(lambda name=name: default_storage.delete(name))
    return lines


# --- Reviews (issue 17) -------------------------------------------------------------------------


def reviews(user) -> dict:
    """What the user did as a reviewer: every review they wrote (earlier versions too) with its
    scores, comments, recommendation and private note; their assignments; the conflicts they
    declared. Applications are named by reference only (under blind review the reviewer never saw
    the applicant's names, and their own download does not add them)."""
    from grants.models import ConflictDeclaration, Review, ReviewerAssignment

    written = (
        Review.objects.filter(reviewer=user)
        .select_related("application", "rubric")
        .prefetch_related("scores__criterion")
        .order_by("submitted_at", "pk")
    )
    return {
        "reviews": [
            {
                "application": r.application.reference or f"draft {r.application_id}",
                "rubric_version": r.rubric.version,
                "recommendation": r.get_recommendation_display(),
                "weighted_score": str(r.weighted_score),
                "comment": r.comment,
                "private_note": r.private_note,
                "scores": [
                    {"criterion": s.criterion.name, "score": s.score, "of": s.scale_max, "comment": s.comment}
                    for s in r.scores.all()
                ],
                "current": r.is_current,
                "submitted_at": _when(r.submitted_at),
            }
            for r in written
        ],
        "assignments": [
            {
                "application": a.application.reference or f"draft {a.application_id}",
                "how": a.get_how_display(),
                "assigned_at": _when(a.assigned_at),
                "ended_at": _when(a.ended_at),
            }
            for a in ReviewerAssignment.objects.filter(reviewer=user)
            .select_related("application")
            .order_by("pk")
        ],
        "conflicts_declared": [
            {
                "application": d.application.reference or f"draft {d.application_id}",
                "reason": d.reason,
                "declared_at": _when(d.declared_at),
            }
            for d in ConflictDeclaration.objects.filter(reviewer=user)
            .select_related("application")
            .order_by("pk")
        ],
    }


def shred_reviews(user, *, old_email: str) -> None:
    """Closing an account: reviews, scores and comments stay with the grant record (pointing at
    the anonymised user); the private notes, which only the reviewer could read, are blanked."""
    from grants.models import Review

    Review.objects.filter(reviewer=user).exclude(private_note="").update(private_note="")
