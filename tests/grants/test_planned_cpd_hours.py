"""A partnership's planned teacher CPD hours (issue 18): written on the application's activities
step, so that the process evaluation shows "delivered of plan" for partnerships as for clusters."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from evaluation import process
from grants import services
from grants.models import Application
from tests import factories


@pytest.mark.parametrize("hours", ["0.1", "24", "1000"])
def test_planned_hours_from_just_above_0_to_1000_are_saved(draft, lead_alice, hours):
    services.application_save_draft(
        application_id=draft.pk, by=lead_alice, fields={"planned_cpd_hours": hours}
    )

    assert Application.objects.get(pk=draft.pk).planned_cpd_hours == Decimal(hours)


@pytest.mark.parametrize("hours", ["0", "-3", "1000.1", "12.25", "lots", "NaN"])
def test_planned_hours_outside_the_bounds_are_refused_and_nothing_is_saved(draft, lead_alice, hours):
    with pytest.raises(ValidationError) as refused:
        services.application_save_draft(
            application_id=draft.pk, by=lead_alice, fields={"planned_cpd_hours": hours, "aims": "Kept?"}
        )

    assert "planned_cpd_hours" in refused.value.message_dict
    fresh = Application.objects.get(pk=draft.pk)
    assert fresh.planned_cpd_hours is None
    assert fresh.aims == ""


def test_empty_planned_hours_clear_them(draft, lead_alice):
    services.application_save_draft(
        application_id=draft.pk, by=lead_alice, fields={"planned_cpd_hours": "24"}
    )
    services.application_save_draft(application_id=draft.pk, by=lead_alice, fields={"planned_cpd_hours": ""})

    assert Application.objects.get(pk=draft.pk).planned_cpd_hours is None


@pytest.mark.postgres
@pytest.mark.parametrize("hours", [Decimal("0"), Decimal("1000.1")])
def test_the_database_refuses_planned_hours_outside_the_bounds(draft, hours):
    with pytest.raises(IntegrityError, match="application_planned_cpd_hours_0_1000"), transaction.atomic():
        Application.objects.filter(pk=draft.pk).update(planned_cpd_hours=hours)


def test_the_activities_step_saves_the_hours_and_shows_an_error_next_to_the_field(client, draft, lead_alice):
    client.force_login(lead_alice)
    url = reverse("grants:application_step", args=[draft.pk, 2])

    bad = client.post(url, {"partnership": draft.partnership_id, "planned_cpd_hours": "0"})
    client.post(url, {"partnership": draft.partnership_id, "planned_cpd_hours": "24"})

    assert bad.status_code in (200, 400)
    assert "id_planned_cpd_hours" in bad.content.decode()
    assert bad.context["form"].errors["planned_cpd_hours"]
    assert Application.objects.get(pk=draft.pk).planned_cpd_hours == Decimal("24")


def test_process_page_shows_delivered_of_plan_for_a_partnership(cohort, lead_alice, school_a):
    partnership = factories.PartnershipFactory(
        cohort=cohort, lead_school=school_a, partners=4, name="Fylde Coast"
    )
    factories.ApplicationFactory(partnership=partnership, planned_cpd_hours=Decimal("24"))
    factories.CPDActivityFactory(partnership=partnership, kind="teacher_cpd", hours=Decimal("18.0"))

    unit = next(u for u in process.cohort_process(cohort)["units"] if u.name == "Fylde Coast")
    _, header, rows = process.process_tables(process.cohort_process(cohort), [])["delivery"]

    assert unit.planned_hours == Decimal("24")
    assert unit.delivered_percent == 75
    row = dict(zip(header, next(r for r in rows if r[1] == "Fylde Coast"), strict=True))
    assert row["CPD hours planned"] == "24.0"
    assert row["Delivered of plan (%)"] == "75"
