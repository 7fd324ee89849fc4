"""Issue 19: a programme's finance set-up on its own pages (not only the admin) — the payment
schedule template and versioned agreement terms, kept by the programme's staff and finance — and
offering a lapsed or declined agreement again from the award letter, reminders and all."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from grants import agreements, payments, programme_finance
from grants.models import (
    AgreementTerms,
    Application,
    AuditEvent,
    GrantAgreement,
    ProgrammeFinanceEvent,
    ScheduleStep,
)
from messaging.models import ReminderSent
from tests.grants.conftest import accept_agreement

S = Application.Status
A = GrantAgreement.Status

THIRDS = [
    {"kind": "remainder", "value": "", "trigger": "agreement_accepted"},
    {"kind": "remainder", "value": "", "trigger": "on_interim_report"},
    {"kind": "remainder", "value": "", "trigger": "on_final_report"},
]


# --- Schedule templates -----------------------------------------------------------------------------


def test_staff_save_a_template_and_the_next_award_uses_it(programme, staff_carol, application_in):
    programme_finance.schedule_template_save(programme_id=programme.pk, by=staff_carol, steps=THIRDS)
    assert list(programme.schedule_steps.values_list("sequence", "kind")) == [
        (1, "remainder"),
        (2, "remainder"),
        (3, "remainder"),
    ]
    application = application_in(S.APPROVED)
    assert [p.amount for p in application.payments.order_by("sequence")] == [Decimal("1333.34")] + [
        Decimal("1333.33")
    ] * 2


def test_percentages_that_do_not_make_100_are_refused_and_nothing_changes(programme, finance_fay):
    programme_finance.schedule_template_save(programme_id=programme.pk, by=finance_fay, steps=THIRDS)
    steps = [
        {"kind": "percent", "value": "40", "trigger": "agreement_accepted"},
        {"kind": "percent", "value": "50", "trigger": "on_final_report"},
    ]
    with pytest.raises(ValidationError, match="exactly 100%"):
        programme_finance.schedule_template_save(programme_id=programme.pk, by=finance_fay, steps=steps)
    assert programme.schedule_steps.count() == 3
    steps[1]["value"] = "60"
    programme_finance.schedule_template_save(programme_id=programme.pk, by=finance_fay, steps=steps)
    assert list(programme.schedule_steps.values_list("percent", flat=True)) == [Decimal("40"), Decimal("60")]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"kind": "percent", "value": "101", "trigger": "agreement_accepted"}, "at most 100"),
        ({"kind": "fixed", "value": "-5", "trigger": "agreement_accepted"}, "above 0"),
        ({"kind": "fixed", "value": "lots", "trigger": "agreement_accepted"}, "above 0"),
        ({"kind": "remainder", "value": "", "trigger": "on_date"}, "give the date"),
        ({"kind": "remainder", "value": "", "trigger": "on_approval"}, "choose when"),
        ({"kind": "remainder", "value": "10", "trigger": "on_final_report"}, "no amount of its own"),
    ],
)
def test_a_bad_instalment_is_refused_with_its_number(programme, finance_fay, row, message):
    with pytest.raises(ValidationError) as exc:
        programme_finance.schedule_template_save(programme_id=programme.pk, by=finance_fay, steps=[row])
    assert any(message in m and "Instalment 1" in m for m in exc.value.messages)
    assert not ScheduleStep.objects.exists()


def test_leads_and_other_programmes_staff_cannot_change_the_template(programme, lead_alice, other_staff):
    for user in (lead_alice, other_staff):
        with pytest.raises(PermissionDenied):
            programme_finance.schedule_template_save(programme_id=programme.pk, by=user, steps=THIRDS)


def test_the_template_page_saves_and_shows_errors_on_the_page(client, programme, staff_carol):
    client.force_login(staff_carol)
    url = reverse("grants:schedule_template", args=[programme.pk])
    assert client.get(url).status_code == 200
    data = {"s-TOTAL_FORMS": "1", "s-INITIAL_FORMS": "0", "s-0-kind": "percent", "s-0-value": "90"}
    data["s-0-trigger"] = "agreement_accepted"
    response = client.post(url, data)
    assert response.status_code == 400
    assert "exactly 100%" in response.content.decode()
    data["s-0-value"] = "100"
    assert client.post(url, data).status_code == 302
    assert programme.schedule_steps.get().percent == Decimal("100")


# --- Versioned terms --------------------------------------------------------------------------------


def test_publishing_makes_a_new_version_and_the_accepted_one_stays(
    programme, staff_carol, application_in, lead_alice
):
    first = programme_finance.terms_publish(
        programme_id=programme.pk, by=staff_carol, conditions="1. Spend well."
    )
    application = application_in(S.APPROVED)
    accept_agreement(application, lead_alice)
    second = programme_finance.terms_publish(
        programme_id=programme.pk, by=staff_carol, conditions="1. Spend better."
    )
    assert (first.version, second.version) == (f"{programme.slug}-v1", f"{programme.slug}-v2")
    agreement = GrantAgreement.objects.get(application=application)
    assert (agreement.terms_version, agreement.terms_text) == (first.version, "1. Spend well.")
    assert AgreementTerms.objects.get(pk=first.pk).conditions == "1. Spend well."
    assert agreements.current_terms(programme) == (second.version, "1. Spend better.")


def test_publishing_the_same_text_again_or_nothing_is_refused(programme, finance_fay):
    programme_finance.terms_publish(programme_id=programme.pk, by=finance_fay, conditions="Terms.")
    for text in ("Terms.", "  "):
        with pytest.raises(ValidationError):
            programme_finance.terms_publish(programme_id=programme.pk, by=finance_fay, conditions=text)
    assert AgreementTerms.objects.count() == 1


def test_leads_cannot_publish_terms(programme, lead_alice):
    with pytest.raises(PermissionDenied):
        programme_finance.terms_publish(programme_id=programme.pk, by=lead_alice, conditions="Mine.")


@pytest.mark.postgres
def test_the_database_never_edits_published_terms(programme, staff_carol, application_in):
    terms = programme_finance.terms_publish(programme_id=programme.pk, by=staff_carol, conditions="Original.")
    application_in(S.APPROVED)  # offered with this version
    with pytest.raises(IntegrityError, match="agreementterms_never_edited"), transaction.atomic():
        AgreementTerms.objects.filter(pk=terms.pk).update(conditions="Rewritten.")
    with pytest.raises(IntegrityError, match="agreementterms_never_edited"), transaction.atomic():
        AgreementTerms.objects.filter(pk=terms.pk).delete()


def test_the_terms_page_publishes_a_version(client, programme, finance_fay):
    client.force_login(finance_fay)
    url = reverse("grants:agreement_terms", args=[programme.pk])
    assert agreements.STANDARD_TERMS[:40] in client.get(url).content.decode()
    assert client.post(url, {"conditions": ""}).status_code == 400
    assert client.post(url, {"conditions": "1. New terms."}).status_code == 302
    assert AgreementTerms.objects.get(programme=programme).conditions == "1. New terms."


# --- Offering an agreement again ------------------------------------------------------------------


@pytest.fixture
def lapsed(application_in):
    """Offered with a deadline a week away (one reminder sent), then not accepted by it."""
    application = application_in(S.APPROVED)
    offered = GrantAgreement.objects.filter(application=application)
    offered.update(respond_by=timezone.localdate() + timedelta(days=7))
    agreements.remind_and_lapse()
    offered.update(respond_by=timezone.localdate() - timedelta(days=1))
    agreements.remind_and_lapse()
    assert GrantAgreement.objects.get(application=application).status == A.LAPSED
    return application


@pytest.mark.usefixtures("outbox_sends_at_once")
def test_finance_offers_a_lapsed_agreement_again_from_the_award_letter(
    client, lapsed, finance_fay, lead_alice
):
    reminders_before = ReminderSent.objects.filter(kind="agreement_reminder").count()
    assert reminders_before == 1
    client.force_login(finance_fay)
    letter = reverse("grants:award_letter", args=[lapsed.pk])
    assert "Offer the agreement again" in client.get(letter).content.decode()
    mail.outbox.clear()
    assert client.post(reverse("grants:agreement_reoffer", args=[lapsed.pk])).status_code == 302

    agreement = GrantAgreement.objects.get(application=lapsed)
    assert agreement.status == A.OFFERED
    assert agreement.respond_by == timezone.localdate() + timedelta(days=agreements.AGREEMENT_DAYS)
    assert any("offered again" in m.subject for m in mail.outbox if lead_alice.email in m.to)
    assert AuditEvent.objects.filter(
        application=lapsed, comment__startswith="Offered again after it was"
    ).exists()
    # The reminders sent before stay recorded; the new deadline has its own.
    assert ReminderSent.objects.filter(kind="agreement_reminder").count() == reminders_before
    week_before = timezone.now() + timedelta(days=agreements.AGREEMENT_DAYS - 7)
    assert agreements.remind_and_lapse(week_before).sent == 1
    assert ReminderSent.objects.filter(kind="agreement_reminder").count() == reminders_before + 1
    # And now it can be accepted and paid.
    accept_agreement(lapsed, lead_alice)
    payments.payment_release(payment_id=lapsed.payments.get(sequence=1).pk, by=finance_fay)


def test_staff_offer_a_declined_agreement_again(lapsed, application_in, staff_carol):
    agreement = GrantAgreement.objects.get(application=lapsed)
    GrantAgreement.objects.filter(pk=agreement.pk).update(status=A.DECLINED, decline_reason="No STEM lead.")
    agreement = agreements.agreement_reoffer(application_id=lapsed.pk, by=staff_carol)
    assert (agreement.status, agreement.decline_reason, agreement.responded_at) == (A.OFFERED, "", None)
    event = AuditEvent.objects.filter(application=lapsed, action="agreement_offered").last()
    assert "declined (No STEM lead.)" in event.comment


def test_an_open_or_accepted_agreement_is_not_offered_again(application_in, finance_fay, lead_alice):
    application = application_in(S.APPROVED)
    with pytest.raises(ValidationError, match="Only a lapsed or declined"):
        agreements.agreement_reoffer(application_id=application.pk, by=finance_fay)
    accept_agreement(application, lead_alice)
    with pytest.raises(ValidationError, match="Only a lapsed or declined"):
        agreements.agreement_reoffer(application_id=application.pk, by=finance_fay)


def test_the_lead_and_other_staff_cannot_offer_it_again(client, lapsed, lead_alice, other_staff):
    with pytest.raises(PermissionDenied):
        agreements.agreement_reoffer(application_id=lapsed.pk, by=lead_alice)
    with pytest.raises(PermissionDenied):
        agreements.agreement_reoffer(application_id=lapsed.pk, by=other_staff)
    client.force_login(lead_alice)
    assert (
        "Offer the agreement again"
        not in client.get(reverse("grants:award_letter", args=[lapsed.pk])).content.decode()
    )
    assert client.post(reverse("grants:agreement_reoffer", args=[lapsed.pk])).status_code == 403


# --- The finance set-up's history -------------------------------------------------------------------


def test_a_cost_code_change_is_recorded_from_and_to_with_who_made_it(programme, cohort, finance_fay):
    save = programme_finance.cost_codes_save
    save(programme_id=programme.pk, by=finance_fay, programme_code="GR-ENT", cohort_codes={cohort.pk: ""})
    save(programme_id=programme.pk, by=finance_fay, programme_code="GR-ENT", cohort_codes={cohort.pk: ""})
    save(
        programme_id=programme.pk, by=finance_fay, programme_code="GR-ENT", cohort_codes={cohort.pk: "GR-26"}
    )

    events = list(ProgrammeFinanceEvent.objects.filter(programme=programme).order_by("at", "id"))
    assert [e.action for e in events] == ["cost_codes", "cost_codes"]  # the unchanged save adds none
    assert events[0].actor == finance_fay
    assert events[0].detail == f"{programme.name}: none → GR-ENT"
    assert events[1].detail == f"{cohort.name}: the programme’s → GR-26"


def test_a_refused_cost_code_changes_nothing_and_records_nothing(programme, cohort, finance_fay):
    with pytest.raises(ValidationError):
        programme_finance.cost_codes_save(
            programme_id=programme.pk,
            by=finance_fay,
            programme_code="GR-ENT",
            cohort_codes={cohort.pk: "bad code!"},
        )
    programme.refresh_from_db()
    assert programme.cost_code == ""
    assert not ProgrammeFinanceEvent.objects.exists()


def test_template_and_terms_changes_are_recorded_in_words(programme, staff_carol):
    programme_finance.schedule_template_save(programme_id=programme.pk, by=staff_carol, steps=THIRDS)
    programme_finance.schedule_template_save(programme_id=programme.pk, by=staff_carol, steps=THIRDS)  # same
    programme_finance.terms_publish(programme_id=programme.pk, by=staff_carol, conditions="First terms.")
    programme_finance.terms_publish(programme_id=programme.pk, by=staff_carol, conditions="Second terms.")

    template, first, second = ProgrammeFinanceEvent.objects.filter(programme=programme).order_by("at", "id")
    assert template.action == "schedule_template"
    assert template.detail.startswith(
        "no template → the remaining balance, when the grant agreement is accepted;"
    )
    assert first.detail == f"Version {programme.slug}-v1"
    assert second.detail == f"Version {programme.slug}-v2, replacing {programme.slug}-v1"


def test_the_finance_page_shows_the_history_in_words(client, programme, cohort, finance_fay):
    programme_finance.cost_codes_save(
        programme_id=programme.pk, by=finance_fay, programme_code="GR-ENT", cohort_codes={cohort.pk: ""}
    )
    client.force_login(finance_fay)
    body = client.get(reverse("grants:programme_finance", args=[programme.pk])).content.decode()

    assert "Cost codes changed" in body
    assert "none → GR-ENT" in body
    assert "cost_codes" not in body.replace('name="cost_code"', "")


def test_the_history_is_never_changed_or_deleted(programme, finance_fay):
    programme_finance.cost_codes_save(
        programme_id=programme.pk, by=finance_fay, programme_code="GR-1", cohort_codes={}
    )
    event = ProgrammeFinanceEvent.objects.get()
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()


@pytest.mark.postgres
def test_the_database_keeps_the_history_append_only(programme, finance_fay):
    programme_finance.cost_codes_save(
        programme_id=programme.pk, by=finance_fay, programme_code="GR-1", cohort_codes={}
    )
    with pytest.raises(IntegrityError, match="history cannot be changed"), transaction.atomic():
        ProgrammeFinanceEvent.objects.update(detail="Nothing happened.")
    with pytest.raises(IntegrityError, match="history cannot be changed"), transaction.atomic():
        ProgrammeFinanceEvent.objects.all().delete()


def test_the_finance_changes_a_person_made_are_in_their_personal_data(programme, finance_fay):
    from partnerships import privacy

    programme_finance.cost_codes_save(
        programme_id=programme.pk, by=finance_fay, programme_code="GR-1", cohort_codes={}
    )

    (change,) = privacy.personal_data(finance_fay)["programme_finance_changes"]
    assert change["programme"] == programme.name
    assert change["action"] == "Cost codes changed"
    assert change["detail"] == f"{programme.name}: none → GR-1"
