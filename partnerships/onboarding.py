"""School leads sign up, confirm their e-mail address, and are verified for their school.

    sign up (inactive user, unverified SchoolLead link, e-mail with a signed link)
      → confirm the e-mail (the link + the password chosen: both the mailbox and the password)
      → verified at once when the address's domain belongs to the school (its website's
        registrable domain in the register, or a domain staff trusted for it: partnerships/trust.py),
        otherwise a LeadVerificationRequest for programme staff → approve | reject (reason)

Every way a person becomes verified for a school goes through `_verify_or_ask` (an address
proven by a link or a one-time code, at the school's own domain) or `verification_decide`
(programme staff). An invitation never vouches: docs/architecture.md lists the paths.

Until verified for a school a lead may prepare a partnership and draft its application, but
not submit it (grants/services.py) nor invite partners by e-mail (partnerships/invitations.py).

Account safety: `lead_signup` answers the same whether the address is known or not; an
existing account gets an e-mail instead. Verification links are signed (TimestampSigner via
django.core.signing, with a salt), expire after VERIFY_MAX_AGE, and are single-use: the
signature covers the password hash and the confirmation state, which change on use.
"""

import logging
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

import messaging
from partnerships import services, trust
from partnerships.models import (
    EmailConfirmation,
    LeadVerificationRequest,
    Membership,
    School,
    SchoolLead,
    TrustEvent,
    VerifiedDomain,
)
from partnerships.selectors import staff_and_admins
from portal import throttle
from portal.roles import LEADS_GROUP, Role, is_staff_member, role_of

log = logging.getLogger(__name__)

VERIFY_SALT = "partnerships.onboarding.verify-email"
VERIFY_MAX_AGE = 3 * 24 * 60 * 60  # three days
REASON_LIMIT = 2000


class LinkProblem(Exception):
    """A signed link that cannot be used. `kind` is one of invalid, expired, used, replaced,
    withdrawn, wrong_user; the message says what happened and what to do."""

    STATUS = {
        "invalid": 400,
        "expired": 410,
        "used": 410,
        "replaced": 410,
        "withdrawn": 410,
        "wrong_user": 403,
    }

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message

    @property
    def status(self) -> int:
        return self.STATUS[self.kind]


# --- Helpers ------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def email_domain(email: str) -> str:
    return normalise_email(email).rpartition("@")[2]


def user_by_email(email: str, *, lock: bool = False) -> User | None:
    email = normalise_email(email)
    if not email:
        return None
    qs = User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).order_by("pk")
    if lock:
        qs = qs.select_for_update()
    return qs.first()


@dataclass
class PendingLink:
    school: School
    status: str  # "pending" (with staff), "rejected", or "" (no request yet)
    reason: str = ""
    acceptances: list = None  # names of partnerships whose invitation they accepted, awaiting this


def unverified_links(user) -> list[PendingLink]:
    """The schools a lead is linked to but not yet verified for, with the state of the request,
    and the schools programme staff refused to link them to (with the reason)."""
    if role_of(user) != Role.LEAD:
        return []
    links = {
        link.school_id: link
        for link in SchoolLead.objects.filter(user=user).select_related("school").order_by("pk")
    }
    latest = {}
    for request in (
        LeadVerificationRequest.objects.filter(user=user)
        .select_related("school")
        .order_by("requested_at", "pk")
    ):
        latest[request.school_id] = request
    waiting = {}
    for school_id, name in Membership.objects.filter(
        responded_by=user, status=Membership.Status.ACCEPTED, role=Membership.Role.PARTNER
    ).values_list("school_id", "partnership__name"):
        waiting.setdefault(school_id, []).append(name)
    result = []
    for school_id, link in links.items():
        if link.verified_at is None:
            request = latest.get(school_id)
            result.append(
                PendingLink(
                    link.school,
                    request.status if request else "",
                    request.reason if request else "",
                    waiting.get(school_id, []),
                )
            )
    for school_id, request in latest.items():
        if school_id not in links and request.status == LeadVerificationRequest.Status.REJECTED:
            result.append(PendingLink(request.school, request.status, request.reason))
    return result


# --- Verification links -------------------------------------------------------------------


def _state_hash(user: User, confirmation: EmailConfirmation | None) -> str:
    confirmed = confirmation.confirmed_at.isoformat() if confirmation and confirmation.confirmed_at else ""
    value = f"{user.pk}|{user.password}|{user.is_active}|{user.email}|{confirmed}"
    return salted_hmac(VERIFY_SALT, value, algorithm="sha256").hexdigest()[:32]


def verification_token(user: User) -> str:
    confirmation = EmailConfirmation.objects.filter(user=user).first()
    return signing.dumps({"u": user.pk, "h": _state_hash(user, confirmation)}, salt=VERIFY_SALT)


def verification_url(user: User) -> str:
    return reverse("partnerships:verify_email", args=[verification_token(user)])


def read_verification_token(token: str, *, lock: bool = False) -> tuple[User, EmailConfirmation]:
    """The user a verification link is for, or LinkProblem."""
    try:
        payload = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkProblem(
            "expired",
            "This confirmation link has expired (links last three days). Sign up again with the same "
            "e-mail address and we will send you a new one.",
        ) from None
    except signing.BadSignature:
        raise LinkProblem(
            "invalid", "This confirmation link is not valid. Check that you copied the whole address."
        ) from None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("u"), int)
        or not isinstance(payload.get("h"), str)
    ):
        raise LinkProblem("invalid", "This confirmation link is not valid.")
    users = User.objects.filter(pk=payload["u"])
    confirmations = EmailConfirmation.objects.filter(user_id=payload["u"])
    if lock:
        users, confirmations = users.select_for_update(), confirmations.select_for_update()
    user, confirmation = users.first(), confirmations.first()
    if user is None or confirmation is None:
        raise LinkProblem("invalid", "This confirmation link is not valid.")
    if not constant_time_compare(payload["h"], _state_hash(user, confirmation)):
        raise LinkProblem(
            "used",
            "This confirmation link has already been used, or a newer one has been sent. If your address "
            "is confirmed, log in; otherwise use the newest e-mail we sent you.",
        )
    return user, confirmation


# --- Sign-up ------------------------------------------------------------------------------


def lead_signup(
    *, first_name: str, last_name: str, email: str, role_at_school: str, school: School, password: str
) -> None:
    """Start a lead's account. Returns nothing and behaves the same to the caller whether or not
    the address is known: a new address gets a confirmation link, a known one an e-mail saying
    it already has an account. A sign-up that was never confirmed is replaced by the new one
    (its old link stops working), so a mistyped password or school can be corrected."""
    email = normalise_email(email)
    with transaction.atomic():
        existing = user_by_email(email, lock=True)
        if existing is not None:
            pending = (
                not existing.is_active
                and EmailConfirmation.objects.filter(user=existing, confirmed_at__isnull=True).exists()
            )
            if not pending:
                # The same work as a new sign-up (one password hash), so the time the answer
                # takes does not tell whether the address is known.
                make_password(password)
                transaction.on_commit(lambda: _send_already_registered(existing.pk))
                return
            user = existing
            user.first_name, user.last_name = first_name.strip()[:150], last_name.strip()[:150]
            user.set_password(password)
            user.save(update_fields=["first_name", "last_name", "password"])
            SchoolLead.objects.filter(user=user, verified_at__isnull=True).delete()
            EmailConfirmation.objects.filter(user=user).update(requested_at=timezone.now())
        else:
            try:
                with transaction.atomic():
                    user = User(
                        username=email[:150],
                        email=email,
                        first_name=first_name.strip()[:150],
                        last_name=last_name.strip()[:150],
                        is_active=False,
                    )
                    user.set_password(password)
                    user.save()
            except IntegrityError:  # the same address signed up a moment ago
                log.info("sign-up raced with another for the same address")
                return
            user.groups.add(Group.objects.get(name=LEADS_GROUP))
            EmailConfirmation.objects.create(user=user)
        SchoolLead.objects.get_or_create(
            user=user, school=school, defaults={"role_at_school": role_at_school.strip()[:100]}
        )
        transaction.on_commit(lambda: _send_verification(user.pk))


def _sign_up_mail_allowed(email: str) -> bool:
    """At most a few sign-up e-mails an hour to one address (portal/throttle.py "signup_email"),
    whoever asks: nobody can flood a colleague's inbox through the sign-up form."""
    key = salted_hmac("partnerships.signup_email", email.lower(), algorithm="sha256").hexdigest()[:32]
    if throttle.hit("signup_email", key):
        log.info("sign-up e-mail not sent: too many for one address in the last hour")
        return False
    return True


def _send_verification(user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    if not _sign_up_mail_allowed(user.email):
        return
    messaging.send(
        "email_confirm",
        [user.email],
        {
            "greeting": f"Dear {user.first_name}," if user.first_name else "Hello,",
            "paragraphs": [
                "You (or someone using your address) asked for an account on the STEM Partnerships Portal.",
                "To confirm this address, open the link below within three days and enter the password you "
                "chose. If you did not ask for an account, ignore this e-mail: nothing happens without it.",
            ],
            "link": verification_url(user),
            "link_label": "Confirm your e-mail address",
        },
    )


def _send_already_registered(user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    if not _sign_up_mail_allowed(user.email):
        return
    messaging.send(
        "already_registered",
        [user.email],
        {
            "greeting": f"Dear {user.first_name}," if user.first_name else "Hello,",
            "paragraphs": [
                "Someone asked to create an account on the STEM Partnerships Portal with this address, "
                "but it already has one. No new account was made.",
                "If it was you, log in with your existing account. If you have forgotten your password, "
                "use “Forgotten your password?” on the log-in page. If it was not you, you can ignore this "
                "e-mail.",
            ],
            "link": reverse("login"),
            "link_label": "Log in",
        },
    )


def email_confirm(*, token: str, password: str, by=None) -> User:
    """Confirm a sign-up's address: the link must be valid and the password the one chosen at
    sign-up. Then the lead is verified for each school whose verified domains include the
    address's domain, and a request goes to programme staff for the others."""
    user, _ = read_verification_token(token)
    if by is not None and by.is_authenticated and by.pk != user.pk:
        raise LinkProblem(
            "wrong_user",
            "This confirmation link is for another account. Log out, then open the link again.",
        )
    with transaction.atomic():
        user, confirmation = read_verification_token(token, lock=True)
        if not user.check_password(password):
            raise ValidationError({"password": "That is not the password you chose when you signed up."})
        now = timezone.now()
        user.is_active = True
        user.save(update_fields=["is_active"])
        confirmation.confirmed_at = now
        confirmation.save(update_fields=["confirmed_at"])
        for link in SchoolLead.objects.filter(user=user, verified_at__isnull=True).select_related("school"):
            _verify_or_ask(link, now=now)
    return user


def _verify_or_ask(link: SchoolLead, *, now, source: str = "signup", invitation=None) -> bool:
    """Verify the link when the user's (proven) address is at a domain that belongs to the
    school; otherwise put a request in front of programme staff. True when verified now."""
    how = trust.domain_vouches_for(link.user.email, link.school)
    if how:
        link.verified_at = now
        link.save(update_fields=["verified_at"])
        TrustEvent.record(
            TrustEvent.Action.VERIFIED_BY_DOMAIN,
            subject=link.user,
            school=link.school,
            comment=f"{trust.normalise_host(link.user.email)} "
            + ("is the school's website domain." if how == "website" else "is a domain staff trusted."),
        )
        services.school_link_verified(user=link.user, school=link.school, by=None)
        transaction.on_commit(lambda: _tell_lead(link.user_id, link.school_id, approved=True, automatic=True))
        return True
    request, created = LeadVerificationRequest.objects.get_or_create(
        user=link.user,
        school=link.school,
        status=LeadVerificationRequest.Status.PENDING,
        defaults={
            "role_at_school": link.role_at_school,
            "requested_at": now,
            "source": source,
            "invitation": invitation,
        },
    )
    if created:
        transaction.on_commit(lambda: _tell_staff(request.pk))
    return False


def ask_or_verify(*, user: User, school: School, role_at_school: str = "", source: str, invitation=None):
    """Link `user` (whose address is proven) to `school` unverified unless the domain vouches,
    asking staff otherwise. Returns the link. Used when an invited person accepts."""
    link, _ = SchoolLead.objects.get_or_create(
        user=user, school=school, defaults={"role_at_school": (role_at_school or "").strip()[:100]}
    )
    if link.verified_at is None:
        _verify_or_ask(link, now=timezone.now(), source=source, invitation=invitation)
    return link


def _tell_staff(request_id: int) -> None:
    request = LeadVerificationRequest.objects.select_related("user", "school").get(pk=request_id)
    messaging.send(
        "verification_request",
        staff_and_admins(),
        {
            "person": request.user.get_full_name(),
            "school": request.school.name,
            "paragraphs": [
                f"{request.user.get_full_name()} ({request.user.email}) has "
                + (
                    "accepted an e-mail invitation for"
                    if request.source == LeadVerificationRequest.Source.INVITATION
                    else f"signed up as {request.role_at_school or 'a lead'} at"
                )
                + f" {request.school.name} (URN {request.school.urn}).",
                "Please confirm that this person works at this school, or reject the request with a reason. "
                "Until you do, the school does not count towards any partnership's minimum.",
            ],
            "link": reverse("partnerships:verification_requests"),
            "link_label": "Lead verification requests",
        },
        about=request,
    )


def _tell_lead(
    user_id: int, school_id: int, *, approved: bool, automatic: bool = False, reason: str = ""
) -> None:
    user = User.objects.get(pk=user_id)
    school = School.objects.get(pk=school_id)
    if approved:
        why = (
            "Your e-mail address is at a domain already confirmed for the school."
            if automatic
            else "Programme staff have confirmed that you work at the school."
        )
        paragraphs = [why, "You can now submit applications and invite partner schools by e-mail."]
    else:
        paragraphs = [
            "Programme staff could not confirm that you work at the school, so your account is not "
            "linked to it.",
            f"Their reason: {reason}",
            "If you think this is a mistake, reply to your programme contact or sign up again with your "
            "school e-mail address.",
        ]
    messaging.send(
        "verification_outcome",
        [user],
        {
            "approved": approved,
            "school": school.name,
            "paragraphs": paragraphs,
            "link": reverse("partnerships:lead_home"),
            "link_label": "My partnerships",
        },
        about=school,
    )


# --- Programme staff decide ---------------------------------------------------------------


def verification_requests_for(user):
    """Pending requests: any programme staff member or admin may decide them."""
    if not is_staff_member(user):
        return LeadVerificationRequest.objects.none()
    return LeadVerificationRequest.objects.filter(status=LeadVerificationRequest.Status.PENDING)


def verification_decide(
    *, request_id: int, approve: bool, by, reason: str = "", trust_domain: bool = False
) -> LeadVerificationRequest:
    """Approve or reject a request. Approving verifies the link, and with `trust_domain` also
    trusts the address's domain for the school (never a public or disposable provider): one
    approval never teaches the portal a domain by itself. Rejecting removes the unverified link
    and withdraws what the claim made (services.school_claim_rejected). Giving the same decision
    again changes nothing."""
    if not is_staff_member(by):
        raise PermissionDenied("Only programme staff or an admin can verify school leads.")
    target = LeadVerificationRequest.Status.APPROVED if approve else LeadVerificationRequest.Status.REJECTED
    reason = (reason or "").strip()
    with transaction.atomic():
        request = (
            LeadVerificationRequest.objects.select_for_update()
            .select_related("user", "school")
            .get(pk=request_id)
        )
        if request.user_id == by.pk:
            raise PermissionDenied("You cannot verify yourself.")
        if request.status == target:
            return request
        if request.status != LeadVerificationRequest.Status.PENDING:
            raise ValidationError(
                {"decision": f"This request has already been {request.get_status_display().lower()}."}
            )
        if not approve and not reason:
            raise ValidationError({"reason": "Give a reason: the person will read it."})
        if len(reason) > REASON_LIMIT:
            raise ValidationError({"reason": f"Keep the reason to {REASON_LIMIT:,} characters."})
        domain = trust.normalise_host(request.user.email)
        if approve and trust_domain:
            why_not = trust.public_provider_reason(domain)
            if why_not:
                raise ValidationError({"trust_domain": why_not})
        now = timezone.now()
        request.status, request.decided_by, request.decided_at, request.reason = target, by, now, reason
        request.save(update_fields=["status", "decided_by", "decided_at", "reason"])
        link = SchoolLead.objects.select_for_update().filter(user=request.user, school=request.school).first()
        if approve:
            if link is None:
                link = SchoolLead.objects.create(
                    user=request.user, school=request.school, role_at_school=request.role_at_school
                )
            if link.verified_at is None:
                link.verified_at = now
                link.save(update_fields=["verified_at"])
            TrustEvent.record(
                TrustEvent.Action.VERIFIED_BY_STAFF,
                by=by,
                subject=request.user,
                school=request.school,
                comment=reason,
            )
            if trust_domain:
                verified_domain_add(school=request.school, domain=domain, by=by)
            services.school_link_verified(user=request.user, school=request.school, by=by)
        else:
            if link is not None and link.verified_at is None:
                link.delete()
            TrustEvent.record(
                TrustEvent.Action.CLAIM_REJECTED,
                by=by,
                subject=request.user,
                school=request.school,
                comment=reason,
            )
            if link is None or link.verified_at is None:
                services.school_claim_rejected(user=request.user, school=request.school, by=by, reason=reason)
        user_id, school_id = request.user_id, request.school_id
        transaction.on_commit(
            lambda: _tell_lead(user_id, school_id, approved=approve, reason=reason), robust=True
        )
    log.info("lead verification %s %s by %s", request.pk, target, by)
    return request


def verified_domain_add(*, school: School, domain: str, by) -> VerifiedDomain:
    """Trust addresses at `domain` for `school` from now on: a deliberate staff decision,
    refused for public and disposable providers."""
    if not is_staff_member(by):
        raise PermissionDenied("Only programme staff or an admin can trust a mail domain.")
    domain = trust.normalise_host(domain)
    why_not = trust.public_provider_reason(domain)
    if why_not:
        raise ValidationError({"domain": why_not})
    verified, created = VerifiedDomain.objects.get_or_create(
        school=school, domain=domain, defaults={"verified_by": by, "verified_at": timezone.now()}
    )
    if created:
        TrustEvent.record(TrustEvent.Action.DOMAIN_TRUSTED, by=by, school=school, comment=domain)
    return verified
