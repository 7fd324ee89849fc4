"""A draft that goes while its page is open (deleted, withdrawn, submitted, or the lead's right to
change it taken away) answers the autosave script with words it shows and a sign to stop
(portal/ajax.py), never a 500 or an HTML error page the script cannot read."""

from unittest import mock

import pytest
from django.urls import reverse

from grants import services
from grants.models import Application, AuditEvent
from portal.ajax import KEEP_TEXT


@pytest.fixture
def alice(client, lead_alice):
    client.force_login(lead_alice)
    return client


def delete(application_id):
    """As an admin's purge does: its history first (audit events protect the application)."""
    AuditEvent.objects.filter(application_id=application_id).delete()
    Application.objects.filter(pk=application_id).delete()


def autosave(client, application, text="Typed before the draft went"):
    return client.post(
        reverse("grants:application_autosave", args=[application.pk, 1]),
        {"partnership": application.partnership_id, "local_stem_issue": text},
    )


def assert_refused(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["saved"] is False
    assert body["stop"] is True
    assert KEEP_TEXT in body["message"]
    return body["message"]


def test_a_draft_deleted_before_the_autosave_answers_404_with_words(alice, draft):
    delete(draft.pk)

    message = assert_refused(autosave(alice, draft), 404)

    assert "no longer in the portal" in message


def test_a_draft_deleted_while_it_is_being_saved_answers_404_not_500(alice, draft):
    """The application goes between the save and the view's refresh_from_db."""
    save = services.application_save_draft

    def save_then_delete(**kwargs):
        saved = save(**kwargs)
        delete(kwargs["application_id"])
        return saved

    with mock.patch.object(services, "application_save_draft", save_then_delete):
        assert_refused(autosave(alice, draft), 404)


def test_a_draft_deleted_under_the_lock_answers_404_not_500(alice, draft):
    save = services.application_save_draft

    def delete_then_save(**kwargs):
        delete(kwargs["application_id"])
        return save(**kwargs)

    with mock.patch.object(services, "application_save_draft", delete_then_save):
        assert_refused(autosave(alice, draft), 404)


def test_a_withdrawn_draft_answers_409_naming_its_state_and_keeps_the_saved_text(alice, draft, lead_alice):
    services.application_save_draft(
        application_id=draft.pk, by=lead_alice, fields={"local_stem_issue": "Kept"}
    )
    services.application_withdraw(application_id=draft.pk, by=lead_alice, comment="")

    message = assert_refused(autosave(alice, draft, "Typed after"), 409)

    assert "now withdrawn" in message
    assert Application.objects.get(pk=draft.pk).local_stem_issue == "Kept"


def test_a_draft_withdrawn_in_another_tab_while_saving_answers_409(alice, draft, lead_alice):
    save = services.application_save_draft

    def withdraw_then_save(**kwargs):
        services.application_withdraw(application_id=kwargs["application_id"], by=lead_alice, comment="")
        return save(**kwargs)

    with mock.patch.object(services, "application_save_draft", withdraw_then_save):
        assert "now withdrawn" in assert_refused(autosave(alice, draft), 409)


def test_a_lead_who_lost_the_school_gets_a_json_403(alice, draft, lead_alice):
    with mock.patch("grants.views.is_lead_of", return_value=False):
        assert "no longer change" in assert_refused(autosave(alice, draft), 403)


def test_a_form_error_is_still_a_400_the_lead_can_fix(alice, draft):
    response = autosave(alice, draft, "x" * (services.TEXT_LIMIT + 1))

    assert response.status_code == 400
    assert "stop" not in response.json()


def test_a_report_autosave_for_a_deleted_application_answers_json_404(alice, draft):
    delete(draft.pk)

    response = alice.post(reverse("grants:report_autosave", args=[draft.pk, "interim"]), {})

    assert_refused(response, 404)
