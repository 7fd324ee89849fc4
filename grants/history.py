"""An application's history in words: each audit event as a sentence naming the person
("Changes requested by Carol Jones: add a timeline."), never the stored action code.
The words are grants.models.AUDIT_ACTIONS (an action missing there reads as its code in words)."""

from grants.models import AUDIT_ACTIONS, Application, AuditEvent

# action -> what happened (the person and the comment are added by `describe`). Derived: the words
# are grants.models.AUDIT_ACTIONS, the one source (tests/portal/test_words.py checks every action).
PHRASES = AUDIT_ACTIONS

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
    return AUDIT_ACTIONS.get(action) or action.replace("_", " ").capitalize()


def describe(event: AuditEvent) -> str:
    """ "Changes requested by Carol Jones: please add a timeline." """
    text = f"{phrase(event.action)} by {person(event.actor)}"
    if event.from_status and event.to_status and event.from_status != event.to_status:
        text += f" ({status_label(event.from_status).lower()} → {status_label(event.to_status).lower()})"
    if event.comment:
        text += f": {event.comment}"
    return text
