"""Writes with rules: creating partnerships, inviting schools, confirming and removing members.

Each function checks who may act (PermissionDenied), locks the rows a race could break,
validates (ValidationError with a field dict), saves, and sends notifications on commit.
The database backs the one-partnership-per-cohort rule (membership_one_partnership_per_cohort),
so a second request that slips past the check still fails; that failure becomes the same
ValidationError as the check's.

Who speaks for a school: a membership counts (confirmed) only when a person verified for the
school said yes. A person not yet verified who accepts, or who starts a partnership, makes an
"accepted — awaiting verification" membership: it counts towards nothing and holds no place in
the cohort (only invited and confirmed ones do). `school_link_verified` turns those into
confirmed memberships once staff or the school's mail domain vouch; `school_claim_rejected`
withdraws what a refused claim made, with a TrustEvent for each.
"""

import logging
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

import messaging
from partnerships import hooks
from partnerships.eligibility import ineligibility_reasons
from partnerships.lineage import Lineage
from partnerships.models import (
    Cohort,
    EmailInvitation,
    Membership,
    Partnership,
    Programme,
    School,
    SchoolLead,
    TrustEvent,
)
from partnerships.selectors import school_contacts

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
    """The membership holding the school's place in the cohort (invited or confirmed), if any."""
    qs = Membership.objects.filter(school=school, cohort=cohort, status__in=Membership.HOLDS_PLACE)
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
        verified = acts_for(by, lead_school)
        reasons = ineligibility_reasons(lead_school, programme)
        if reasons:
            errors["lead_school"] = [f"{lead_school.name} cannot lead a partnership: {r}" for r in reasons]
        elif current := existing_membership(lead_school, cohort):
            # Someone not verified for the school learns only that it is taken, not by whom.
            errors["lead_school"] = (
                _already_in(lead_school, current)
                if verified
                else f"{lead_school.name} is already in a partnership in this cohort."
            )
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
                    # A lead not yet verified holds no place: another verified lead can still
                    # start a partnership for the school.
                    status=Membership.Status.CONFIRMED if verified else Membership.Status.ACCEPTED,
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
        hooks.check_membership_guards(partnership, change="invite", membership=mine, by=by)
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


def _lock_membership(membership_id: int) -> Membership | None:
    """Lock the partnership first, then the membership: every change that can move a school
    count takes the locks in this order (grants' approve does too), so they queue, never deadlock."""
    partnership_id = (
        Membership.objects.filter(pk=membership_id).values_list("partnership_id", flat=True).first()
    )
    if partnership_id is None:
        return None
    Partnership.objects.select_for_update().filter(pk=partnership_id).first()
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("partnership__cohort__programme", "partnership__lead_school", "school")
        .filter(pk=membership_id)
        .first()
    )


def _ensure_open(partnership: Partnership, doing: str) -> None:
    if partnership.status in CLOSED_STATUSES:
        state = partnership.get_status_display().lower()
        raise ValidationError({"status": f"This partnership is {state}: you cannot {doing}."})


def membership_respond(*, membership: Membership, accept: bool, by) -> Membership:
    """A verified lead of the invited school confirms or declines. Giving the same answer again
    changes nothing; changing an answer already given is refused. A person who is not (yet)
    verified for the school accepts through `membership_accept_awaiting` instead."""
    ensure_acts_for(by, membership.school, "answer this invitation")
    target = Membership.Status.CONFIRMED if accept else Membership.Status.DECLINED
    with transaction.atomic():
        membership = _lock_membership(membership.pk)
        if membership is None:
            raise ValidationError({"status": "This invitation has been withdrawn."})
        if membership.status == target:
            return membership
        if membership.role == Membership.Role.LEAD:
            raise ValidationError({"status": "The lead school is always a confirmed member."})
        if membership.status not in (Membership.Status.INVITED, Membership.Status.ACCEPTED):
            raise ValidationError(
                {
                    "status": f"{membership.school.name} has already "
                    f"{membership.get_status_display().lower()} this invitation."
                }
            )
        _ensure_open(membership.partnership, "join it")
        if accept:
            _ensure_place_free(membership)
            hooks.check_membership_guards(
                membership.partnership, change="confirm", membership=membership, by=by
            )
        membership.status = target
        membership.responded_by, membership.responded_at = by, timezone.now()
        try:
            with transaction.atomic():
                membership.save(update_fields=["status", "responded_by", "responded_at"])
        except IntegrityError:
            raise _one_per_cohort("status", membership.school) from None
        _tell_lead_school_answer(membership, accepted=accept)
    return membership


def _ensure_place_free(membership: Membership) -> None:
    current = existing_membership(
        membership.school, membership.partnership.cohort, exclude_partnership=membership.partnership
    )
    if current is not None:
        raise ValidationError({"status": _already_in(membership.school, current)})


def membership_accept_awaiting(*, membership: Membership, by) -> Membership:
    """Someone not yet verified for the school (the invited address) says yes: the membership
    waits for verification, counts towards nothing and holds no place meanwhile."""
    with transaction.atomic():
        membership = _lock_membership(membership.pk)
        if membership is None:
            raise ValidationError({"status": "This invitation has been withdrawn."})
        if membership.status in (Membership.Status.ACCEPTED, Membership.Status.CONFIRMED):
            return membership
        if membership.status != Membership.Status.INVITED or membership.role != Membership.Role.PARTNER:
            raise ValidationError(
                {
                    "status": f"{membership.school.name} has already "
                    f"{membership.get_status_display().lower()} this invitation."
                }
            )
        _ensure_open(membership.partnership, "join it")
        membership.status = Membership.Status.ACCEPTED
        membership.responded_by, membership.responded_at = by, timezone.now()
        membership.save(update_fields=["status", "responded_by", "responded_at"])
        TrustEvent.record(
            TrustEvent.Action.ACCEPTED_AWAITING,
            by=by,
            subject=by,
            school=membership.school,
            partnership=membership.partnership,
        )
    return membership


def membership_decline_invited(*, membership: Membership, by) -> Membership:
    """The invited address (not verified for the school) declines: the invitation is given up.
    Declining needs no vouching, and the school's place is freed."""
    with transaction.atomic():
        membership = _lock_membership(membership.pk)
        if membership is None or membership.status == Membership.Status.DECLINED:
            return membership
        if membership.status not in (Membership.Status.INVITED, Membership.Status.ACCEPTED):
            raise ValidationError(
                {"status": f"{membership.school.name} has already confirmed this invitation."}
            )
        membership.status = Membership.Status.DECLINED
        membership.responded_by, membership.responded_at = by, timezone.now()
        membership.save(update_fields=["status", "responded_by", "responded_at"])
        _tell_lead_school_answer(membership, accepted=False)
    return membership


def membership_remove(*, membership: Membership, by) -> None:
    """The lead school removes a partner (or withdraws an invitation); the school is then
    free to join another partnership of the cohort. Refused for a completed partnership, and
    when it would take a submitted or approved application below the minimum (grants' guard)."""
    ensure_acts_for(by, membership.partnership.lead_school, "remove schools from this partnership")
    with transaction.atomic():
        membership = _lock_membership(membership.pk)
        if membership is None:
            return  # already removed
        if membership.role == Membership.Role.LEAD:
            raise ValidationError({"school": "The lead school cannot be removed from its own partnership."})
        if membership.partnership.status == Partnership.Status.COMPLETED:
            raise ValidationError(
                {"school": "This partnership is completed: its schools can no longer change."}
            )
        hooks.check_membership_guards(membership.partnership, change="remove", membership=membership, by=by)
        membership.delete()


# --- Verification settles what waited for it -----------------------------------------------


def school_link_verified(*, user, school: School, by=None) -> list[Membership]:
    """`user` has just been verified for `school` (by staff, or by the school's mail domain):
    their acceptances for the school, and the lead memberships of partnerships they started for
    it, now count, where the school's place in the cohort is still free. An acceptance whose
    school has meanwhile joined another partnership of the cohort lapses (recorded)."""
    confirmed = []
    waiting = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("partnership__cohort", "partnership__lead_school", "school")
        .filter(school=school, status=Membership.Status.ACCEPTED)
        .filter(responded_by=user)
        .order_by("responded_at", "pk")
    )
    for membership in waiting:
        partnership = membership.partnership
        current = existing_membership(school, partnership.cohort, exclude_partnership=partnership)
        if partnership.status in CLOSED_STATUSES or current is not None:
            if membership.role == Membership.Role.PARTNER:
                membership.status = Membership.Status.DECLINED
                membership.save(update_fields=["status"])
            TrustEvent.record(
                TrustEvent.Action.MEMBERSHIP_LAPSED,
                by=by,
                subject=user,
                school=school,
                partnership=partnership,
                comment=f"{school.name} is already in another partnership of this cohort."
                if current
                else f"The partnership is {partnership.get_status_display().lower()}.",
            )
            continue
        membership.status = Membership.Status.CONFIRMED
        membership.save(update_fields=["status"])
        TrustEvent.record(
            TrustEvent.Action.MEMBERSHIP_CONFIRMED,
            by=by,
            subject=user,
            school=school,
            partnership=partnership,
        )
        confirmed.append(membership)
        if membership.role == Membership.Role.PARTNER:
            transaction.on_commit(lambda m=membership.pk: _tell_lead_school_partner_counts(m), robust=True)
    return confirmed


def school_claim_rejected(*, user, school: School, by, reason: str) -> None:
    """Programme staff refused `user`'s claim to `school`: withdraw the partnerships they
    started for it (and those partnerships' invitations), their acceptances for it, and the
    e-mail invitations they sent from it, each with a TrustEvent."""
    started = (
        Partnership.objects.select_for_update()
        .filter(
            created_by=user,
            lead_school=school,
            memberships__role=Membership.Role.LEAD,
            memberships__status=Membership.Status.ACCEPTED,
        )
        .exclude(status__in=CLOSED_STATUSES)
    )
    for partnership in started:
        partnership.status = Partnership.Status.WITHDRAWN
        partnership.save(update_fields=["status", "updated_at"])
        live = EmailInvitation.objects.filter(partnership=partnership, status__in=EmailInvitation.LIVE)
        live.update(status=EmailInvitation.Status.WITHDRAWN)
        partnership.memberships.filter(
            role=Membership.Role.PARTNER, status=Membership.Status.INVITED
        ).delete()
        TrustEvent.record(
            TrustEvent.Action.PARTNERSHIP_WITHDRAWN,
            by=by,
            subject=user,
            school=school,
            partnership=partnership,
            comment=reason,
        )
        hooks.partnership_withdrawn.send(sender=Partnership, partnership=partnership, by=by, reason=reason)
    acceptances = Membership.objects.select_for_update(of=("self",)).filter(
        school=school, responded_by=user, role=Membership.Role.PARTNER, status=Membership.Status.ACCEPTED
    )
    for membership in acceptances.select_related("partnership"):
        EmailInvitation.objects.filter(membership=membership).update(status=EmailInvitation.Status.WITHDRAWN)
        TrustEvent.record(
            TrustEvent.Action.ACCEPTANCE_WITHDRAWN,
            by=by,
            subject=user,
            school=school,
            partnership=membership.partnership,
            comment=reason,
        )
        partnership_id, school_name = membership.partnership_id, school.name
        membership.delete()
        transaction.on_commit(
            lambda p=partnership_id, s=school_name: _tell_lead_school_acceptance_withdrawn(p, s), robust=True
        )
    sent = EmailInvitation.objects.filter(
        invited_by=user, partnership__lead_school=school, status__in=EmailInvitation.LIVE
    )
    for invitation in sent.select_related("partnership"):
        TrustEvent.record(
            TrustEvent.Action.INVITATION_WITHDRAWN,
            by=by,
            subject=user,
            school=school,
            partnership=invitation.partnership,
            comment=f"Invitation to {invitation.email} withdrawn.",
        )
    sent.update(status=EmailInvitation.Status.WITHDRAWN)


def schools_changed(*, school_ids, reason: str) -> None:
    """Schools stopped counting (closed, or no longer eligible, in the register): the
    applications of the partnerships they confirmed into are re-checked (grants listens)."""
    partnership_ids = sorted(
        set(
            Membership.objects.filter(school_id__in=list(school_ids), status=Membership.Status.CONFIRMED)
            .exclude(partnership__status__in=CLOSED_STATUSES)
            .values_list("partnership_id", flat=True)
        )
    )
    if partnership_ids:
        hooks.minimum_at_risk.send(sender=Partnership, partnership_ids=partnership_ids, reason=reason)


@dataclass
class Followed:
    """What memberships_follow_successors did: the memberships moved, and why others were not."""

    moved: list[Membership] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def memberships_follow_successors(*, school_ids=None, by=None, source: str = "") -> Followed:
    """A school that closed and has a successor (GIAS links: successor, predecessor or "Merged"
    rows, partnerships.lineage) is the same school under its new URN: the memberships of open
    partnerships (not completed or withdrawn; declined ones aside) move to the school it is now,
    the partnership's lead school with them, each audited as a TrustEvent. A membership stays
    where it is, and says why in `left`, when the successor is not an open school in the register
    or already holds a place in the partnership or the cohort (the database's one-per-cohort rule).
    `school_ids` limits it to those (closed) schools. Idempotent: a second call finds nothing to
    move. Completed and withdrawn partnerships keep the old URN as history (the school page and
    the evaluation read it through the lineage)."""
    followed = Followed()
    with transaction.atomic():
        closed = Membership.objects.filter(school__is_open=False)
        if school_ids is not None:
            closed = closed.filter(school_id__in=list(school_ids))
        candidates = list(
            closed.select_for_update(of=("self",))
            .exclude(partnership__status__in=CLOSED_STATUSES)
            .exclude(status=Membership.Status.DECLINED)
            .select_related("school", "partnership")
            .order_by("pk")
        )
        if not candidates:
            return followed
        family = Lineage.around({m.school.urn for m in candidates})
        now_urn = {m.pk: family.current(m.school.urn) for m in candidates}
        schools = {
            school.urn: school
            for school in School.objects.filter(
                urn__in=set(now_urn.values()), is_open=True, is_synthetic=False
            )
        }
        for membership in candidates:
            old, urn = membership.school, now_urn[membership.pk]
            if urn == old.urn:
                continue  # closed with no single line of successors: nothing certain to follow
            new = schools.get(urn)
            where = f"{old.name} (URN {old.urn}) in {membership.partnership}"
            if new is None:
                followed.left.append(
                    f"{where}: its successor URN {urn} is not an open school in the register"
                )
                continue
            if Membership.objects.filter(partnership=membership.partnership_id, school=new).exists():
                followed.left.append(f"{where}: {new.name} (URN {new.urn}) is already in the partnership")
                continue
            if (
                membership.status in Membership.HOLDS_PLACE
                and Membership.objects.filter(
                    cohort=membership.cohort_id, school=new, status__in=Membership.HOLDS_PLACE
                ).exists()
            ):
                followed.left.append(
                    f"{where}: {new.name} (URN {new.urn}) is in another partnership of the cohort"
                )
                continue
            membership.school = new
            membership.save(update_fields=["school"])
            if membership.partnership.lead_school_id == old.pk:
                Partnership.objects.filter(pk=membership.partnership_id).update(lead_school=new)
            TrustEvent.record(
                TrustEvent.Action.MEMBERSHIP_MOVED,
                by=by,
                school=new,
                partnership=membership.partnership,
                comment=(
                    f"{old.name} (URN {old.urn}) closed; the GIAS links give URN {new.urn} ({new.name}) "
                    f"as the school it is now{f' ({source})' if source else ''}."
                ),
            )
            followed.moved.append(membership)
    if followed.moved:
        log.info("Moved %d memberships to their schools' successor URNs.", len(followed.moved))
    return followed


def _tell_lead_school_answer(membership: Membership, *, accepted: bool) -> None:
    """An invited school answered: the lead school's verified leads are told, in the answer's
    transaction."""
    partnership = membership.partnership
    messaging.send(
        "invitation_answered",
        school_contacts(partnership.lead_school_id),
        {
            "school": membership.school.name,
            "partnership": partnership.name,
            "accepted": accepted,
            "paragraphs": [
                f"{membership.school.name} has "
                + ("confirmed that it joins" if accepted else "declined to join")
                + f" the partnership “{partnership.name}”."
            ],
            "link": reverse("partnerships:partnership_detail", args=[partnership.pk]),
            "link_label": "The partnership",
        },
        about=partnership,
    )


def _tell_lead_school_partner_counts(membership_id: int) -> None:
    membership = Membership.objects.select_related("partnership__lead_school", "school").get(pk=membership_id)
    partnership = membership.partnership
    messaging.send(
        "partner_confirmed",
        school_contacts(partnership.lead_school),
        {
            "school": membership.school.name,
            "partnership": partnership.name,
            "paragraphs": [
                f"The person who accepted for {membership.school.name} has been verified as working "
                "there, so the school now counts towards the partnership's minimum."
            ],
            "link": reverse("partnerships:partnership_detail", args=[partnership.pk]),
            "link_label": "The partnership",
        },
        about=partnership,
    )


def _tell_lead_school_acceptance_withdrawn(partnership_id: int, school_name: str) -> None:
    partnership = Partnership.objects.select_related("lead_school").get(pk=partnership_id)
    messaging.send(
        "acceptance_withdrawn",
        school_contacts(partnership.lead_school),
        {
            "school": school_name,
            "partnership": partnership.name,
            "paragraphs": [
                f"Programme staff could not confirm that the person who accepted for {school_name} "
                "works there, so their acceptance is withdrawn. Invite the school again at an address "
                "of someone who works there."
            ],
            "link": reverse("partnerships:partnership_detail", args=[partnership.pk]),
            "link_label": "The partnership",
        },
        about=partnership,
    )


def _notify_invited(membership_id: int) -> None:
    """Tell the invited school's verified contacts (never an unverified claimant)."""
    membership = Membership.objects.select_related("partnership__lead_school", "school").get(pk=membership_id)
    messaging.send(
        "membership_invited",
        school_contacts(membership.school),
        {
            "partnership": membership.partnership.name,
            "paragraphs": [
                f"{membership.partnership.lead_school.name} has invited {membership.school.name} to join "
                f"the partnership “{membership.partnership.name}”.",
                "Confirm or decline on your partnerships page.",
            ],
            "link": reverse("partnerships:lead_home"),
            "link_label": "My partnerships",
        },
        about=membership.partnership,
    )
