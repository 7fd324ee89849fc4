"""Each app registers its own section of the personal-data export and purge
(portal/personal_data.py); partnerships/privacy.py runs them without importing the apps."""

import pytest

from messaging.models import Notification
from partnerships import privacy
from portal import personal_data

pytestmark = pytest.mark.django_db


def test_grants_and_messaging_register_their_sections():
    names = [section.name for section in personal_data.sections()]

    assert {"applications_started", "audit_events", "notifications"} <= set(names)
    assert personal_data.sections()[names.index("notifications")].shred is not None


def test_the_export_holds_every_registered_section_and_closing_shreds_them(lead_alice):
    Notification.objects.create(user=lead_alice, kind="test", title="Applications close soon")

    data = privacy.personal_data(lead_alice)
    privacy.anonymise_user(lead_alice)

    for section in personal_data.sections():
        assert section.name in data
    assert data["notifications"][0]["title"] == "Applications close soon"
    assert not Notification.objects.filter(user=lead_alice).exists()
