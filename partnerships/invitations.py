"""Partner schools invited by e-mail.

A verified lead of the lead school enters the partner contact's address and the school. The
school is invited through `services.membership_invite` (so the school's verified contacts hear
of it too), and an EmailInvitation carries a signed link (salted, with the invitation's id and a
nonce) to the address. The link opens a page that marks the invitation opened and offers:

- accept with a one-time code e-mailed to the invited address (no password needed; a password
  can be set later), or sign up with a password from the link;
- logged in as the invited address, or as a verified lead of the invited school: answer at once.

An invitation is a request, never a credential: the link and the code prove only that the
person reads the invited mailbox. Whether they speak for the school is decided as for anyone
else (onboarding._verify_or_ask): the address's domain belongs to the school, or programme
staff verify them. Until then their acceptance is "accepted — awaiting verification" and the
school does not count.

Invitations expire after INVITATION_DAYS; the inviting lead can resend (a new nonce: only the
newest link works, for another INVITATION_DAYS) or withdraw them. Accepted, declined,
withdrawn, replaced, expired or tampered links change nothing and say why.
"""

import logging
import secrets
from datetime import timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group, User
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

import messaging
from partnerships import onboarding, services
from partnerships.models import (
    EmailConfirmation,
    EmailInvitation,
    InvitationCode,
    LeadVerificationRequest,
    Membership,
    Partnership,
    School,
)
from partnerships.onboarding import LinkProblem, normalise_email, user_by_email
from portal.roles import LEADS_GROUP, Role, role_of

log = logging.getLogger(__name__)

INVITATION_SALT = "partnerships.invitations.email-invitation"
INVITATION_DAYS = 14
CODE_MINUTES = 15
CODE_ATTEMPTS = 5  # wrong tries before a code is used up
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
    """The person the invitation was sent to, or a verified lead of the invited school. Only the
    latter's answer counts at once; the former's waits for verification (unless their address is
    at the school's own domain)."""
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
    sent = messaging.send(
        "email_invitation",
        [invitation.email],
        {
            "reminder": reminder,
            "school": invitation.school.name,
            "partnership": partnership.name,
            "paragraphs": paragraphs,
            "link": invitation_path(invitation),
            "link_label": "Answer the invitation",
        },
        about=partnership,
        fail_silently=fail_silently,
    )
    return bool(sent.emails)


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


def _new_invited_user(invitation: EmailInvitation, *, first_name: str, last_name: str, password=None) -> User:
    """The invited person's account, active at once (the link or code proves the address),
    with a password or none yet. It is linked to no school here: `_accept` asks."""
    now = timezone.now()
    user = User(
        username=invitation.email[:150],
        email=invitation.email,
        first_name=first_name.strip()[:150],
        last_name=last_name.strip()[:150],
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=LEADS_GROUP))
    EmailConfirmation.objects.create(user=user, requested_at=now, confirmed_at=now)
    return user


def invitation_signup(
    *, token: str, first_name: str, last_name: str, role_at_school: str, password: str
) -> User:
    """Create the invited person's account with a password: active at once (the link proves the
    address). The invitation does not vouch for them: linking them to the school waits for
    their answer, and verification for their domain or programme staff."""
    with transaction.atomic():
        invitation = read_invitation(token, lock=True)
        ensure_answerable(invitation)
        if user_by_email(invitation.email, lock=True) is not None:
            raise AccountExists(invitation.email)
        user = _new_invited_user(invitation, first_name=first_name, last_name=last_name, password=password)
        onboarding.ask_or_verify(
            user=user,
            school=invitation.school,
            role_at_school=role_at_school,
            source=LeadVerificationRequest.Source.INVITATION,
            invitation=invitation,
        )
        if invitation.status == S.SENT:
            invitation.status, invitation.opened_at = S.OPENED, timezone.now()
            invitation.save(update_fields=["status", "opened_at"])
    log.info("account %s created from e-mail invitation %s", user.pk, invitation.pk)
    return user


def _accept(invitation: EmailInvitation, *, accept: bool, by, role_at_school: str = "") -> EmailInvitation:
    """Answer the invitation as `by` (inside the caller's transaction, invitation locked)."""
    if role_of(by) == Role.ANONYMOUS:  # an account with no role yet: the invitation makes it a lead
        by.groups.add(Group.objects.get(name=LEADS_GROUP))
        by._portal_group_names = None
    now = timezone.now()
    if services.acts_for(by, invitation.school):
        services.membership_respond(membership=invitation.membership, accept=accept, by=by)
    elif not accept:
        # Declining needs no vouching: it only gives up the invitation.
        services.membership_decline_invited(membership=invitation.membership, by=by)
    else:
        verified_now = onboarding.ask_or_verify(
            user=by,
            school=invitation.school,
            role_at_school=role_at_school,
            source=LeadVerificationRequest.Source.INVITATION,
            invitation=invitation,
        ).verified_at
        if verified_now is not None:
            services.membership_respond(membership=invitation.membership, accept=True, by=by)
        else:
            services.membership_accept_awaiting(membership=invitation.membership, by=by)
    invitation.status = S.ACCEPTED if accept else S.DECLINED
    invitation.answered_at, invitation.answered_by = now, by
    invitation.save(update_fields=["status", "answered_at", "answered_by"])
    return invitation


def invitation_answer(*, token: str, accept: bool, by) -> EmailInvitation:
    """Confirm or decline the membership the invitation is about, as a logged-in user."""
    with transaction.atomic():
        invitation = read_invitation(token, lock=True)
        ensure_answerable(invitation)
        if not may_answer(by, invitation):
            raise _wrong_user(by)
        return _accept(invitation, accept=accept, by=by)


# --- Accepting with a one-time code ------------------------------------------------------------


class CodeProblem(Exception):
    """A one-time code that cannot be used; the message says why and what to do."""


def _code_account(invitation: EmailInvitation) -> User | None:
    """The existing account a code may log in: one at the invited address with no password
    and no second factor (made by an earlier code). None when there is no account; AccountExists
    when the account must log in with its password instead."""
    user = user_by_email(invitation.email, lock=True)
    if user is None:
        return None
    from django_otp import user_has_device

    if user.has_usable_password() or user_has_device(user) or role_of(user) in (Role.STAFF, Role.ADMIN):
        raise AccountExists(invitation.email)
    return user


def invitation_code_send(*, token: str) -> InvitationCode:
    """E-mail a fresh one-time code to the invited address (earlier codes stop working)."""
    with transaction.atomic():
        invitation = read_invitation(token, lock=True)
        ensure_answerable(invitation)
        _code_account(invitation)
        code = f"{secrets.randbelow(10**6):06d}"
        now = timezone.now()
        InvitationCode.objects.filter(invitation=invitation, used_at__isnull=True).update(used_at=now)
        record = InvitationCode.objects.create(
            invitation=invitation,
            code_hash=make_password(code),
            created_at=now,
            expires_at=now + timedelta(minutes=CODE_MINUTES),
        )
        email, school, partnership = invitation.email, invitation.school.name, invitation.partnership.name
        transaction.on_commit(lambda: _send_code(email, code, school, partnership), robust=True)
    return record


def _send_code(email: str, code: str, school: str, partnership: str) -> None:
    messaging.send(
        "invitation_code",
        [email],
        {
            "code": code,
            "partnership": partnership,
            "paragraphs": [
                f"Someone using this address asked to answer the invitation for {school} to join "
                f"“{partnership}”. Enter this code on the invitation page: {code}",
                f"It works once, for {CODE_MINUTES} minutes. If you did not ask for it, ignore this e-mail.",
            ],
            "link": reverse("partnerships:lead_home"),
            "link_label": "The STEM Partnerships Portal",
        },
    )


def invitation_code_accept(
    *,
    token: str,
    code: str,
    accept: bool,
    first_name: str = "",
    last_name: str = "",
    role_at_school: str = "",
) -> tuple[User | None, EmailInvitation]:
    """Answer with the link and the newest code e-mailed to the address: the account is made
    (without a password) if there is none, and the answer recorded as for `invitation_answer`.
    Declining makes no account (the user returned is then None).
    A wrong code counts against it; CODE_ATTEMPTS wrong tries, expiry or one use end it."""
    code = (code or "").strip().replace(" ", "")
    wrong = ""
    with transaction.atomic():
        invitation = read_invitation(token, lock=True)
        ensure_answerable(invitation)
        record = (
            InvitationCode.objects.select_for_update()
            .filter(invitation=invitation, used_at__isnull=True)
            .order_by("-created_at", "-pk")
            .first()
        )
        now = timezone.now()
        if record is None or record.expires_at <= now or record.attempts >= CODE_ATTEMPTS:
            raise CodeProblem("This code has expired or been used up. Ask for a new code.")
        if not (code.isdigit() and len(code) == 6 and check_password(code, record.code_hash)):
            record.attempts += 1  # committed: the count survives the refusal below
            record.save(update_fields=["attempts"])
            left = CODE_ATTEMPTS - record.attempts
            wrong = (
                f"That is not the code we sent. {left} more tr{'y' if left == 1 else 'ies'} before you need "
                "a new code."
                if left
                else "That is not the code we sent, and this code is now used up. Ask for a new code."
            )
        else:
            if accept is None:
                raise ValidationError({"answer": "Answer confirm or decline."})
            record.used_at = now
            record.save(update_fields=["used_at"])
            user = _code_account(invitation)
            if user is None and not accept:
                # Declining needs no account: the invitation is given up, and that is all.
                services.membership_decline_invited(membership=invitation.membership, by=None)
                invitation.status, invitation.answered_at = S.DECLINED, now
                invitation.save(update_fields=["status", "answered_at"])
                return None, invitation
            if user is None:
                if not first_name.strip():
                    raise ValidationError({"first_name": "Enter your first name."})
                user = _new_invited_user(invitation, first_name=first_name, last_name=last_name)
            _accept(invitation, accept=accept, by=user, role_at_school=role_at_school)
    if wrong:
        raise CodeProblem(wrong)
    log.info("invitation %s answered by one-time code as user %s", invitation.pk, user.pk)
    return user, invitation


def email_invitations_for_lead(user, partnership: Partnership):
    """The partnership's e-mail invitations, for a lead of its lead school; none otherwise."""
    if not services.acts_for(user, partnership.lead_school):
        return EmailInvitation.objects.none()
    return partnership.email_invitations.select_related("school", "membership", "invited_by")
