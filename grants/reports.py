"""Reports on a schedule (issue 20): what each programme asks of its grants, when each report is
due, what a report starts from, the impact questions, the payment each acceptance releases, bulk
acceptance and the overdue list. The transitions themselves (save, submit, accept, return) are
in grants/services.py, one function each.

- A programme's `ReportDefinition`s (interim at month 12, say) become draft reports at award,
  each due its months after the award; a programme with none asks for the final report only,
  due at the cohort's end, written when the lead first saves it.
- A report starts from what was recorded: the partnership's CPD activities up to its due date
  and the teachers and students they reached; spend is asked against the budget lines, with a
  reason where it differs by more than 10 %.
- Accepting a report releases the scheduled instalments whose trigger is that report
  (`release_payments_for_report`): the one call the payments code needs (issue 19).
"""

import calendar
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet, Sum
from django.utils import timezone

from grants.models import Application, EndOfGrantReport, Payment, ReportDefinition
from grants.selectors import applications_for

K = EndOfGrantReport.Kind
RS = EndOfGrantReport.Status
TRIGGER_FOR_KIND = {K.INTERIM: Payment.Trigger.ON_INTERIM_REPORT, K.FINAL: Payment.Trigger.ON_FINAL_REPORT}

# ENTHUSE-style impact questions, for teachers and for students: how much each changed.
IMPACT_ANSWERS = {
    "none": "No change",
    "little": "A little",
    "some": "Some",
    "considerable": "A considerable change",
}
IMPACT_QUESTIONS = {
    "teacher_subject_knowledge": ("Teachers", "Teachers' subject knowledge"),
    "teacher_confidence": ("Teachers", "Teachers' confidence in teaching practical STEM"),
    "teacher_pedagogy": ("Teachers", "Teachers' use of new teaching approaches"),
    "teacher_careers": ("Teachers", "Teachers linking lessons to STEM careers"),
    "student_engagement": ("Students", "Students' engagement and enjoyment in STEM lessons"),
    "student_attainment": ("Students", "Students' attainment in STEM subjects"),
    "student_careers_awareness": ("Students", "Students' awareness of STEM careers"),
    "student_aspiration": ("Students", "Students' aspiration to study STEM after 16"),
}


def clean_impact(answers: dict) -> dict:
    """Only known questions and answers; unanswered questions are left out."""
    cleaned = {}
    for question, answer in answers.items():
        if question not in IMPACT_QUESTIONS:
            raise ValidationError({"impact": "Answer the impact questions from the list."})
        if answer in (None, ""):
            continue
        if answer not in IMPACT_ANSWERS:
            raise ValidationError({f"impact_{question}": "Choose one of the answers."})
        cleaned[question] = answer
    return cleaned


# --- Schedule ----------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def schedule_at_award(application: Application, *, now=None) -> list[EndOfGrantReport]:
    """Called by the approval service under its lock: the programme's reports, as drafts with
    their due dates. Idempotent (one report of each kind per grant)."""
    awarded_on = timezone.localdate(now or timezone.now())
    created = []
    for definition in ReportDefinition.objects.filter(programme_id=application.cohort.programme_id):
        report, made = EndOfGrantReport.objects.get_or_create(
            application=application,
            kind=definition.kind,
            defaults={"due_on": add_months(awarded_on, definition.due_months_after_award)},
        )
        if made:
            created.append(report)
    return created


def due_on(application: Application, report: EndOfGrantReport | None, kind: str = K.FINAL) -> date | None:
    if report is not None and report.due_on:
        return report.due_on
    return application.cohort.ends_on if kind == K.FINAL else None


@dataclass
class Due:
    kind: str
    label: str
    report: EndOfGrantReport | None
    due: date | None

    @property
    def status_label(self) -> str:
        return self.report.get_status_display() if self.report else "Not started"

    @property
    def overdue(self) -> bool:
        done = self.report is not None and self.report.status in (RS.SUBMITTED, RS.ACCEPTED)
        return bool(self.due) and not done and timezone.localdate() > self.due


def reports_of(application: Application, reports=None) -> list[Due]:
    """The grant's reports in due order, the final report always among them. `reports`: the
    application's reports when the caller has read them already (the application page)."""
    if reports is None:
        reports = EndOfGrantReport.objects.filter(application=application)
    existing = {r.kind: r for r in reports}
    kinds = [k for k in (K.INTERIM, K.FINAL) if k in existing or k == K.FINAL]
    return [Due(k, K(k).label, existing.get(k), due_on(application, existing.get(k), k)) for k in kinds]


# --- What a report starts from ------------------------------------------------------------------


def prefill(application: Application, kind: str = K.FINAL) -> dict:
    """The CPD activities recorded for the partnership (up to the report's due date) and the
    teachers and students they reached: a new report's starting values, which the lead can edit."""
    report = EndOfGrantReport.objects.filter(application=application, kind=kind).first()
    due = due_on(application, report, kind)
    activities = application.partnership.activities.all()
    if kind == K.INTERIM and due:
        activities = activities.filter(held_on__lte=due)
    totals = activities.aggregate(teachers=Sum("teachers_reached"), students=Sum("students_reached"))
    return {
        "activities": list(activities.values_list("pk", flat=True)),
        "teachers_reached": totals["teachers"] or 0,
        "students_reached": totals["students"] or 0,
    }


# --- Acceptance releases payments (the hook for the payments code) --------------------------------


def release_payments_for_report(application: Application, *, kind: str, by=None, now=None) -> int:
    """Release the scheduled instalments of `application` that wait for its `kind` report; called
    by services.report_accept under the application's lock. Returns how many were released."""
    from grants import payments  # payments imports services, which imports this module

    # Only once the grant agreement is accepted (issue 19); before, finance releases them after it.
    return payments.release_on(application, trigger=TRIGGER_FOR_KIND[kind], by=by, now=now)


# --- Staff: the reports waiting, overdue, and bulk acceptance ----------------------------------------


def reports_for(user) -> QuerySet[EndOfGrantReport]:
    """The reports of the applications the user may see."""
    return EndOfGrantReport.objects.filter(application__in=applications_for(user))


def waiting_for_review(user) -> QuerySet[EndOfGrantReport]:
    return (
        reports_for(user)
        .filter(status=RS.SUBMITTED)
        .select_related("application__partnership", "application__cohort__programme")
        .order_by("submitted_at", "pk")
    )


def overdue(user, *, today=None) -> list[Due]:
    """Reports past their due date and not submitted: scheduled rows past `due_on`, and final
    reports of approved grants past the cohort's end with no report written."""
    today = today or timezone.localdate()
    applications = applications_for(user).filter(status=Application.Status.APPROVED)
    late = (
        EndOfGrantReport.objects.filter(application__in=applications, due_on__lt=today)
        .exclude(status__in=[RS.SUBMITTED, RS.ACCEPTED])
        .select_related("application__partnership", "application__cohort")
    )
    rows = [Due(r.kind, K(r.kind).label, r, r.due_on) for r in late]
    unwritten = (
        applications.filter(cohort__ends_on__lt=today)
        .exclude(reports__kind=K.FINAL, reports__status__in=[RS.SUBMITTED, RS.ACCEPTED])
        .exclude(reports__kind=K.FINAL, reports__due_on__isnull=False)
        .select_related("partnership", "cohort")
        .distinct()
    )
    for application in unwritten:
        existing = EndOfGrantReport.objects.filter(application=application, kind=K.FINAL).first()
        due = Due(K.FINAL, K.FINAL.label, existing, application.cohort.ends_on)
        due.application = application
        rows.append(due)
    for row in rows:
        if not hasattr(row, "application"):
            row.application = row.report.application
    return sorted(rows, key=lambda r: (r.due, r.application.pk))


@dataclass
class BulkResult:
    accepted: list[EndOfGrantReport]
    refused: list[str]


def reports_accept_many(*, report_ids, by, comment: str = "") -> BulkResult:
    """Accept each submitted report of `report_ids` the user may decide, each in its own
    transaction (one refusal does not undo the others); says why any was not accepted."""
    from grants import services

    try:
        ids = sorted({int(pk) for pk in report_ids})
    except (TypeError, ValueError):
        raise ValidationError({"reports": "Choose reports from the list."}) from None
    if not ids:
        raise ValidationError({"reports": "Choose at least one report to accept."})
    visible = {r.pk: r for r in reports_for(by).filter(pk__in=ids).select_related("application")}
    result = BulkResult([], [])
    for pk in ids:
        report = visible.get(pk)
        if report is None:
            result.refused.append(f"Report {pk}: not one of your programmes' reports.")
            continue
        try:
            done = services.report_accept(
                application_id=report.application_id, by=by, comment=comment, kind=report.kind
            )
        except (ValidationError, PermissionDenied) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            result.refused.append(f"{report}: {' '.join(messages)}")
        else:
            result.accepted.append(done)
    return result
