from django.db.models import QuerySet

from clusters.models import Cluster
from portal.roles import Role, role_of


def clusters_for(user) -> QuerySet[Cluster]:
    """Admins: all. Staff: their programmes'. Leads: clusters their schools belong to."""
    role = role_of(user)
    if role == Role.ADMIN:
        return Cluster.objects.all()
    if role == Role.STAFF:
        return Cluster.objects.filter(cohort__programme__staff=user)
    if role == Role.LEAD:
        return Cluster.objects.filter(memberships__school__lead_links__user=user).distinct()
    return Cluster.objects.none()
