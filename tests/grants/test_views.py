"""The grants pages: the lead's multi-step form and autosave, staff actions, queue, budget and
payments, the end-of-grant report — and bad input on every form (field errors, never a 500,
nothing partially saved)."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grants import services
from grants.models import Application, AuditEvent, BudgetLine, EndOfGrantReport, Payment, Score
from messaging.models import OutboxMessage
from portal.money import format_gbp
from tests import factories
from tests.grants.conftest import AWARD, COMPLETE_TEXT, complete, submit_report

S = Application.Status


def step_url(application, step):
    return reverse("grants:application_step", args=[application.pk, step])


def budget_post(application, rows):
    data = {
        "partnership": application.partnership_id,
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for i, (category, amount, note) in enumerate(rows):
        data.update({f"lines-{i}-category": category, f"lines-{i}-amount": amount, f"lines-{i}-note": note})
    return data


@pytest.fixture
def alice(client, lead_alice):
    client.force_login(lead_alice)
    return client


@pytest.fixture
def carol(client, staff_carol):
    client.force_login(staff_carol)
    return client


# --- Lead: start and the steps -------------------------------------------------------------


def test_lead_starts_an_application_from_their_partnership(alice, partnership):
    response = alice.post(reverse("grants:application_start", args=[partnership.pk]))

    application = Application.objects.get(partnership=partnership)
    assert response.status_code == 302
    assert response.url == step_url(application, 1)


def test_start_in_a_closed_cohort_shows_the_reason(alice, partnership, cohort):
    from datetime import timedelta

    from django.utils import timezone

    cohort.applications_open_at = timezone.now() - timedelta(days=90)
    cohort.applications_close_at = timezone.now() - timedelta(days=1)
    cohort.save()

    response = alice.post(reverse("grants:application_start", args=[partnership.pk]))

    assert response.status_code == 200
    assert "not open now" in response.content.decode()
    assert not Application.objects.filter(partnership=partnership).exists()


def test_what_the_lead_typed_is_in_the_database_after_a_new_session(client, lead_alice, draft):
    client.force_login(lead_alice)
    client.post(step_url(draft, 1), {"partnership": draft.partnership_id, "aims": "Typed words", "stay": "1"})
    client.logout()
    client.force_login(lead_alice)

    response = client.get(step_url(draft, 1))

    assert "Typed words" in response.content.decode()


def test_step_saves_even_when_other_steps_are_empty(alice, draft):
    response = alice.post(
        step_url(draft, 3), {"partnership": draft.partnership_id, "timeline": "Autumn term"}
    )

    assert response.status_code == 302
    assert response.url == step_url(draft, 4)
    draft.refresh_from_db()
    assert draft.timeline == "Autumn term"
    assert draft.current_step == 3


def test_budget_step_saves_lines_and_computes_requested_on_the_server(alice, draft):
    data = budget_post(draft, [("supply_cover", "1200.50", "Cover"), ("travel", "99.50", "")])
    data["requested"] = "1.00"  # ignored: requested is never taken from the client

    alice.post(step_url(draft, 4), data)

    draft.refresh_from_db()
    assert draft.requested == Decimal("1300.00")
    assert draft.budget_lines.count() == 2


def test_budget_of_12000_00_is_accepted_through_the_form(alice, draft):
    alice.post(step_url(draft, 4), budget_post(draft, [("resources", "12000.00", "")]))

    draft.refresh_from_db()
    assert draft.requested == Decimal("12000.00")


def test_budget_of_12000_01_is_refused_through_the_form_with_a_message(alice, draft):
    response = alice.post(step_url(draft, 4), budget_post(draft, [("resources", "12000.01", "")]))

    assert response.status_code == 200
    assert "£12,000.01" in response.content.decode()
    assert not draft.budget_lines.exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("resources", "-5", ""), "Enter an amount above £0.00, or remove the line."),
        (("resources", "0", ""), "Enter an amount above £0.00, or remove the line."),
        (("resources", "abc", ""), "Enter a number"),
        (("resources", "1e30", ""), "The cap is £12,000.00"),
        (("resources", "1000000000000", ""), "The cap is £12,000.00"),
        (("resources", "", ""), "This field is required"),
        (("", "100", ""), "This field is required"),
        (("sweets", "100", ""), "Select a valid choice"),
        (("resources", "100", "n" * 20_000), "Keep this to 500 characters"),
    ],
    ids=[
        "negative",
        "zero",
        "non-numeric",
        "1e30",
        "a-trillion",
        "missing-amount",
        "missing-category",
        "bad-category",
        "long-note",
    ],
)
def test_bad_budget_line_gives_a_field_error_and_saves_nothing(alice, draft, lead_alice, row, message):
    complete(draft, lead_alice)
    before = list(BudgetLine.objects.filter(application=draft).values_list("amount", flat=True))

    response = alice.post(step_url(draft, 4), budget_post(draft, [row]))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert list(BudgetLine.objects.filter(application=draft).values_list("amount", flat=True)) == before


def test_tampered_management_form_is_an_error_not_a_500(alice, draft):
    data = budget_post(draft, [("resources", "10", "")])
    data["lines-TOTAL_FORMS"] = "x"

    response = alice.post(step_url(draft, 4), data)

    assert response.status_code == 200
    assert not draft.budget_lines.exists()


@pytest.mark.parametrize("step", [1, 2, 3])
def test_20000_character_text_is_a_field_error_and_saves_nothing(alice, draft, step):
    from grants.forms import STEPS

    fields = [n for n in STEPS[step][1].base_fields if n != "partnership"]
    data = {"partnership": draft.partnership_id, **dict.fromkeys(fields, "y" * 20_000)}

    response = alice.post(step_url(draft, step), data)

    assert response.status_code == 200
    assert "Keep this to 10,000 characters: it has 20,000." in response.content.decode()
    draft.refresh_from_db()
    assert all(getattr(draft, n) == "" for n in fields if n != "local_stem_issue")


def test_tampered_partnership_id_is_refused_and_nothing_saved(alice, draft):
    other = factories.PartnershipFactory(cohort=draft.cohort)

    response = alice.post(step_url(draft, 1), {"partnership": other.pk, "aims": "Into the wrong one"})

    assert response.status_code == 200
    assert "another partnership" in response.content.decode()
    draft.refresh_from_db()
    assert draft.aims == ""


@pytest.mark.parametrize("value", ["", "abc", "1e30"])
def test_missing_or_garbled_partnership_id_is_a_field_error(alice, draft, value):
    response = alice.post(step_url(draft, 1), {"partnership": value, "aims": "x"})

    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.aims == ""


def test_partner_school_lead_may_view_but_not_edit(client, partner_lead, draft):
    client.force_login(partner_lead)

    assert client.get(reverse("grants:application_detail", args=[draft.pk])).status_code == 200
    assert client.get(step_url(draft, 1)).status_code == 403
    assert (
        client.post(step_url(draft, 1), {"partnership": draft.partnership_id, "aims": "x"}).status_code == 403
    )


def test_unknown_step_is_404(alice, draft):
    assert alice.get(step_url(draft, 9)).status_code == 404


# --- Autosave ---------------------------------------------------------------------------------


def test_autosave_saves_and_answers_json(alice, draft):
    url = reverse("grants:application_autosave", args=[draft.pk, 4])

    response = alice.post(url, budget_post(draft, [("travel", "250.00", "Coach")]))

    assert response.status_code == 200
    assert response.json()["saved"] is True
    assert response.json()["requested"] == "£250.00"
    draft.refresh_from_db()
    assert draft.requested == Decimal("250.00")


def test_autosave_of_bad_input_answers_400_with_the_errors(alice, draft):
    url = reverse("grants:application_autosave", args=[draft.pk, 1])

    response = alice.post(url, {"partnership": draft.partnership_id, "aims": "z" * 20_000})

    assert response.status_code == 400
    assert response.json()["saved"] is False
    assert "aims" in response.json()["errors"]


def test_autosave_refuses_get(alice, draft):
    assert alice.get(reverse("grants:application_autosave", args=[draft.pk, 1])).status_code == 405


# --- Review and submit ------------------------------------------------------------------------


def test_review_page_lists_what_is_missing(alice, draft):
    response = alice.get(reverse("grants:application_review", args=[draft.pk]))

    body = response.content.decode()
    assert "Aims of the partnership: not written yet." in body
    assert "Budget: add at least one budget line." in body


def test_submitting_an_incomplete_draft_shows_errors_and_stays_a_draft(alice, draft):
    response = alice.post(
        reverse("grants:application_review", args=[draft.pk]), {"partnership": draft.partnership_id}
    )

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == S.DRAFT


def test_lead_submits_through_the_pages(alice, draft, lead_alice):
    complete(draft, lead_alice)

    response = alice.post(
        reverse("grants:application_review", args=[draft.pk]),
        {"partnership": draft.partnership_id, "confirm": "yes"},
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == S.SUBMITTED


def test_submitting_first_shows_what_will_be_submitted_and_changes_nothing(alice, draft, lead_alice):
    complete(draft, lead_alice)
    draft.refresh_from_db()
    sent_before = OutboxMessage.objects.count()

    response = alice.post(
        reverse("grants:application_review", args=[draft.pk]), {"partnership": draft.partnership_id}
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "Submit this application?" in body
    assert draft.aims in body
    assert format_gbp(draft.requested) in body
    assert 'name="confirm" value="yes"' in body
    assert reverse("grants:application_review", args=[draft.pk]) in body  # "No, go back"
    draft.refresh_from_db()
    assert draft.status == S.DRAFT
    assert not draft.reference
    assert draft.submitted_at is None
    assert OutboxMessage.objects.count() == sent_before
    # Going back: the review step shows everything as it was.
    back = alice.get(reverse("grants:application_review", args=[draft.pk])).content.decode()
    assert draft.aims in back
    assert "Everything needed is there." in back


def test_the_confirmation_is_not_shown_when_the_submission_would_fail(alice, draft):
    response = alice.post(
        reverse("grants:application_review", args=[draft.pk]), {"partnership": draft.partnership_id}
    )

    assert "Submit this application?" not in response.content.decode()
    assert "There is a problem" in response.content.decode()


def test_withdrawing_a_rejected_application_is_a_form_error(client, lead_alice, application_in):
    application = application_in(S.REJECTED)
    client.force_login(lead_alice)

    response = client.post(reverse("grants:application_withdraw", args=[application.pk]))

    assert response.status_code == 200
    assert "cannot withdraw it" in response.content.decode()


# --- Staff actions ---------------------------------------------------------------------------


def test_staff_approves_through_the_page_after_a_confirmation(carol, application_in, cohort):
    application = application_in(S.SUBMITTED)
    url = reverse("grants:application_approve", args=[application.pk])

    asked = carol.post(url, {"amount": "4000.00"})
    application.refresh_from_db()
    assert asked.status_code == 200
    assert application.status == S.SUBMITTED  # nothing yet
    body = asked.content.decode()
    assert "Approve this application?" in body
    assert f"from £{cohort.budget:,.2f} to £{cohort.budget - Decimal('4000.00'):,.2f}" in body
    assert 'name="confirm" value="yes"' in body

    response = carol.post(url, {"amount": "4000.00", "confirm": "yes"})

    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.awarded) == (S.APPROVED, Decimal("4000.00"))


def test_rejecting_asks_for_confirmation_first(carol, application_in):
    application = application_in(S.SUBMITTED)
    url = reverse("grants:application_reject", args=[application.pk])

    asked = carol.post(url, {"reason": "Out of scope."})
    application.refresh_from_db()
    assert "Reject this application?" in asked.content.decode()
    assert application.status == S.SUBMITTED

    carol.post(url, {"reason": "Out of scope.", "confirm": "yes"})
    application.refresh_from_db()
    assert application.status == S.REJECTED


def test_approving_a_draft_is_a_form_error_with_a_message(carol, draft):
    response = carol.post(reverse("grants:application_approve", args=[draft.pk]), {"amount": "10.00"})

    assert response.status_code == 200
    assert "cannot approve it: this application is draft" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == S.DRAFT


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-1", "greater than or equal to 0.01"),
        ("0", "greater than or equal to 0.01"),
        ("abc", "Enter a number"),
        ("1e30", "no more than 10 digits"),
        ("", "This field is required"),
        ("5000.01", "cannot be more than £5,000.00"),
    ],
)
def test_bad_award_amount_is_a_field_error(carol, application_in, amount, message):
    application = application_in(S.SUBMITTED)

    response = carol.post(reverse("grants:application_approve", args=[application.pk]), {"amount": amount})

    assert response.status_code == 200
    assert message in response.content.decode()
    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    assert not Payment.objects.filter(application=application).exists()


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("grants:application_request_changes", {}),
        ("grants:application_request_changes", {"comment": "c" * 20_000}),
        ("grants:application_reject", {"reason": ""}),
        ("grants:application_reject", {"reason": "r" * 20_000}),
    ],
)
def test_bad_staff_input_is_a_field_error_and_changes_nothing(carol, application_in, url_name, data):
    application = application_in(S.SUBMITTED)
    events = AuditEvent.objects.filter(application=application).count()

    response = carol.post(reverse(url_name, args=[application.pk]), data)

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    assert AuditEvent.objects.filter(application=application).count() == events
    assert not Score.objects.filter(application=application).exists()


def test_conflicted_staff_gets_403_and_sees_no_decision_forms(client, conflicted_staff, application_in):
    application = application_in(S.SUBMITTED)
    client.force_login(conflicted_staff)

    page = client.get(reverse("grants:application_detail", args=[application.pk]))
    response = client.post(reverse("grants:application_approve", args=[application.pk]), {"amount": "10.00"})

    assert "may not score or decide" in page.content.decode()
    assert 'action="/grants/applications/' not in page.content.decode()
    assert response.status_code == 403


def test_staff_page_shows_schools_budget_scores_and_history(carol, application_in, staff_carol):
    application = application_in(S.SUBMITTED)
    services.score_record(
        application_id=application.pk, by=staff_carol, criterion="need", score=4, comment="Real"
    )

    body = carol.get(reverse("grants:application_detail", args=[application.pk])).content.decode()

    assert application.partnership.lead_school.name in body
    assert "Phase mix" in body
    assert "£5,000.00" in body
    assert "4/5" in body
    assert "Submitted" in body


# --- Queue, budget, payments --------------------------------------------------------------------


def _queue_count(client, **params):
    response = client.get(reverse("grants:review_queue"), params)
    return response.status_code, response.context["page"].paginator.count


def test_queue_filters_by_status_region_phase_and_cohort(carol, application_in, cohort, programme):
    application_in(S.SUBMITTED)
    elsewhere = factories.ApplicationFactory(
        partnership=factories.PartnershipFactory(
            cohort=factories.CohortFactory(programme=programme),
            lead_school=factories.SchoolFactory(region="London", phase="secondary"),
        ),
        status=S.SUBMITTED,
    )

    assert _queue_count(carol) == (200, 2)
    assert _queue_count(carol, status="approved") == (200, 0)
    assert _queue_count(carol, region="London") == (200, 1)
    assert _queue_count(carol, phase="secondary") == (200, 1)
    assert _queue_count(carol, cohort=elsewhere.cohort_id) == (200, 1)


@pytest.mark.parametrize(
    "params", [{"cohort": "abc"}, {"cohort": "999999"}, {"status": "lost"}, {"phase": "x"}]
)
def test_queue_with_bad_filters_answers_400_with_a_message(carol, params):
    response = carol.get(reverse("grants:review_queue"), params)

    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()


def test_queue_query_count_does_not_grow_with_applications(carol, cohort):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert carol.get(reverse("grants:review_queue")).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(2):
        factories.ApplicationFactory(
            partnership=factories.PartnershipFactory(cohort=cohort, partners=2), status="submitted"
        )
    count_queries()  # warms the cached list of regions
    few = count_queries()
    for _ in range(8):
        factories.ApplicationFactory(
            partnership=factories.PartnershipFactory(cohort=cohort, partners=2), status="submitted"
        )

    assert count_queries() == few


def test_cohort_budget_page_shows_awarded_paid_remaining(carol, application_in, cohort):
    application_in(S.APPROVED)

    body = carol.get(reverse("grants:cohort_budget", args=[cohort.pk])).content.decode()

    assert "£4,000.00" in body
    assert f"£{cohort.budget - AWARD:,.2f}" in body


def test_csv_lists_the_payments_of_the_chosen_state(carol, application_in, staff_carol):
    application = application_in(S.APPROVED, released=True)

    response = carol.get(reverse("grants:payments_csv"), {"status": "released"})

    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    released = application.payments.get(status=Payment.Status.RELEASED)
    assert response["Content-Type"].startswith("text/csv")
    assert [(r["application_reference"], r["instalment"], r["amount_gbp"]) for r in rows] == [
        (application.reference, "1", f"{released.amount:.2f}")
    ]


def test_csv_quotes_text_a_spreadsheet_would_run(carol, application_in):
    application = application_in(S.APPROVED)
    application.partnership.name = "=HYPERLINK(evil)"
    application.partnership.save()

    rows = list(
        csv.DictReader(io.StringIO(carol.get(reverse("grants:payments_csv")).content.decode("utf-8-sig")))
    )

    assert rows[0]["partnership"] == "'=HYPERLINK(evil)"


def test_marking_a_scheduled_payment_paid_shows_a_message_and_changes_nothing(
    client, finance_fay, application_in
):
    client.force_login(finance_fay)
    application = application_in(S.APPROVED)
    scheduled = application.payments.get(sequence=2)

    response = client.post(
        reverse("grants:payment_mark_paid", args=[scheduled.pk]),
        {"record-amount": "1.00", "record-paid_on": "2026-01-01", "record-reference": "BACS-1"},
    )

    assert "has not been released yet" in response.content.decode()
    scheduled.refresh_from_db()
    assert scheduled.status == Payment.Status.SCHEDULED


def test_payment_list_with_a_bad_filter_is_400(carol):
    assert carol.get(reverse("grants:payment_list"), {"cohort": "x"}).status_code == 400


# --- End-of-grant report -------------------------------------------------------------------------


def report_data(application, **extra):
    return {
        "partnership": application.partnership_id,
        "teachers_reached": "10",
        "students_reached": "200",
        "outcomes": "More practical science.",
        **extra,
    }


def test_lead_saves_and_submits_the_report(alice, application_in):
    application = application_in(S.APPROVED)
    activity = factories.CPDActivityFactory(partnership=application.partnership)
    url = reverse("grants:report_edit", args=[application.pk])

    alice.post(
        url,
        report_data(application, activities=[activity.pk], spend_supply_cover="3900.00", barriers=["time"]),
    )
    response = alice.post(
        url,
        report_data(
            application,
            activities=[activity.pk],
            spend_supply_cover="3900.00",
            variance_supply_cover="One CPD day needed no cover.",
            submit="1",
        ),
    )

    assert response.status_code == 302
    report = EndOfGrantReport.objects.get(application=application)
    assert report.status == EndOfGrantReport.Status.SUBMITTED
    assert report.spend.get().spent == Decimal("3900.00")


@pytest.mark.parametrize(
    "bad",
    [
        {"teachers_reached": "-1"},
        {"teachers_reached": "abc"},
        {"students_reached": "1e30"},
        {"teachers_reached": ""},
        {"outcomes": "o" * 20_000},
        {"spend_supply_cover": "-3"},
        {"spend_supply_cover": "1e30"},
        {"barriers": ["not-a-tag"]},
        {"partnership": "0"},
    ],
)
def test_bad_report_input_is_a_field_error_and_saves_nothing(alice, application_in, bad):
    application = application_in(S.APPROVED)

    response = alice.post(
        reverse("grants:report_edit", args=[application.pk]), report_data(application, **bad)
    )

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not EndOfGrantReport.objects.filter(application=application).exists()


def test_report_cannot_link_an_activity_of_another_partnership(alice, application_in):
    application = application_in(S.APPROVED)
    elsewhere = factories.CPDActivityFactory()

    response = alice.post(
        reverse("grants:report_edit", args=[application.pk]),
        report_data(application, activities=[elsewhere.pk]),
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not EndOfGrantReport.objects.filter(application=application).exists()


def test_staff_accepts_the_report_through_the_page(carol, application_in, lead_alice):
    application = application_in(S.APPROVED)
    submit_report(application, lead_alice)

    response = carol.post(reverse("grants:report_accept", args=[application.pk]))

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == S.COMPLETED


def test_returning_a_report_without_a_comment_is_a_field_error(carol, application_in, lead_alice):
    application = application_in(S.APPROVED)
    submit_report(application, lead_alice)

    response = carol.post(reverse("grants:report_return", args=[application.pk]), {"comment": ""})

    assert response.status_code == 200
    assert EndOfGrantReport.objects.get(application=application).status == EndOfGrantReport.Status.SUBMITTED


def test_complete_text_fields_survive_the_review_page(alice, draft, lead_alice):
    complete(draft, lead_alice)

    body = alice.get(reverse("grants:application_review", args=[draft.pk])).content.decode()

    assert COMPLETE_TEXT["timeline"] in body


def test_step_tabs_mark_the_steps_with_nothing_missing_and_the_checklist_links_to_the_field(
    alice, lead_alice, draft
):
    services.application_save_draft(
        application_id=draft.pk, by=lead_alice, fields={"timeline": "Autumn: CPD."}
    )

    step_page = alice.get(step_url(draft, 1)).content.decode()
    review = alice.get(reverse("grants:application_review", args=[draft.pk])).content.decode()

    assert '3. Timeline<span class="visually-hidden"> (done)</span>' in step_page
    assert "1. Aims and the local STEM issue<span" not in step_page  # nothing written yet
    assert f"{step_url(draft, 1)}#id_aims" in review
    assert f"{step_url(draft, 5)}#id_" in review
