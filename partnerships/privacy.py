"""Personal data: what the portal holds about a user (downloadable as JSON), closing an
account, and the retention purge (`manage.py purge_personal_data`).

Closing or purging an account anonymises the user row instead of deleting it: grants, the
audit trail (AuditEvent.actor is PROTECT), memberships and the statistics built on them stay
whole, but nothing left says who the person was. The account is deactivated (sessions stop
working: Django refuses inactive users), its password made unusable, its names and address
emptied; notifications and log-in records under the old name are deleted, and e-mail
invitations sent to the old address lose the address.
"""

from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from partnerships.models import (
    EmailConfirmation,
    EmailInvitation,
    LeadVerificationRequest,
    Membership,
    Partnership,
    SchoolLead,
)
from portal import personal_data as personal_data_registry
from portal.roles import ADMINS_GROUP

CLOSED_PREFIX = "closed-"


def _when(value):
    return value.isoformat() if value else None


def personal_data(user) -> dict:
    """Everything the portal keeps about `user` that names or describes them."""
    email = (user.email or "").lower()
    return {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
            "active": user.is_active,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        },
        "schools": [
            {
                "school": link.school.name,
                "urn": link.school.urn,
                "role_at_school": link.role_at_school,
                "verified_at": _when(link.verified_at),
            }
            for link in SchoolLead.objects.filter(user=user).select_related("school").order_by("pk")
        ],
        "verification_requests": [
            {
                "school": r.school.name,
                "role_at_school": r.role_at_school,
                "status": r.status,
                "requested_at": _when(r.requested_at),
                "decided_at": _when(r.decided_at),
                "reason": r.reason,
            }
            for r in LeadVerificationRequest.objects.filter(user=user).select_related("school").order_by("pk")
        ],
        "partnerships_started": [
            {"partnership": p.name, "cohort": str(p.cohort), "created_at": _when(p.created_at)}
            for p in Partnership.objects.filter(created_by=user)
            .select_related("cohort__programme")
            .order_by("pk")
        ],
        "invitations_answered": [
            {
                "partnership": m.partnership.name,
                "school": m.school.name,
                "status": m.status,
                "responded_at": _when(m.responded_at),
            }
            for m in Membership.objects.filter(responded_by=user)
            .select_related("partnership", "school")
            .order_by("pk")
        ],
        "email_invitations_sent": [
            {
                "partnership": i.partnership.name,
                "school": i.school.name,
                "email": i.email,
                "state": i.state,
                "sent_at": _when(i.sent_at),
            }
            for i in EmailInvitation.objects.filter(invited_by=user)
            .select_related("partnership", "school", "membership")
            .order_by("pk")
        ],
        "email_invitations_received": [
            {
                "partnership": i.partnership.name,
                "school": i.school.name,
                "state": i.state,
                "sent_at": _when(i.sent_at),
            }
            for i in (
                EmailInvitation.objects.filter(email=email).select_related(
                    "partnership", "school", "membership"
                )
                if email
                else []
            )
        ],
        # Sections the apps above and below register (grants' applications and audit trail,
        # messaging's notifications): portal/personal_data.py.
        **personal_data_registry.export(user),
    }


def is_anonymised(user) -> bool:
    return user.username.startswith(CLOSED_PREFIX) and not user.is_active and not user.email


def anonymise_user(user) -> None:
    """Deactivate and anonymise one user, keeping every row that grants, audit and statistics
    point at."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        old_username, old_email = user.username, (user.email or "").lower()
        user.username = f"{CLOSED_PREFIX}{user.pk}"
        user.first_name = user.last_name = user.email = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
        SchoolLead.objects.filter(user=user).update(role_at_school="")
        LeadVerificationRequest.objects.filter(user=user).update(role_at_school="")
        EmailConfirmation.objects.filter(user=user).delete()
        if old_email:
            received = EmailInvitation.objects.filter(email=old_email)
            received.filter(status__in=EmailInvitation.LIVE).update(status=EmailInvitation.Status.WITHDRAWN)
            received.update(email="")
        personal_data_registry.shred(user, old_email=old_email)
        names = [n for n in {old_username, old_email} if n]
        for model in (AccessAttempt, AccessLog, AccessFailureLog):
            model.objects.filter(username__in=names).delete()


def account_close(*, user, password: str) -> None:
    """A lead closes their own account (the password confirms it is them)."""
    if user.is_superuser:
        raise PermissionDenied("An administrator's account is closed by another administrator.")
    if not user.check_password(password or ""):
        raise ValidationError({"password": "That is not your password."})
    anonymise_user(user)


def inactive_users(days: int, now=None):
    """Users who have not logged in for `days` days (or, never having logged in, joined that long
    ago), not yet anonymised. Administrators are never purged automatically."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return (
        User.objects.filter(is_superuser=False)
        .exclude(groups__name=ADMINS_GROUP)
        .exclude(username__startswith=CLOSED_PREFIX, is_active=False)
        .filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff))
        .order_by("pk")
    )


def stale_invitation_addresses(days: int, now=None):
    """E-mail invitations finished (answered, withdrawn or expired) more than `days` days ago
    that still hold an address."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return EmailInvitation.objects.exclude(email="").filter(
        Q(expires_at__lt=cutoff)
        | Q(answered_at__lt=cutoff)
        | Q(status=EmailInvitation.Status.WITHDRAWN, sent_at__lt=cutoff)
    )
