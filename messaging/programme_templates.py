"""Programme e-mail templates: programme staff reword the subject and opening text of the
message kinds that allow it (messaging/kinds.py: those with a `body`), for their programme.

    check(kind, subject=..., body=...)        ValidationError per field, or nothing
    template_save(programme_id=, kind=, subject=, body=, by=)   the next version
    template_reset(programme_id=, kind=, by=)  a version that says "the built-in wording"
    current(programme_id, kind)                the version messaging.send uses, or None
    wording(kind, template)                    (subject, body) to render with
    fill(text, kind, context)                  a text with the kind's placeholders filled

Templates are string.Template texts ($name, ${name}, $$ for a dollar sign), filled with the
kind's documented placeholders only, each a plain string: no attribute access, no tags, no
filters, nothing from the models beyond what the sender put in the context. A text that uses
any other placeholder, or a $ that starts none, is refused with the field's error.

Every save adds a version (a MessageTemplate row, never changed); notifications and outbox rows
keep the version they were written from, so a sent message can be shown with its wording.
What a message must carry is not in the editable text: the sender adds the comment from staff,
the amount, the copy of the answers and the link below it, and a kind that is mandatory stays
mandatory whatever its wording.
"""

import re
from string import Template

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from messaging import kinds as registry
from messaging.models import MessageTemplate

SUBJECT_LIMIT = 300
BODY_LIMIT = 10000
DJANGO_SYNTAX = re.compile(r"\{\{|\{%")


def _kind(kind) -> registry.MessageKind:
    kind = registry.get(kind) if isinstance(kind, str) else kind
    if not kind.editable:
        raise ValidationError(f"“{kind.label}” cannot be reworded.")
    return kind


def _errors_in(text: str, kind: registry.MessageKind, *, what: str) -> list[str]:
    if not text.strip():
        return [f"Write the {what}: a message cannot be sent without one."]
    if DJANGO_SYNTAX.search(text):
        return ["Write placeholders as $name (with a dollar sign), not {{ name }} or {% … %}."]
    template = Template(text)
    if not template.is_valid():
        return ["A $ must start a placeholder such as $name or ${name}; write $$ for a dollar sign."]
    unknown = [name for name in template.get_identifiers() if name not in kind.placeholder_names]
    if unknown:
        listed = ", ".join(f"${name}" for name in kind.placeholder_names)
        names = ", ".join(f"${name}" for name in unknown)
        return [f"Unknown placeholder {names}. This message can use: {listed}."]
    return []


def check(kind, *, subject: str, body: str) -> None:
    """Raise ValidationError({"subject": [...], "body": [...]}) for what cannot be used."""
    kind = _kind(kind)
    errors = {}
    if len(subject) > SUBJECT_LIMIT:
        errors["subject"] = [f"Keep the subject to {SUBJECT_LIMIT} characters."]
    elif "\n" in subject.strip() or "\r" in subject.strip():
        errors["subject"] = ["The subject is one line."]
    else:
        errors["subject"] = _errors_in(subject, kind, what="subject")
    if len(body) > BODY_LIMIT:
        errors["body"] = [f"Keep the text to {BODY_LIMIT:,} characters."]
    else:
        errors["body"] = _errors_in(body, kind, what="text")
    errors = {field: messages for field, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)


def versions(programme_id: int, kind: str):
    return MessageTemplate.objects.filter(programme_id=programme_id, kind=kind).order_by("-version")


def latest(programme_id: int | None, kind: str) -> MessageTemplate | None:
    """The latest version (a reset included), or None when the programme never saved one."""
    if not programme_id:
        return None
    return versions(programme_id, kind).first()


def current(programme_id: int | None, kind: str) -> MessageTemplate | None:
    """The programme's wording messaging.send uses, or None for the built-in wording."""
    template = latest(programme_id, kind)
    return None if template is None or template.is_default else template


def _add_version(*, programme_id: int, kind: str, by, **fields) -> MessageTemplate:
    try:
        with transaction.atomic():
            # Serialise savers of one (programme, kind): lock its versions (none yet: the unique
            # constraint stops a second first version, and the caller is told to try again).
            top = (
                MessageTemplate.objects.select_for_update()
                .filter(programme_id=programme_id, kind=kind)
                .order_by("-version")
                .values_list("version", flat=True)
                .first()
            )
            return MessageTemplate.objects.create(
                programme_id=programme_id, kind=kind, version=(top or 0) + 1, created_by=by, **fields
            )
    except IntegrityError:
        raise ValidationError("Someone saved this message at the same moment; please try again.") from None


def template_save(*, programme_id: int, kind: str, subject: str, body: str, by) -> MessageTemplate:
    """Save the programme's wording of `kind` as its next version (checked first)."""
    check(kind, subject=subject, body=body)
    subject = " ".join(subject.split())
    body = body.replace("\r\n", "\n").strip()
    return _add_version(programme_id=programme_id, kind=kind, by=by, subject=subject, body=body)


def template_reset(*, programme_id: int, kind: str, by) -> MessageTemplate | None:
    """Go back to the built-in wording (a version of its own). Nothing when already there."""
    _kind(kind)
    if current(programme_id, kind) is None:
        return None
    return _add_version(programme_id=programme_id, kind=kind, by=by, is_default=True)


def wording(kind: registry.MessageKind, template: MessageTemplate | None) -> tuple[str, str]:
    if template is None or template.is_default:
        return kind.subject, kind.body
    return template.subject, template.body


def values(kind: registry.MessageKind, context: dict) -> dict[str, str]:
    """The kind's placeholders as strings from `context` (empty when the sender has none)."""
    found = {}
    for name in kind.placeholder_names:
        value = context.get(name)
        found[name] = "" if value is None else str(value)
    return found


def fill(text: str, kind: registry.MessageKind, context: dict) -> str:
    return Template(text).safe_substitute(values(kind, context))


def paragraphs(body: str, kind: registry.MessageKind, context: dict) -> list[str]:
    text = fill(body, kind, context).replace("\r\n", "\n")
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def examples(kind: registry.MessageKind) -> dict[str, str]:
    """The documented example of each placeholder (a preview when the programme has no application)."""
    return {name: example for name, _what, example in kind.placeholders}
