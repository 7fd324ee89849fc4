"""Grants URLs × roles. The World's application is a draft of Alice's partnership (owner_lead);
rows that need it further along move it there directly in their `args`."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from grants.models import Application, EndOfGrantReport, Payment
from tests import factories
from tests.matrix import LEADS_ONLY_GET, LOGIN, STAFF_ONLY_GET, Row, expect

# Shapes
OWNER_ONLY = expect(anonymous=LOGIN, owner_lead=200, other_lead=404, other_staff=403, staff=403, admin=403)
OWNER_POST = expect(anonymous=LOGIN, owner_lead=302, other_lead=404, other_staff=403, staff=403, admin=403)
VISIBLE = expect(anonymous=LOGIN, owner_lead=200, other_lead=404, other_staff=404, staff=200, admin=200)
STAFF_POST = expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=302, admin=302)
CONVERSATION_POST = expect(
    anonymous=LOGIN, owner_lead=302, other_lead=404, other_staff=404, staff=302, admin=302
)
PROGRAMME_STAFF_GET = expect(
    anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=200, admin=200
)


def _submitted(w) -> Application:
    a = w.application
    factories.BudgetLineFactory(application=a, amount=Decimal("5000.00"))
    Application.objects.filter(pk=a.pk).update(
        status="submitted", requested=Decimal("5000.00"), submitted_at=timezone.now(), reference=f"T-{a.pk}"
    )
    return a


def _approved(w) -> Application:
    a = _submitted(w)
    Application.objects.filter(pk=a.pk).update(status="approved", awarded=Decimal("4000.00"))
    Payment.objects.create(
        application=a,
        sequence=1,
        amount=Decimal("2000.00"),
        trigger="on_approval",
        status="released",
        released_at=timezone.now(),
    )
    Payment.objects.create(application=a, sequence=2, amount=Decimal("2000.00"), trigger="on_final_report")
    return a


def _report_submitted(w) -> Application:
    a = _approved(w)
    EndOfGrantReport.objects.create(
        application=a, status="submitted", outcomes="Done.", submitted_at=timezone.now()
    )
    return a


def _new_partnership(w):
    """A second open cohort in which Alice's school leads a partnership with no application yet."""
    cohort = factories.CohortFactory(
        programme=w.programme,
        applications_open_at=timezone.now() - timedelta(days=1),
        applications_close_at=timezone.now() + timedelta(days=10),
    )
    return factories.PartnershipFactory(cohort=cohort, lead_school=w.school_a, partners=4)


def _file_type(w):
    return factories.attachment_type(w.programme, name="Budget spreadsheet", formats=["pdf"])


def _attachment(w):
    """A clean file on Alice's draft application, uploaded through the service."""
    from grants import attachments

    return attachments.attachment_upload(
        application_id=w.application.pk, by=w.owner_lead, type_id=_file_type(w).pk, upload=factories.upload()
    )


def _evidence(w):
    from grants import attachments

    a = _approved(w)
    report = EndOfGrantReport.objects.create(application=a, outcomes="So far.")
    return attachments.evidence_upload(report_id=report.pk, by=w.owner_lead, upload=factories.upload())


def _interim(w, status="draft") -> Application:
    """Approved, with an interim report in its schedule (and an instalment waiting for it)."""
    a = _approved(w)
    EndOfGrantReport.objects.create(
        application=a, kind="interim", status=status, outcomes="So far.", submitted_at=timezone.now()
    )
    return a


def _interim_submitted_id(w) -> list[int]:
    return list(
        EndOfGrantReport.objects.filter(application=_interim(w, "submitted"), kind="interim").values_list(
            "pk", flat=True
        )
    )


def _step_data(w):
    return {"partnership": w.partnership.pk, "aims": "Better science.", "local_stem_issue": "Low uptake."}


def _report_data(w):
    return {
        "partnership": w.partnership.pk,
        "teachers_reached": "10",
        "students_reached": "100",
        "outcomes": "More.",
    }


ROWS = [
    Row("grants:my_applications", LEADS_ONLY_GET),
    Row("grants:application_start", OWNER_ONLY, args=lambda w: [_new_partnership(w).pk]),
    Row("grants:application_start", OWNER_POST, args=lambda w: [_new_partnership(w).pk], method="post"),
    Row("grants:application_detail", VISIBLE, args=lambda w: [w.application.pk]),
    Row(
        "grants:application_message",
        CONVERSATION_POST,
        args=lambda w: [w.application.pk],
        method="post",
        data=lambda w: {"body": "A question about the timeline."},
    ),
    Row(
        "grants:application_message",
        CONVERSATION_POST,
        args=lambda w: [_submitted(w).pk],
        method="post",
        data=lambda w: {"body": "A note for colleagues.", "staff_only": "on"},
        note="a staff note (a lead's staff_only is ignored: a plain message)",
    ),
    Row("grants:application_step", OWNER_ONLY, args=lambda w: [w.application.pk, 1]),
    Row(
        "grants:application_step",
        OWNER_POST,
        args=lambda w: [w.application.pk, 1],
        method="post",
        data=_step_data,
    ),
    Row(
        "grants:application_autosave",
        OWNER_ONLY,
        args=lambda w: [w.application.pk, 1],
        method="post",
        data=_step_data,
    ),
    Row("grants:application_review", OWNER_ONLY, args=lambda w: [w.application.pk]),
    Row(
        "grants:application_review",
        OWNER_ONLY,
        args=lambda w: [w.application.pk],
        method="post",
        data=lambda w: {"partnership": w.partnership.pk},
        note="incomplete draft: checklist errors",
    ),
    Row("grants:application_withdraw", OWNER_POST, args=lambda w: [w.application.pk], method="post"),
    Row("grants:report_edit", OWNER_ONLY, args=lambda w: [_approved(w).pk]),
    Row("grants:report_edit", OWNER_POST, args=lambda w: [_approved(w).pk], method="post", data=_report_data),
    # Files (issue 20): the download is scoped like the application page; a guessed id is a 404
    Row("grants:application_files", OWNER_ONLY, args=lambda w: [w.application.pk]),
    Row(
        "grants:application_files",
        OWNER_POST,
        args=lambda w: [w.application.pk],
        method="post",
        data=lambda w: {"attachment_type": _file_type(w).pk, "file": factories.upload(), "upload": ""},
        note="upload a PDF",
    ),
    Row("grants:attachment_download", VISIBLE, args=lambda w: [_attachment(w).pk]),
    Row("grants:attachment_download", VISIBLE, args=lambda w: [_evidence(w).pk], note="report evidence"),
    Row("grants:evidence_remove", OWNER_POST, args=lambda w: [_evidence(w).pk], method="post"),
    # Reports on a schedule (issue 20)
    Row("grants:report_edit", OWNER_ONLY, args=lambda w: [_interim(w).pk, "interim"], note="interim"),
    Row(
        "grants:report_edit",
        OWNER_POST,
        args=lambda w: [_interim(w).pk, "interim"],
        method="post",
        data=_report_data,
        note="interim",
    ),
    Row(
        "grants:report_autosave",
        OWNER_ONLY,
        args=lambda w: [_interim(w).pk, "interim"],
        method="post",
        data=_report_data,
    ),
    Row(
        "grants:report_evidence",
        OWNER_POST,
        args=lambda w: [_interim(w).pk, "interim"],
        method="post",
        data=lambda w: {
            "file": factories.upload("work.png", factories.PNG_BYTES, "image/png"),
            "caption": "Work",
        },
    ),
    Row(
        "grants:report_accept",
        STAFF_POST,
        args=lambda w: [_interim(w, "submitted").pk, "interim"],
        method="post",
        note="interim",
    ),
    Row(
        "grants:report_return",
        STAFF_POST,
        args=lambda w: [_interim(w, "submitted").pk, "interim"],
        method="post",
        data=lambda w: {"comment": "Add the attendance sheets."},
        note="interim",
    ),
    Row("grants:staff_reports", STAFF_ONLY_GET),
    Row(
        "grants:reports_bulk_accept",
        # Staff of another programme cannot choose the report: the form says so (400), nothing leaks.
        expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=400, staff=200, admin=200),
        method="post",
        data=lambda w: {"reports": _interim_submitted_id(w)},
        note="the confirmation step",
    ),
    Row("grants:review_queue", STAFF_ONLY_GET),
    Row(
        "grants:application_request_changes",
        STAFF_POST,
        args=lambda w: [_submitted(w).pk],
        method="post",
        data=lambda w: {"comment": "Please add a timeline."},
    ),
    Row(
        "grants:application_approve",
        STAFF_POST,
        args=lambda w: [_submitted(w).pk],
        method="post",
        data=lambda w: {"amount": "4000.00"},
    ),
    Row(
        "grants:application_reject",
        STAFF_POST,
        args=lambda w: [_submitted(w).pk],
        method="post",
        data=lambda w: {"reason": "Outside the programme's aims."},
    ),
    Row(
        "grants:application_score",
        STAFF_POST,
        args=lambda w: [_submitted(w).pk],
        method="post",
        data=lambda w: {"criterion": "need", "score": "4", "comment": "Clear need."},
    ),
    Row("grants:report_accept", STAFF_POST, args=lambda w: [_report_submitted(w).pk], method="post"),
    Row(
        "grants:report_return",
        STAFF_POST,
        args=lambda w: [_report_submitted(w).pk],
        method="post",
        data=lambda w: {"comment": "Add the spend per line."},
    ),
    Row("grants:cohort_budget", PROGRAMME_STAFF_GET, args=lambda w: [w.cohort.pk]),
    Row("grants:payment_list", STAFF_ONLY_GET),
    Row("grants:payments_csv", STAFF_ONLY_GET),
    Row(
        "grants:payment_mark_paid",
        STAFF_POST,
        args=lambda w: [_approved(w).payments.get(sequence=1).pk],
        method="post",
    ),
]
