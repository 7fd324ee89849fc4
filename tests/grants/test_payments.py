"""Issue 19: payment schedules, the agreement before money moves, and payments as finance
records them. Each rule on both sides; the database's own guarantees on PostgreSQL."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from grants import agreements, payments
from grants.models import Application, GrantAgreement, Payment, PaymentRecord, ScheduleStep
from tests import factories
from tests.grants.conftest import AWARD, accept_agreement

S = Application.Status
K = ScheduleStep.Kind
T = Payment.Trigger


def steps(*specs):
    return [
        ScheduleStep(
            kind=kind,
            percent=value if kind == K.PERCENT else None,
            amount=value if kind == K.FIXED else None,
            trigger=trigger,
            due_on=due,
        )
        for kind, value, trigger, due in specs
    ]


def amounts(instalments):
    return [i.amount for i in instalments]


# --- Schedules sum to the award, to the penny ------------------------------------------------------

THIRDS = steps(
    (K.REMAINDER, None, T.AGREEMENT_ACCEPTED, None),
    (K.REMAINDER, None, T.ON_INTERIM_REPORT, None),
    (K.REMAINDER, None, T.ON_FINAL_REPORT, None),
)


def test_twelve_thousand_in_three_thirds_is_four_thousand_each():
    assert amounts(payments.schedule_amounts(THIRDS, Decimal("12000.00"))) == [Decimal("4000.00")] * 3


def test_ten_thousand_in_three_gives_the_odd_penny_to_the_first():
    assert amounts(payments.schedule_amounts(THIRDS, Decimal("10000.00"))) == [
        Decimal("3333.34"),
        Decimal("3333.33"),
        Decimal("3333.33"),
    ]


@pytest.mark.parametrize("award", ["0.01", "0.02", "999.99", "10000.01", "11999.99", "12000.00"])
@pytest.mark.parametrize(
    "template",
    [
        THIRDS,
        steps(
            (K.PERCENT, Decimal("33.33"), T.AGREEMENT_ACCEPTED, None),
            (K.REMAINDER, None, T.ON_FINAL_REPORT, None),
        ),
        steps(
            (K.FIXED, Decimal("0.01"), T.AGREEMENT_ACCEPTED, None),
            (K.PERCENT, Decimal("12.5"), T.ON_DATE, date(2027, 1, 1)),
            (K.REMAINDER, None, T.ON_FINAL_REPORT, None),
        ),
        steps(
            (K.PERCENT, Decimal("50"), T.AGREEMENT_ACCEPTED, None),
            (K.PERCENT, Decimal("50"), T.ON_FINAL_REPORT, None),
        ),
    ],
)
def test_every_schedule_adds_up_to_the_award(award, template):
    assert sum(amounts(payments.schedule_amounts(template, Decimal(award)))) == Decimal(award)


def test_percentages_without_a_remaining_balance_must_make_100():
    template = steps(
        (K.PERCENT, Decimal("40"), T.AGREEMENT_ACCEPTED, None),
        (K.PERCENT, Decimal("50"), T.ON_FINAL_REPORT, None),
    )

    with pytest.raises(ValidationError, match="exactly 100%"):
        payments.schedule_amounts(template, Decimal("1000.00"))


def test_fixed_amounts_over_the_award_are_refused():
    template = steps(
        (K.FIXED, Decimal("5000.00"), T.AGREEMENT_ACCEPTED, None),
        (K.REMAINDER, None, T.ON_FINAL_REPORT, None),
    )

    with pytest.raises(ValidationError, match="more than the award"):
        payments.schedule_amounts(template, Decimal("4000.00"))


def test_award_applies_the_programmes_template_and_releases_nothing(application_in, programme):
    ScheduleStep.objects.create(
        programme=programme, sequence=1, kind=K.REMAINDER, trigger=T.AGREEMENT_ACCEPTED
    )
    ScheduleStep.objects.create(
        programme=programme, sequence=2, kind=K.REMAINDER, trigger=T.ON_INTERIM_REPORT
    )
    ScheduleStep.objects.create(programme=programme, sequence=3, kind=K.REMAINDER, trigger=T.ON_FINAL_REPORT)

    application = application_in(S.APPROVED)

    rows = list(application.payments.values_list("amount", "trigger", "status"))
    assert rows == [
        (Decimal("1333.34"), T.AGREEMENT_ACCEPTED, "scheduled"),
        (Decimal("1333.33"), T.ON_INTERIM_REPORT, "scheduled"),
        (Decimal("1333.33"), T.ON_FINAL_REPORT, "scheduled"),
    ]
    assert application.agreement.status == GrantAgreement.Status.OFFERED


def test_finance_changes_one_grants_schedule_with_a_reason(application_in, finance_fay):
    application = application_in(S.APPROVED)

    payments.schedule_change(
        application_id=application.pk,
        by=finance_fay,
        reason="The school asked for a date-based second payment.",
        instalments=[
            {"amount": "1000.00", "trigger": T.AGREEMENT_ACCEPTED},
            {"amount": "1000.00", "trigger": T.ON_DATE, "due_on": "2027-03-01"},
            {"amount": "2000.00", "trigger": T.ON_FINAL_REPORT},
        ],
    )

    assert sum(application.payments.values_list("amount", flat=True)) == AWARD
    event = application.audit_events.get(action="schedule_changed")
    assert "date-based" in event.comment
    assert event.actor == finance_fay


def test_a_changed_schedule_a_penny_short_is_refused(application_in, finance_fay):
    application = application_in(S.APPROVED)

    with pytest.raises(ValidationError, match=r"£0\.01 short"):
        payments.schedule_change(
            application_id=application.pk,
            by=finance_fay,
            reason="Split.",
            instalments=[{"amount": "3999.99", "trigger": T.ON_FINAL_REPORT}],
        )


def test_staff_cannot_change_a_schedule(application_in, staff_carol):
    application = application_in(S.APPROVED)

    with pytest.raises(PermissionDenied):
        payments.schedule_change(
            application_id=application.pk,
            by=staff_carol,
            reason="x",
            instalments=[{"amount": "4000.00", "trigger": T.ON_FINAL_REPORT}],
        )


# --- No release before the agreement is accepted ---------------------------------------------------


def test_no_release_before_the_agreement_is_accepted(application_in, finance_fay):
    application = application_in(S.APPROVED)
    first = application.payments.get(sequence=1)

    with pytest.raises(ValidationError, match="not accepted the grant agreement"):
        payments.payment_release(payment_id=first.pk, by=finance_fay)
    assert Payment.objects.get(pk=first.pk).status == Payment.Status.SCHEDULED


def test_release_after_the_agreement_is_accepted(application_in, finance_fay, lead_alice):
    application = application_in(S.APPROVED)
    accept_agreement(application, lead_alice)

    payment = payments.payment_release(payment_id=application.payments.get(sequence=1).pk, by=finance_fay)

    assert payment.status == Payment.Status.RELEASED
    assert payment.released_by == finance_fay


def test_acceptance_records_name_role_time_and_the_exact_terms(application_in, lead_alice):
    application = application_in(S.APPROVED)

    agreement = accept_agreement(application, lead_alice)

    agreement.refresh_from_db()
    assert (agreement.signed_name, agreement.signed_role, agreement.responded_by) == (
        "Alice Lead",
        "Headteacher",
        lead_alice,
    )
    assert agreement.responded_at is not None
    assert agreement.terms_version == agreements.STANDARD_TERMS_VERSION
    assert agreement.terms_text == agreements.STANDARD_TERMS


def test_accepting_other_terms_than_offered_is_refused(application_in, lead_alice):
    application = application_in(S.APPROVED)

    with pytest.raises(ValidationError, match="not the terms of this agreement"):
        agreements.agreement_accept(
            application_id=application.pk,
            by=lead_alice,
            signed_name="Alice",
            signed_role="Head",
            terms_version="an-older-version",
            confirmed=True,
        )


def test_a_partner_schools_lead_cannot_accept(application_in, partner_lead):
    application = application_in(S.APPROVED)

    with pytest.raises(PermissionDenied):
        accept_agreement(application, partner_lead)


@pytest.mark.usefixtures("outbox_sends_at_once")
def test_an_agreement_not_accepted_by_the_deadline_lapses_after_reminders(application_in, lead_alice):
    application = application_in(S.APPROVED)
    respond_by = application.agreement.respond_by
    mail.outbox.clear()

    week_before = timezone.now() + timedelta(days=(respond_by - timezone.localdate()).days - 7)
    assert agreements.remind_and_lapse(week_before).sent == 1
    assert agreements.remind_and_lapse(week_before).sent == 0  # once
    agreements.remind_and_lapse(timezone.now() + timedelta(days=agreements.AGREEMENT_DAYS + 1))

    application.agreement.refresh_from_db()
    assert application.agreement.status == GrantAgreement.Status.LAPSED
    with pytest.raises(ValidationError, match=r"(?i)not accepted"):
        accept_agreement(application, lead_alice)
    subjects = [m.subject for m in mail.outbox]
    assert any("Accept your grant agreement" in s for s in subjects)
    assert any("not accepted in time" in s for s in subjects)


def test_a_declined_agreement_needs_a_reason(application_in, lead_alice):
    application = application_in(S.APPROVED)

    with pytest.raises(ValidationError):
        agreements.agreement_decline(application_id=application.pk, by=lead_alice, reason=" ")
    agreements.agreement_decline(
        application_id=application.pk, by=lead_alice, reason="We lost our STEM lead."
    )

    assert GrantAgreement.objects.get(application=application).status == GrantAgreement.Status.DECLINED


# --- Paying: references, partial payments, never twice or more -----------------------------------


@pytest.fixture
def released(application_in):
    application = application_in(S.APPROVED, released=True)
    return application.payments.get(sequence=1)


def test_a_partial_then_the_rest_pays_the_instalment(released, finance_fay):
    half = released.amount / 2

    payments.payment_record(
        payment_id=released.pk, by=finance_fay, amount=half, paid_on=date.today(), reference="BACS-1"
    )
    assert Payment.objects.get(pk=released.pk).status == Payment.Status.RELEASED
    payments.payment_record(
        payment_id=released.pk, by=finance_fay, amount=half, paid_on=date.today(), reference="BACS-2"
    )

    payment = Payment.objects.get(pk=released.pk)
    assert (payment.status, payment.paid_amount) == (Payment.Status.PAID, released.amount)
    assert list(payment.records.values_list("reference", flat=True)) == ["BACS-1", "BACS-2"]


def test_paying_more_than_released_is_refused(released, finance_fay):
    with pytest.raises(ValidationError, match="more than the"):
        payments.payment_record(
            payment_id=released.pk,
            by=finance_fay,
            amount=released.amount + Decimal("0.01"),
            paid_on=date.today(),
            reference="BACS-1",
        )


def test_paying_twice_is_refused(released, finance_fay):
    payments.payment_record(
        payment_id=released.pk,
        by=finance_fay,
        amount=released.amount,
        paid_on=date.today(),
        reference="BACS-1",
    )

    with pytest.raises(ValidationError, match="already been paid in full"):
        payments.payment_record(
            payment_id=released.pk, by=finance_fay, amount="1.00", paid_on=date.today(), reference="BACS-2"
        )


def test_the_same_reference_twice_is_refused(released, finance_fay):
    payments.payment_record(
        payment_id=released.pk, by=finance_fay, amount="1.00", paid_on=date.today(), reference="BACS-1"
    )

    with pytest.raises(ValidationError, match="already recorded"):
        payments.payment_record(
            payment_id=released.pk, by=finance_fay, amount="1.00", paid_on=date.today(), reference="BACS-1"
        )


def test_a_payment_needs_a_reference_and_a_past_date(released, finance_fay):
    with pytest.raises(ValidationError, match="reference"):
        payments.payment_record(
            payment_id=released.pk, by=finance_fay, amount="1.00", paid_on=date.today(), reference=" "
        )
    with pytest.raises(ValidationError, match="future"):
        payments.payment_record(
            payment_id=released.pk,
            by=finance_fay,
            amount="1.00",
            paid_on=date.today() + timedelta(days=1),
            reference="B",
        )


def test_staff_cannot_record_a_payment(released, staff_carol):
    with pytest.raises(PermissionDenied):
        payments.payment_record(
            payment_id=released.pk, by=staff_carol, amount="1.00", paid_on=date.today(), reference="B"
        )


@pytest.mark.usefixtures("outbox_sends_at_once")
def test_the_lead_gets_a_remittance_notice_with_the_reference(released, finance_fay, lead_alice):
    mail.outbox.clear()

    payments.payment_record(
        payment_id=released.pk,
        by=finance_fay,
        amount=released.amount,
        paid_on=date.today(),
        reference="BACS-77",
    )

    notice = [m for m in mail.outbox if lead_alice.email in m.to]
    assert len(notice) == 1
    assert "BACS-77" in notice[0].subject
    assert "£2,000.00" in notice[0].body


def test_cancel_and_reclaim_need_a_reason_and_are_audited(application_in, finance_fay):
    application = application_in(S.APPROVED, released=True)
    first, second = application.payments.order_by("sequence")
    payments.payment_record(
        payment_id=first.pk, by=finance_fay, amount=first.amount, paid_on=date.today(), reference="B1"
    )

    with pytest.raises(ValidationError):
        payments.payment_cancel(payment_id=second.pk, by=finance_fay, reason="")
    with pytest.raises(ValidationError, match="reclaim it instead"):
        payments.payment_cancel(payment_id=first.pk, by=finance_fay, reason="Partnership dissolved.")
    payments.payment_cancel(payment_id=second.pk, by=finance_fay, reason="Partnership dissolved.")
    payments.payment_reclaim(payment_id=first.pk, by=finance_fay, amount="500.00", reason="Unspent money.")

    assert list(application.payments.order_by("sequence").values_list("status", flat=True)) == [
        "reclaimed",
        "cancelled",
    ]
    actions = set(application.audit_events.values_list("action", flat=True))
    assert {
        "payment_released",
        "payment_paid",
        "payment_cancelled",
        "payment_reclaimed",
        "agreement_accepted",
    } <= actions


# --- The database's own guarantees (PostgreSQL) --------------------------------------------------


def _immediate():
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.postgres
def test_the_database_refuses_a_schedule_that_does_not_add_up(application_in):
    application = application_in(S.APPROVED)

    # Inside the savepoint, so the broken row goes with it (the test's teardown checks every
    # deferred constraint too).
    with pytest.raises(IntegrityError, match="payment_schedule_sums_to_award"), transaction.atomic():  # noqa: PT012
        Payment.objects.filter(pk=application.payments.first().pk).update(amount=Decimal("1.00"))
        _immediate()


@pytest.mark.postgres
def test_the_database_refuses_a_release_before_the_agreement(application_in):
    application = application_in(S.APPROVED)

    with pytest.raises(IntegrityError, match="payment_release_needs_agreement"), transaction.atomic():
        Payment.objects.filter(pk=application.payments.first().pk).update(
            status="released", released_at=timezone.now()
        )


@pytest.mark.postgres
def test_the_database_refuses_paying_more_than_the_instalment(released):
    with pytest.raises(IntegrityError, match="payment_paid_within_amount"), transaction.atomic():
        Payment.objects.filter(pk=released.pk).update(paid_amount=released.amount + 1)


@pytest.mark.postgres
def test_the_database_refuses_a_transfer_not_counted_in_paid(released, finance_fay):
    with pytest.raises(IntegrityError, match="paymentrecord_matches_paid"), transaction.atomic():  # noqa: PT012
        PaymentRecord.objects.create(
            payment=released,
            amount=Decimal("5.00"),
            paid_on=date.today(),
            reference="X",
            recorded_by=finance_fay,
        )
        _immediate()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_finance_officers_paying_at_once_pay_once(programme, school_a, lead_alice):
    """Both post the full amount with their own reference at the same moment: one is recorded,
    the other is told it is paid; the instalment is paid exactly its amount."""
    cohort = factories.CohortFactory(programme=programme)
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=school_a, partners=4)
    application = factories.ApplicationFactory(
        partnership=partnership, status=S.APPROVED, requested=Decimal("4000.00"), awarded=Decimal("4000.00")
    )
    payment = Payment.objects.create(
        application=application,
        sequence=1,
        amount=Decimal("4000.00"),
        trigger=T.ON_APPROVAL,
        status="released",
        released_at=timezone.now(),
    )
    fay, gus = factories.FinanceFactory(username="fay"), factories.FinanceFactory(username="gus")
    barrier, outcomes = threading.Barrier(2), []

    def pay(user, reference):
        try:
            barrier.wait()
            payments.payment_record(
                payment_id=payment.pk, by=user, amount="4000.00", paid_on=date.today(), reference=reference
            )
            outcomes.append("paid")
        except ValidationError as exc:
            outcomes.append(" ".join(exc.messages))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pay, args=(u, r)) for u, r in ((fay, "BACS-F"), (gus, "BACS-G"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    payment.refresh_from_db()
    assert sorted(outcomes)[1] == "paid"
    assert "already been paid in full" in sorted(outcomes)[0]
    assert payment.paid_amount == Decimal("4000.00")
    assert payment.records.count() == 1
