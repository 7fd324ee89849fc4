"""Writes with rules: creating partnerships, inviting schools, confirming and removing members.

Each function checks who may act (PermissionDenied), locks the rows a race could break,
validates (ValidationError with a field dict), saves, and sends notifications on commit.
The database backs the one-partnership-per-cohort rule (membership_one_partnership_per_cohort),
so a second request that slips past the check still fails; that failure becomes the same
ValidationError as the check's.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from messaging import outbox
from partnerships.eligibility import ineligibility_reasons
from partnerships.models import Cohort, Membership, Partnership, Programme, School, SchoolLead

log = logging.getLogger(__name__)

CLOSED_STATUSES = (Partnership.Status.WITHDRAWN, Partnership.Status.COMPLETED)


def acts_for(user, school: School, *, verified: bool = True) -> bool:
    """Whether `user` is a lead of `school`. Acting for a school towards others (inviting,
    answering invitations, removing members) needs a link staff or the e-mail domain have
    verified; `verified=False` admits a claimed link too (starting one's own draft)."""
    if not (user and user.is_authenticated):
        return False
    links = SchoolLead.objects.filter(user=user, school=school)
    if verified:
        links = links.filter(verified_at__isnull=False)
    return links.exists()


def ensure_acts_for(user, school: School, action: str, *, verified: bool = True) -> None:
    if not acts_for(user, school, verified=verified):
        if verified and acts_for(user, school, verified=False):
            raise PermissionDenied(
                f"Your link to {school.name} is not verified yet, so you cannot {action}. "
                "Programme staff will confirm it, or confirm your e-mail address."
            )
        raise PermissionDenied(f"Only a lead of {school.name} may {action}.")


def existing_membership(school: School, cohort: Cohort, *, exclude_partnership: Partnership | None = None):
    """The school's live (not declined) membership in the cohort, if any."""
    qs = Membership.objects.filter(school=school, cohort=cohort).exclude(status=Membership.Status.DECLINED)
    if exclude_partnership is not None:
        qs = qs.exclude(partnership=exclude_partnership)
    return qs.select_related("partnership").first()


def _already_in(school: School, membership: Membership) -> str:
    return (
        f"{school.name} is already in the partnership “{membership.partnership.name}” in this cohort; "
        "a school can be in only one partnership per cohort."
    )


def _one_per_cohort(field: str, school: School):
    return ValidationError({field: f"{school.name} is already in a partnership in this cohort."})


def partnership_create(
    *, cohort: Cohort, lead_school: School, name: str, local_stem_issue: str, by
) -> Partnership:
    ensure_acts_for(by, lead_school, "start a partnership for it", verified=False)
    name, local_stem_issue = (name or "").strip(), (local_stem_issue or "").strip()
    errors = {}
    if not name:
        errors["name"] = "Give the partnership a name."
    if not local_stem_issue:
        errors["local_stem_issue"] = "Describe the local STEM issue the partnership will address."
    with transaction.atomic():
        cohort = Cohort.objects.select_related("programme").get(pk=cohort.pk)
        lead_school = School.objects.select_for_update().get(pk=lead_school.pk)
        programme = cohort.programme
        if programme.kind != Programme.Kind.PARTNERSHIPS:
            errors["cohort"] = f"{programme.name} works with clusters, not partnerships."
        elif not cohort.is_open_for_applications():
            errors["cohort"] = f"{cohort} is not open for applications."
        reasons = ineligibility_reasons(lead_school, programme)
        if reasons:
            errors["lead_school"] = [f"{lead_school.name} cannot lead a partnership: {r}" for r in reasons]
        elif current := existing_membership(lead_school, cohort):
            errors["lead_school"] = _already_in(lead_school, current)
        if errors:
            raise ValidationError(errors)
        try:
            with transaction.atomic():
                partnership = Partnership.objects.create(
                    cohort=cohort,
                    name=name,
                    lead_school=lead_school,
                    local_stem_issue=local_stem_issue,
                    created_by=by,
                )
                Membership.objects.create(
                    partnership=partnership,
                    school=lead_school,
                    cohort=cohort,
                    role=Membership.Role.LEAD,
                    status=Membership.Status.CONFIRMED,
                    invited_by=by,
                    responded_by=by,
                    responded_at=timezone.now(),
                )
        except IntegrityError:
            raise _one_per_cohort("lead_school", lead_school) from None
    log.info("partnership %s created by %s", partnership.pk, by)
    return partnership


def membership_invite(*, partnership: Partnership, school: School, by) -> Membership:
    """Invite `school` into the partnership. Inviting a school already invited or confirmed
    changes nothing; a school that declined earlier is invited again."""
    ensure_acts_for(by, partnership.lead_school, "invite schools into this partnership")
    with transaction.atomic():
        partnership = (
            Partnership.objects.select_for_update(of=("self",))
            .select_related("cohort__programme", "lead_school")
            .get(pk=partnership.pk)
        )
        school = School.objects.select_for_update().get(pk=school.pk)
        if partnership.status in CLOSED_STATUSES:
            state = partnership.get_status_display().lower()
            raise ValidationError({"school": f"This partnership is {state}: it takes no new schools."})
        mine = Membership.objects.filter(partnership=partnership, school=school).first()
        if mine and mine.status != Membership.Status.DECLINED:
            return mine
        reasons = ineligibility_reasons(school, partnership.cohort.programme)
        if reasons:
            raise ValidationError({"school": [f"{school.name} cannot join: {r}" for r in reasons]})
        if current := existing_membership(school, partnership.cohort, exclude_partnership=partnership):
            raise ValidationError({"school": _already_in(school, current)})
        try:
            with transaction.atomic():
                if mine:
                    mine.status, mine.invited_by, mine.invited_at = (
                        Membership.Status.INVITED,
                        by,
                        timezone.now(),
                    )
                    mine.responded_by, mine.responded_at = None, None
                    mine.save()
                    membership = mine
                else:
                    membership = Membership.objects.create(
                        partnership=partnership,
                        school=school,
                        cohort=partnership.cohort,
                        role=Membership.Role.PARTNER,
                        status=Membership.Status.INVITED,
                        invited_by=by,
                    )
        except IntegrityError:
            raise _one_per_cohort("school", school) from None
        transaction.on_commit(lambda: _notify_invited(membership.pk))
    return membership


def membership_respond(*, membership: Membership, accept: bool, by) -> Membership:
    """A lead of the invited school confirms or declines. Giving the same answer again
    changes nothing; changing an answer already given is refused."""
    ensure_acts_for(by, membership.school, "answer this invitation")
    target = Membership.Status.CONFIRMED if accept else Membership.Status.DECLINED
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("partnership", "school")
            .get(pk=membership.pk)
        )
        if membership.status == target:
            return membership
        if membership.role == Membership.Role.LEAD:
            raise ValidationError({"status": "The lead school is always a confirmed member."})
        if membership.status != Membership.Status.INVITED:
            raise ValidationError(
                {
                    "status": f"{membership.school.name} has already "
                    f"{membership.get_status_display().lower()} this invitation."
                }
            )
        if membership.partnership.status in CLOSED_STATUSES:
            raise ValidationError({"status": "This partnership is no longer taking schools."})
        membership.status = target
        membership.responded_by, membership.responded_at = by, timezone.now()
        membership.save(update_fields=["status", "responded_by", "responded_at"])
    return membership


def membership_remove(*, membership: Membership, by) -> None:
    """The lead school removes a partner (or withdraws an invitation); the school is then
    free to join another partnership of the cohort."""
    ensure_acts_for(by, membership.partnership.lead_school, "remove schools from this partnership")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if membership is None:
            return  # already removed
        if membership.role == Membership.Role.LEAD:
            raise ValidationError({"school": "The lead school cannot be removed from its own partnership."})
        membership.delete()


def _notify_invited(membership_id: int) -> None:
    membership = Membership.objects.select_related("partnership__lead_school", "school").get(pk=membership_id)
    emails = list(
        SchoolLead.objects.filter(school=membership.school)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not emails:
        return
    link = settings.PORTAL_BASE_URL.rstrip("/") + reverse("partnerships:lead_home")
    outbox.enqueue(
        EmailMessage(
            subject=f"Invitation to join {membership.partnership.name}",
            body=(
                f"{membership.partnership.lead_school.name} has invited {membership.school.name} to join "
                f"the partnership “{membership.partnership.name}”.\n\nConfirm or decline here: {link}\n"
            ),
            to=emails,
        )
    )
