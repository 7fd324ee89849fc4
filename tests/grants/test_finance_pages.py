"""Issue 19 pages: payee details (validated, masked, audited, confirmed by e-mail), who sees bank
details, the finance CSV, filters that persist, the award letter and accepting the agreement."""

import csv
import io
from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from grants import payees, payments
from grants.models import Application, GrantAgreement, PayeeChange, PayeeDetails
from tests.grants.conftest import accept_agreement

S = Application.Status
BANK = {
    "finance_contact_name": "Sam Bursar",
    "finance_contact_email": "bursar@alder.sch.uk",
    "account_name": "Alder Primary",
    "sort_code": "30-99-50",
    "account_number": "12345678",
}


def login(client, user):
    client.force_login(user)
    return client


# --- Payee details ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sort_code", "30-99-5", "sort code of 6 digits"),
        ("sort_code", "3O-99-50", "sort code of 6 digits"),
        ("account_number", "123456789", "account number of 8 digits"),
        ("account_number", "1234-5678", "account number of 8 digits"),
        ("account_name", "A name much longer than BACS allows", "at most 18"),
        ("finance_contact_email", "not-an-address", "e-mail address"),
    ],
)
def test_invalid_bank_details_are_refused_with_a_clear_message(school_a, lead_alice, field, value, message):
    with pytest.raises(ValidationError) as caught:
        payees.payee_save(school_id=school_a.pk, by=lead_alice, data={**BANK, field: value})

    assert message in " ".join(caught.value.message_dict[field])
    assert not PayeeDetails.objects.exists()


def test_valid_details_are_normalised(school_a, lead_alice):
    payee = payees.payee_save(
        school_id=school_a.pk,
        by=lead_alice,
        data={**BANK, "sort_code": "30 99 50", "account_number": "1234567"},
    )

    assert (payee.sort_code, payee.account_number) == ("309950", "01234567")


@pytest.mark.usefixtures("outbox_sends_at_once")
def test_a_change_is_audited_masked_and_emailed_to_the_schools_verified_leads(
    school_a, lead_alice, finance_fay
):
    payees.payee_save(school_id=school_a.pk, by=lead_alice, data=BANK)
    mail.outbox.clear()

    payees.payee_save(school_id=school_a.pk, by=finance_fay, data={**BANK, "account_number": "87654321"})

    change = PayeeChange.objects.filter(school=school_a).first()
    assert change.changed_by == finance_fay
    assert change.fields == ["account_number"]
    assert "87654321" not in change.summary
    assert "••••4321" in change.summary
    (email,) = [m for m in mail.outbox if lead_alice.email in m.to]
    assert "Payee details of Alder" in email.subject
    assert "87654321" not in email.body


def test_staff_and_other_schools_leads_cannot_change_payee_details(school_a, staff_carol, lead_bob):
    for user in (staff_carol, lead_bob):
        with pytest.raises(PermissionDenied):
            payees.payee_save(school_id=school_a.pk, by=user, data=BANK)


def test_the_payee_page_refuses_an_invalid_sort_code_next_to_the_field(client, school_a, lead_alice):
    response = login(client, lead_alice).post(
        reverse("grants:payee_edit", args=[school_a.pk]), {**BANK, "sort_code": "12-34"}
    )

    assert response.status_code == 400
    assert "Enter a sort code of 6 digits" in response.content.decode()
    assert not PayeeDetails.objects.exists()


def test_the_lead_sees_their_bank_details_masked_and_finance_in_full(
    client, school_a, lead_alice, finance_fay
):
    payees.payee_save(school_id=school_a.pk, by=lead_alice, data=BANK)
    url = reverse("grants:payee_edit", args=[school_a.pk])

    lead_page = login(client, lead_alice).get(url).content.decode()
    finance_page = login(client, finance_fay).get(url).content.decode()

    assert "12345678" not in lead_page
    assert "••••5678" in lead_page
    assert "12345678" in finance_page
    assert "30-99-50" in finance_page


# --- Staff never see full bank details --------------------------------------------------------------


@pytest.fixture
def funded(application_in, lead_alice, school_a):
    application = application_in(S.APPROVED, released=True)
    payees.payee_save(school_id=school_a.pk, by=lead_alice, data=BANK)
    return application


def test_staff_see_payments_with_bank_details_masked(client, funded, staff_carol):
    c = login(client, staff_carol)
    payment = funded.payments.get(sequence=1)

    pages = [
        c.get(reverse("grants:payment_list")).content.decode(),
        c.get(reverse("grants:payment_detail", args=[payment.pk])).content.decode(),
        c.get(reverse("grants:payments_csv")).content.decode("utf-8-sig"),
    ]

    for page in pages:
        assert "12345678" not in page
        assert "309950" not in page
        assert "30-99-50" not in page
    assert c.get(reverse("grants:payee_edit", args=[funded.partnership.lead_school_id])).status_code == 403


def test_finance_csv_has_the_payee_and_bank_details(client, funded, finance_fay):
    rows = list(
        csv.DictReader(
            io.StringIO(
                login(client, finance_fay).get(reverse("grants:payments_csv")).content.decode("utf-8-sig")
            )
        )
    )

    first = next(r for r in rows if r["instalment"] == "1")
    assert (first["bank_sort_code"], first["bank_account_number"]) == ("30-99-50", "12345678")
    assert first["payee_finance_contact"] == "Sam Bursar"
    assert first["status"] == "Released"


def test_finance_csv_round_trips_pound_and_dash_and_never_starts_a_cell_with_equals(
    client, funded, finance_fay
):
    partnership = funded.partnership
    partnership.name = "=SUM(A1) Blackpool – £ science"
    partnership.save()

    body = login(client, finance_fay).get(reverse("grants:payments_csv")).content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))

    assert any("Blackpool – £ science" in cell for row in rows for cell in row)
    assert not any(cell.startswith("=") for row in rows for cell in row)


# --- The payments page ------------------------------------------------------------------------------


def test_the_payments_filter_persists_after_recording_a_payment(client, funded, finance_fay, cohort):
    c = login(client, finance_fay)
    c.get(reverse("grants:payment_list"), {"cohort": cohort.pk, "status": "released"})
    payment = funded.payments.get(sequence=1)

    c.post(
        reverse("grants:payment_mark_paid", args=[payment.pk]),
        {
            "record-amount": "2000.00",
            "record-paid_on": date.today().isoformat(),
            "record-reference": "BACS-9",
        },
    )
    response = c.get(reverse("grants:payment_list"))

    assert response.context["form"].data == {"cohort": str(cohort.pk), "status": "released"}
    assert list(response.context["page"]) == []  # the paid instalment left the "released" filter
    assert c.get(reverse("grants:payment_list"), {"clear": "1"}).context["form"].data == {}


def test_recording_more_than_outstanding_shows_the_error_and_saves_nothing(client, funded, finance_fay):
    payment = funded.payments.get(sequence=1)

    response = login(client, finance_fay).post(
        reverse("grants:payment_mark_paid", args=[payment.pk]),
        {
            "record-amount": "2000.01",
            "record-paid_on": date.today().isoformat(),
            "record-reference": "BACS-9",
        },
    )

    assert response.status_code == 400
    assert "still to pay" in response.content.decode()
    assert not payment.records.exists()


# --- The award letter and the agreement ---------------------------------------------------------------


def test_the_award_letter_shows_amount_schedule_conditions_and_reporting_date(
    client, application_in, lead_alice
):
    application = application_in(S.APPROVED)

    body = (
        login(client, lead_alice).get(reverse("grants:award_letter", args=[application.pk])).content.decode()
    )

    assert "£4,000.00" in body
    assert "When the grant agreement is accepted" in body
    assert "End-of-grant report: due by" in body
    assert application.agreement.terms_version in body
    assert "Accept the grant agreement" in body


def test_the_lead_accepts_the_agreement_on_the_award_letter(client, application_in, lead_alice):
    application = application_in(S.APPROVED)

    response = login(client, lead_alice).post(
        reverse("grants:agreement_respond", args=[application.pk]),
        {
            "accept-signed_name": "Alice Lead",
            "accept-signed_role": "Headteacher",
            "accept-terms_version": application.agreement.terms_version,
            "accept-confirmed": "on",
        },
        follow=True,
    )

    assert "the grant agreement is accepted" in response.content.decode()
    agreement = GrantAgreement.objects.get(application=application)
    assert (agreement.status, agreement.signed_role) == ("accepted", "Headteacher")


def test_accepting_without_the_box_ticked_is_refused_next_to_it(client, application_in, lead_alice):
    application = application_in(S.APPROVED)

    response = login(client, lead_alice).post(
        reverse("grants:agreement_respond", args=[application.pk]),
        {"accept-signed_name": "Alice", "accept-signed_role": "Head", "accept-terms_version": "x"},
    )

    assert response.status_code == 400
    assert GrantAgreement.objects.get(application=application).status == "offered"


def test_the_lead_sees_the_payment_and_its_reference_on_the_award_letter(
    client, application_in, lead_alice, finance_fay
):
    application = application_in(S.APPROVED)
    accept_agreement(application, lead_alice)
    first = application.payments.get(sequence=1)
    payments.payment_release(payment_id=first.pk, by=finance_fay)
    payments.payment_record(
        payment_id=first.pk,
        by=finance_fay,
        amount=first.amount,
        paid_on=date.today(),
        reference="BACS-2026-001",
    )

    body = (
        login(client, lead_alice).get(reverse("grants:award_letter", args=[application.pk])).content.decode()
    )

    assert "BACS-2026-001" in body
    assert "Paid" in body
