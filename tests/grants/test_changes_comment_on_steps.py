"""When changes are requested, the staff comment is at the top of every step the lead edits."""

import pytest
from django.urls import reverse

from grants import services
from grants.models import Application

S = Application.Status


@pytest.mark.parametrize("step", [1, 2, 3, 4, 5])
def test_the_comment_is_on_every_step_while_changes_are_requested(client, application_in, lead_alice, step):
    application = application_in(S.CHANGES_REQUESTED)  # the comment is "More detail."
    client.force_login(lead_alice)

    page = client.get(reverse("grants:application_step", args=[application.pk, step])).content.decode()

    assert 'id="changes-requested"' in page
    assert "More detail." in page


def test_the_comment_is_gone_once_resubmitted(client, application_in, lead_alice):
    application = application_in(S.CHANGES_REQUESTED)
    services.application_resubmit(application_id=application.pk, by=lead_alice)
    client.force_login(lead_alice)

    page = client.get(reverse("grants:application_step", args=[application.pk, 1])).content.decode()

    assert 'id="changes-requested"' not in page
