"""Reads scoped to a user. Views fetch objects only through these and answer 404 otherwise."""

from django.db.models import Q, QuerySet
from django.utils import timezone

from partnerships.models import Cohort, Membership, Partnership, Programme, School
from portal.roles import Role, role_of


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
    """Schools the user acts for as a lead."""
    if role_of(user) != Role.LEAD:
        return School.objects.none()
    return School.objects.filter(lead_links__user=user)


def partnerships_for(user) -> QuerySet[Partnership]:
    """Admins: all. Staff: their programmes'. Leads: partnerships any of their schools
    belongs to or has been invited to (declined invitations excluded)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return Partnership.objects.all()
    if role == Role.STAFF:
        return Partnership.objects.filter(cohort__programme__staff=user)
    if role == Role.LEAD:
        ids = (
            Membership.objects.filter(school__lead_links__user=user)
            .exclude(status=Membership.Status.DECLINED)
            .values("partnership_id")
        )
        return Partnership.objects.filter(pk__in=ids)
    return Partnership.objects.none()


def led_partnerships_for(user) -> QuerySet[Partnership]:
    """Partnerships whose lead school the user acts for: these they may change."""
    if role_of(user) != Role.LEAD:
        return Partnership.objects.none()
    return Partnership.objects.filter(lead_school__lead_links__user=user)


def invitations_for(user) -> QuerySet[Membership]:
    """Invitations waiting for an answer from one of the user's schools."""
    if role_of(user) != Role.LEAD:
        return Membership.objects.none()
    return Membership.objects.filter(
        school__lead_links__user=user, status=Membership.Status.INVITED, role=Membership.Role.PARTNER
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
    return School.objects.filter(condition).order_by("name", "urn")
