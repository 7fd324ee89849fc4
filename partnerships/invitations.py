"""Partner schools invited by e-mail.

A verified lead of the lead school enters the partner contact's address and the school. The
school is invited through `services.membership_invite` (so the school's existing leads hear of
it too), and an EmailInvitation carries a signed link (salted, with the invitation's id and a
nonce) to the address. The link opens a page that marks the invitation opened and offers:

- no account yet: sign up (the address is proven by the link, and the link to the school is
  verified by the invitation itself), then confirm or decline at once;
- logged in as the invited address, or as a lead of the invited school: confirm or decline.

Invitations expire after INVITATION_DAYS; the inviting lead can resend (a new nonce: only the
newest link works, for another INVITATION_DAYS) or withdraw them. Accepted, declined,
withdrawn, replaced, expired or tampered links change nothing and say why.
"""

import logging
import secrets
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from partnerships import services
from partnerships.models import (
    EmailConfirmation,
    EmailInvitation,
    Membership,
    Partnership,
    School,
    SchoolLead,
)
from partnerships.notifications import Message, send_email
from partnerships.onboarding import LinkProblem, normalise_email, user_by_email
from portal.roles import LEADS_GROUP, Role, role_of

log = logging.getLogger(__name__)

INVITATION_SALT = "partnerships.invitations.email-invitation"
INVITATION_DAYS = 14
S = EmailInvitation.Status


def new_nonce() -> str:
    return secrets.token_urlsafe(16)[:22]


def invitation_token(invitation: EmailInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=INVITATION_SALT)


def invitation_path(invitation: EmailInvitation) -> str:
    return reverse("partnerships:invitation_open", args=[invitation_token(invitation)])


def read_invitation(token: str, *, lock: bool = False) -> EmailInvitation:
    """The invitation a link is for, if the link is genuine and the newest one sent; LinkProblem
    otherwise. Whether it can still be answered is `ensure_answerable`'s question."""
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=timedelta(days=INVITATION_DAYS))
    except signing.SignatureExpired:
        raise LinkProblem(
            "expired",
            f"This invitation link has expired (invitations last {INVITATION_DAYS} days). Ask the school "
            "that invited you to send it again.",
        ) from None
    except signing.BadSignature:
        raise LinkProblem(
            "invalid", "This invitation link is not valid. Check that you copied the whole address."
        ) from None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("i"), int)
        or not isinstance(payload.get("n"), str)
    ):
        raise LinkProblem("invalid", "This invitation link is not valid.")
    qs = EmailInvitation.objects.select_related(
        "partnership__lead_school", "partnership__cohort__programme", "school", "membership"
    )
    if lock:
        qs = qs.select_for_update(of=("self",))
    invitation = qs.filter(pk=payload["i"]).first()
    if invitation is None:
        raise LinkProblem("invalid", "This invitation link is not valid.")
    if not secrets.compare_digest(invitation.nonce, payload["n"]):
        raise LinkProblem(
            "replaced",
            "This invitation has been sent again since this link was made: use the newest e-mail's link.",
        )
    return invitation


def ensure_answerable(invitation: EmailInvitation) -> None:
    state = invitation.state
    name = invitation.partnership.name
    if state == S.ACCEPTED:
        raise LinkProblem(
            "used", f"This invitation has already been accepted: {invitation.school.name} is in “{name}”."
        )
    if state == S.DECLINED:
        raise LinkProblem("used", f"This invitation to “{name}” has already been declined.")
    if state == S.WITHDRAWN:
        raise LinkProblem(
            "withdrawn", f"{invitation.partnership.lead_school.name} has withdrawn this invitation."
        )
    if state == "expired":
        raise LinkProblem(
            "expired",
            f"This invitation expired on {timezone.localtime(invitation.expires_at):%d %B %Y}. Ask "
            f"{invitation.partnership.lead_school.name} to send it again.",
        )


def may_answer(user, invitation: EmailInvitation) -> bool:
    """The person the invitation was sent to, or a verified lead of the invited school."""
    if not (user and user.is_authenticated) or role_of(user) in (Role.STAFF, Role.ADMIN):
        return False
    return normalise_email(user.email) == invitation.email or services.acts_for(user, invitation.school)


def _clean_email(email: str) -> str:
    email = normalise_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter an e-mail address, such as name@school.org.uk."}) from None
    if len(email) > 254:
        raise ValidationError({"email": "That e-mail address is too long."})
    return email


def _ensure_inviter(by, partnership: Partnership) -> None:
    services.ensure_acts_for(
        by, partnership.lead_school, "invite schools into this partnership", verified=False
    )
    if not services.acts_for(by, partnership.lead_school):
        raise ValidationError(
            {
                "email": f"Programme staff have not yet confirmed that you work at "
                f"{partnership.lead_school.name}; you can invite partners by e-mail once they have."
            }
        )


# --- The inviting lead ----------------------------------------------------------------------


def invitation_send(*, partnership: Partnership, school: School, email: str, by) -> EmailInvitation:
    """Invite `school` into the partnership and e-mail its contact a signed link. A live
    invitation to the same address for the same school is sent again instead."""
    _ensure_inviter(by, partnership)
    email = _clean_email(email)
    with transaction.atomic():
        membership = services.membership_invite(partnership=partnership, school=school, by=by)
        if membership.status == Membership.Status.CONFIRMED:
            raise ValidationError({"school": f"{school.name} has already joined this partnership."})
        existing = (
            EmailInvitation.objects.select_for_update()
            .filter(partnership=partnership, email=email, status__in=EmailInvitation.LIVE)
            .first()
        )
        if existing is not None:
            if existing.school_id != school.pk:
                raise ValidationError(
                    {
                        "email": f"{email} already has an invitation for {existing.school.name} in this "
                        "partnership: withdraw it first."
                    }
                )
            existing.membership = membership
            return _resend(existing)
        now = timezone.now()
        invitation = EmailInvitation.objects.create(
            partnership=partnership,
            school=school,
            membership=membership,
            email=email,
            invited_by=by,
            nonce=new_nonce(),
            sent_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        transaction.on_commit(lambda: send_invitation(invitation.pk), robust=True)
    log.info("e-mail invitation %s sent by %s", invitation.pk, by)
    return invitation


def _lock_for_lead(invitation_id: int, by) -> EmailInvitation:
    invitation = (
        EmailInvitation.objects.select_for_update(of=("self",))
        .select_related("partnership__lead_school", "school", "membership")
        .get(pk=invitation_id)
    )
    services.ensure_acts_for(by, invitation.partnership.lead_school, "manage this partnership's invitations")
    return invitation


def _resend(invitation: EmailInvitation) -> EmailInvitation:
    now = timezone.now()
    invitation.nonce = new_nonce()
    invitation.status = S.SENT
    invitation.sent_at, invitation.expires_at = now, now + timedelta(days=INVITATION_DAYS)
    invitation.opened_at = None
    invitation.send_count += 1
    invitation.save()
    transaction.on_commit(lambda: send_invitation(invitation.pk), robust=True)
    return invitation


def invitation_resend(*, invitation_id: int, by) -> EmailInvitation:
    """Send a fresh link (the old one stops working) that lasts another INVITATION_DAYS."""
    with transaction.atomic():
        invitation = _lock_for_lead(invitation_id, by)
        _ensure_inviter(by, invitation.partnership)
        if invitation.state not in (S.SENT, S.OPENED, "expired"):
            raise ValidationError(
                {
                    "invitation": f"This invitation has been {invitation.state_label.lower()}; "
                    "send a new one instead."
                }
            )
        return _resend(invitation)


def invitation_withdraw(*, invitation_id: int, by) -> EmailInvitation:
    """Withdraw the invitation: its link stops working, and the school's invitation into the
    partnership is withdrawn too when no other e-mail invitation for it is live."""
    with transaction.atomic():
        invitation = _lock_for_lead(invitation_id, by)
        if invitation.status == S.WITHDRAWN:
            return invitation
        if invitation.state in (S.ACCEPTED, S.DECLINED):
            raise ValidationError(
                {"invitation": f"This invitation has already been {invitation.state_label.lower()}."}
            )
        invitation.status = S.WITHDRAWN
        invitation.save(update_fields=["status"])
        membership = invitation.membership
        if (
            membership is not None
            and membership.status == Membership.Status.INVITED
            and not membership.email_invitations.filter(status__in=EmailInvitation.LIVE).exists()
        ):
            services.membership_remove(membership=membership, by=by)
    return invitation


def send_invitation(invitation_id: int, *, reminder: bool = False, fail_silently: bool = True) -> bool:
    invitation = EmailInvitation.objects.select_related(
        "partnership__lead_school", "partnership__cohort__programme", "school", "invited_by"
    ).get(pk=invitation_id)
    partnership = invitation.partnership
    inviter = invitation.invited_by.get_full_name() if invitation.invited_by else ""
    opening = (
        (f"{inviter} of {partnership.lead_school.name}" if inviter else partnership.lead_school.name)
        + f" has invited {invitation.school.name} to join the partnership “{partnership.name}” "
        + f"in {partnership.cohort}."
    )
    paragraphs = [opening]
    if reminder:
        paragraphs.insert(0, "A reminder: this invitation is still waiting for your answer.")
    paragraphs += [
        f"Local STEM issue the partnership will address: {partnership.local_stem_issue[:500]}",
        "Open the link to confirm or decline. If you do not have an account on the portal yet, the link "
        "takes you through signing up first.",
        f"The link works until {timezone.localtime(invitation.expires_at):%d %B %Y}.",
    ]
    return send_email(
        invitation.email,
        Message(
            subject=("Reminder: " if reminder else "")
            + f"Invitation for {invitation.school.name} to join {partnership.name}",
            paragraphs=paragraphs,
            link=invitation_path(invitation),
            link_label="Answer the invitation",
        ),
        fail_silently=fail_silently,
    )


# --- The invited person ---------------------------------------------------------------------


def invitation_open(*, token: str, by=None) -> EmailInvitation:
    """The invitation behind a link, marked opened the first time; LinkProblem when it cannot
    be answered, or when `by` is logged in as someone who may not answer it (nothing changes)."""
    invitation = read_invitation(token)
    ensure_answerable(invitation)
    if by is not None and by.is_authenticated and not may_answer(by, invitation):
        raise _wrong_user(by)
    if invitation.status == S.SENT:
        EmailInvitation.objects.filter(pk=invitation.pk, status=S.SENT).update(
            status=S.OPENED, opened_at=timezone.now()
        )
        invitation.status, invitation.opened_at = S.OPENED, timezone.now()
    return invitation


def _wrong_user(by) -> LinkProblem:
    return LinkProblem(
        "wrong_user",
        f"This invitation was sent to another person. You are logged in as {by.get_username()}: "
        "log out, then open the link again.",
    )


class AccountExists(Exception):
    """The invited address already has an account: log in to answer."""


def invitation_signup(
    *, token: str, first_name: str, last_name: str, role_at_school: str, password: str
) -> User:
    """Create the invited person's account: active at once (the link proves the address) and
    verified as a lead of the invited school (the invitation vouches for it)."""
    with transaction.atomic():
        invitation = read_invitation(token, lock=True)
        ensure_answerable(invitation)
        if user_by_email(invitation.email, lock=True) is not None:
            raise AccountExists(invitation.email)
        now = timezone.now()
        user = User(
            username=invitation.email[:150],
            email=invitation.email,
            first_name=first_name.strip()[:150],
            last_name=last_name.strip()[:150],
        )
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=LEADS_GROUP))
        EmailConfirmation.objects.create(user=user, requested_at=now, confirmed_at=now)
        SchoolLead.objects.create(
            user=user, school=invitation.school, role_at_school=role_at_school.strip()[:100], verified_at=now
        )
        if invitation.status == S.SENT:
            invitation.status, invitation.opened_at = S.OPENED, now
            invitation.save(update_fields=["status", "opened_at"])
    log.info("account %s created from e-mail invitation %s", user.pk, invitation.pk)
    return user


def invitation_answer(*, token: str, accept: bool, by) -> EmailInvitation:
    """Confirm or decline the membership the invitation is about."""
    with transaction.atomic():
        invitation = read_invitation(token, lock=True)
        ensure_answerable(invitation)
        if not may_answer(by, invitation):
            raise _wrong_user(by)
        if role_of(by) == Role.ANONYMOUS:  # an account with no role yet: the invitation makes it a lead
            by.groups.add(Group.objects.get(name=LEADS_GROUP))
            by._portal_group_names = None
        now = timezone.now()
        link, _ = SchoolLead.objects.get_or_create(user=by, school=invitation.school)
        if link.verified_at is None:  # the invitation was sent to this person's address
            link.verified_at = now
            link.save(update_fields=["verified_at"])
        services.membership_respond(membership=invitation.membership, accept=accept, by=by)
        invitation.status = S.ACCEPTED if accept else S.DECLINED
        invitation.answered_at, invitation.answered_by = now, by
        invitation.save(update_fields=["status", "answered_at", "answered_by"])
    return invitation


def email_invitations_for_lead(user, partnership: Partnership):
    """The partnership's e-mail invitations, for a lead of its lead school; none otherwise."""
    if not services.acts_for(user, partnership.lead_school):
        return EmailInvitation.objects.none()
    return partnership.email_invitations.select_related("school", "membership", "invited_by")
