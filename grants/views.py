"""Grants pages: the lead's multi-step application and end-of-grant report, the staff review
queue, application page and decisions, the cohort budget and payments. Views stay thin: objects
come through grants.selectors (404 otherwise), writes through grants.services, whose
ValidationErrors become form errors."""

from collections import Counter
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import DecimalField, Q, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from grants import forms as f
from grants import services
from grants.models import Application, ApplicationMessage, AuditEvent, EndOfGrantReport, Payment, Score
from grants.selectors import (
    AWARDED_STATES,
    applications_for,
    cohort_budget,
    has_conflict_of_interest,
    is_lead_of,
    may_review,
)
from grants.selectors import (
    review_queue as review_queue_qs,
)
from partnerships.eligibility import ineligibility_reasons, shortfall
from partnerships.models import School
from partnerships.selectors import cohorts_for, led_partnerships_for
from portal.decorators import lead_required, staff_required
from portal.money import format_gbp
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
        formset = f.BudgetLineFormSet(data, initial=lines, prefix="lines")
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


def _step_context(application, step, form, formset):
    return {
        "changes_requested": _changes_comment(application),
        "application": application,
        "step": step,
        "step_title": f.STEPS[step][0],
        "steps": [(n, title) for n, (title, _) in f.STEPS.items()],
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


@lead_required
@require_POST
def application_autosave(request, pk, step):
    """The autosave script's endpoint: saves one step, answers JSON."""
    if step not in f.STEPS or step == 6:
        raise Http404("There is no such step.")
    application = _application(request, pk)
    _ensure_lead(request, application)
    form, formset, saved = _save_step(request, application, step)
    if not saved:
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
        submit = (
            services.application_resubmit
            if application.status == S.CHANGES_REQUESTED
            else services.application_submit
        )
        try:
            submit(application_id=application.pk, by=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
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
    report = (
        EndOfGrantReport.objects.filter(application=application)
        .prefetch_related("spend", "activities")
        .first()
    )
    context = {
        "application": application,
        "programme": programme,
        "memberships": memberships,
        "confirmed_eligible": len(counted),
        "phase_mix": Counter(m.school.get_phase_display() for m in counted).most_common(),
        "budget_lines": application.budget_lines.all(),
        "payments": application.payments.all(),
        "events": AuditEvent.objects.filter(application=application).select_related("actor"),
        "report": report,
        "staff_view": staff_view,
        "is_lead": is_lead_of(user, application.partnership),
        "editable": application.status in services.EDITABLE_STATES,
        "withdrawable": application.status in (S.DRAFT, S.SUBMITTED),
        "under_review": application.status in (S.SUBMITTED, S.CHANGES_REQUESTED),
    }
    if staff_view:
        conflict = has_conflict_of_interest(user, application)
        context.update(
            {
                "conflict": conflict,
                "may_decide": may_review(user, application) and not conflict,
                "scores": Score.objects.filter(application=application).select_related("reviewer"),
                "budget": cohort_budget(application.cohort),
                "request_changes_form": bound_forms.get("request_changes_form") or f.RequestChangesForm(),
                "approve_form": bound_forms.get("approve_form")
                or f.ApproveForm(initial={"amount": application.requested}),
                "reject_form": bound_forms.get("reject_form") or f.RejectForm(),
                "score_form": bound_forms.get("score_form") or f.ScoreForm(),
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


@login_required
def application_detail(request, pk):
    return _render_detail(request, _application(request, pk))


def _staff_action(form_class, form_key, call, done):
    @staff_required
    @require_POST
    def view(request, pk):
        application = _application(request, pk)
        form = form_class(request.POST)
        if form.is_valid():
            try:
                call(application=application, by=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, done)
                return redirect("grants:application_detail", pk=pk)
        return _render_detail(request, application, {form_key: form})

    return view


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
)
application_reject = _staff_action(
    f.RejectForm,
    "reject_form",
    lambda application, by, data: services.application_reject(
        application_id=application.pk, by=by, reason=data["reason"]
    ),
    "Application rejected. The lead has been told.",
)
application_score = _staff_action(
    f.ScoreForm,
    "score_form",
    lambda application, by, data: services.score_record(
        application_id=application.pk,
        by=by,
        criterion=data["criterion"],
        score=data["score"],
        comment=data["comment"],
    ),
    "Score recorded.",
)
report_accept = _staff_action(
    f.ReportAcceptForm,
    "report_accept_form",
    lambda application, by, data: services.report_accept(
        application_id=application.pk, by=by, comment=data["comment"]
    ),
    "Report accepted: the final instalment is released and the grant is complete.",
)
report_return = _staff_action(
    f.ReportReturnForm,
    "report_return_form",
    lambda application, by, data: services.report_return(
        application_id=application.pk, by=by, comment=data["comment"]
    ),
    "Report returned to the lead with your comments.",
)


# --- Lead: end-of-grant report --------------------------------------------------------------


@lead_required
def report_edit(request, pk):
    application = _application(request, pk)
    _ensure_lead(request, application)
    report = EndOfGrantReport.objects.filter(application=application).first()
    initial = {}
    if report is not None:
        initial = {
            "activities": list(report.activities.values_list("pk", flat=True)),
            "teachers_reached": report.teachers_reached,
            "students_reached": report.students_reached,
            "outcomes": report.outcomes,
            "barriers": report.barriers,
            "facilitators": report.facilitators,
            **{f"spend_{row.category}": row.spent for row in report.spend.all()},
        }
    form = f.ReportForm(
        request.POST if request.method == "POST" else None, application=application, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.report_save(
                application_id=application.pk,
                by=request.user,
                teachers_reached=data["teachers_reached"],
                students_reached=data["students_reached"],
                outcomes=data["outcomes"],
                barriers=data["barriers"],
                facilitators=data["facilitators"],
                activity_ids=[a.pk for a in data["activities"]],
                spend=form.spend(),
            )
            if "submit" in request.POST:
                services.report_submit(application_id=application.pk, by=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if "submit" in request.POST:
                messages.success(request, "Report submitted. Programme staff have been told.")
                return redirect("grants:application_detail", pk=pk)
            messages.success(request, "Report saved.")
            return redirect("grants:report_edit", pk=pk)
        report = EndOfGrantReport.objects.filter(application=application).first()
    editable = application.status == S.APPROVED and (
        report is None or report.status in (EndOfGrantReport.Status.DRAFT, EndOfGrantReport.Status.RETURNED)
    )
    return render(
        request,
        "grants/report_form.html",
        {
            "application": application,
            "report": report,
            "form": form,
            "editable": editable,
            "missing": services.report_missing(report) if report else [],
        },
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


@staff_required
def review_queue(request):
    regions = cache.get_or_set(REGIONS_CACHE_KEY, _register_regions, REGIONS_CACHE_SECONDS)
    cohorts = cohorts_for(request.user)
    form = f.QueueFilterForm(request.GET or None, cohorts=cohorts, regions=regions)
    status = 200
    filters = {}
    if form.is_bound:
        if form.is_valid():
            filters = {k: v for k, v in form.cleaned_data.items() if v}
        else:
            status = 400
    qs = review_queue_qs(request.user, **filters) if status == 200 else Application.objects.none()
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "grants/review_queue.html",
        {"form": form, "page": page, "cohorts": cohorts},
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
