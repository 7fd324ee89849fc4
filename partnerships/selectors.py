"""Reads scoped to a user. Views fetch objects only through these and answer 404 otherwise."""

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from partnerships.models import Cohort, Membership, Partnership, Programme, School
from portal.roles import ADMINS_GROUP, STAFF_GROUP, Role, role_of


def programmes_for(user) -> QuerySet[Programme]:
    role = role_of(user)
    if role == Role.ADMIN:
        return Programme.objects.all()
    if role == Role.STAFF:
        return Programme.objects.filter(staff=user)
    return Programme.objects.none()


def cohorts_for(user) -> QuerySet[Cohort]:
    return Cohort.objects.filter(programme__in=programmes_for(user)).select_related("programme")


def lead_schools(user) -> QuerySet[School]:
    """Schools the user claims to lead, verified or not (they may start drafts for them)."""
    if role_of(user) != Role.LEAD:
        return School.objects.none()
    return School.objects.filter(lead_links__user=user)


def verified_schools(user) -> QuerySet[School]:
    """Schools the user is a verified lead of: only these open other partnerships' data."""
    if role_of(user) != Role.LEAD:
        return School.objects.none()
    return School.objects.filter(lead_links__user=user, lead_links__verified_at__isnull=False)


def school_contacts(school) -> QuerySet[User]:
    """The people who speak for a school (a School or its id): active users verified for it (by
    programme staff or the school's own mail domain). Every message about a school's
    partnerships, invitations, applications and grants goes to these and to nobody else; an
    unverified claimant hears nothing. (messaging.send e-mails those with an address.)"""
    school_id = getattr(school, "pk", school)
    return (
        User.objects.filter(
            is_active=True, school_links__school_id=school_id, school_links__verified_at__isnull=False
        )
        .distinct()
        .order_by("pk")
    )


def partnerships_for(user) -> QuerySet[Partnership]:
    """Admins: all. Staff: their programmes'. Leads: partnerships any of their verified schools
    belongs to or has been invited to (declined invitations excluded), and the drafts they
    started themselves while their link is unverified."""
    role = role_of(user)
    if role == Role.ADMIN:
        return Partnership.objects.all()
    if role == Role.STAFF:
        return Partnership.objects.filter(cohort__programme__staff=user)
    if role == Role.LEAD:
        ids = (
            Membership.objects.filter(school__in=verified_schools(user))
            .exclude(status=Membership.Status.DECLINED)
            .values("partnership_id")
        )
        # One IN over a UNION: "pk IN (a) OR pk IN (b)" makes PostgreSQL test every partnership
        # against both (30 ms on the national bench data, against 9 ms: docs/performance.md).
        # Neither side may carry its model's default ordering: SQLite refuses an ORDER BY inside
        # a compound statement (the embedded default's pages answered 500).
        return Partnership.objects.filter(pk__in=ids.order_by().union(_own_drafts(user).order_by()))
    return Partnership.objects.none()


def _own_drafts(user):
    return Partnership.objects.filter(created_by=user, lead_school__in=lead_schools(user)).values("pk")


def led_partnerships_for(user) -> QuerySet[Partnership]:
    """Partnerships whose lead school the user is a verified lead of, or that they started
    for a school they claim: these they may change (services check verification again for
    acts towards other schools)."""
    if role_of(user) != Role.LEAD:
        return Partnership.objects.none()
    return Partnership.objects.filter(Q(lead_school__in=verified_schools(user)) | Q(pk__in=_own_drafts(user)))


def invitations_for(user) -> QuerySet[Membership]:
    """Invitations waiting for an answer from one of the user's verified schools (including
    ones someone not yet verified accepted: a verified lead's answer counts at once)."""
    if role_of(user) != Role.LEAD:
        return Membership.objects.none()
    return Membership.objects.filter(
        school__in=verified_schools(user),
        status__in=[Membership.Status.INVITED, Membership.Status.ACCEPTED],
        role=Membership.Role.PARTNER,
    )


def led_memberships_for(user) -> QuerySet[Membership]:
    """Memberships of partnerships the user leads: these they may remove."""
    return Membership.objects.filter(partnership__in=led_partnerships_for(user))


def open_partnership_cohorts(at=None) -> QuerySet[Cohort]:
    """Cohorts of partnership programmes whose application window is open now."""
    at = at or timezone.now()
    return Cohort.objects.filter(
        programme__kind=Programme.Kind.PARTNERSHIPS,
        applications_open_at__lte=at,
        applications_close_at__gte=at,
    ).select_related("programme")


def search_schools(query: str) -> QuerySet[School]:
    """Schools whose name contains `query`, whose URN is `query`, or whose postcode starts with it."""
    query = " ".join(query.split())
    condition = Q(name__icontains=query) | Q(postcode__istartswith=query.upper())
    if query.isdigit():
        condition |= Q(urn=int(query))
    return School.objects.filter(condition, is_synthetic=False).order_by(
        "name", "urn"
    )  # never a made-up school


def staff_and_admins() -> QuerySet[User]:
    """Everyone who may decide lead verification requests: programme staff and admins."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__name__in=[STAFF_GROUP, ADMINS_GROUP]) | Q(is_superuser=True))
        .distinct()
        .order_by("pk")
    )
