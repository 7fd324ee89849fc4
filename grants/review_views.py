"""Review pages (issue 17). Reviewers: their assignments and the one-form review, showing only
what reviewing needs (names hidden under blind review), and declaring a conflict. Programme
staff: an application's reviewers (assign by hand, see conflicts and why), automatic assignment
for a cohort, the programme's rubric and review settings, and the cohort's panel with its
funding line and decisions for many applications at once, each confirmed first."""

from collections import Counter
from decimal import Decimal, InvalidOperation
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from grants import conflicts, extensions, review, services
from grants import review_forms as rf
from grants.blind import texts_for_reviewer as blind_texts
from grants.models import Application, DeadlineExtension, Review, ReviewerAssignment
from grants.panel import PANEL_PAGE_SIZE, PANEL_STATES, panel_for
from grants.selectors import (
    applications_for,
    cohort_budget,
    has_conflict_of_interest,
    may_review,
    submission_closes_at,
)
from grants.views import _add_errors, _application, dry_run
from partnerships.models import Membership
from partnerships.selectors import cohorts_for, programmes_for
from portal.decorators import staff_required
from portal.money import format_gbp
from portal.roles import Role, is_in_reviewers_group, role_of


def reviewer_required(view):
    """Reviewers (the Reviewers group, whatever else the person is: a teacher who leads a school
    may review for another programme), programme staff and admins."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not (is_in_reviewers_group(request.user) or role_of(request.user) in (Role.STAFF, Role.ADMIN)):
            raise PermissionDenied("This page is for reviewers and programme staff.")
        return view(request, *args, **kwargs)

    return wrapper


S = Application.Status


# --- Reviewers --------------------------------------------------------------------------------


@reviewer_required
def my_reviews(request):
    assignments = (
        ReviewerAssignment.objects.filter(reviewer=request.user, active=True)
        .select_related("application__cohort__programme__review_settings", "application__partnership")
        .order_by("application__cohort__applications_close_at", "application__reference")
    )
    done = set(
        Review.objects.filter(reviewer=request.user, is_current=True).values_list("application_id", flat=True)
    )
    rows = []
    for a in assignments:
        blind = _blind(a.application)
        rows.append((a, blind, a.application_id in done))
    return render(request, "grants/my_reviews.html", {"rows": rows})


def _blind(application) -> bool:
    settings = getattr(application.cohort.programme, "review_settings", None)
    return bool(settings and settings.blind_review)


def _my_assignment(request, pk) -> ReviewerAssignment:
    """The reviewer's own active assignment, else 404: nothing of an application not assigned."""
    return get_object_or_404(
        ReviewerAssignment.objects.filter(reviewer=request.user, active=True).select_related(
            "application__cohort__programme", "application__partnership__lead_school"
        ),
        pk=pk,
    )


def _review_page(request, assignment, form=None, conflict_form=None, status=200):
    application = assignment.application
    blind = _blind(application)
    rubric = review.rubric_current(application.cohort.programme)
    memberships = list(
        Membership.objects.filter(partnership=application.partnership)
        .exclude(status=Membership.Status.DECLINED)
        .select_related("school")
        .order_by("-role", "school__name")
    )
    confirmed = [m for m in memberships if m.status == Membership.Status.CONFIRMED]
    mine = list(
        Review.objects.filter(application=application, reviewer=request.user)
        .select_related("rubric")
        .prefetch_related("scores__criterion")
        .order_by("-submitted_at", "-pk")
    )
    current = next((r for r in mine if r.is_current), None)
    texts, lines = blind_texts(application, blind=blind)  # under blind review, names redacted
    if form is None and rubric is not None:
        initial = {}
        if current is not None and current.rubric_id == rubric.pk:
            initial = {
                "recommendation": current.recommendation,
                "comment": current.comment,
                "private_note": current.private_note,
            }
            for s in current.scores.all():
                initial[f"score_{s.criterion_id}"] = s.score
                initial[f"comment_{s.criterion_id}"] = s.comment
        form = rf.ReviewForm(rubric=rubric, initial=initial)
    return render(
        request,
        "grants/review_page.html",
        {
            "assignment": assignment,
            "application": application,
            "blind": blind,
            "rubric": rubric,
            "form": form,
            "memberships": memberships,
            "confirmed": len(confirmed),
            "phase_mix": Counter(m.school.get_phase_display() for m in confirmed).most_common(),
            "texts": texts,
            "budget_lines": lines,
            "history": mine,
            "conflict_form": conflict_form or rf.ConflictDeclareForm(),
            "conflicts": conflicts.conflicts(request.user, application),
            "editable": application.status in review.UNDER_REVIEW,
        },
        status=status,
    )


@reviewer_required
def review_page(request, assignment_pk):
    assignment = _my_assignment(request, assignment_pk)
    application = assignment.application
    if request.method != "POST":
        return _review_page(request, assignment)
    rubric = review.rubric_current(application.cohort.programme)
    if rubric is None:
        return _review_page(request, assignment, status=400)
    form = rf.ReviewForm(request.POST, rubric=rubric)
    if form.is_valid():
        try:
            review.review_submit(
                application_id=application.pk,
                by=request.user,
                scores=form.scores(),
                recommendation=form.cleaned_data["recommendation"],
                comment=form.cleaned_data["comment"],
                private_note=form.cleaned_data["private_note"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, "Review saved. You can revise it while the application is under review."
            )
            return redirect("grants:my_reviews")
    return _review_page(request, assignment, form=form)


@reviewer_required
@require_POST
def conflict_declare(request, assignment_pk):
    assignment = _my_assignment(request, assignment_pk)
    form = rf.ConflictDeclareForm(request.POST)
    if form.is_valid():
        try:
            review.conflict_declare(
                application_id=assignment.application_id, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Conflict declared: you are no longer assigned to this application.")
            return redirect("grants:my_reviews")
    return _review_page(request, assignment, conflict_form=form)


# --- Staff: an application's reviewers ---------------------------------------------------------


def _manage(request, pk) -> Application:
    application = _application(request, pk)
    if (
        not may_review(request.user, application)
        or has_conflict_of_interest(request.user, application)
        or (conflicts.is_conflicted(request.user, application))
    ):
        raise PermissionDenied(
            "You have a conflict of interest with this application, so you may not manage its review."
        )
    return application


def _reviewers_page(request, application, form=None):
    programme = application.cohort.programme
    pool = list(review.reviewer_pool(programme))
    found = conflicts.conflicts_for_many([u.pk for u in pool], [application])
    load = review.loads(programme, [u.pk for u in pool])
    assignments = list(
        ReviewerAssignment.objects.filter(application=application).select_related("reviewer", "assigned_by")
    )
    active = {a.reviewer_id for a in assignments if a.active}
    rows = [(u, found.get((u.pk, application.pk), []), load.get(u.pk, 0), u.pk in active) for u in pool]
    return render(
        request,
        "grants/reviewers.html",
        {
            "application": application,
            "rows": rows,
            "assignments": assignments,
            "form": form or rf.AssignForm(reviewers=review.reviewer_pool(programme)),
            "under_review": application.status in review.UNDER_REVIEW,
        },
    )


@staff_required
def application_reviewers(request, pk):
    application = _manage(request, pk)
    if request.method != "POST":
        return _reviewers_page(request, application)
    form = rf.AssignForm(request.POST, reviewers=review.reviewer_pool(application.cohort.programme))
    if form.is_valid():
        try:
            review.assignment_add(
                application_id=application.pk,
                reviewer_id=form.cleaned_data["reviewer"].pk,
                by=request.user,
                override_reason=form.cleaned_data["override_reason"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Reviewer assigned.")
            return redirect("grants:application_reviewers", pk=pk)
    return _reviewers_page(request, application, form)


@staff_required
@require_POST
def assignment_end(request, pk, assignment_pk):
    application = _manage(request, pk)
    assignment = get_object_or_404(
        ReviewerAssignment.objects.filter(application=application), pk=assignment_pk
    )
    review.assignment_end(assignment_id=assignment.pk, by=request.user)
    messages.success(request, "Reviewer unassigned; their reviews so far are kept.")
    return redirect("grants:application_reviewers", pk=pk)


@staff_required
@require_POST
def auto_assign(request, cohort_pk):
    cohort = get_object_or_404(cohorts_for(request.user), pk=cohort_pk)
    form = rf.AutoAssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose from 1 to 10 reviewers per application.")
        return redirect("grants:panel", cohort_pk=cohort.pk)
    result = review.assign_automatically(
        cohort_id=cohort.pk, by=request.user, per_application=form.cleaned_data["per_application"]
    )
    text = f"{result.assigned} assignments made."
    if result.short:
        text += (
            " Not enough reviewers without a conflict for: "
            + ", ".join(f"{a.reference} ({n} missing)" for a, n in result.short)
            + "."
        )
    messages.success(request, text)
    return redirect("grants:panel", cohort_pk=cohort.pk)


# --- Staff: the rubric and review settings ----------------------------------------------------


def _programme_for_staff(request, programme_pk):
    programme = get_object_or_404(programmes_for(request.user), pk=programme_pk)
    return programme


@staff_required
def rubric_edit(request, programme_pk):
    programme = _programme_for_staff(request, programme_pk)
    current = review.rubric_current(programme)
    settings = review.settings_for(programme)
    if request.method == "POST" and "settings" in request.POST:
        settings_form = rf.ReviewSettingsForm(request.POST, prefix="settings")
        rubric_form = rf.RubricForm(initial={"scale_max": current.scale_max if current else 5})
        formset = _criteria_formset(current)
        if settings_form.is_valid():
            try:
                review.settings_save(programme_id=programme.pk, by=request.user, **settings_form.cleaned_data)
            except ValidationError as exc:
                _add_errors(settings_form, exc)
            except PermissionDenied:
                raise
            else:
                messages.success(request, "Review settings saved.")
                return redirect("grants:rubric_edit", programme_pk=programme.pk)
    elif request.method == "POST":
        settings_form = _settings_form(settings)
        rubric_form = rf.RubricForm(request.POST)
        formset = rf.CriterionFormSet(request.POST, prefix="criteria")
        if rubric_form.is_valid() and formset.is_valid():
            specs = [
                review.CriterionSpec(
                    name=f.cleaned_data["name"],
                    weight=f.cleaned_data["weight"],
                    guidance=f.cleaned_data.get("guidance", ""),
                    descriptors=f.descriptor_list(),
                )
                for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            try:
                rubric = review.rubric_publish(
                    programme_id=programme.pk,
                    by=request.user,
                    scale_max=rubric_form.cleaned_data["scale_max"],
                    criteria=specs,
                )
            except ValidationError as exc:
                _add_errors(rubric_form, exc)
            else:
                messages.success(request, f"Rubric version {rubric.version} published.")
                return redirect("grants:rubric_edit", programme_pk=programme.pk)
    else:
        settings_form = _settings_form(settings)
        rubric_form = rf.RubricForm(initial={"scale_max": current.scale_max if current else 5})
        formset = _criteria_formset(current)
    return render(
        request,
        "grants/rubric_edit.html",
        {
            "programme": programme,
            "current": current,
            "settings_form": settings_form,
            "rubric_form": rubric_form,
            "formset": formset,
        },
    )


def _settings_form(settings):
    return rf.ReviewSettingsForm(
        prefix="settings",
        initial={
            "blind_review": settings.blind_review,
            "conflict_same_local_authority": settings.conflict_same_local_authority,
            "reviewers_per_application": settings.reviewers_per_application,
            "disagreement_threshold": settings.disagreement_threshold,
        },
    )


def _criteria_formset(current):
    initial = []
    if current is not None:
        initial = [
            {
                "name": c.name,
                "weight": c.weight,
                "guidance": c.guidance,
                "descriptors": "\n".join(c.descriptors),
            }
            for c in current.criteria.all()
        ]
    return rf.CriterionFormSet(initial=initial, prefix="criteria")


# --- Staff: the panel ---------------------------------------------------------------------------


@staff_required
def panel(request, cohort_pk):
    cohort = get_object_or_404(cohorts_for(request.user), pk=cohort_pk)
    return render(request, "grants/panel.html", _panel_context(request, cohort))


def _panel_context(request, cohort, errors=None, values=None):
    """The ranking, shown PANEL_PAGE_SIZE rows a page (the funding line and running totals are
    the whole cohort's); decisions are made on the page shown."""
    count = Application.objects.filter(cohort=cohort, status__in=PANEL_STATES).count()
    page = Paginator(range(count), PANEL_PAGE_SIZE).get_page(
        request.GET.get("page") or request.POST.get("page")
    )
    data = panel_for(cohort, viewer=request.user, page=(page.start_index() - 1, page.end_index()))
    settings = review.settings_for(cohort.programme)
    return {
        "cohort": cohort,
        "panel": data,
        "page": page,
        "rows": data.rows[max(page.start_index() - 1, 0) : page.end_index()],
        "errors": errors or [],
        "values": values or {},
        "auto_form": rf.AutoAssignForm(initial={"per_application": settings.reviewers_per_application}),
    }


def _panel_choices(request, cohort) -> tuple[list, list[str], str]:
    """The decisions posted: [(application, "approve"|"reject", amount)], errors, the rejection reason."""
    errors, chosen = [], []
    ids = []
    for key, value in request.POST.items():
        if key.startswith("decision_") and value in ("approve", "reject"):
            try:
                ids.append((int(key.removeprefix("decision_")), value))
            except ValueError:
                errors.append("An unknown application was posted.")
    found = {
        a.pk: a
        for a in applications_for(request.user)
        .filter(cohort=cohort, pk__in=[i for i, _ in ids])
        .select_related("partnership", "cohort__programme")
    }
    for pk, decision in ids:
        application = found.get(pk)
        if application is None:
            errors.append("An application not in this cohort was posted.")
            continue
        amount = None
        if decision == "approve":
            raw = request.POST.get(f"amount_{pk}", "")
            try:
                amount = Decimal(raw).quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError):
                errors.append(f"{application.reference}: enter the award in pounds and pence.")
                continue
            if not amount.is_finite() or amount <= 0:
                errors.append(f"{application.reference}: enter an award of more than £0.00.")
                continue
        chosen.append((application, decision, amount))
    reason = (request.POST.get("reason") or "").strip()
    if any(d == "reject" for _, d, _ in chosen) and not reason:
        errors.append("Give the reason the leads of rejected applications will read.")
    if len(reason) > services.COMMENT_LIMIT:
        errors.append(f"Keep the reason to {services.COMMENT_LIMIT:,} characters.")
    if not chosen and not errors:
        errors.append("Choose at least one application to decide.")
    return chosen, errors, reason


@staff_required
@require_POST
def panel_decide(request, cohort_pk):
    """First post: the confirmation (each decision, the total awarded, the budget left after).
    Second post (confirm=yes): every decision through the same services, all or none."""
    cohort = get_object_or_404(cohorts_for(request.user), pk=cohort_pk)
    chosen, errors, reason = _panel_choices(request, cohort)
    values = {k: v for k, v in request.POST.items() if k.startswith(("decision_", "amount_"))}
    if errors:
        return render(
            request, "grants/panel.html", _panel_context(request, cohort, errors, values), status=400
        )
    total = sum((amount for _, d, amount in chosen if d == "approve"), Decimal(0))
    budget = cohort_budget(cohort)
    if request.POST.get("confirm") != "yes":
        try:
            with dry_run():  # the confirmation is shown only for decisions that would all go through
                review.panel_decide(
                    cohort_id=cohort.pk,
                    by=request.user,
                    decisions=[(a.pk, d, amount) for a, d, amount in chosen],
                    reason=reason,
                )
        except ValidationError as exc:
            context = _panel_context(request, cohort, exc.messages, values)
            return render(request, "grants/panel.html", context, status=400)
        lines = [
            f"{'Fund' if d == 'approve' else 'Reject'} {a.reference} ({a.partnership.name})"
            + (f": {format_gbp(amount)}" if d == "approve" else "")
            for a, d, amount in chosen
        ]
        lines.append(f"Total awarded by these decisions: {format_gbp(total)}.")
        lines.append(
            f"The cohort's remaining budget goes from {format_gbp(budget.remaining)} to "
            f"{format_gbp(budget.remaining - total)}."
        )
        if reason:
            lines.append(f"Reason given to the leads of rejected applications: “{reason}”")
        lines.append("Each lead school is told. These decisions cannot be undone here.")
        return render(
            request,
            "grants/confirm.html",
            {
                "title": f"Record {len(chosen)} panel decision{'s' if len(chosen) != 1 else ''}?",
                "lines": lines,
                "button": "Yes, record these decisions",
                "button_class": "btn-success",
                "fields": [],
                "extra_fields": [
                    *values.items(),
                    ("reason", reason),
                    ("page", request.POST.get("page", "1")),
                ],
                "action": request.path,
                "back": reverse("grants:panel", args=[cohort.pk]),
            },
        )
    try:
        review.panel_decide(
            cohort_id=cohort.pk,
            by=request.user,
            decisions=[(a.pk, d, amount) for a, d, amount in chosen],
            reason=reason,
        )
    except ValidationError as exc:
        context = _panel_context(request, cohort, [*exc.messages, "Nothing was recorded."], values)
        return render(request, "grants/panel.html", context, status=400)
    messages.success(request, f"{len(chosen)} decisions recorded; the leads have been told.")
    page = request.POST.get("page", "")
    suffix = f"?page={page}" if page.isdigit() and page != "1" else ""
    return redirect(reverse("grants:panel", args=[cohort.pk]) + suffix)


# --- Staff: deadline extensions ----------------------------------------------------------------


@staff_required
def application_extension(request, pk):
    """Give one draft application more time, or reopen its window (grants/extensions.py)."""
    application = _manage(request, pk)
    form = rf.ExtensionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and application.status != S.DRAFT:
        form.is_valid()
        form.add_error(None, "Only an application not yet submitted can be given more time.")
    elif request.method == "POST" and form.is_valid():
        try:
            extensions.extension_grant(
                application_id=application.pk,
                by=request.user,
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Deadline changed; the lead school has been told.")
            return redirect("grants:application_detail", pk=pk)
    history = list(
        DeadlineExtension.objects.filter(application=application).select_related("by").order_by("-granted_at")
    )
    current = next((e for e in history if e.is_current), None)
    return render(
        request,
        "grants/extension.html",
        {
            "application": application,
            "form": form,
            "extensions": history,
            "round_closes": application.cohort.applications_close_at,
            "closes": submission_closes_at(application, current),
            "is_draft": application.status == S.DRAFT,
        },
    )
