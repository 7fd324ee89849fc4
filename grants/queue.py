"""The staff review queue as officers use it (issue 17): the current rounds by default (closed
rounds behind a filter), search by reference, partnership, school name or URN, sort by any
column, filters for cohort, state, reviewer, score, region and phase, "assigned to me", and
counts per state. Every page of it is a fixed number of queries whatever the number of
applications: the per-row figures are subqueries, never a query per row."""

from dataclasses import dataclass

from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from grants.models import Application, Review, ReviewerAssignment
from grants.selectors import applications_for
from partnerships.models import Membership

S = Application.Status


class Round:
    CURRENT = "current"
    CLOSED = "closed"
    ALL = "all"
    CHOICES = [
        (CURRENT, "Current rounds (delivery not yet ended)"),
        (CLOSED, "Closed rounds"),
        (ALL, "All rounds"),
    ]


# sort key -> (label, order_by fields). "-key" sorts the other way.
SORTS = {
    "reference": ("Reference", ["reference"]),
    "partnership": ("Partnership", ["partnership__name"]),
    "lead_school": ("Lead school", ["partnership__lead_school__name"]),
    "region": ("Region", ["partnership__lead_school__region"]),
    "phase": ("Phase", ["partnership__lead_school__phase"]),
    "cohort": ("Cohort", ["cohort__starts_on", "cohort__name"]),
    "schools": ("Schools", ["confirmed_schools"]),
    "status": ("Status", ["status"]),
    "submitted": ("Submitted", ["submitted_at"]),
    "requested": ("Requested", ["requested"]),
    "score": ("Mean score", ["mean_score"]),
    "reviews": ("Reviews", ["reviews_done"]),
}
DEFAULT_SORT = "-submitted"


@dataclass(frozen=True)
class QueueFilters:
    q: str = ""
    cohort: object = None
    round: str = Round.CURRENT
    status: str = ""
    region: str = ""
    phase: str = ""
    reviewer: object = None
    assigned_to_me: bool = False
    min_score: float | None = None
    sort: str = DEFAULT_SORT


def _current_review_scores():
    """Mean weighted score and number of current reviews per application (grants.review)."""
    current = Review.objects.filter(application=OuterRef("pk"), is_current=True).values("application")
    return (
        Subquery(current.annotate(a=Avg("weighted_score")).values("a"), output_field=FloatField()),
        Coalesce(Subquery(current.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), 0),
    )


def base_queue(user, filters: QueueFilters) -> QuerySet[Application]:
    """Every filter but the state: the counts per state are taken from this."""
    qs = applications_for(user).exclude(status=S.DRAFT)
    if filters.cohort is not None:
        qs = qs.filter(cohort=filters.cohort)
    elif filters.round == Round.CURRENT:
        qs = qs.filter(cohort__ends_on__gte=timezone.localdate())
    elif filters.round == Round.CLOSED:
        qs = qs.filter(cohort__ends_on__lt=timezone.localdate())
    if filters.region:
        qs = qs.filter(partnership__lead_school__region=filters.region)
    if filters.phase:
        qs = qs.filter(partnership__lead_school__phase=filters.phase)
    q = filters.q.strip()
    if q:
        schools = Membership.objects.filter(partnership=OuterRef("partnership_id")).exclude(
            status=Membership.Status.DECLINED
        )
        school_match = Q(school__name__icontains=q)
        if q.isdigit():
            school_match |= Q(school__urn=int(q))
        qs = qs.filter(
            Q(reference__icontains=q)
            | Q(partnership__name__icontains=q)
            | Q(partnership__lead_school__name__icontains=q)
            | Exists(schools.filter(school_match))
        )
    if filters.assigned_to_me:
        qs = qs.filter(
            Exists(ReviewerAssignment.objects.filter(application=OuterRef("pk"), reviewer=user, active=True))
        )
    if filters.reviewer is not None:
        qs = qs.filter(
            Exists(
                ReviewerAssignment.objects.filter(
                    application=OuterRef("pk"), reviewer=filters.reviewer, active=True
                )
            )
        )
    return qs


def review_queue(user, filters: QueueFilters) -> QuerySet[Application]:
    confirmed = (
        Membership.objects.filter(partnership=OuterRef("partnership_id"), status=Membership.Status.CONFIRMED)
        .values("partnership")
        .annotate(n=Count("pk"))
        .values("n")
    )
    mean_score, reviews_done = _current_review_scores()
    qs = (
        base_queue(user, filters)
        .select_related("partnership__lead_school", "cohort__programme")
        .annotate(
            confirmed_schools=Coalesce(Subquery(confirmed, output_field=IntegerField()), 0),
            mean_score=mean_score,
            reviews_done=reviews_done,
        )
    )
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.min_score is not None:
        qs = qs.filter(mean_score__gte=filters.min_score)
    key = filters.sort.lstrip("-")
    descending = filters.sort.startswith("-")
    fields = SORTS.get(key, SORTS["submitted"])[1]
    order = [
        (F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)) for name in fields
    ]
    return qs.order_by(*order, "-pk" if descending else "pk")


def state_counts(user, filters: QueueFilters) -> list[tuple[str, str, int]]:
    """(state, label, count) for every state but draft, in the order of the states: one query."""
    counts = dict(
        base_queue(user, filters)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return [(value, label, counts.get(value, 0)) for value, label in S.choices if value != S.DRAFT]
