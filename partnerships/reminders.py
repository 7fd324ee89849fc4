"""Partnerships' reminders, sent by the daily Celery beat job (partnerships/tasks.py); each goes
once (messaging/reminders.py, ReminderSent).

- invitation_5d: an invitation unanswered 5 days after it was sent; to the invited address
  (e-mail invitations) or the invited school's verified leads.

Grants' reminders (window closing, end-of-grant reports, the staff digest) are grants'
(grants/reminders.py, grants/tasks.py).
"""

import logging
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from messaging.reminders import Outcome, notify_users, once
from partnerships.invitations import send_invitation
from partnerships.models import EmailInvitation, Membership, Partnership
from partnerships.selectors import school_contacts

log = logging.getLogger(__name__)

INVITATION_REMINDER_DAYS = 5


# --- Unanswered invitations -----------------------------------------------------------------


def remind_unanswered_invitations(now=None) -> Outcome:
    now = now or timezone.now()
    cutoff = now - timedelta(days=INVITATION_REMINDER_DAYS)
    outcome = Outcome()
    live_states = (Partnership.Status.FORMING, Partnership.Status.ACTIVE)
    by_email = EmailInvitation.objects.filter(
        status__in=EmailInvitation.LIVE,
        sent_at__lte=cutoff,
        expires_at__gt=now,
        membership__status=Membership.Status.INVITED,
        partnership__status__in=live_states,
    ).exclude(email="")
    for invitation in by_email:
        key = f"emailinvitation:{invitation.pk}:{invitation.send_count}"
        if once(
            "invitation_5d",
            key,
            "invitee",
            lambda i=invitation: send_invitation(i.pk, reminder=True, fail_silently=False),
        ):
            outcome.sent += 1
        else:
            outcome.skipped += 1
    memberships = (
        Membership.objects.filter(
            status=Membership.Status.INVITED,
            role=Membership.Role.PARTNER,
            invited_at__lte=cutoff,
            partnership__status__in=live_states,
        )
        # Those invited by e-mail are reminded at the address they were invited at (above).
        .exclude(email_invitations__status__in=EmailInvitation.LIVE)
        .select_related("partnership__lead_school", "school")
    )
    for membership in memberships:

        def message(_user, membership=membership):
            return {
                "partnership": membership.partnership.name,
                "paragraphs": [
                    f"{membership.partnership.lead_school.name} invited {membership.school.name} to join "
                    f"“{membership.partnership.name}” on "
                    f"{timezone.localtime(membership.invited_at):%d %B %Y}.",
                    "Please confirm or decline, so that they know whether to look for another partner.",
                ],
                "link": reverse("partnerships:lead_home"),
                "link_label": "Invitations waiting for your answer",
            }

        notify_users(
            school_contacts(membership.school_id),
            kind="invitation_5d",
            key=f"membership:{membership.pk}:{int(membership.invited_at.timestamp())}",
            message_for=message,
            outcome=outcome,
        )
    return outcome


def send_all_reminders(now=None) -> dict[str, int]:
    return {"invitations": remind_unanswered_invitations(now or timezone.now()).sent}
