"""Reads of grants data, scoped to a user. Views fetch through these and answer 404 otherwise."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from grants import conflicts
from grants.models import Application, Payment, Score
from partnerships.models import Cohort, Membership, SchoolLead
from partnerships.selectors import partnerships_for, school_contacts
from portal.roles import Role, role_of

AWARDED_STATES = (Application.Status.APPROVED, Application.Status.COMPLETED)
MONEY_FIELD = DecimalField(max_digits=12, decimal_places=2)


def applications_for(user) -> QuerySet[Application]:
    """Admins: all. Staff: their programmes'. Leads: applications of partnerships their schools
    belong to (declined invitations excluded)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return Application.objects.all()
    if role == Role.STAFF:
        return Application.objects.filter(cohort__programme__staff=user)
    if role == Role.LEAD:
        return Application.objects.filter(partnership__in=partnerships_for(user))
    return Application.objects.none()


def payments_for(user) -> QuerySet[Payment]:
    """Finance and admins: every programme's payments. Programme staff: their programmes' (to
    read: they neither release nor pay). Nobody else."""
    role = role_of(user)
    if role in (Role.FINANCE, Role.ADMIN):
        return Payment.objects.all()
    if role == Role.STAFF:
        return Payment.objects.filter(application__in=applications_for(user))
    return Payment.objects.none()


def is_lead_of(user, partnership) -> bool:
    """A verified lead of the partnership's lead school, or the person who started it while
    their claim to the school waits for verification: the only people who may write its
    application (only a verified lead may submit it)."""
    if role_of(user) != Role.LEAD:
        return False
    links = SchoolLead.objects.filter(user=user, school_id=partnership.lead_school_id)
    if links.filter(verified_at__isnull=False).exists():
        return True
    return partnership.created_by_id == user.pk and links.exists()


def may_review(user, application) -> bool:
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    return role == Role.STAFF and application.cohort.programme.staff.filter(pk=user.pk).exists()


def has_conflict_of_interest(user, application) -> bool:
    """The user acts for a school in the partnership (lead school or a partner not declined)."""
    if not user.is_authenticated:
        return False
    member = Membership.objects.filter(
        partnership_id=application.partnership_id, school_id=OuterRef("school_id")
    ).exclude(status=Membership.Status.DECLINED)
    return (  # one query: a school the user is linked to is the lead school or a member
        SchoolLead.objects.filter(user=user)
        .filter(Q(school_id=application.partnership.lead_school_id) | Exists(member))
        .exists()
    )


def review_queue(user, *, cohort=None, status=None, region=None, phase=None) -> QuerySet[Application]:
    """The staff queue: one query however many applications, with confirmed-school count and mean score."""
    confirmed = (
        Membership.objects.filter(partnership=OuterRef("partnership_id"), status=Membership.Status.CONFIRMED)
        .values("partnership")
        .annotate(n=Count("pk"))
        .values("n")
    )
    mean_score = (
        Score.objects.filter(application=OuterRef("pk"))
        .values("application")
        .annotate(a=Avg("score"))
        .values("a")
    )
    qs = (
        applications_for(user)
        .select_related("partnership__lead_school", "cohort__programme")
        .annotate(
            confirmed_schools=Coalesce(Subquery(confirmed, output_field=IntegerField()), 0),
            mean_score=Subquery(mean_score),
        )
    )
    if cohort is not None:
        qs = qs.filter(cohort=cohort)
    qs = qs.filter(status=status) if status else qs.exclude(status=Application.Status.DRAFT)
    if region:
        qs = qs.filter(partnership__lead_school__region=region)
    if phase:
        qs = qs.filter(partnership__lead_school__phase=phase)
    return qs.order_by("-submitted_at", "-created_at", "-pk")


@dataclass(frozen=True)
class CohortBudget:
    budget: Decimal
    awarded: Decimal
    released: Decimal
    paid: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.awarded

    @property
    def to_pay(self) -> Decimal:
        """Awarded but not yet paid."""
        return self.awarded - self.paid


def cohort_budget(cohort: Cohort) -> CohortBudget:
    """Awarded (approved and completed grants), released and paid instalments, and what remains."""
    zero = Decimal(0)

    def total(qs, field):  # one sum, as a subquery of the single query below
        summed = qs.order_by().annotate(_all=Value(1)).values("_all").annotate(t=Sum(field)).values("t")
        return Coalesce(Subquery(summed, output_field=MONEY_FIELD), zero, output_field=MONEY_FIELD)

    payments = Payment.objects.filter(application__cohort=cohort)
    figures = (
        Cohort.objects.filter(pk=cohort.pk)
        .annotate(
            awarded_total=total(
                Application.objects.filter(cohort=cohort, status__in=AWARDED_STATES), "awarded"
            ),
            released_total=total(
                payments.filter(status__in=[Payment.Status.RELEASED, Payment.Status.PAID]), "amount"
            ),
            paid_total=total(payments.filter(status=Payment.Status.PAID), "amount"),
        )
        .values("awarded_total", "released_total", "paid_total")
        .get()
    )
    return CohortBudget(
        budget=cohort.budget,
        awarded=figures["awarded_total"],
        released=figures["released_total"],
        paid=figures["paid_total"],
    )


# --- Who hears about an application (messaging.send's recipients) ----------------------------


def application_leads(application) -> QuerySet[User]:
    """The lead school's verified leads: every decision on an application goes to these (an
    unverified claimant hears nothing)."""
    return school_contacts(application.partnership.lead_school_id)


def programme_staff(application) -> QuerySet[User]:
    """The staff of the application's programme: every submission and applicant's message goes to
    these, except staff with a conflict of interest on it (grants.conflicts: linked to one of its
    schools, its trust or federation, or a declared conflict; an override with a reason counts as
    cleared). Those are neither notified nor e-mailed about it."""
    staff = User.objects.filter(is_active=True, programmes__id=application.cohort.programme_id).distinct()
    conflicted = conflicts.conflicted_user_ids(application, list(staff.values_list("pk", flat=True)))
    return staff.exclude(pk__in=conflicted).order_by("pk")


def current_extension(application):
    """The application's current deadline extension (grants.extensions), or None."""
    from grants.models import DeadlineExtension

    return DeadlineExtension.objects.filter(application_id=application.pk, is_current=True).first()


_LOOK_IT_UP = object()


def submission_closes_at(application, extension=_LOOK_IT_UP):
    """When the application can last be submitted: the round's deadline, or its own extension's
    when staff gave it one (a later moment: the database holds that). Pass `extension` (or None)
    when it is known already."""
    if extension is _LOOK_IT_UP:
        extension = current_extension(application)
    closes = application.cohort.applications_close_at
    return max(closes, extension.until) if extension is not None else closes


def submission_window_open(application, at=None) -> bool:
    from django.utils import timezone

    at = at or timezone.now()
    return application.cohort.applications_open_at <= at <= submission_closes_at(application)
