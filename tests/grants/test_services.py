"""The rules of grants/services.py, each at its edge."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from grants import services
from grants.models import Application, AuditEvent, EndOfGrantReport, Payment, Score
from grants.selectors import cohort_budget
from partnerships.models import Membership
from tests import factories
from tests.grants.conftest import AWARD, REQUESTED, complete, submit_report

S = Application.Status


def lines(*amounts):
    return [{"category": "resources", "amount": a, "note": ""} for a in amounts]


# --- Start ---------------------------------------------------------------------------------


def test_start_snapshots_the_programme_cap(partnership, lead_alice, programme):
    application = services.application_start(partnership_id=partnership.pk, by=lead_alice)
    programme.grant_cap = Decimal("9000.00")
    programme.save()

    application.refresh_from_db()
    assert application.grant_cap == Decimal("12000.00")
    assert application.status == S.DRAFT


def test_start_twice_returns_the_same_application(partnership, lead_alice):
    first = services.application_start(partnership_id=partnership.pk, by=lead_alice)
    second = services.application_start(partnership_id=partnership.pk, by=lead_alice)

    assert first.pk == second.pk
    assert Application.objects.filter(partnership=partnership).count() == 1


def test_partner_school_lead_cannot_start(partnership, partner_lead):
    with pytest.raises(PermissionDenied):
        services.application_start(partnership_id=partnership.pk, by=partner_lead)


def test_start_refused_when_the_cohort_window_is_closed(partnership, lead_alice, cohort):
    cohort.applications_open_at = timezone.now() - timedelta(days=60)
    cohort.applications_close_at = timezone.now() - timedelta(days=1)
    cohort.save()

    with pytest.raises(ValidationError, match="not open now"):
        services.application_start(partnership_id=partnership.pk, by=lead_alice)


# --- Draft and the cap -------------------------------------------------------------------


def test_draft_accepts_partial_data(draft, lead_alice):
    services.application_save_draft(application_id=draft.pk, by=lead_alice, fields={"aims": "Only the aims."})

    draft.refresh_from_db()
    assert draft.aims == "Only the aims."
    assert draft.timeline == ""


def test_requested_is_the_sum_of_budget_lines(draft, lead_alice):
    services.application_save_draft(
        application_id=draft.pk, by=lead_alice, budget_lines=lines("1000.10", "2000.20", "0.05")
    )

    draft.refresh_from_db()
    assert draft.requested == Decimal("3000.35")
    assert draft.budget_lines.count() == 3


def test_budget_lines_are_replaced_not_added(draft, lead_alice):
    services.application_save_draft(
        application_id=draft.pk, by=lead_alice, budget_lines=lines("100.00", "200.00")
    )
    services.application_save_draft(application_id=draft.pk, by=lead_alice, budget_lines=lines("50.00"))

    draft.refresh_from_db()
    assert list(draft.budget_lines.values_list("amount", flat=True)) == [Decimal("50.00")]
    assert draft.requested == Decimal("50.00")


def test_budget_of_exactly_the_cap_is_accepted(draft, lead_alice):
    services.application_save_draft(
        application_id=draft.pk, by=lead_alice, budget_lines=lines("6000.00", "6000.00")
    )

    draft.refresh_from_db()
    assert draft.requested == Decimal("12000.00")


def test_budget_one_penny_over_the_cap_is_refused_with_a_message(draft, lead_alice):
    services.application_save_draft(application_id=draft.pk, by=lead_alice, budget_lines=lines("100.00"))

    with pytest.raises(ValidationError) as refused:
        services.application_save_draft(
            application_id=draft.pk, by=lead_alice, budget_lines=lines("6000.00", "6000.01")
        )

    assert "£12,000.01" in refused.value.message_dict["budget"][0]
    assert "£12,000.00" in refused.value.message_dict["budget"][0]
    draft.refresh_from_db()
    assert draft.requested == Decimal("100.00")  # the earlier lines are untouched
    assert draft.budget_lines.count() == 1


@pytest.mark.postgres
def test_database_refuses_requested_over_the_cap_on_a_direct_update(draft):
    with pytest.raises(IntegrityError, match="application_requested_lte_cap"), transaction.atomic():
        Application.objects.filter(pk=draft.pk).update(requested=Decimal("12000.01"))


@pytest.mark.postgres
def test_database_accepts_requested_of_exactly_the_cap_on_a_direct_update(draft):
    Application.objects.filter(pk=draft.pk).update(requested=Decimal("12000.00"))

    draft.refresh_from_db()
    assert draft.requested == Decimal("12000.00")


@pytest.mark.parametrize("amount", ["-1.00", "abc", "1e30", "NaN", "Infinity", None])
def test_bad_budget_amounts_are_refused_and_nothing_saved(draft, lead_alice, amount):
    with pytest.raises(ValidationError) as refused:
        services.application_save_draft(
            application_id=draft.pk, by=lead_alice, fields={"aims": "typed"}, budget_lines=lines(amount)
        )

    assert refused.value.message_dict["budget"]
    draft.refresh_from_db()
    assert draft.aims == ""  # nothing partial
    assert not draft.budget_lines.exists()


def test_over_long_text_is_refused(draft, lead_alice):
    with pytest.raises(ValidationError) as refused:
        services.application_save_draft(application_id=draft.pk, by=lead_alice, fields={"aims": "x" * 20_000})

    assert "10,000" in refused.value.message_dict["aims"][0]


def test_draft_cannot_be_changed_once_submitted(application_in, lead_alice):
    application = application_in(S.SUBMITTED)

    with pytest.raises(ValidationError, match="submitted"):
        services.application_save_draft(application_id=application.pk, by=lead_alice, fields={"aims": "new"})


def test_saving_the_same_draft_twice_changes_nothing(draft, lead_alice):
    complete(draft, lead_alice)
    draft.refresh_from_db()
    before = (draft.updated_at, list(draft.budget_lines.values_list("pk", flat=True)))

    complete(draft, lead_alice)

    draft.refresh_from_db()
    assert (draft.updated_at, list(draft.budget_lines.values_list("pk", flat=True))) == before


# --- Submit ----------------------------------------------------------------------------------


def test_submit_lists_everything_missing(draft, lead_alice):
    with pytest.raises(ValidationError) as refused:
        services.application_submit(application_id=draft.pk, by=lead_alice)

    text = " ".join(refused.value.messages)
    assert "Aims" in text
    assert "budget line" in text
    assert "Declaration" in text


def test_submit_refused_with_four_confirmed_schools(draft, lead_alice, partnership):
    complete(draft, lead_alice)
    partner = partnership.memberships.filter(role="partner").first()
    partner.status = Membership.Status.INVITED
    partner.save()

    with pytest.raises(ValidationError) as refused:
        services.application_submit(application_id=draft.pk, by=lead_alice)

    assert "needs 5 confirmed eligible schools" in refused.value.messages[0]
    assert "has 4" in refused.value.messages[0]


def test_submit_accepted_with_five_confirmed_schools(draft, lead_alice):
    complete(draft, lead_alice)

    application = services.application_submit(application_id=draft.pk, by=lead_alice)

    assert application.status == S.SUBMITTED
    assert application.reference


def test_ineligible_school_does_not_count_towards_the_minimum(draft, lead_alice, partnership):
    complete(draft, lead_alice)
    school = partnership.memberships.filter(role="partner").first().school
    school.funding = "independent"
    school.save()

    with pytest.raises(ValidationError, match="has 4"):
        services.application_submit(application_id=draft.pk, by=lead_alice)


def test_submit_refused_after_the_window_closes(draft, lead_alice, cohort):
    complete(draft, lead_alice)
    cohort.applications_close_at = timezone.now() - timedelta(minutes=1)
    cohort.applications_open_at = timezone.now() - timedelta(days=30)
    cohort.save()

    with pytest.raises(ValidationError, match="closed"):
        services.application_submit(application_id=draft.pk, by=lead_alice)


# --- Decisions -----------------------------------------------------------------------------


def test_request_changes_needs_a_comment(application_in, staff_carol):
    application = application_in(S.SUBMITTED)

    with pytest.raises(ValidationError) as refused:
        services.application_request_changes(application_id=application.pk, by=staff_carol, comment="  ")

    assert refused.value.message_dict["comment"]


def test_reject_needs_a_reason(application_in, staff_carol):
    application = application_in(S.SUBMITTED)

    with pytest.raises(ValidationError) as refused:
        services.application_reject(application_id=application.pk, by=staff_carol, reason="")

    assert refused.value.message_dict["reason"]


def test_lead_edits_and_resubmits_after_changes_requested(application_in, lead_alice):
    application = application_in(S.CHANGES_REQUESTED)

    services.application_save_draft(
        application_id=application.pk, by=lead_alice, fields={"timeline": "Sharper."}
    )
    services.application_resubmit(application_id=application.pk, by=lead_alice)

    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    assert application.timeline == "Sharper."


def test_award_of_exactly_the_requested_sum_is_accepted(application_in, staff_carol):
    application = application_in(S.SUBMITTED)

    services.application_approve(application_id=application.pk, by=staff_carol, amount=REQUESTED)

    application.refresh_from_db()
    assert application.awarded == REQUESTED


def test_award_over_the_requested_sum_is_refused(application_in, staff_carol):
    application = application_in(S.SUBMITTED)

    with pytest.raises(ValidationError) as refused:
        services.application_approve(
            application_id=application.pk, by=staff_carol, amount=REQUESTED + Decimal("0.01")
        )

    assert "£5,000.00" in refused.value.message_dict["amount"][0]


def test_award_over_what_remains_of_the_cohort_budget_is_refused(application_in, staff_carol, cohort):
    cohort.budget = AWARD - Decimal("0.01")
    cohort.save()
    application = application_in(S.SUBMITTED)

    with pytest.raises(ValidationError) as refused:
        services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)

    assert "£3,999.99" in refused.value.message_dict["amount"][0]
    application.refresh_from_db()
    assert application.status == S.SUBMITTED


def test_award_of_exactly_what_remains_is_accepted(application_in, staff_carol, cohort):
    cohort.budget = AWARD
    cohort.save()
    application = application_in(S.SUBMITTED)

    services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD)

    assert cohort_budget(cohort).remaining == Decimal("0.00")


def test_approving_again_with_another_amount_is_refused(application_in, staff_carol):
    application = application_in(S.APPROVED)

    with pytest.raises(ValidationError, match="already approved"):
        services.application_approve(application_id=application.pk, by=staff_carol, amount=Decimal("100.00"))


@pytest.mark.parametrize(
    ("award", "percent", "expected"),
    [
        ("4000.00", 50, ["2000.00", "2000.00"]),
        ("4000.01", 50, ["2000.01", "2000.00"]),
        ("1000.03", 33, ["330.01", "670.02"]),
        ("999.99", 100, ["999.99"]),
        ("999.99", 0, ["999.99"]),
    ],
)
def test_instalments_split_the_award_to_the_penny(
    application_in, staff_carol, programme, award, percent, expected
):
    programme.first_instalment_percent = percent
    programme.save()
    application = application_in(S.SUBMITTED)

    services.application_approve(application_id=application.pk, by=staff_carol, amount=Decimal(award))

    payments = list(application.payments.order_by("sequence"))
    assert [str(p.amount) for p in payments] == expected
    assert sum(p.amount for p in payments) == Decimal(award)


def test_approval_schedules_the_instalments_and_releases_none_before_the_agreement(application_in):
    application = application_in(S.APPROVED)

    first, second = application.payments.order_by("sequence")

    assert (first.status, first.trigger) == (Payment.Status.SCHEDULED, Payment.Trigger.AGREEMENT_ACCEPTED)
    assert first.released_at is None
    assert (second.status, second.trigger) == (Payment.Status.SCHEDULED, Payment.Trigger.ON_FINAL_REPORT)
    assert first.amount + second.amount == AWARD
    assert application.agreement.status == "offered"


# --- Conflict of interest and programme scope -----------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda a, by: services.score_record(application_id=a.pk, by=by, criterion="need", score=3),
        lambda a, by: services.application_approve(application_id=a.pk, by=by, amount=AWARD),
        lambda a, by: services.application_reject(application_id=a.pk, by=by, reason="No."),
        lambda a, by: services.application_request_changes(application_id=a.pk, by=by, comment="More."),
    ],
    ids=["score", "approve", "reject", "request_changes"],
)
def test_staff_linked_to_a_school_in_the_partnership_may_not_score_or_decide(
    application_in, conflicted_staff, call
):
    application = application_in(S.SUBMITTED)

    with pytest.raises(PermissionDenied, match="conflict of interest"):
        call(application, conflicted_staff)


def test_staff_of_another_programme_may_not_score(application_in, other_staff):
    application = application_in(S.SUBMITTED)

    with pytest.raises(PermissionDenied):
        services.score_record(application_id=application.pk, by=other_staff, criterion="need", score=3)


# --- Scores ----------------------------------------------------------------------------------


def test_score_recorded_once_and_repeating_it_changes_nothing(application_in, staff_carol):
    application = application_in(S.SUBMITTED)
    events = AuditEvent.objects.filter(application=application).count()

    services.score_record(
        application_id=application.pk, by=staff_carol, criterion="need", score=4, comment="Clear"
    )
    services.score_record(
        application_id=application.pk, by=staff_carol, criterion="need", score=4, comment="Clear"
    )

    assert Score.objects.filter(application=application).count() == 1
    assert AuditEvent.objects.filter(application=application).count() == events + 1


@pytest.mark.parametrize("score", [0, 6, "x", None])
def test_score_outside_1_to_5_is_refused(application_in, staff_carol, score):
    application = application_in(S.SUBMITTED)

    with pytest.raises(ValidationError):
        services.score_record(application_id=application.pk, by=staff_carol, criterion="need", score=score)

    assert not Score.objects.filter(application=application).exists()


def test_score_refused_once_decided(application_in, staff_carol):
    application = application_in(S.APPROVED)

    with pytest.raises(ValidationError, match="approved"):
        services.score_record(application_id=application.pk, by=staff_carol, criterion="need", score=3)


# --- Payments ---------------------------------------------------------------------------------


def test_released_instalment_marked_paid_once(application_in, finance_fay):
    application = application_in(S.APPROVED, released=True)
    first = application.payments.get(sequence=1)

    services.payment_mark_paid(payment_id=first.pk, by=finance_fay)
    paid_at = Payment.objects.get(pk=first.pk).paid_at
    services.payment_mark_paid(payment_id=first.pk, by=finance_fay)

    assert Payment.objects.get(pk=first.pk).status == Payment.Status.PAID
    assert Payment.objects.get(pk=first.pk).paid_at == paid_at


def test_scheduled_instalment_cannot_be_marked_paid(application_in, finance_fay):
    application = application_in(S.APPROVED)
    second = application.payments.get(sequence=2)

    with pytest.raises(ValidationError, match="not been released"):
        services.payment_mark_paid(payment_id=second.pk, by=finance_fay)


def test_programme_staff_cannot_mark_a_payment_paid(application_in, staff_carol):
    """Staff decide; the finance team pays (separation of duties, issue 19)."""
    application = application_in(S.APPROVED)

    with pytest.raises(PermissionDenied, match="finance"):
        services.payment_mark_paid(payment_id=application.payments.get(sequence=1).pk, by=staff_carol)


def test_finance_cannot_review_or_decide_an_application(application_in, finance_fay):
    application = application_in(S.SUBMITTED)

    with pytest.raises(PermissionDenied):
        services.application_approve(application_id=application.pk, by=finance_fay, amount="4000.00")
    with pytest.raises(PermissionDenied):
        services.score_record(application_id=application.pk, by=finance_fay, criterion="need", score=3)
    with pytest.raises(PermissionDenied):
        services.application_reject(application_id=application.pk, by=finance_fay, reason="No.")


def test_lead_cannot_mark_a_payment_paid(application_in, lead_alice):
    application = application_in(S.APPROVED)

    with pytest.raises(PermissionDenied):
        services.payment_mark_paid(payment_id=application.payments.first().pk, by=lead_alice)


def test_cohort_budget_shows_awarded_paid_and_remaining(application_in, finance_fay, cohort):
    application = application_in(S.APPROVED, released=True)
    services.payment_mark_paid(payment_id=application.payments.get(sequence=1).pk, by=finance_fay)

    budget = cohort_budget(cohort)

    first = application.payments.get(sequence=1).amount
    assert budget.awarded == AWARD
    assert budget.paid == first
    assert budget.released == first
    assert budget.remaining == cohort.budget - AWARD


def test_cohort_budget_of_an_empty_cohort_is_zero_not_none(cohort):
    budget = cohort_budget(cohort)

    assert (budget.awarded, budget.paid, budget.remaining) == (Decimal(0), Decimal(0), cohort.budget)


# --- End-of-grant report ------------------------------------------------------------------------


def test_report_only_for_an_approved_grant(application_in, lead_alice):
    application = application_in(S.SUBMITTED)

    with pytest.raises(ValidationError, match="approved grant"):
        services.report_save(application_id=application.pk, by=lead_alice, outcomes="x")


def test_report_cannot_link_another_partnerships_activity(application_in, lead_alice):
    application = application_in(S.APPROVED)
    elsewhere = factories.CPDActivityFactory()

    with pytest.raises(ValidationError) as refused:
        services.report_save(application_id=application.pk, by=lead_alice, activity_ids=[elsewhere.pk])

    assert refused.value.message_dict["activities"]
    assert not EndOfGrantReport.objects.filter(application=application).exists()


def test_report_submit_lists_what_is_missing(application_in, lead_alice):
    application = application_in(S.APPROVED)
    services.report_save(application_id=application.pk, by=lead_alice)

    with pytest.raises(ValidationError) as refused:
        services.report_submit(application_id=application.pk, by=lead_alice)

    text = " ".join(refused.value.messages)
    assert "Outcomes" in text
    assert "supply cover" in text


def test_accepting_the_report_releases_the_final_instalment_and_completes(
    application_in, lead_alice, staff_carol
):
    application = application_in(S.APPROVED, released=True)
    submit_report(application, lead_alice)

    services.report_accept(application_id=application.pk, by=staff_carol)

    application.refresh_from_db()
    assert application.status == S.COMPLETED
    assert set(application.payments.values_list("status", flat=True)) == {Payment.Status.RELEASED}
    assert application.final_report.status == EndOfGrantReport.Status.ACCEPTED


def test_returned_report_needs_a_comment_and_can_be_resubmitted(application_in, lead_alice, staff_carol):
    application = application_in(S.APPROVED)
    submit_report(application, lead_alice)
    with pytest.raises(ValidationError):
        services.report_return(application_id=application.pk, by=staff_carol, comment="")

    services.report_return(application_id=application.pk, by=staff_carol, comment="Add spend.")
    services.report_return(application_id=application.pk, by=staff_carol, comment="Add spend.")
    services.report_submit(application_id=application.pk, by=lead_alice)

    report = EndOfGrantReport.objects.get(application=application)
    assert report.status == EndOfGrantReport.Status.SUBMITTED
    assert AuditEvent.objects.filter(application=application, action="report_returned").count() == 1


def test_accepting_a_report_twice_changes_nothing(application_in, staff_carol):
    application = application_in(S.COMPLETED)
    events = AuditEvent.objects.filter(application=application).count()

    services.report_accept(application_id=application.pk, by=staff_carol)

    assert AuditEvent.objects.filter(application=application).count() == events


def test_accepted_report_cannot_be_changed(application_in, lead_alice):
    application = application_in(S.COMPLETED)

    with pytest.raises(ValidationError):
        services.report_save(application_id=application.pk, by=lead_alice, outcomes="changed")


# --- Audit ------------------------------------------------------------------------------------


def test_audit_trail_lists_every_transition_in_order(application_in, lead_alice, staff_carol):
    application = application_in(S.CHANGES_REQUESTED)
    services.application_resubmit(application_id=application.pk, by=lead_alice)
    services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD, comment="Good.")
    submit_report(application, lead_alice)
    services.report_accept(application_id=application.pk, by=staff_carol)

    trail = list(
        AuditEvent.objects.filter(application=application).values_list(
            "action", "from_status", "to_status", "actor"
        )
    )

    assert trail == [
        ("started", "", "draft", lead_alice.pk),
        ("submitted", "draft", "submitted", lead_alice.pk),
        ("changes_requested", "submitted", "changes_requested", staff_carol.pk),
        ("resubmitted", "changes_requested", "submitted", lead_alice.pk),
        ("approved", "submitted", "approved", staff_carol.pk),
        ("agreement_offered", "approved", "approved", staff_carol.pk),
        ("report_submitted", "approved", "approved", lead_alice.pk),
        ("report_accepted", "approved", "completed", staff_carol.pk),
    ]


def test_audit_event_cannot_be_changed_or_deleted(draft):
    event = AuditEvent.objects.filter(application=draft).first()
    event.comment = "rewritten"

    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).comment == ""


def test_a_zero_budget_line_is_refused_with_a_message(draft, lead_alice):
    with pytest.raises(ValidationError) as refused:
        services.application_save_draft(application_id=draft.pk, by=lead_alice, budget_lines=lines("0.00"))

    assert refused.value.message_dict["budget"] == [
        "Line 1: enter an amount above £0.00, or remove the line."
    ]
    assert not draft.budget_lines.exists()


def test_a_trillion_pounds_is_answered_with_the_cap(draft, lead_alice):
    with pytest.raises(ValidationError) as refused:
        services.application_save_draft(
            application_id=draft.pk, by=lead_alice, budget_lines=lines("1000000000000")
        )

    assert refused.value.message_dict["budget"] == [
        "Line 1: the cap is £12,000.00; this line is more than that."
    ]


@pytest.mark.postgres
def test_database_refuses_a_zero_budget_line(draft):
    from grants.models import BudgetLine

    with pytest.raises(IntegrityError, match="budgetline_amount_gt_0"), transaction.atomic():
        BudgetLine.objects.create(application=draft, category="resources", amount=Decimal("0.00"))
