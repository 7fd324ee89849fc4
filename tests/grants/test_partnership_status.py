"""The partnership's status follows its grant (issue 18): every transition moves it through the
grant services, nothing else; the cohort summary counts the schools of funded partnerships only
(checked against raw SQL, as the summary figure tests do)."""

import pytest

from evaluation import summaries
from grants.models import Application
from partnerships.models import Membership, Partnership
from tests.evaluation.test_summary_figures import SCHOOLS_IN, sql, t

S = Application.Status
P = Partnership.Status

FOLLOWS = {
    S.DRAFT: P.FORMING,
    S.SUBMITTED: P.FORMING,
    S.CHANGES_REQUESTED: P.FORMING,
    S.APPROVED: P.ACTIVE,
    S.COMPLETED: P.COMPLETED,
    S.REJECTED: P.WITHDRAWN,
    S.WITHDRAWN: P.WITHDRAWN,
}


@pytest.mark.parametrize("state", list(FOLLOWS))
def test_each_grant_transition_moves_the_partnership(application_in, state):
    application = application_in(state)

    assert application.status == state
    assert Partnership.objects.get(pk=application.partnership_id).status == FOLLOWS[state]


def test_withdrawing_a_submitted_application_withdraws_the_partnership(application_in, lead_alice):
    from grants import services

    application = application_in(S.SUBMITTED)
    services.application_withdraw(application_id=application.pk, by=lead_alice)

    assert Partnership.objects.get(pk=application.partnership_id).status == P.WITHDRAWN


def test_a_refused_claim_withdraws_partnership_and_application_once(draft, lead_alice, staff_carol):
    """partnerships withdraws the partnership and tells grants; grants' move does not loop back."""
    from partnerships import services as partnership_services

    partnership = draft.partnership
    Membership.objects.filter(partnership=partnership, role="lead").update(status="accepted")
    partnership.created_by = lead_alice
    partnership.save(update_fields=["created_by"])
    partnership_services.school_claim_rejected(
        user=lead_alice, school=partnership.lead_school, by=staff_carol, reason="Not at the school."
    )

    assert Application.objects.get(pk=draft.pk).status == S.WITHDRAWN
    assert Partnership.objects.get(pk=partnership.pk).status == P.WITHDRAWN


@pytest.mark.postgres
@pytest.mark.parametrize("state", [S.SUBMITTED, S.APPROVED, S.COMPLETED, S.REJECTED, S.WITHDRAWN])
def test_the_summary_counts_only_funded_partnerships_schools(application_in, state):
    application = application_in(state)
    cohort_id = application.cohort_id
    names = {
        "school": t(summaries.School),
        "membership": t(Membership),
        "partnership": t(Partnership),
        "clustermembership": t(summaries.ClusterMembership),
    }

    data = summaries.compute(cohort_id)
    raw = sql(f"SELECT COUNT(*) FROM ({SCHOOLS_IN.format(**names)}) x", {"c": cohort_id})[0][0]

    confirmed = Membership.objects.filter(partnership=application.partnership, status="confirmed").count()
    funded = state in (S.APPROVED, S.COMPLETED)
    assert data["schools"] == raw == (confirmed if funded else 0)
    assert data["applying_schools"] == (confirmed if state == S.SUBMITTED else 0)
