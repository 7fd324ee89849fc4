"""The panel (issue 17): a cohort's applications ranked by their reviewers' mean weighted score,
each reviewer's score, the spread and a flag where reviewers disagree, and a running funding
line against the cohort's remaining budget. Reads only; decisions go through
grants.services.application_approve / application_reject (grants/review_views.py).
A fixed number of queries whatever the cohort's size."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch

from grants import conflicts, review
from grants.models import Application, Review
from grants.selectors import cohort_budget

S = Application.Status
PANEL_STATES = (S.SUBMITTED, S.CHANGES_REQUESTED, S.APPROVED, S.REJECTED)


@dataclass
class PanelRow:
    application: Application
    scores: list  # (reviewer name, weighted score, scale, recommendation label)
    mean: Decimal | None
    normalised: Decimal | None  # mean as a share of the scale, for ranking across rubric versions
    spread: Decimal | None
    disagree: bool
    conflicted: bool = False  # the viewer has a conflict: scores hidden, no decision offered
    rank: int = 0
    running_total: Decimal = Decimal(0)
    above_line: bool = False


@dataclass
class Panel:
    rows: list[PanelRow] = field(default_factory=list)
    budget: object = None
    remaining: Decimal = Decimal(0)
    line_total: Decimal = Decimal(0)  # undecided applications above the funding line


def _reviewer_name(user) -> str:
    return user.get_full_name() or user.username


PANEL_PAGE_SIZE = 50


def panel_for(cohort, viewer=None, page=None) -> Panel:
    """The whole cohort ranked (the funding line needs every row), but the viewer's conflicts are
    looked up only for the rows shown: `page` is a (start, stop) slice of the ranking, or None
    for every row."""
    threshold = review.settings_for(cohort.programme).disagreement_threshold
    current = (
        Review.objects.filter(is_current=True)
        .select_related("reviewer", "rubric")
        .order_by("reviewer__last_name", "reviewer_id")
    )
    applications = (
        Application.objects.filter(cohort=cohort, status__in=PANEL_STATES)
        .select_related("partnership__lead_school", "cohort")
        .prefetch_related(Prefetch("reviews", queryset=current, to_attr="current_reviews"))
        .order_by("submitted_at", "pk")
    )
    applications = list(applications)
    rows = []
    for a in applications:
        reviews = a.current_reviews
        scores = [
            (_reviewer_name(r.reviewer), r.weighted_score, r.rubric.scale_max, r.get_recommendation_display())
            for r in reviews
        ]
        if reviews:
            values = [r.weighted_score for r in reviews]
            mean = (sum(values) / len(values)).quantize(Decimal("0.001"))
            normalised = sum(r.weighted_score / r.rubric.scale_max for r in reviews) / len(reviews)
            spread = max(values) - min(values)
            recommendations = {r.recommendation for r in reviews}
            disagree = (
                spread > threshold
                or {
                    Review.Recommendation.FUND,
                    Review.Recommendation.DO_NOT_FUND,
                }
                <= recommendations
            )
        else:
            mean = normalised = spread = None
            disagree = False
        rows.append(PanelRow(a, scores, mean, normalised, spread, disagree))
    # Highest first; applications without reviews last, then by submission.
    rows.sort(key=lambda r: (r.normalised is None, -(r.normalised or 0)))
    budget = cohort_budget(cohort)
    remaining = budget.remaining
    cumulative, funded, line_reached = Decimal(0), Decimal(0), False
    for n, row in enumerate(rows, start=1):
        row.rank = n
        if row.application.status != S.SUBMITTED:
            continue  # decided already: its award (if any) is in the budget's awarded figure
        cumulative += row.application.requested
        row.running_total = cumulative
        if not line_reached and cumulative <= remaining:
            row.above_line = True
            funded = cumulative
        else:
            line_reached = True  # the line is drawn at the first application that does not fit
    if viewer is not None:
        shown = rows if page is None else rows[page[0] : page[1]]
        found = conflicts.conflicts_for_many([viewer.pk], [r.application for r in shown])
        for row in shown:
            row.conflicted = (viewer.pk, row.application.pk) in found
    return Panel(rows=rows, budget=budget, remaining=remaining, line_total=funded)
