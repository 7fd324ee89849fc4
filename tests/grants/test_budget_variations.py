"""Issue 19: budget variations after award. The lead asks to move money between budget lines
with a reason; programme staff approve or refuse; the award never changes; reports are checked
against the varied budget. Each rule on both sides; the database's own guarantees on PostgreSQL."""

import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connections, transaction
from django.urls import reverse

from grants import services, variations
from grants.models import Application, AuditEvent, BudgetLine, BudgetVariation
from messaging.models import Notification, OutboxMessage
from tests import factories
from tests.grants.conftest import AWARD, COMPLETE_TEXT

S = Application.Status
V = BudgetVariation.Status


@pytest.fixture
def awarded(draft, lead_alice, staff_carol):
    """An approved grant whose budget is £3,000 supply cover and £2,000 travel."""
    services.application_save_draft(
        application_id=draft.pk,
        by=lead_alice,
        fields=COMPLETE_TEXT,
        budget_lines=[
            {"category": "supply_cover", "amount": Decimal("3000.00"), "note": "Cover"},
            {"category": "travel", "amount": Decimal("2000.00"), "note": "Coach"},
        ],
    )
    services.application_submit(application_id=draft.pk, by=lead_alice)
    services.application_approve(application_id=draft.pk, by=staff_carol, amount=AWARD)
    return Application.objects.get(pk=draft.pk)


def ask(
    application, lead, amount="500.00", source="supply_cover", target="resources", reason="Kits, not cover."
):
    return variations.variation_request(
        application_id=application.pk,
        by=lead,
        from_category=source,
        to_category=target,
        amount=amount,
        reason=reason,
    )


def test_the_lead_asks_and_staff_are_told(awarded, lead_alice, staff_carol):
    mail.outbox.clear()
    v = ask(awarded, lead_alice)
    assert v.status == V.REQUESTED
    assert AuditEvent.objects.filter(application=awarded, action="variation_requested").exists()
    told = Notification.objects.filter(kind="budget_variation_requested")
    assert list(told.values_list("user__username", flat=True)) == ["staff_carol"]
    # Asked is not approved: the budget is still as approved.
    assert variations.varied_budget(awarded) == {
        "supply_cover": Decimal("3000.00"),
        "travel": Decimal("2000.00"),
    }


def test_an_approved_variation_moves_money_and_the_award_stays(
    awarded, lead_alice, staff_carol, django_capture_on_commit_callbacks
):
    v = ask(awarded, lead_alice)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        variations.variation_decide(variation_id=v.pk, by=staff_carol, approve=True)
    awarded.refresh_from_db()
    assert awarded.awarded == AWARD
    assert variations.varied_budget(awarded) == {
        "supply_cover": Decimal("2500.00"),
        "travel": Decimal("2000.00"),
        "resources": Decimal("500.00"),
    }
    assert sum(variations.varied_budget(awarded).values()) == Decimal("5000.00")
    event = AuditEvent.objects.get(application=awarded, action="variation_approved")
    assert "£500.00 from supply cover to resources and equipment" in event.comment
    (message,) = [m for m in mail.outbox if "Budget change approved" in m.subject]
    assert message.to == [lead_alice.email]
    assert "The award stays £4,000.00" in message.body


def test_a_refusal_needs_a_reason_and_the_lead_is_told(awarded, lead_alice, staff_carol):
    v = ask(awarded, lead_alice)
    with pytest.raises(ValidationError) as exc:
        variations.variation_decide(variation_id=v.pk, by=staff_carol, approve=False, comment="  ")
    assert "comment" in exc.value.message_dict
    mail.outbox.clear()
    variations.variation_decide(
        variation_id=v.pk, by=staff_carol, approve=False, comment="Cover is the point."
    )
    v.refresh_from_db()
    assert v.status == V.REFUSED
    assert variations.varied_budget(awarded)["supply_cover"] == Decimal("3000.00")
    (message,) = OutboxMessage.objects.filter(subject__startswith="Budget change refused")
    assert message.to == [lead_alice.email]
    assert "Cover is the point." in message.body_text
    assert AuditEvent.objects.filter(application=awarded, action="variation_refused").exists()


def test_a_decided_variation_cannot_be_decided_the_other_way(awarded, lead_alice, staff_carol):
    v = ask(awarded, lead_alice)
    variations.variation_decide(variation_id=v.pk, by=staff_carol, approve=True)
    variations.variation_decide(variation_id=v.pk, by=staff_carol, approve=True)  # a second click
    with pytest.raises(ValidationError, match="already approved"):
        variations.variation_decide(variation_id=v.pk, by=staff_carol, approve=False, comment="No.")
    assert AuditEvent.objects.filter(application=awarded, action="variation_approved").count() == 1


def test_moving_all_of_a_line_is_accepted_and_a_penny_more_refused(awarded, lead_alice):
    ask(awarded, lead_alice, amount="3000.00")
    with pytest.raises(ValidationError) as exc:
        ask(awarded, lead_alice, amount="2000.01", source="travel")
    assert "more than the £2,000.00 left in travel" in exc.value.message_dict["amount"][0]


def test_approving_what_no_longer_fits_is_refused(awarded, lead_alice, staff_carol):
    first, second = ask(awarded, lead_alice, amount="2000.00"), ask(awarded, lead_alice, amount="2000.00")
    variations.variation_decide(variation_id=first.pk, by=staff_carol, approve=True)
    with pytest.raises(ValidationError, match=r"more than the £1,000\.00 left"):
        variations.variation_decide(variation_id=second.pk, by=staff_carol, approve=True)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"source": "travel", "target": "travel"}, "to_category"),
        ({"source": "bitcoin"}, "from_category"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"reason": ""}, "reason"),
    ],
)
def test_a_bad_request_is_refused_next_to_its_field(awarded, lead_alice, kwargs, field):
    with pytest.raises(ValidationError) as exc:
        ask(awarded, lead_alice, **kwargs)
    assert field in exc.value.message_dict
    assert not BudgetVariation.objects.exists()


def test_only_a_verified_lead_of_the_lead_school_asks(awarded, partner_lead, staff_carol, lead_bob):
    for user in (partner_lead, staff_carol, lead_bob):
        with pytest.raises(PermissionDenied):
            ask(awarded, user)


def test_a_draft_cannot_be_varied(draft, lead_alice):
    with pytest.raises(PermissionDenied):
        ask(draft, lead_alice)


def test_only_the_programmes_staff_without_a_conflict_decide(
    awarded, lead_alice, other_staff, conflicted_staff, finance_fay
):
    v = ask(awarded, lead_alice)
    for user in (lead_alice, other_staff, conflicted_staff, finance_fay):
        with pytest.raises(PermissionDenied):
            variations.variation_decide(variation_id=v.pk, by=user, approve=True)
    assert BudgetVariation.objects.get(pk=v.pk).status == V.REQUESTED


def test_the_report_asks_spend_against_the_varied_budget(awarded, lead_alice, staff_carol):
    v = ask(awarded, lead_alice, amount="1000.00")
    variations.variation_decide(variation_id=v.pk, by=staff_carol, approve=True)
    from grants.forms import ReportForm

    form = ReportForm(application=awarded)
    assert form.fields["spend_supply_cover"].help_text == "Budgeted: £2,000.00"
    assert form.fields["spend_resources"].help_text == "Budgeted: £1,000.00"
    assert services.budgeted_by_category(awarded)["resources"] == Decimal("1000.00")
    # £2,000 spent on cover is on budget after the change (it was £1,000 under before).
    assert not services.needs_explanation(
        services.budgeted_by_category(awarded)["supply_cover"], Decimal("2000")
    )


# --- Pages ---------------------------------------------------------------------------------------


def test_the_lead_asks_on_the_page_and_a_bad_amount_shows_next_to_the_field(client, awarded, lead_alice):
    client.force_login(lead_alice)
    url = reverse("grants:variation_request", args=[awarded.pk])
    data = {"from_category": "travel", "to_category": "resources", "amount": "2500", "reason": "Kits"}
    response = client.post(url, data)
    assert response.status_code == 400
    assert "more than the £2,000.00 left in travel" in response.content.decode()
    assert not BudgetVariation.objects.exists()
    response = client.post(url, {**data, "amount": "250"})
    assert response.status_code == 302
    page = client.get(reverse("grants:budget_variations", args=[awarded.pk])).content.decode()
    assert "Waiting for a decision" in page
    assert "Record the decision" not in page


def test_staff_approve_on_the_page(client, awarded, lead_alice, staff_carol):
    v = ask(awarded, lead_alice)
    client.force_login(staff_carol)
    url = reverse("grants:variation_decide", args=[awarded.pk, v.pk])
    response = client.post(url, {f"v{v.pk}-decision": "refuse", f"v{v.pk}-comment": ""})
    assert response.status_code == 400
    response = client.post(url, {f"v{v.pk}-decision": "approve"})
    assert response.status_code == 302
    page = client.get(reverse("grants:budget_variations", args=[awarded.pk])).content.decode()
    assert "£2,500.00" in page
    assert "+£500.00" in page
    assert "Approved" in page


def test_another_schools_lead_guessing_the_url_gets_404(client, awarded, lead_bob):
    client.force_login(lead_bob)
    assert client.get(reverse("grants:budget_variations", args=[awarded.pk])).status_code == 404


def test_the_page_reads_in_a_fixed_number_of_queries(
    client, awarded, lead_alice, staff_carol, django_assert_max_num_queries
):
    for _ in range(3):
        ask(awarded, lead_alice, amount="10.00")
    client.force_login(staff_carol)
    with django_assert_max_num_queries(25):
        assert client.get(reverse("grants:budget_variations", args=[awarded.pk])).status_code == 200


# --- The database ---------------------------------------------------------------------------------


def test_the_database_refuses_a_variation_to_the_same_line(awarded, lead_alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetVariation.objects.create(
            application=awarded,
            from_category="travel",
            to_category="travel",
            amount=Decimal("1.00"),
            reason="x",
            requested_by=lead_alice,
            requested_at=awarded.created_at,
        )


@pytest.mark.postgres
def test_the_database_freezes_the_awarded_budget_and_the_award(awarded):
    with pytest.raises(IntegrityError, match="budgetline_frozen_after_award"), transaction.atomic():
        BudgetLine.objects.filter(application=awarded).update(amount=Decimal("9000.00"))
    with pytest.raises(IntegrityError, match="budgetline_frozen_after_award"), transaction.atomic():
        BudgetLine.objects.create(application=awarded, category="other", amount=Decimal("1.00"))
    with pytest.raises(IntegrityError, match="application_award_fixed"), transaction.atomic():
        Application.objects.filter(pk=awarded.pk).update(awarded=Decimal("4000.01"))


@pytest.mark.postgres
def test_the_database_refuses_an_approval_that_empties_a_line_below_zero(awarded, lead_alice, staff_carol):
    v = ask(awarded, lead_alice, amount="2000.00", source="travel")
    with pytest.raises(IntegrityError, match="budgetvariation_keeps_lines_above_zero"), transaction.atomic():
        BudgetVariation.objects.filter(pk=v.pk).update(
            amount=Decimal("2000.01"), status=V.APPROVED, decided_by=staff_carol, decided_at=v.requested_at
        )


@pytest.mark.postgres
def test_the_database_keeps_a_decided_variation_as_it_is(awarded, lead_alice, staff_carol):
    v = ask(awarded, lead_alice)
    variations.variation_decide(variation_id=v.pk, by=staff_carol, approve=True)
    with pytest.raises(IntegrityError, match="budgetvariation_decided_is_final"), transaction.atomic():
        BudgetVariation.objects.filter(pk=v.pk).update(amount=Decimal("1.00"))
    with pytest.raises(IntegrityError, match="budgetvariation_decided_is_final"), transaction.atomic():
        BudgetVariation.objects.filter(pk=v.pk).delete()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_approving_moves_from_one_line_at_once_approve_only_what_fits(
    programme, school_a, lead_alice
):
    """£3,000 of cover; two requests of £2,000 each approved by two staff at the same moment:
    one is approved, the other is told it no longer fits; the line never goes below zero."""
    cohort = factories.CohortFactory(programme=programme)
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=school_a, partners=4)
    application = factories.ApplicationFactory(partnership=partnership, requested=Decimal("5000.00"))
    factories.BudgetLineFactory(application=application, category="supply_cover", amount=Decimal("3000.00"))
    factories.BudgetLineFactory(application=application, category="travel", amount=Decimal("2000.00"))
    Application.objects.filter(pk=application.pk).update(status=S.APPROVED, awarded=Decimal("5000.00"))
    carol, dora = factories.StaffFactory(username="carol2"), factories.StaffFactory(username="dora")
    programme.staff.add(carol, dora)
    requests = [ask(application, lead_alice, amount="2000.00") for _ in range(2)]
    barrier, outcomes = threading.Barrier(2), []

    def approve(user, variation):
        try:
            barrier.wait()
            variations.variation_decide(variation_id=variation.pk, by=user, approve=True)
            outcomes.append("approved")
        except ValidationError as exc:
            outcomes.append(" ".join(exc.messages))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=approve, args=args) for args in zip((carol, dora), requests, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes)[0] == "approved"
    assert "more than the £1,000.00 left" in sorted(outcomes)[1]
    assert BudgetVariation.objects.filter(status=V.APPROVED).count() == 1
    assert variations.varied_budget(application)["supply_cover"] == Decimal("1000.00")
