"""Report pages: the lead writes each report of the grant's schedule (autosaved, with evidence),
staff accept or return it on the application page, and the staff reports page lists the reports
waiting for review and those overdue, with bulk acceptance after a confirmation step."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from grants import attachments, reports, services
from grants import forms as f
from grants.file_views import add_errors as add_file_errors
from grants.models import Application, EndOfGrantReport
from grants.uploads import limit_uploads
from grants.views import _add_errors, _application, _ensure_lead, _render_detail
from portal.ajax import json_endpoint
from portal.decorators import lead_required, staff_required

S = Application.Status
K = EndOfGrantReport.Kind


def _kind(kind: str) -> str:
    if kind not in K.values:
        raise Http404("There is no such report.")
    return kind


def _untouched(report) -> bool:
    """Scheduled at award and never saved by the lead."""
    return (
        not report.outcomes
        and not report.teachers_reached
        and not report.students_reached
        and not report.activities.exists()
    )


def _initial(application, report, kind) -> dict:
    if report is None or _untouched(report):
        return reports.prefill(application, kind)
    spend = {row.category: row for row in report.spend.all()}
    return {
        "activities": list(report.activities.values_list("pk", flat=True)),
        "teachers_reached": report.teachers_reached,
        "students_reached": report.students_reached,
        "outcomes": report.outcomes,
        "barriers": report.barriers,
        "facilitators": report.facilitators,
        **{f"spend_{c}": row.spent for c, row in spend.items()},
        **{f"variance_{c}": row.explanation for c, row in spend.items()},
        **{f"impact_{q}": a for q, a in report.impact.items()},
    }


def _save(request, application, kind, form) -> bool:
    data = form.cleaned_data
    try:
        services.report_save(
            application_id=application.pk,
            by=request.user,
            kind=kind,
            teachers_reached=data["teachers_reached"],
            students_reached=data["students_reached"],
            outcomes=data["outcomes"],
            barriers=data["barriers"],
            facilitators=data["facilitators"],
            activity_ids=[a.pk for a in data["activities"]],
            spend=form.spend(),
            explanations=form.explanations(),
            impact=form.impact(),
        )
    except ValidationError as exc:
        _add_errors(form, exc)
        return False
    return True


def _page(request, application, kind, form, evidence_form=None, status=200):
    report = EndOfGrantReport.objects.filter(application=application, kind=kind).first()
    editable = application.status == S.APPROVED and (
        report is None or report.status in attachments.REPORT_EDITABLE
    )
    due = reports.due_on(application, report, kind)
    evidence = report.evidence.filter(superseded_at__isnull=True) if report else []
    return render(
        request,
        "grants/report_form.html",
        {
            "application": application,
            "report": report,
            "kind": kind,
            "kind_label": K(kind).label,
            "due": due,
            "form": form,
            "evidence": evidence,
            "evidence_form": evidence_form or f.EvidenceForm(),
            "editable": editable,
            "prefilled": report is None or _untouched(report),
            "missing": services.report_missing(report) if report else [],
            "failed_form": next((x for x in (form, evidence_form) if x is not None and x.errors), None),
            "autosave_url": reverse("grants:report_autosave", args=[application.pk, kind]),
        },
        status=status,
    )


@lead_required
def report_edit(request, pk, kind=K.FINAL):
    kind = _kind(kind)
    application = _application(request, pk)
    _ensure_lead(request, application)
    report = EndOfGrantReport.objects.filter(application=application, kind=kind).first()
    if report is None and kind != K.FINAL:
        raise Http404("This grant has no such report.")
    form = f.ReportForm(
        request.POST if request.method == "POST" else None,
        application=application,
        initial=_initial(application, report, kind),
    )
    if request.method == "POST" and form.is_valid() and _save(request, application, kind, form):
        if "submit" not in request.POST:
            messages.success(request, "Report saved.")
            return redirect("grants:report_edit", pk=pk, kind=kind)
        try:
            services.report_submit(application_id=application.pk, by=request.user, kind=kind)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Report submitted. Programme staff have been told.")
            return redirect("grants:application_detail", pk=pk)
    return _page(request, application, kind, form)


@json_endpoint
@lead_required
@require_POST
def report_autosave(request, pk, kind):
    """The autosave script's endpoint for a report: saves the draft, answers JSON."""
    kind = _kind(kind)
    application = _application(request, pk)
    _ensure_lead(request, application)
    form = f.ReportForm(request.POST, application=application)
    if not form.is_valid() or not _save(request, application, kind, form):
        return JsonResponse({"saved": False, "errors": form.errors.get_json_data()}, status=400)
    report = EndOfGrantReport.objects.get(application=application, kind=kind)
    return JsonResponse(
        {
            "saved": True,
            "saved_at": report.updated_at.isoformat(),
            "saved_at_display": timezone.localtime(report.updated_at).strftime("%H:%M:%S"),
        }
    )


def _evidence_limit(request):
    return attachments.evidence_max_bytes()


@lead_required
@limit_uploads(_evidence_limit)
@require_POST
def report_evidence(request, pk, kind):
    """Add one evidence file to the report (the report's draft is started if need be)."""
    kind = _kind(kind)
    application = _application(request, pk)
    _ensure_lead(request, application)
    form = f.EvidenceForm(request.POST, request.FILES)
    refused = request.upload_refused.get("file")
    if form.is_valid():
        if refused is not None:
            form.add_error(
                "file",
                f"“{refused[:200]}” is larger than "
                f"{attachments.megabytes(attachments.evidence_max_bytes())}, the most an evidence file "
                "can be.",
            )
        else:
            try:
                report = services.report_start(application_id=application.pk, by=request.user, kind=kind)
                attachments.evidence_upload(
                    report_id=report.pk,
                    by=request.user,
                    upload=form.cleaned_data["file"],
                    caption=form.cleaned_data["caption"],
                )
            except ValidationError as exc:
                add_file_errors(form, exc)
            else:
                messages.success(request, "Evidence added.")
                return redirect(reverse("grants:report_edit", args=[pk, kind]) + "#evidence")
    report = EndOfGrantReport.objects.filter(application=application, kind=kind).first()
    report_form = f.ReportForm(application=application, initial=_initial(application, report, kind))
    return _page(request, application, kind, report_form, evidence_form=form, status=400)


def _decide(request, pk, kind, form_class, form_key, call, done):
    kind = _kind(kind)
    application = _application(request, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(application_id=application.pk, by=request.user, kind=kind, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("grants:application_detail", pk=pk)
    return _render_detail(request, application, {form_key: form})


@staff_required
@require_POST
def report_accept(request, pk, kind=K.FINAL):
    return _decide(
        request,
        pk,
        kind,
        f.ReportAcceptForm,
        "report_accept_form",
        services.report_accept,
        "Report accepted: the instalment that depends on it is released.",
    )


@staff_required
@require_POST
def report_return(request, pk, kind=K.FINAL):
    return _decide(
        request,
        pk,
        kind,
        f.ReportReturnForm,
        "report_return_form",
        services.report_return,
        "Report returned to the lead with your comments.",
    )


# --- Staff: reports waiting and overdue, bulk acceptance -------------------------------------------


@staff_required
def staff_reports(request):
    waiting = list(reports.waiting_for_review(request.user)[:200])
    return render(
        request,
        "grants/staff_reports.html",
        {
            "waiting": waiting,
            "overdue": reports.overdue(request.user),
            "form": f.BulkAcceptForm(reports=waiting),
        },
    )


@staff_required
@require_POST
def reports_bulk_accept(request):
    """First post: the chosen reports are shown for confirmation; the second (confirm=1)
    accepts them, each on its own, and says which could not be."""
    waiting = list(reports.waiting_for_review(request.user)[:200])
    form = f.BulkAcceptForm(request.POST, reports=waiting)
    if not form.is_valid():
        return render(
            request,
            "grants/staff_reports.html",
            {"waiting": waiting, "overdue": reports.overdue(request.user), "form": form, "failed_form": form},
            status=400,
        )
    chosen = [r for r in waiting if r.pk in set(form.cleaned_data["reports"])]
    if not form.cleaned_data["confirm"]:
        return render(
            request,
            "grants/reports_confirm.html",
            {"chosen": chosen, "comment": form.cleaned_data["comment"]},
        )
    try:
        result = reports.reports_accept_many(
            report_ids=[r.pk for r in chosen], by=request.user, comment=form.cleaned_data["comment"]
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        if result.accepted:
            messages.success(
                request, f"{len(result.accepted)} report(s) accepted; their instalments are released."
            )
        for refusal in result.refused:
            messages.error(request, refusal)
    return redirect("grants:staff_reports")
