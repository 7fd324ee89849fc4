"""Grants URLs × roles. The World's application is a draft of Alice's partnership (owner_lead);
rows that need it further along move it there directly in their `args`."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from grants import agreements
from grants.agreements import STANDARD_TERMS_VERSION
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
STAFF_CONFIRM = expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=200, admin=200)
# The reviewer's own pages: only the assigned reviewer (staff and admins assigned to nothing: 404).
ASSIGNED_ONLY = expect(
    anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=404, admin=404, reviewer=200
)
ASSIGNED_POST = {**ASSIGNED_ONLY, "reviewer": 302}
REVIEWERS_HOME = expect(
    anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=200, staff=200, admin=200, reviewer=200
)
PROGRAMME_STAFF_GET = expect(
    anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=200, admin=200
)
# Payments (issue 19): staff read their programmes' payments; finance (and admins) act on any.
PAYMENTS_GET = {**STAFF_ONLY_GET, "finance": 200}
FINANCE_POST = expect(
    anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=403, staff=403, admin=302, finance=302
)


def _day_after_the_round(w) -> str:
    closes = timezone.localtime(w.application.cohort.applications_close_at + timedelta(days=1))
    return f"{closes:%Y-%m-%dT%H:%M}"


def _worded(w):
    """The programme's own wording of the approval message (version 1)."""
    from messaging import programme_templates

    return programme_templates.template_save(
        programme_id=w.programme.pk, kind="approved", subject="Approved: $name", body="Well done.", by=w.staff
    )


PAYMENT_GET = expect(
    anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=200, admin=200, finance=200
)
FINANCE_GET = expect(
    anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=403, staff=403, admin=200, finance=200
)
PROGRAMME_FINANCE_POST = {**PAYMENT_GET, "staff": 302, "admin": 302, "finance": 302}
PAYEE = expect(
    anonymous=LOGIN, owner_lead=200, other_lead=404, other_staff=403, staff=403, admin=200, finance=200
)


def _awarded_elsewhere(w) -> Application:
    """An approved grant of Alice's school in a second cohort: the shared world's application
    (which other rows walk through its states) is left as it is."""
    a = factories.ApplicationFactory(partnership=_new_partnership(w), requested=Decimal("5000.00"))
    factories.BudgetLineFactory(application=a, amount=Decimal("5000.00"))
    Application.objects.filter(pk=a.pk).update(
        status="approved", awarded=Decimal("4000.00"), reference=f"T-{a.pk}"
    )
    return a


def _variation_asked(w):
    """The grant approved and Alice asking to move £500 of supply cover to resources."""
    from grants import variations

    a = _approved(w)
    w.variation = variations.variation_request(
        application_id=a.pk,
        by=w.users["owner_lead"],
        from_category="supply_cover",
        to_category="resources",
        amount="500.00",
        reason="Kits, not cover.",
    )
    return [a.pk, w.variation.pk]


# Each matrix row gets a fresh world; the browser layout test (tests/e2e/test_layout_fits.py) runs
# every row in one shared world, so these builders return what an earlier row already made instead
# of making it twice (issue 21). In a fresh world the guards never trigger.


def _submitted(w) -> Application:
    a = w.application
    if Application.objects.filter(pk=a.pk).exclude(status="draft").exists():
        return a
    if not a.budget_lines.exists():  # awarded lines are frozen (trigger budgetline_frozen_after_award)
        factories.BudgetLineFactory(application=a, amount=Decimal("5000.00"))
    Application.objects.filter(pk=a.pk).update(
        status="submitted", requested=Decimal("5000.00"), submitted_at=timezone.now(), reference=f"T-{a.pk}"
    )
    return a


def _approved(w) -> Application:
    a = _submitted(w)
    if a.payments.exists():
        return a
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


def _paid_first(w) -> Payment:
    payment = _approved(w).payments.get(sequence=1)
    Payment.objects.filter(pk=payment.pk).update(
        status="paid", paid_amount=payment.amount, paid_at=timezone.now()
    )
    return payment


def _offered(w) -> Application:
    a = _approved(w)
    agreements.agreement_offer(a, by=w.staff)
    return a


def _lapsed(w) -> Application:
    from grants.models import GrantAgreement

    a = _offered(w)
    GrantAgreement.objects.filter(application=a).update(status="lapsed")
    return a


def _report_submitted(w) -> Application:
    a = _approved(w)
    EndOfGrantReport.objects.update_or_create(
        application=a,
        kind="final",
        defaults={"status": "submitted", "outcomes": "Done.", "submitted_at": timezone.now()},
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


def _assigned(w):
    """The application submitted, programme P with a rubric, and Rhea (reviewer) assigned to it."""
    from grants.models import ReviewerAssignment

    a = _submitted(w)
    if getattr(w, "rubric", None) is None:
        w.rubric = factories.rubric(w.programme)
    assignment, _ = ReviewerAssignment.objects.get_or_create(
        application=a, reviewer=w.reviewer, defaults={"assigned_by": w.staff}
    )
    return assignment


def _review_data(w):
    data = {"recommendation": "fund", "comment": "Strong plan."}
    for c in w.rubric.criteria.all():
        data[f"score_{c.pk}"] = "4"
    return data


def _panel_data(w):
    a = _submitted(w)
    return {f"decision_{a.pk}": "approve", f"amount_{a.pk}": "4000.00"}


def _file_type(w):
    return factories.attachment_type(w.programme, name="Budget spreadsheet", formats=["pdf"])


def _attachment(w):
    """A clean file on Alice's draft application, uploaded through the service."""
    from grants import attachments
    from grants.models import Attachment

    if earlier := Attachment.objects.filter(application=w.application).first():
        return earlier
    # In the shared world an earlier row may have approved the application already: the file is
    # uploaded as to the draft it was (in a fresh world the application is a draft anyway).
    status = Application.objects.filter(pk=w.application.pk).values_list("status", flat=True).get()
    Application.objects.filter(pk=w.application.pk).update(status="draft")
    attachment = attachments.attachment_upload(
        application_id=w.application.pk, by=w.owner_lead, type_id=_file_type(w).pk, upload=factories.upload()
    )
    Application.objects.filter(pk=w.application.pk).update(status=status)
    return attachment


def _attachment_for_reviewer(w):
    """A file on Alice's application, then the application submitted and Rhea assigned to it."""
    attachment = _attachment(w)
    _assigned(w)
    return attachment


def _evidence(w):
    from grants import attachments

    a = _approved(w)
    report, _ = EndOfGrantReport.objects.get_or_create(
        application=a, kind="final", defaults={"outcomes": "So far."}
    )
    return attachments.evidence_upload(report_id=report.pk, by=w.owner_lead, upload=factories.upload())


def _interim(w, status="draft") -> Application:
    """Approved, with an interim report in its schedule (and an instalment waiting for it)."""
    a = _approved(w)
    EndOfGrantReport.objects.update_or_create(
        application=a,
        kind="interim",
        defaults={"status": status, "outcomes": "So far.", "submitted_at": timezone.now()},
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
    Row(
        "grants:attachment_download",
        {**VISIBLE, "reviewer": 200},
        args=lambda w: [_attachment_for_reviewer(w).pk],
        note="the assigned reviewer",
    ),
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
        data=lambda w: {"amount": "4000.00", "confirm": "yes"},
    ),
    Row(
        "grants:application_approve",
        STAFF_CONFIRM,
        args=lambda w: [_submitted(w).pk],
        method="post",
        data=lambda w: {"amount": "4000.00"},
        note="first post: the confirmation page",
    ),
    Row(
        "grants:application_reject",
        STAFF_POST,
        args=lambda w: [_submitted(w).pk],
        method="post",
        data=lambda w: {"reason": "Outside the programme's aims.", "confirm": "yes"},
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
    Row("grants:payment_list", PAYMENTS_GET),
    Row("grants:payments_csv", PAYMENTS_GET),
    Row("grants:payments_xlsx", PAYMENTS_GET),
    Row("grants:commitments_export", PAYMENT_GET, args=lambda w: [w.cohort.pk, "xlsx"]),
    Row("grants:commitments_export", PAYMENT_GET, args=lambda w: [w.cohort.pk, "csv"], note="csv"),
    # A programme's finance set-up (issue 19): its staff and finance, not only the admin.
    Row("grants:programme_finance", PAYMENT_GET, args=lambda w: [w.programme.pk]),
    Row(
        "grants:programme_finance",
        PROGRAMME_FINANCE_POST,
        args=lambda w: [w.programme.pk],
        method="post",
        data=lambda w: {"cost_code": "GR-ENT"},
    ),
    Row("grants:schedule_template", PAYMENT_GET, args=lambda w: [w.programme.pk]),
    Row(
        "grants:schedule_template",
        PROGRAMME_FINANCE_POST,
        args=lambda w: [w.programme.pk],
        method="post",
        data=lambda w: {
            "s-TOTAL_FORMS": "1",
            "s-INITIAL_FORMS": "0",
            "s-0-kind": "remainder",
            "s-0-trigger": "on_final_report",
        },
    ),
    Row("grants:agreement_terms", PAYMENT_GET, args=lambda w: [w.programme.pk]),
    Row(
        "grants:agreement_terms",
        PROGRAMME_FINANCE_POST,
        args=lambda w: [w.programme.pk],
        method="post",
        data=lambda w: {"conditions": "1. Spend it on the plan."},
    ),
    Row(
        "grants:agreement_reoffer",
        expect(
            anonymous=LOGIN,
            owner_lead=403,
            other_lead=404,
            other_staff=404,
            staff=302,
            admin=302,
            finance=302,
        ),
        args=lambda w: [_lapsed(w).pk],
        method="post",
    ),
    Row("grants:payment_detail", PAYMENT_GET, args=lambda w: [_approved(w).payments.get(sequence=1).pk]),
    Row(
        "grants:payment_release",
        FINANCE_POST,
        args=lambda w: [_approved(w).payments.get(sequence=2).pk],
        method="post",
    ),
    Row(
        "grants:payment_mark_paid",
        FINANCE_POST,
        args=lambda w: [_approved(w).payments.get(sequence=1).pk],
        method="post",
        data=lambda w: {
            "record-amount": "2000.00",
            "record-paid_on": timezone.localdate().isoformat(),
            "record-reference": "BACS-0001",
        },
    ),
    Row(
        "grants:payment_cancel",
        FINANCE_POST,
        args=lambda w: [_approved(w).payments.get(sequence=2).pk],
        method="post",
        data=lambda w: {"cancel-reason": "The partnership ended early."},
    ),
    Row(
        "grants:payment_reclaim",
        FINANCE_POST,
        args=lambda w: [_paid_first(w).pk],
        method="post",
        data=lambda w: {"reclaim-amount": "100.00", "reclaim-reason": "Unspent money."},
    ),
    Row("grants:schedule_edit", FINANCE_GET, args=lambda w: [_approved(w).pk]),
    Row(
        "grants:schedule_edit",
        FINANCE_POST,
        args=lambda w: [_approved(w).pk],
        method="post",
        data=lambda w: {
            "i-TOTAL_FORMS": "1",
            "i-INITIAL_FORMS": "0",
            "i-0-amount": "2000.00",
            "i-0-trigger": "on_final_report",
            "reason": "The school asked for one final payment.",
        },
    ),
    Row("grants:award_letter", {**VISIBLE, "finance": 200}, args=lambda w: [_offered(w).pk]),
    Row(
        "grants:agreement_respond",
        expect(
            anonymous=LOGIN,
            owner_lead=302,
            other_lead=404,
            other_staff=404,
            staff=403,
            admin=403,
            finance=403,
        ),
        args=lambda w: [_offered(w).pk],
        method="post",
        data=lambda w: {
            "accept-signed_name": "Alice Lead",
            "accept-signed_role": "Headteacher",
            "accept-terms_version": STANDARD_TERMS_VERSION,
            "accept-confirmed": "on",
        },
    ),
    # Budget variations (issue 19): the lead asks, programme staff decide, finance reads.
    Row("grants:budget_variations", {**VISIBLE, "finance": 200}, args=lambda w: [_awarded_elsewhere(w).pk]),
    Row(
        "grants:variation_request",
        expect(
            anonymous=LOGIN,
            owner_lead=302,
            other_lead=404,
            other_staff=404,
            staff=403,
            admin=403,
            finance=403,
        ),
        args=lambda w: [_approved(w).pk],
        method="post",
        data=lambda w: {
            "from_category": "supply_cover",
            "to_category": "travel",
            "amount": "100.00",
            "reason": "A coach, not cover.",
        },
    ),
    Row(
        "grants:variation_decide",
        expect(
            anonymous=LOGIN,
            owner_lead=403,
            other_lead=404,
            other_staff=404,
            staff=302,
            admin=302,
            finance=403,
        ),
        args=_variation_asked,
        method="post",
        data=lambda w: {f"v{w.variation.pk}-decision": "approve"},
    ),
    # Bank details: the school's verified leads and finance; programme staff never (issue 19).
    Row("grants:payee_edit", PAYEE, args=lambda w: [w.school_a.pk]),
    Row(
        "grants:payee_edit",
        {**PAYEE, "owner_lead": 302, "admin": 302, "finance": 302},
        args=lambda w: [w.school_a.pk],
        method="post",
        data=lambda w: {
            "finance_contact_name": "Sam Bursar",
            "finance_contact_email": "bursar@alder.sch.uk",
            "account_name": "Alder Primary",
            "sort_code": "30-99-50",
            "account_number": "12345678",
        },
    ),
    # Review (issue 17)
    Row("grants:my_reviews", REVIEWERS_HOME),
    Row("grants:review_page", ASSIGNED_ONLY, args=lambda w: [_assigned(w).pk]),
    Row(
        "grants:review_page",
        ASSIGNED_POST,
        args=lambda w: [_assigned(w).pk],
        method="post",
        data=_review_data,
    ),
    Row(
        "grants:conflict_declare",
        ASSIGNED_POST,
        args=lambda w: [_assigned(w).pk],
        method="post",
        data=lambda w: {"reason": "I chair the lead school's governors."},
    ),
    Row("grants:application_reviewers", PROGRAMME_STAFF_GET, args=lambda w: [_submitted(w).pk]),
    Row(
        "grants:application_reviewers",
        STAFF_POST,
        args=lambda w: [_submitted(w).pk],
        method="post",
        data=lambda w: {"reviewer": w.reviewer.pk},
    ),
    # Deadline extensions (issue 17): the programme's staff and admins, on a draft.
    Row("grants:application_extension", PROGRAMME_STAFF_GET, args=lambda w: [w.application.pk]),
    Row(
        "grants:application_extension",
        STAFF_POST,
        args=lambda w: [w.application.pk],
        method="post",
        data=lambda w: {"until": _day_after_the_round(w), "reason": "The head teacher was ill."},
    ),
    Row(
        "grants:assignment_end",
        STAFF_POST,
        args=lambda w: (lambda x: [x.application_id, x.pk])(_assigned(w)),
        method="post",
    ),
    Row(
        "grants:auto_assign",
        STAFF_POST,
        args=lambda w: [w.cohort.pk],
        method="post",
        data=lambda w: {"per_application": "1"},
    ),
    Row("grants:panel", PROGRAMME_STAFF_GET, args=lambda w: [w.cohort.pk]),
    Row(
        "grants:panel_decide",
        STAFF_CONFIRM,
        args=lambda w: [w.cohort.pk],
        method="post",
        data=_panel_data,
        note="first post: the confirmation page",
    ),
    Row(
        "grants:panel_decide",
        STAFF_POST,
        args=lambda w: [w.cohort.pk],
        method="post",
        data=lambda w: {**_panel_data(w), "confirm": "yes"},
    ),
    Row("grants:rubric_edit", PROGRAMME_STAFF_GET, args=lambda w: [w.programme.pk]),
    Row(
        "grants:rubric_edit",
        STAFF_POST,
        args=lambda w: [w.programme.pk],
        method="post",
        data=lambda w: {
            "scale_max": "3",
            "criteria-TOTAL_FORMS": "1",
            "criteria-INITIAL_FORMS": "0",
            "criteria-0-name": "Need",
            "criteria-0-weight": "2",
            "criteria-0-descriptors": "Weak\nFair\nStrong",
        },
    ),
    # A programme's e-mail wording: staff of that programme (other_staff: 404), admins
    Row("grants:programme_emails", PROGRAMME_STAFF_GET, args=lambda w: [w.programme.pk]),
    Row("grants:programme_email", PROGRAMME_STAFF_GET, args=lambda w: [w.programme.pk, "approved"]),
    Row(
        "grants:programme_email",
        STAFF_POST,
        args=lambda w: [w.programme.pk, "approved"],
        method="post",
        data=lambda w: {"action": "save", "subject": "Good news: $name", "body": "Well done, $school."},
        note="save",
    ),
    Row(
        "grants:programme_email_reset",
        STAFF_POST,
        args=lambda w: [_worded(w).programme_id, "approved"],
        method="post",
    ),
    Row(
        "grants:programme_email_version",
        PROGRAMME_STAFF_GET,
        args=lambda w: [w.programme.pk, "approved", _worded(w).version],
    ),
]
