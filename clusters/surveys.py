"""Teacher surveys by link (issue 18): staff, or a lead of a school taking part, send an
activity's survey as one-time invitation links (signed with django.core.signing's
TimestampSigner, expiring) or open an anonymous room with a short code. Teachers answer without
an account: the ENTHUSE evaluation's "most useful elements" ratings, "expect to do more CPD" and
comments. A one-time invitation answers once (Feedback.invitation is one-to-one, so the database
refuses a second answer even in a race); a room takes many answers until it expires.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

import messaging
from clusters.models import CPDActivity, Feedback, SurveyInvitation, SurveyRoom
from clusters.services import clean_ratings, may_give_feedback, member_schools

SALT = "clusters.survey"
LINK_DAYS = 14  # how long an invitation link or a room code lasts
MAX_INVITATIONS = 200  # at one time, for one activity
ROOM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
ROOM_CODE_LENGTH = 6
COMMENT_LIMIT = 5000


class SurveyRefused(Exception):
    """A link or code that cannot be answered; `status` is the HTTP status the page answers with."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message, self.status = message, status


def token_for(invitation: SurveyInvitation) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(invitation.pk))


def invitations_create(
    *, activity: CPDActivity, by, count, school=None, emailed: bool = False
) -> list[SurveyInvitation]:
    if not may_give_feedback(by, activity):
        raise PermissionDenied("Only programme staff and leads of schools taking part may send this survey.")
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise ValidationError({"count": "Enter how many teachers to invite."}) from None
    if not 1 <= count <= MAX_INVITATIONS:
        raise ValidationError({"count": f"Invite from 1 to {MAX_INVITATIONS} teachers at a time."})
    _check_school(activity, school)
    now = timezone.now()
    expires = now + timedelta(days=LINK_DAYS)
    return SurveyInvitation.objects.bulk_create(
        [
            SurveyInvitation(
                activity=activity,
                school=school,
                expires_at=expires,
                created_by=by,
                emailed_at=now if emailed else None,
            )
            for _ in range(count)
        ]
    )


def _check_school(activity: CPDActivity, school) -> None:
    if school is not None:
        parent = (
            {"partnership": activity.partnership}
            if activity.partnership_id
            else {"cluster": activity.cluster}
        )
        if not member_schools(**parent).filter(pk=school.pk).exists():
            raise ValidationError(
                {"school": f"{school.name} is not a member school of this activity's group."}
            )


def clean_addresses(text: str) -> list[str]:
    """The e-mail addresses in `text` (one per line, or separated by commas, semicolons or
    spaces), each once; a ValidationError naming every address that is not one."""
    addresses, seen, bad = [], set(), []
    for part in re.split(r"[\s,;]+", text or ""):
        part = part.strip().strip("<>")
        if not part:
            continue
        try:
            validate_email(part)
        except ValidationError:
            bad.append(part)
            continue
        if part.lower() not in seen:
            seen.add(part.lower())
            addresses.append(part)
    if bad:
        raise ValidationError(
            {"addresses": "These are not e-mail addresses: " + ", ".join(bad[:10]) + ". Nothing was sent."}
        )
    if not addresses:
        raise ValidationError({"addresses": "Enter at least one teacher's e-mail address."})
    if len(addresses) > MAX_INVITATIONS:
        raise ValidationError(
            {"addresses": f"Send to at most {MAX_INVITATIONS} addresses at a time ({len(addresses)} given)."}
        )
    return addresses


def invitations_email(*, activity: CPDActivity, by, addresses: str, school=None) -> int:
    """E-mail each teacher their own one-time survey link (messaging kind `survey_invitation`,
    written to the outbox in this transaction: all or nothing). The addresses are used to send and
    not kept, so answers stay anonymous; response rates count these invitations like any other.
    Returns how many were sent."""
    addresses = clean_addresses(addresses)
    with transaction.atomic():
        invitations = invitations_create(
            activity=activity, by=by, count=len(addresses), school=school, emailed=True
        )
        sender = by.get_full_name() or "Programme staff"
        for address, invitation in zip(addresses, invitations, strict=True):
            messaging.send(
                "survey_invitation",
                [address],
                {
                    "activity": activity.title,
                    "paragraphs": [
                        f"{sender} asks you to say how useful “{activity.title}” "
                        f"({activity.held_on:%-d %B %Y}) was for you: four ratings and a comment, "
                        "a couple of minutes, without an account.",
                        "Your answers are anonymous. This link is yours alone and takes one answer; "
                        f"it works until {timezone.localtime(invitation.expires_at):%-d %B %Y}.",
                    ],
                    "link": reverse("clusters:survey_answer", args=[token_for(invitation)]),
                    "link_label": "Answer the survey",
                },
                about=activity.partnership or activity.cluster,
            )
    return len(invitations)


def room_open(*, activity: CPDActivity, by) -> SurveyRoom:
    if not may_give_feedback(by, activity):
        raise PermissionDenied(
            "Only programme staff and leads of schools taking part may open a survey room."
        )
    expires = timezone.now() + timedelta(days=LINK_DAYS)
    for _ in range(10):
        code = "".join(secrets.choice(ROOM_ALPHABET) for _ in range(ROOM_CODE_LENGTH))
        try:
            with transaction.atomic():
                return SurveyRoom.objects.create(
                    activity=activity, code=code, expires_at=expires, created_by=by
                )
        except IntegrityError:
            continue
    raise ValidationError("Could not find a free room code just now; try again.")


def invitation_from_token(token: str) -> SurveyInvitation:
    """The invitation a token names, or SurveyRefused: forged (404), expired (410), answered (409)."""
    try:
        pk = signing.TimestampSigner(salt=SALT).unsign(token, max_age=timedelta(days=LINK_DAYS))
    except signing.SignatureExpired:
        raise SurveyRefused("This survey link has expired. Ask whoever sent it for a new one.", 410) from None
    except signing.BadSignature:
        raise SurveyRefused("This survey link is not valid: check that it was copied in full.", 404) from None
    invitation = (
        SurveyInvitation.objects.select_related("activity", "school").filter(pk=pk).first()
        if pk.isdigit()
        else None
    )
    if invitation is None:
        raise SurveyRefused("This survey link is not valid: check that it was copied in full.", 404)
    if invitation.expires_at <= timezone.now():
        raise SurveyRefused("This survey link has expired. Ask whoever sent it for a new one.", 410)
    if Feedback.objects.filter(invitation=invitation).exists():
        raise SurveyRefused("This survey has already been answered with this link. Thank you.", 409)
    return invitation


def room_from_code(code: str) -> SurveyRoom:
    code = (code or "").strip().upper().replace(" ", "")
    room = SurveyRoom.objects.select_related("activity").filter(code=code).first() if code else None
    if room is None:
        raise SurveyRefused("There is no survey with that code: check it with whoever gave it to you.", 404)
    if room.expires_at <= timezone.now():
        raise SurveyRefused("This survey has closed: the code has expired.", 410)
    return room


def answer(
    *,
    invitation: SurveyInvitation | None = None,
    room: SurveyRoom | None = None,
    ratings: dict,
    expects_more_cpd,
    comments,
) -> Feedback:
    """Save one teacher's answer by invitation (once) or room (anonymous)."""
    if (invitation is None) == (room is None):
        raise ValueError("An answer comes by exactly one invitation or one room.")
    ratings = clean_ratings(ratings)
    comments = (comments or "").strip()
    if len(comments) > COMMENT_LIMIT:
        raise ValidationError(
            {
                "comments": f"Keep this to {COMMENT_LIMIT:,} characters: it has {len(comments):,}. "
                "Nothing was cut."
            }
        )
    activity = (invitation or room).activity
    try:
        with transaction.atomic():
            return Feedback.objects.create(
                activity=activity,
                invitation=invitation,
                room=room,
                school=invitation.school if invitation else None,
                expects_more_cpd=bool(expects_more_cpd),
                comments=comments,
                **ratings,
            )
    except IntegrityError:
        raise SurveyRefused("This survey has already been answered with this link. Thank you.", 409) from None


@dataclass
class Rate:
    label: str
    invited: int
    answered: int  # by invitation
    responses: int  # every answer, rooms and typed-in ones too

    @property
    def percent(self) -> int | None:
        return round(100 * self.answered / self.invited) if self.invited else None


def response_rates(activities) -> tuple[list[Rate], list[Rate]]:
    """Response rates per activity and per school (invitations answered of sent; a school's are its
    invitations). Three queries."""
    ids = [a.pk for a in activities]
    sent = {
        row["activity"]: row
        for row in SurveyInvitation.objects.filter(activity_id__in=ids)
        .values("activity")
        .annotate(invited=Count("pk"), answered=Count("feedback"))
    }
    responses = dict(
        Feedback.objects.filter(activity_id__in=ids)
        .values("activity")
        .annotate(n=Count("pk"))
        .values_list("activity", "n")
    )
    per_activity = [
        Rate(
            a.title,
            sent.get(a.pk, {}).get("invited", 0),
            sent.get(a.pk, {}).get("answered", 0),
            responses.get(a.pk, 0),
        )
        for a in activities
    ]
    per_school = [
        Rate(row["school__name"], row["invited"], row["answered"], row["answered"])
        for row in SurveyInvitation.objects.filter(activity_id__in=ids, school__isnull=False)
        .values("school__name")
        .annotate(invited=Count("pk"), answered=Count("feedback", filter=Q(feedback__isnull=False)))
        .order_by("school__name")
    ]
    return per_activity, per_school
