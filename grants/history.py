"""An application's history in words: each audit event as a sentence naming the person
("Changes requested by Carol Jones: add a timeline."), never the stored action code.
Actions other apps or later changes add read as their code in words until they get a phrase here."""

from grants.models import AUDIT_ACTIONS, Application, AuditEvent

# action -> what happened (the person and the comment are added by `describe`).
PHRASES = {
    "started": "Application started",
    "submitted": "Submitted",
    "resubmitted": "Resubmitted with the changes",
    "withdrawn": "Withdrawn",
    "withdrawn_claim_rejected": "Withdrawn (the lead's claim to the school was refused)",
    "changes_requested": "Changes requested",
    "approved": "Approved",
    "rejected": "Rejected",
    "scored": "Scored",
    "reviewed": "Review recorded",
    "review_revised": "Review revised",
    "payment_paid": "Instalment marked paid",
    "report_submitted": "End-of-grant report submitted",
    "report_accepted": "Report accepted",
    "report_returned": "Report returned with comments",
    "below_minimum": "Below the programme's minimum number of schools",
    "reviewer_assigned": "Reviewer assigned",
    "reviewer_unassigned": "Reviewer unassigned",
    "conflict_declared": "Conflict of interest declared",
    "conflict_overridden": "Conflict of interest overridden",
    "panel_approved": "Approved by the panel",
    "deadline_extended": "Submission deadline extended",
    "window_reopened": "Submission window reopened",
}

# Shown to programme staff only, never on the applicant's side of the page.
REVIEW_ONLY_ACTIONS = (
    "scored",
    "reviewed",
    "review_revised",
    "reviewer_assigned",
    "reviewer_unassigned",
    "conflict_declared",
    "conflict_overridden",
)


def person(user) -> str:
    if user is None:
        return "the portal"
    return user.get_full_name() or user.username


def status_label(code: str) -> str:
    if not code:
        return ""
    try:
        return Application.Status(code).label
    except ValueError:
        return code.replace("_", " ").capitalize()


def phrase(action: str) -> str:
    return PHRASES.get(action) or AUDIT_ACTIONS.get(action) or action.replace("_", " ").capitalize()


def describe(event: AuditEvent) -> str:
    """ "Changes requested by Carol Jones: please add a timeline." """
    text = f"{phrase(event.action)} by {person(event.actor)}"
    if event.from_status and event.to_status and event.from_status != event.to_status:
        text += f" ({status_label(event.from_status).lower()} → {status_label(event.to_status).lower()})"
    if event.comment:
        text += f": {event.comment}"
    return text
