"""Reports on a schedule: due dates set at award, a report that starts from the recorded CPD,
spend against the budget with reasons, evidence, the review cycle (returned, revised, accepted)
releasing the instalment that waits for it, overdue escalation and bulk acceptance."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from grants import attachments, reminders, reports, services
from grants.models import Application, Attachment, AuditEvent, EndOfGrantReport, Payment, ReportDefinition
from messaging.models import ReminderSent
from tests import factories
from tests.factories import PNG_BYTES, upload
from tests.grants.conftest import AWARD

S = Application.Status
RS = EndOfGrantReport.Status
HTML = b"<html><body>not a photo</body></html>"


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def interim(programme):
    return ReportDefinition.objects.create(programme=programme, kind="interim", due_months_after_award=12)


@pytest.fixture
def awarded(application_in, interim):
    """Approved with an interim report scheduled, and an instalment that waits for it (as the
    payment schedule of issue 19 makes one)."""
    application = application_in(S.APPROVED, released=True)  # the agreement accepted (issue 19)
    final = Payment.objects.get(application=application, trigger="on_final_report")
    # The instalments still add up to the award (issue 19's trigger checks it at commit).
    Payment.objects.filter(pk=final.pk).update(sequence=3, amount=final.amount - Decimal("500.00"))
    Payment.objects.create(
        application=application, sequence=2, amount=Decimal("500.00"), trigger="on_interim_report"
    )
    return application


def write_interim(application, lead, **extra):
    activity = factories.CPDActivityFactory(partnership=application.partnership)
    values = {
        "teachers_reached": 8,
        "students_reached": 120,
        "outcomes": "Two schools now run practical science weekly.",
        "activity_ids": [activity.pk],
        "spend": {"supply_cover": Decimal("2000.00")},
        "explanations": {"supply_cover": "Half the CPD days are still to come."},
        **extra,
    }
    return services.report_save(application_id=application.pk, by=lead, kind="interim", **values)


def test_award_schedules_the_programmes_reports_with_due_dates(awarded):
    report = EndOfGrantReport.objects.get(application=awarded, kind="interim")

    assert report.status == RS.DRAFT
    assert report.due_on == reports.add_months(timezone.localdate(awarded.decided_at), 12)
    kinds = [d.kind for d in reports.reports_of(awarded)]
    assert kinds == ["interim", "final"]


def test_add_months_keeps_the_end_of_a_short_month():
    from datetime import date

    assert reports.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert reports.add_months(date(2026, 11, 15), 12) == date(2027, 11, 15)


def test_a_new_report_starts_from_the_cpd_activities_recorded(client, awarded, lead_alice):
    factories.CPDActivityFactory(partnership=awarded.partnership, teachers_reached=7, students_reached=90)
    factories.CPDActivityFactory(partnership=awarded.partnership, teachers_reached=5, students_reached=30)
    client.force_login(lead_alice)

    response = client.get(reverse("grants:report_edit", args=[awarded.pk, "interim"]))

    form = response.context["form"]
    assert form.initial["teachers_reached"] == 12
    assert form.initial["students_reached"] == 120
    assert len(form.initial["activities"]) == 2


def test_spend_far_from_its_budget_line_needs_a_reason(awarded, lead_alice):
    report = write_interim(awarded, lead_alice, explanations={})
    with pytest.raises(ValidationError, match="say why it differs"):
        services.report_submit(application_id=awarded.pk, by=lead_alice, kind="interim")

    # £5,000 budgeted: £4,500 is exactly 10 % off and needs no reason; £4,499.99 does.
    assert not services.needs_explanation(Decimal("5000.00"), Decimal("4500.00"))
    assert services.needs_explanation(Decimal("5000.00"), Decimal("4499.99"))
    assert report.status == RS.DRAFT


def test_impact_answers_are_kept_and_unknown_ones_refused(awarded, lead_alice):
    report = write_interim(awarded, lead_alice, impact={"teacher_confidence": "considerable"})
    assert report.impact == {"teacher_confidence": "considerable"}

    with pytest.raises(ValidationError):
        write_interim(awarded, lead_alice, impact={"teacher_confidence": "enormous"})
    with pytest.raises(ValidationError):
        write_interim(awarded, lead_alice, impact={"made_up": "some"})


def test_the_review_cycle_returns_revises_and_accepts_releasing_the_instalment(
    awarded, lead_alice, staff_carol
):
    write_interim(awarded, lead_alice)
    services.report_submit(application_id=awarded.pk, by=lead_alice, kind="interim")
    services.report_return(application_id=awarded.pk, by=staff_carol, comment="Add the fair.", kind="interim")
    waiting = Payment.objects.get(application=awarded, trigger="on_interim_report")
    assert waiting.status == Payment.Status.SCHEDULED

    write_interim(awarded, lead_alice, outcomes="Two schools run practical science weekly; the fair ran.")
    services.report_submit(application_id=awarded.pk, by=lead_alice, kind="interim")
    services.report_accept(application_id=awarded.pk, by=staff_carol, kind="interim")

    waiting.refresh_from_db()
    assert waiting.status == Payment.Status.RELEASED
    assert (
        Payment.objects.get(application=awarded, trigger="on_final_report").status == Payment.Status.SCHEDULED
    )
    awarded.refresh_from_db()
    assert awarded.status == S.APPROVED  # only the final report completes the grant
    actions = list(AuditEvent.objects.filter(application=awarded).values_list("action", flat=True))
    assert actions[-4:] == [
        "report_submitted",
        "report_returned",
        "report_resubmitted",
        "interim_report_accepted",
    ]


def test_a_grant_without_the_report_in_its_schedule_has_no_such_report(application_in, lead_alice):
    application = application_in(S.APPROVED)

    with pytest.raises(ValidationError, match="no such report"):
        write_interim(application, lead_alice)


def test_evidence_is_added_checked_and_frozen_with_the_submitted_report(client, awarded, lead_alice):
    client.force_login(lead_alice)
    url = reverse("grants:report_evidence", args=[awarded.pk, "interim"])

    refused = client.post(url, {"file": upload("work.png", HTML, "image/png"), "caption": "Work"})
    added = client.post(url, {"file": upload("work.png", PNG_BYTES, "image/png"), "caption": "Year 5 work"})

    assert refused.status_code == 400
    assert "an HTML page" in refused.text
    assert added.status_code == 302
    evidence = Attachment.objects.get()
    assert (evidence.format, evidence.caption) == ("png", "Year 5 work")
    write_interim(awarded, lead_alice)
    services.report_submit(application_id=awarded.pk, by=lead_alice, kind="interim")
    evidence.refresh_from_db()
    assert evidence.frozen_at is not None
    with pytest.raises(ValidationError, match="can no longer change"):
        attachments.evidence_remove(attachment_id=evidence.pk, by=lead_alice)


def test_uploads_still_need_the_csrf_token(awarded, lead_alice):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(lead_alice)

    response = csrf_client.post(
        reverse("grants:report_evidence", args=[awarded.pk, "interim"]), {"file": upload("a.png", PNG_BYTES)}
    )

    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_autosave_keeps_a_report_draft(client, awarded, lead_alice):
    client.force_login(lead_alice)

    response = client.post(
        reverse("grants:report_autosave", args=[awarded.pk, "interim"]),
        {
            "partnership": awarded.partnership_id,
            "teachers_reached": "3",
            "students_reached": "40",
            "outcomes": "So far",
        },
    )

    assert response.json()["saved"] is True
    assert EndOfGrantReport.objects.get(application=awarded, kind="interim").outcomes == "So far"


def test_an_overdue_report_reminds_the_lead_then_tells_staff(awarded, lead_alice, staff_carol):
    report = EndOfGrantReport.objects.get(application=awarded, kind="interim")
    now = timezone.now()

    reminders.remind_end_of_grant_reports(
        now + timedelta(days=(report.due_on - timezone.localdate()).days + 1)
    )
    assert set(ReminderSent.objects.values_list("kind", flat=True)) >= {"report_overdue"}
    assert not ReminderSent.objects.filter(kind="report_overdue_staff").exists()

    later = now + timedelta(days=(report.due_on - timezone.localdate()).days + reminders.REPORT_ESCALATE_DAYS)
    reminders.remind_end_of_grant_reports(later)
    reminders.remind_end_of_grant_reports(later)

    told = ReminderSent.objects.filter(kind="report_overdue_staff", key=f"application:{awarded.pk}:interim")
    assert list(told.values_list("recipient", flat=True)) == [f"user:{staff_carol.pk}"]
    overdue = reports.overdue(staff_carol, today=report.due_on + timedelta(days=1))
    assert [(d.kind, d.application.pk) for d in overdue] == [("interim", awarded.pk)]


def test_bulk_acceptance_asks_for_confirmation_first(client, awarded, lead_alice, staff_carol):
    write_interim(awarded, lead_alice)
    report = services.report_submit(application_id=awarded.pk, by=lead_alice, kind="interim")
    client.force_login(staff_carol)
    url = reverse("grants:reports_bulk_accept")

    asked = client.post(url, {"reports": [report.pk]})
    report.refresh_from_db()
    assert asked.status_code == 200
    assert "Accept 1 report?" in asked.text
    assert report.status == RS.SUBMITTED

    done = client.post(url, {"reports": [report.pk], "confirm": "1"})
    report.refresh_from_db()
    assert done.status_code == 302
    assert report.status == RS.ACCEPTED
    assert (
        Payment.objects.get(application=awarded, trigger="on_interim_report").status
        == Payment.Status.RELEASED
    )


def test_bulk_acceptance_refuses_reports_of_other_programmes(awarded, lead_alice, other_staff):
    write_interim(awarded, lead_alice)
    report = services.report_submit(application_id=awarded.pk, by=lead_alice, kind="interim")

    result = reports.reports_accept_many(report_ids=[report.pk], by=other_staff)

    assert result.accepted == []
    assert "not one of your programmes' reports" in result.refused[0]
    report.refresh_from_db()
    assert report.status == RS.SUBMITTED


def test_accepting_the_final_report_still_completes_the_grant(application_in):
    application = application_in(S.COMPLETED)

    assert application.final_report.status == RS.ACCEPTED
    assert application.awarded == AWARD
