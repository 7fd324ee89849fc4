"""Grants pages: the lead's multi-step application and end-of-grant report, the staff review
queue, application page and decisions, the cohort budget and payments. Views stay thin: objects
come through grants.selectors (404 otherwise), writes through grants.services, whose
ValidationErrors become form errors."""

from collections import Counter
from contextlib import contextmanager
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import DecimalField, Q, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from grants import conflicts, payments, queue, selectors, services
from grants import forms as f
from grants import reports as report_schedule
from grants import review_forms as rf
from grants.history import REVIEW_ONLY_ACTIONS, describe
from grants.models import (
    Application,
    ApplicationMessage,
    Attachment,
    AuditEvent,
    EndOfGrantReport,
    Payment,
    Review,
    ReviewerAssignment,
)
from grants.reports import IMPACT_ANSWERS, IMPACT_QUESTIONS
from grants.selectors import (
    AWARDED_STATES,
    applications_for,
    cohort_budget,
    has_conflict_of_interest,
    is_lead_of,
    may_review,
)
from partnerships.eligibility import ineligibility_reasons, shortfall
from partnerships.models import School
from partnerships.selectors import cohorts_for, led_partnerships_for
from portal.ajax import GONE, json_endpoint, refused
from portal.decorators import lead_required, staff_required
from portal.money import format_gbp
from portal.pagecache import page_cache
from portal.roles import Role, role_of

S = Application.Status
PAGE_SIZE = 25


def _add_errors(form, exc: ValidationError) -> None:
    """Attach a service's ValidationError to the form: to the field it names, else to the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _application(request, pk) -> Application:
    return get_object_or_404(
        applications_for(request.user).select_related("partnership__lead_school", "cohort__programme"), pk=pk
    )


def _ensure_lead(request, application) -> None:
    if not is_lead_of(request.user, application.partnership):
        raise PermissionDenied("Only a lead of the partnership's lead school can change its application.")


# --- Lead: my applications, start ---------------------------------------------------------


@lead_required
def my_applications(request):
    led = led_partnerships_for(request.user).select_related("cohort__programme", "lead_school", "application")
    other = (
        applications_for(request.user)
        .exclude(partnership__in=led_partnerships_for(request.user))
        .select_related("partnership", "cohort__programme")
    )
    return render(request, "grants/my_applications.html", {"led": led, "other": other})


@lead_required
def application_start(request, partnership_pk):
    partnership = get_object_or_404(
        led_partnerships_for(request.user).select_related("cohort__programme", "lead_school"),
        pk=partnership_pk,
    )
    existing = Application.objects.filter(partnership=partnership).first()
    if existing is not None:
        return redirect("grants:application_detail", pk=existing.pk)
    form = f.StartForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_start(partnership_id=partnership.pk, by=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, "Application started. It is saved as you go: come back to it at any time."
            )
            return redirect("grants:application_step", pk=application.pk, step=1)
    return render(
        request,
        "grants/start.html",
        {
            "partnership": partnership,
            "cohort": partnership.cohort,
            "form": form,
            "is_open": partnership.cohort.is_open_for_applications(),
            "shortfall": shortfall(partnership),
        },
    )


# --- Lead: the multi-step form ----------------------------------------------------------------


def _step_forms(application, step, data=None):
    _title, form_class = f.STEPS[step]
    initial = {name: getattr(application, name) for name in form_class.base_fields if name != "partnership"}
    form = form_class(data, application=application, initial=initial)
    formset = None
    if step == 4:
        lines = [
            {"category": b.category, "amount": b.amount, "note": b.note}
            for b in application.budget_lines.all()
        ]
        formset = f.BudgetLineFormSet(
            data, initial=lines, prefix="lines", form_kwargs={"cap": application.grant_cap}
        )
    return form, formset


def _save_step(request, application, step):
    """Validate one step's form and save it into the draft. Returns (form, formset, saved)."""
    form, formset = _step_forms(application, step, request.POST)
    form_ok = form.is_valid()
    formset_ok = formset is None or formset.is_valid()
    if not (form_ok and formset_ok):
        return form, formset, False
    fields = {k: v for k, v in form.cleaned_data.items() if k != "partnership"}
    lines = None
    if formset is not None:
        lines = [
            {
                "category": x.cleaned_data["category"],
                "amount": x.cleaned_data["amount"],
                "note": x.cleaned_data["note"],
            }
            for x in formset.forms
            if x.cleaned_data and not x.cleaned_data.get("DELETE")
        ]
    try:
        services.application_save_draft(
            application_id=application.pk,
            by=request.user,
            fields=fields,
            budget_lines=lines,
            current_step=step,
        )
    except ValidationError as exc:
        _add_errors(form, exc)
        return form, formset, False
    return form, formset, True


def _changes_comment(application):
    """While changes are requested, the staff comment that asked for them (shown on every step)."""
    if application.status != Application.Status.CHANGES_REQUESTED:
        return None
    return (
        AuditEvent.objects.filter(application=application, to_status=Application.Status.CHANGES_REQUESTED)
        .order_by("-at", "-pk")
        .first()
    )


def _steps_done(application) -> set[int]:
    missing = services.application_missing(application)
    open_steps = {m.step for m in missing}
    return {n for n in f.STEPS if n != 6 and n not in open_steps}  # step 6 is the review itself


def _step_context(application, step, form, formset):
    return {
        "changes_requested": _changes_comment(application),
        "application": application,
        "step": step,
        "step_title": f.STEPS[step][0],
        "steps": [(n, title) for n, (title, _) in f.STEPS.items()],
        # Done marks on the step tabs: a step with nothing left on the checklist (issue 21).
        "steps_done": _steps_done(application),
        "form": form,
        "formset": formset,
        "editable": application.status in services.EDITABLE_STATES,
        "autosave_url": reverse("grants:application_autosave", args=[application.pk, step]),
    }


@lead_required
def application_step(request, pk, step):
    if step not in f.STEPS or step == 6:
        raise Http404("There is no such step.")
    application = _application(request, pk)
    _ensure_lead(request, application)
    if request.method == "POST":
        form, formset, saved = _save_step(request, application, step)
        if saved:
            if "stay" in request.POST:
                messages.success(request, "Saved.")
                return redirect("grants:application_step", pk=pk, step=step)
            if step == 5:
                return redirect("grants:application_review", pk=pk)
            return redirect("grants:application_step", pk=pk, step=step + 1)
    else:
        form, formset = _step_forms(application, step)
    application.refresh_from_db(fields=["requested", "updated_at"])
    return render(request, "grants/step.html", _step_context(application, step, form, formset))


def _submission_deadline(application) -> dict:
    """The lead's own deadline for the page (detail, submit confirmation): an extension's, when
    staff gave one, else the round's."""
    extension = selectors.current_extension(application)
    return {
        "submission_closes_at": selectors.submission_closes_at(application, extension),
        "submission_extended": extension is not None,
    }


def _no_longer_editable(application, *, read_again: bool = False) -> JsonResponse | None:
    """The draft was submitted or withdrawn since the page was drawn (`read_again` after a
    refused save: the lock may have seen a newer state): a 409 the script shows."""
    status = application.status
    if read_again:
        status = Application.objects.filter(pk=application.pk).values_list("status", flat=True).first()
    if status is None:
        return refused(GONE, status=404)
    if status in services.EDITABLE_STATES:
        return None
    label = S(status).label.lower()
    return refused(f"This application is now {label}, so this change could not be saved.", status=409)


@json_endpoint
@lead_required
@require_POST
def application_autosave(request, pk, step):
    """The autosave script's endpoint: saves one step, answers JSON (never an error page: a
    draft deleted, submitted or withdrawn since the page was drawn is a 404 or 409 with words)."""
    if step not in f.STEPS or step == 6:
        raise Http404("There is no such step.")
    application = _application(request, pk)
    _ensure_lead(request, application)
    if (closed := _no_longer_editable(application)) is not None:
        return closed
    form, formset, saved = _save_step(request, application, step)
    if not saved:
        if (closed := _no_longer_editable(application, read_again=True)) is not None:
            return closed
        errors = form.errors.get_json_data()
        if formset is not None:
            errors["lines"] = [x.errors.get_json_data() for x in formset.forms]
            errors["lines_non_form"] = formset.non_form_errors().get_json_data()
        return JsonResponse({"saved": False, "errors": errors}, status=400)
    application.refresh_from_db(fields=["requested", "updated_at"])
    return JsonResponse(
        {
            "saved": True,
            "saved_at": application.updated_at.isoformat(),
            "saved_at_display": timezone.localtime(application.updated_at).strftime("%H:%M:%S"),
            "requested": format_gbp(application.requested),
        }
    )


@lead_required
def application_review(request, pk):
    """Step 6: the checklist of what is missing, and the submit button."""
    application = _application(request, pk)
    _ensure_lead(request, application)
    form = f.SubmitForm(request.POST if request.method == "POST" else None, application=application)
    if request.method == "POST" and form.is_valid():
        resubmit = application.status == S.CHANGES_REQUESTED
        submit = services.application_resubmit if resubmit else services.application_submit
        # First a confirmation page showing what will be submitted (the service runs for its
        # checks only); "Yes, submit" posts again with confirm=yes. Going back loses nothing:
        # every step is already saved.
        confirming = request.POST.get("confirm") != "yes"
        try:
            with dry_run(confirming):
                submit(application_id=application.pk, by=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if confirming:
                application.refresh_from_db()
                context = _step_context(application, 6, form, None)
                context.update(
                    budget_lines=application.budget_lines.all(),
                    resubmit=resubmit,
                    **_submission_deadline(application),
                )
                return render(request, "grants/submit_confirm.html", context)
            messages.success(request, "Application submitted. Programme staff have been told.")
            return redirect("grants:application_detail", pk=pk)
    context = _step_context(application, 6, form, None)
    context["missing"] = services.application_missing(application)
    context["budget_lines"] = application.budget_lines.all()
    return render(request, "grants/review.html", context)


@lead_required
@require_POST
def application_withdraw(request, pk):
    application = _application(request, pk)
    form = f.WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.application_withdraw(
                application_id=application.pk, by=request.user, comment=form.cleaned_data["comment"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "The application has been withdrawn.")
            return redirect("grants:application_detail", pk=pk)
    return _render_detail(request, application, {"withdraw_form": form})


# --- The application page (lead and staff) ----------------------------------------------------


def _render_detail(request, application, bound_forms=None):
    bound_forms = bound_forms or {}
    user = request.user
    role = role_of(user)
    staff_view = role in (Role.STAFF, Role.ADMIN)
    memberships = list(
        application.partnership.memberships.select_related("school").order_by("-role", "school__name")
    )
    programme = application.cohort.programme
    for m in memberships:
        m.reasons = ineligibility_reasons(m.school, programme)
    counted = [m for m in memberships if m.status == "confirmed" and not m.reasons]
    reports = list(
        EndOfGrantReport.objects.filter(application=application)
        .prefetch_related("spend", "activities", "evidence")
        .order_by("-kind")  # interim before final
    )
    for r in reports:
        r.current_evidence = [e for e in r.evidence.all() if e.superseded_at is None]
        r.impact_rows = [
            (IMPACT_QUESTIONS[q][1], IMPACT_ANSWERS.get(a, a))
            for q, a in r.impact.items()
            if q in IMPACT_QUESTIONS
        ]
    context = {
        "application": application,
        "programme": programme,
        "memberships": memberships,
        "confirmed_eligible": len(counted),
        "phase_mix": Counter(m.school.get_phase_display() for m in counted).most_common(),
        "budget_lines": application.budget_lines.all(),
        "files": Attachment.objects.filter(
            application=application, superseded_at__isnull=True, report__isnull=True
        ).select_related("attachment_type", "school"),
        "payments": application.payments.all(),
        "events": _history(application, staff_view),
        "reports": reports,
        "reports_due": report_schedule.reports_of(application, reports),
        "staff_view": staff_view,
        "is_lead": is_lead_of(user, application.partnership),
        "editable": application.status in services.EDITABLE_STATES,
        "withdrawable": application.status in (S.DRAFT, S.SUBMITTED),
        "under_review": application.status in (S.SUBMITTED, S.CHANGES_REQUESTED),
    }
    if application.status == S.DRAFT:
        context.update(_submission_deadline(application))
    if staff_view:
        conflict = has_conflict_of_interest(user, application) or conflicts.is_conflicted(user, application)
        context.update(
            {
                "conflict": conflict,
                "may_decide": may_review(user, application) and not conflict,
                # A conflicted staff member sees no reviewer's scores or comments.
                "reviews": Review.objects.none()
                if conflict
                else Review.objects.filter(application=application, is_current=True)
                .select_related("reviewer", "rubric")
                .prefetch_related("scores__criterion"),
                "assignments": ReviewerAssignment.objects.filter(
                    application=application, active=True
                ).select_related("reviewer"),
                "budget": cohort_budget(application.cohort),
                "request_changes_form": bound_forms.get("request_changes_form") or f.RequestChangesForm(),
                "approve_form": bound_forms.get("approve_form")
                or f.ApproveForm(initial={"amount": application.requested}),
                "reject_form": bound_forms.get("reject_form") or f.RejectForm(),
                "report_accept_form": bound_forms.get("report_accept_form") or f.ReportAcceptForm(),
                "report_return_form": bound_forms.get("report_return_form") or f.ReportReturnForm(),
            }
        )
    # Staff with a conflict of interest (they act for a school in the partnership) are kept out
    # of the conversation and its staff notes, as they are out of the decision.
    reviewer = staff_view and context["may_decide"]
    context.update(_conversation(application, reviewer, context["is_lead"], bound_forms.get("message_form")))
    context["withdraw_form"] = bound_forms.get("withdraw_form") or f.WithdrawForm()
    context["failed_form"] = next((form for form in bound_forms.values() if form.errors), None)
    context["latest_comment"] = (
        AuditEvent.objects.filter(application=application, to_status=Application.Status.CHANGES_REQUESTED)
        .order_by("-at", "-id")
        .first()
        if application.status == S.CHANGES_REQUESTED
        else None
    )
    return render(request, "grants/detail.html", context)


def _history(application, staff_view) -> list[tuple[AuditEvent, str]]:
    """The history in words. The applicant's side leaves out the review's own workings (who
    reviews it, their scores, conflicts): those are for programme staff."""
    events = AuditEvent.objects.filter(application=application).select_related("actor")
    if not staff_view:
        events = events.exclude(action__in=REVIEW_ONLY_ACTIONS)
    return [(e, describe(e)) for e in events]


def _conversation(application, staff_view, is_lead, bound_form=None) -> dict:
    """Programme staff see every message, staff notes marked; the lead school's leads see the
    messages that are not staff notes; anyone else who may see the application sees none."""
    if not (staff_view or is_lead):
        return {"show_conversation": False}
    messages_qs = ApplicationMessage.objects.filter(application=application).select_related("author")
    if not staff_view:
        messages_qs = messages_qs.filter(staff_only=False)
    form_class = f.StaffMessageForm if staff_view else f.MessageForm
    return {
        "show_conversation": True,
        "conversation": messages_qs,
        "message_form": bound_form or form_class(),
    }


@login_required
@require_POST
def application_message(request, pk):
    """Post to the conversation, scoped like the application page (404 otherwise)."""
    application = _application(request, pk)
    staff_view = role_of(request.user) in (Role.STAFF, Role.ADMIN)
    if staff_view and has_conflict_of_interest(request.user, application):
        raise PermissionDenied("You act for a school in this partnership, so you may not write here.")
    form = (f.StaffMessageForm if staff_view else f.MessageForm)(request.POST)
    if form.is_valid():
        try:
            services.message_post(
                application_id=application.pk,
                by=request.user,
                body=form.cleaned_data["body"],
                staff_only=staff_view and form.cleaned_data.get("staff_only", False),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                "Staff note kept." if form.cleaned_data.get("staff_only") else "Message sent.",
            )
            return redirect(reverse("grants:application_detail", args=[pk]) + "#conversation")
    return _render_detail(request, application, {"message_form": form})


@page_cache
@login_required
def application_detail(request, pk):
    return _render_detail(request, _application(request, pk))


def _staff_action(form_class, form_key, call, done, confirm=None):
    """A staff decision. With `confirm` (irreversible ones: approve, reject), a valid form first
    shows a confirmation page saying what will happen; only a post with confirm=yes acts."""

    @staff_required
    @require_POST
    def view(request, pk):
        application = _application(request, pk)
        form = form_class(request.POST)
        if form.is_valid():
            confirming = confirm is not None and request.POST.get("confirm") != "yes"
            try:
                with dry_run(confirming):
                    call(application=application, by=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                if confirming:  # every check passed and nothing was kept: ask first
                    asked = confirm(application, form.cleaned_data)
                    return _confirmation(request, application, form, **asked)
                messages.success(request, done)
                return redirect("grants:application_detail", pk=pk)
        return _render_detail(request, application, {form_key: form})

    return view


class _DryRun(Exception):
    pass


@contextmanager
def dry_run(enabled: bool = True):
    """Run a service for its checks only: everything it wrote (and every message it queued on
    commit) is rolled back. A confirmation page is shown only for a decision that would succeed."""
    if not enabled:
        yield
        return
    try:
        with transaction.atomic():
            yield
            raise _DryRun
    except _DryRun:
        pass


def _confirmation(request, application, form, *, title, lines, button, button_class="btn-primary"):
    return render(
        request,
        "grants/confirm.html",
        {
            "application": application,
            "title": title,
            "lines": lines,
            "button": button,
            "button_class": button_class,
            "fields": [(name, request.POST.get(name, "")) for name in form.fields],
            "action": request.path,
            "back": reverse("grants:application_detail", args=[application.pk]),
        },
    )


def _confirm_approve(application, data):
    budget = cohort_budget(application.cohort)
    amount = data["amount"]
    lines = [
        f"Award {format_gbp(amount)} to {application.partnership.name} ({application.reference}); "
        f"{format_gbp(application.requested)} was requested.",
        f"The cohort's remaining budget goes from {format_gbp(budget.remaining)} to "
        f"{format_gbp(budget.remaining - amount)}.",
    ]
    try:
        schedule = payments.schedule_amounts(payments.programme_steps(application.cohort.programme), amount)
    except ValidationError:
        schedule = []
    if schedule:
        lines.append(
            f"The first instalment, {format_gbp(schedule[0].amount)}, can be paid once the lead school "
            "accepts the grant agreement."
        )
    lines.append("The lead school's leads are told. An approval cannot be undone here.")
    return {
        "title": "Approve this application?",
        "lines": lines,
        "button": "Yes, approve",
        "button_class": "btn-success",
    }


def _confirm_reject(application, data):
    return {
        "title": "Reject this application?",
        "lines": [
            f"{application.partnership.name} ({application.reference}) will be rejected.",
            f"The lead school's leads are told, with your reason: “{data['reason']}”",
            "A rejection cannot be undone here.",
        ],
        "button": "Yes, reject",
        "button_class": "btn-danger",
    }


application_request_changes = _staff_action(
    f.RequestChangesForm,
    "request_changes_form",
    lambda application, by, data: services.application_request_changes(
        application_id=application.pk, by=by, comment=data["comment"]
    ),
    "Changes requested. The lead has been told.",
)
application_approve = _staff_action(
    f.ApproveForm,
    "approve_form",
    lambda application, by, data: services.application_approve(
        application_id=application.pk, by=by, amount=data["amount"], comment=data["comment"]
    ),
    "Application approved; the first instalment is released.",
    confirm=_confirm_approve,
)
application_reject = _staff_action(
    f.RejectForm,
    "reject_form",
    lambda application, by, data: services.application_reject(
        application_id=application.pk, by=by, reason=data["reason"]
    ),
    "Application rejected. The lead has been told.",
    confirm=_confirm_reject,
)
# --- Staff: queue, budget, payments ---------------------------------------------------------


REGIONS_CACHE_KEY = "grants:register-regions"
REGIONS_CACHE_SECONDS = 600


def _register_regions() -> list[str]:
    """The regions of the schools register (the nine GIAS regions): cached, as the list hardly
    ever changes and computing it scans the register."""
    return list(
        School.objects.exclude(region="").values_list("region", flat=True).distinct().order_by("region")
    )


QUEUE_SESSION_KEY = "grants:queue-filters"


@page_cache(session_keys=[QUEUE_SESSION_KEY])  # the kept filters follow from the query
@staff_required
def review_queue(request):
    """The queue with the officer's last filters: a visit with no query string gets the filters
    kept in the session (until "Clear")."""
    if "clear" in request.GET:
        request.session.pop(QUEUE_SESSION_KEY, None)
        return redirect("grants:review_queue")
    if not request.GET and request.session.get(QUEUE_SESSION_KEY):
        return redirect(reverse("grants:review_queue") + "?" + request.session[QUEUE_SESSION_KEY])
    regions = cache.get_or_set(REGIONS_CACHE_KEY, _register_regions, REGIONS_CACHE_SECONDS)
    cohorts = cohorts_for(request.user)
    reviewers = User.objects.filter(
        pk__in=ReviewerAssignment.objects.filter(
            application__in=applications_for(request.user), active=True
        ).values("reviewer_id")
    ).order_by("last_name", "first_name", "username")
    form = rf.QueueForm(request.GET or None, cohorts=cohorts, regions=regions, reviewers=reviewers)
    status = 200
    filters = queue.QueueFilters()
    if form.is_bound:
        if form.is_valid():
            d = form.cleaned_data
            filters = queue.QueueFilters(
                q=d["q"],
                cohort=d["cohort"],
                round=d["round"] or queue.Round.CURRENT,
                status=d["status"],
                region=d["region"],
                phase=d["phase"],
                reviewer=d["reviewer"],
                assigned_to_me=d["assigned_to_me"],
                min_score=float(d["min_score"]) if d["min_score"] is not None else None,
                sort=d["sort"] or queue.DEFAULT_SORT,
            )
            kept = request.GET.copy()
            kept.pop("page", None)
            if request.session.get(QUEUE_SESSION_KEY) != kept.urlencode():  # no session write per page
                request.session[QUEUE_SESSION_KEY] = kept.urlencode()
        else:
            status = 400
    qs = queue.review_queue(request.user, filters) if status == 200 else Application.objects.none()
    counts = queue.state_counts(request.user, filters) if status == 200 else []
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    sort_links = {}
    for key in queue.SORTS:
        params["sort"] = f"-{key}" if filters.sort == key else key
        sort_links[key] = params.urlencode()
    params.pop("sort", None)
    state_links = []
    for value, label, n in counts:
        params["status"] = value
        state_links.append((value, label, n, params.urlencode()))
    return render(
        request,
        "grants/review_queue.html",
        {
            "form": form,
            "page": page,
            "cohorts": cohorts,
            "filters": filters,
            "sort_links": sort_links,
            "state_links": state_links,
        },
        status=status,
    )


@staff_required
def cohort_budget_view(request, cohort_pk):
    cohort = get_object_or_404(cohorts_for(request.user), pk=cohort_pk)
    money_field = DecimalField(max_digits=12, decimal_places=2)
    awards = (
        Application.objects.filter(cohort=cohort, status__in=AWARDED_STATES)
        .select_related("partnership__lead_school")
        .annotate(
            paid=Coalesce(
                Sum("payments__amount", filter=Q(payments__status=Payment.Status.PAID)),
                Decimal(0),
                output_field=money_field,
            )
        )
        .order_by("reference")
    )
    return render(
        request,
        "grants/cohort_budget.html",
        {"cohort": cohort, "budget": cohort_budget(cohort), "awards": awards},
    )
