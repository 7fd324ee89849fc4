from django.db.models import Q, QuerySet

from clusters.models import Cluster, CPDActivity
from partnerships.models import Membership
from partnerships.selectors import verified_schools
from portal.roles import Role, role_of


def clusters_for(user) -> QuerySet[Cluster]:
    """Admins: all. Staff: their programmes'. Leads: clusters their schools belong to."""
    role = role_of(user)
    if role == Role.ADMIN:
        return Cluster.objects.all()
    if role == Role.STAFF:
        return Cluster.objects.filter(cohort__programme__staff=user)
    if role == Role.LEAD:
        return Cluster.objects.filter(memberships__school__in=verified_schools(user)).distinct()
    return Cluster.objects.none()


def activities_for(user) -> QuerySet[CPDActivity]:
    """Activities a user may see. Admins: all. Staff: their programmes' partnerships and clusters.
    Leads: those of partnerships their school has confirmed membership of, and of their clusters."""
    role = role_of(user)
    if role == Role.ADMIN:
        return CPDActivity.objects.all()
    if role == Role.STAFF:
        return CPDActivity.objects.filter(
            Q(partnership__cohort__programme__staff=user) | Q(cluster__cohort__programme__staff=user)
        )
    if role == Role.LEAD:
        schools = verified_schools(user)
        partnership_ids = Membership.objects.filter(
            school__in=schools, status=Membership.Status.CONFIRMED
        ).values("partnership_id")
        cluster_ids = Cluster.objects.filter(memberships__school__in=schools).values("pk")
        return CPDActivity.objects.filter(Q(partnership__in=partnership_ids) | Q(cluster__in=cluster_ids))
    return CPDActivity.objects.none()


def managed_activities_for(user) -> QuerySet[CPDActivity]:
    """Activities a user may change: a partnership's by its lead school's leads, a cluster's by
    its programme's staff (and admins)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return CPDActivity.objects.filter(cluster__isnull=False)
    if role == Role.STAFF:
        return CPDActivity.objects.filter(cluster__cohort__programme__staff=user)
    if role == Role.LEAD:
        return CPDActivity.objects.filter(partnership__lead_school__in=verified_schools(user))
    return CPDActivity.objects.none()
