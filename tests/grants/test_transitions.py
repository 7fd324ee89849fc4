"""Every transition, from every state, by every role: the allowed ones work once and a second
identical call changes nothing; the rest are refused — PermissionDenied for the wrong person,
ValidationError with a message for the wrong state — and change nothing."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from grants import services
from grants.models import Application, AuditEvent, Payment
from tests.grants.conftest import AWARD

S = Application.Status
ROLES = ["lead", "partner_lead", "other_lead", "staff", "other_staff", "admin", "conflicted_staff"]
LEADS = {"lead"}
DECIDERS = {"staff", "admin"}

# name: (call, who may, from which states, to which state)
TRANSITIONS = {
    "submit": (
        lambda a, by: services.application_submit(application_id=a.pk, by=by),
        LEADS,
        {S.DRAFT},
        S.SUBMITTED,
    ),
    "resubmit": (
        lambda a, by: services.application_resubmit(application_id=a.pk, by=by),
        LEADS,
        {S.CHANGES_REQUESTED},
        S.SUBMITTED,
    ),
    "withdraw": (
        lambda a, by: services.application_withdraw(application_id=a.pk, by=by),
        LEADS,
        {S.DRAFT, S.SUBMITTED},
        S.WITHDRAWN,
    ),
    "request_changes": (
        lambda a, by: services.application_request_changes(application_id=a.pk, by=by, comment="Say more."),
        DECIDERS,
        {S.SUBMITTED},
        S.CHANGES_REQUESTED,
    ),
    "approve": (
        lambda a, by: services.application_approve(application_id=a.pk, by=by, amount=AWARD),
        DECIDERS,
        {S.SUBMITTED},
        S.APPROVED,
    ),
    "reject": (
        lambda a, by: services.application_reject(application_id=a.pk, by=by, reason="Not this time."),
        DECIDERS,
        {S.SUBMITTED, S.CHANGES_REQUESTED},
        S.REJECTED,
    ),
}


@pytest.fixture
def actors(lead_alice, partner_lead, lead_bob, staff_carol, other_staff, admin_dan, conflicted_staff):
    return {
        "lead": lead_alice,
        "partner_lead": partner_lead,
        "other_lead": lead_bob,
        "staff": staff_carol,
        "other_staff": other_staff,
        "admin": admin_dan,
        "conflicted_staff": conflicted_staff,
    }


def snapshot(application):
    a = Application.objects.get(pk=application.pk)
    return (
        a.status,
        a.awarded,
        a.submitted_at,
        a.decided_at,
        # The transition's own event; an approval also records the agreement it offers (issue 19).
        AuditEvent.objects.filter(application=a).exclude(action__startswith="agreement_").count(),
        Payment.objects.filter(application=a).count(),
    )


def check(transition, state, application, by, role):
    call, who, from_states, to_state = TRANSITIONS[transition]
    before = snapshot(application)

    if role not in who:
        with pytest.raises(PermissionDenied) as refused:
            call(application, by)
        assert str(refused.value)
        assert snapshot(application) == before
    elif state in from_states:
        call(application, by)
        after_first = snapshot(application)
        call(application, by)

        assert after_first[0] == to_state
        assert after_first[4] == before[4] + 1  # one audit event
        assert snapshot(application) == after_first  # the second call changed nothing
    elif state == to_state:
        call(application, by)
        assert snapshot(application) == before
    else:
        with pytest.raises(ValidationError) as refused:
            call(application, by)
        assert refused.value.messages[0]
        assert snapshot(application) == before


@pytest.mark.parametrize("state", list(S.values))
def test_every_transition_from_state_by_every_role(state, application_in, actors):
    """One application walked to `state` (the costly part) serves every transition × role case;
    each case runs in a savepoint that is rolled back, so each starts from the same state."""
    application = application_in(state)
    assert application.status == state
    failures = []
    for transition in TRANSITIONS:
        for role in ROLES:
            try:
                with transaction.atomic():
                    check(transition, state, application, actors[role], role)
                    transaction.set_rollback(True)
            except (Exception, pytest.fail.Exception) as exc:  # every case is reported, not the first only
                failures.append(f"{transition} by {role}: {type(exc).__name__}: {exc}")

    assert not failures, f"from {state}:\n" + "\n".join(failures)
