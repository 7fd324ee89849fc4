"""The kinds of user and what each may do.

Groups are created by a data migration (portal/migrations/0001); their permissions
are (re)applied after every migrate by `sync_role_permissions`, so a model added
later gets its permissions without a new data migration.
"""

from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.db.models import TextChoices


class Role(TextChoices):
    ANONYMOUS = "anonymous", "Visitor"
    LEAD = "lead", "School lead"
    STAFF = "staff", "Programme staff"
    FINANCE = "finance", "Finance"
    ADMIN = "admin", "Admin"
    REVIEWER = "reviewer", "Reviewer"


LEADS_GROUP = "School leads"
STAFF_GROUP = "Programme staff"
ADMINS_GROUP = "Admins"
# Reviewers (issue 17), possibly from outside the programme team: they see only the applications
# assigned to them, through their own pages (grants/review_views.py). Programme staff may review too.
REVIEWERS_GROUP = "Reviewers"
# Finance (issue 19): payments, payee details and finance exports of every programme; releases
# and pays instalments; never reviews or decides an application. Programme staff decide and
# never see full bank details, so one person never both awards and pays (separation of duties).
FINANCE_GROUP = "Finance"

# Model permissions by group, as "app_label.codename" or "app_label.*" for every one.
GROUP_PERMISSIONS: dict[str, list[str]] = {
    LEADS_GROUP: [
        "partnerships.view_school",
        "partnerships.add_partnership",
        "partnerships.change_partnership",
        "partnerships.view_partnership",
        "partnerships.add_membership",
        "partnerships.change_membership",
        "partnerships.view_membership",
        "clusters.add_cpdactivity",
        "clusters.change_cpdactivity",
        "clusters.view_cpdactivity",
        "grants.add_application",
        "grants.change_application",
        "grants.view_application",
    ],
    STAFF_GROUP: [
        "partnerships.view_school",
        "partnerships.view_partnership",
        "partnerships.view_membership",
        "partnerships.view_cohort",
        "partnerships.view_programme",
        "clusters.*",
        "grants.view_application",
        "grants.change_application",
        "grants.view_payment",
        "grants.change_payment",
        "grants.view_auditevent",
        "evaluation.view_cohortsummary",
    ],
    REVIEWERS_GROUP: [],
    FINANCE_GROUP: [
        "partnerships.view_school",
        "partnerships.view_cohort",
        "partnerships.view_programme",
        "grants.view_application",
        "grants.view_payment",
        "grants.change_payment",
        "grants.view_auditevent",
    ],
    ADMINS_GROUP: [
        "partnerships.*",
        "clusters.*",
        "grants.*",
        "evaluation.*",
        "auth.view_user",
        "auth.change_user",
        "auth.add_user",
    ],
}

# Permissions nobody holds through a group, however broad its wildcard: the audit trail
# is append-only.
NEVER_GRANTED = {"grants.change_auditevent", "grants.delete_auditevent"}


def sync_role_permissions(sender=None, **kwargs):
    for group_name, perms in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = set()
        for perm in perms:
            app_label, codename = perm.split(".")
            qs = Permission.objects.filter(content_type__app_label=app_label)
            if codename != "*":
                qs = qs.filter(codename=codename)
            wanted.update(
                p
                for p in qs.select_related("content_type")
                if f"{p.content_type.app_label}.{p.codename}" not in NEVER_GRANTED
            )
        group.permissions.set(wanted)


def role_of(user: User | AnonymousUser) -> Role:
    """A user's role; someone in several groups gets the widest."""
    if not user.is_authenticated:
        return Role.ANONYMOUS
    if user.is_superuser:
        return Role.ADMIN
    names = _group_names(user)
    if ADMINS_GROUP in names:
        return Role.ADMIN
    if STAFF_GROUP in names:
        return Role.STAFF
    if FINANCE_GROUP in names:
        return Role.FINANCE
    if LEADS_GROUP in names:
        return Role.LEAD
    if REVIEWERS_GROUP in names:
        return Role.REVIEWER
    return Role.ANONYMOUS


def _group_names(user: User) -> set[str]:
    cached = getattr(user, "_portal_group_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._portal_group_names = cached
    return cached


def is_admin(user) -> bool:
    return role_of(user) == Role.ADMIN


def is_staff_member(user) -> bool:
    """Programme staff or admin: may see the staff side of the portal."""
    return role_of(user) in (Role.STAFF, Role.ADMIN)


def is_in_reviewers_group(user) -> bool:
    return user.is_authenticated and REVIEWERS_GROUP in _group_names(user)


def is_finance(user) -> bool:
    """Finance or admin: may see bank details, release and pay instalments."""
    return role_of(user) in (Role.FINANCE, Role.ADMIN)


def is_lead(user) -> bool:
    return role_of(user) == Role.LEAD
