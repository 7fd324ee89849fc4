"""Staff and admins sign in with a second factor (portal/two_factor.py). Elsewhere the suite's
`client.force_login` passes it for them (tests/conftest.py); here sessions that have not."""

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories
from tests.conftest import current_totp
from tests.matrix import World
from tests.test_permission_matrix import ROWS

PASSWORD = factories.PASSWORD


def without_second_factor(client, user):
    client.force_login(user)
    session = client.session
    session.pop(DEVICE_ID_SESSION_KEY, None)
    session.save()


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_a_staff_session_without_the_second_factor_reaches_no_page_in_the_matrix(client, db, role):
    world = World()
    without_second_factor(client, world.users[role])
    reached = []

    for row in ROWS:
        if row.url_name.startswith("two_factor") or row.url_name in ("logout", "healthz"):
            continue
        with transaction.atomic():  # each row's own objects are rolled back after it
            url = reverse(row.url_name, args=row.args(world))
            response = client.post(url, row.data(world)) if row.method == "post" else client.get(url)
            transaction.set_rollback(True)
        if response.status_code != 302 or "/account/two-factor/" not in response.url:
            reached.append(f"{row.id}: {response.status_code}")

    assert not reached, reached


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/partnerships/school/", "/grants/review/", "/evaluation/"]
)
def test_the_django_admin_and_staff_pages_ask_an_admin_for_the_code_first(client, admin_dan, path):
    without_second_factor(client, admin_dan)

    response = client.get(path)

    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_verify"))


def test_a_lead_without_a_device_is_not_asked(client, lead_alice):
    without_second_factor(client, lead_alice)

    assert client.get(reverse("partnerships:lead_home")).status_code == 200


def test_a_lead_who_enrols_elsewhere_is_asked_for_the_code_on_the_next_page(client, lead_alice):
    """ "Has a device" is kept in the cache (no device query per page); enrolling forgets it."""
    without_second_factor(client, lead_alice)
    home = reverse("partnerships:lead_home")
    assert client.get(home).status_code == 200
    TOTPDevice.objects.create(user=lead_alice, name="Phone", confirmed=True)  # in another browser

    page = client.get(home)

    assert page.status_code == 302
    assert page.url.startswith(reverse("two_factor_verify"))


def test_first_login_walks_new_staff_through_enrolment(client, programme):
    newcomer = factories.StaffFactory(username="staff_new", otp_device=False)
    programme.staff.add(newcomer)

    login = client.post(reverse("login"), {"username": "staff_new", "password": PASSWORD}, follow=True)
    assert login.redirect_chain[-1][0].startswith(reverse("two_factor_setup"))
    assert "<svg" in login.text  # the QR code
    device = TOTPDevice.objects.get(user=newcomer, confirmed=False)
    wrong = client.post(reverse("two_factor_setup"), {"token": "000000"})
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)  # wrong tries throttle
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    enrolled = client.post(reverse("two_factor_setup"), {"token": f"{totp.token():06d}"}, follow=True)

    assert wrong.status_code == 400
    assert "recovery-codes" in enrolled.text
    codes = [t.token for t in StaticToken.objects.filter(device__user=newcomer)]
    assert len(codes) == 10
    assert all(code in enrolled.text for code in codes)
    assert client.get(reverse("grants:review_queue")).status_code == 200


def test_staff_log_in_with_password_then_code(client, staff_carol):
    client.post(reverse("login"), {"username": "staff_carol", "password": PASSWORD})
    assert client.get(reverse("grants:review_queue")).status_code == 302

    wrong = client.post(reverse("two_factor_verify"), {"token": "123456"})
    right = client.post(
        reverse("two_factor_verify"), {"token": current_totp(staff_carol), "next": "/grants/review/"}
    )

    assert wrong.status_code == 400
    assert (right.status_code, right.url) == (302, "/grants/review/")
    assert client.get(reverse("grants:review_queue")).status_code == 200


def test_a_recovery_code_works_once(client, staff_carol):
    client.force_login(staff_carol)
    client.post(reverse("two_factor_recovery"))
    code = StaticToken.objects.filter(device__user=staff_carol).first().token
    client.logout()

    first, second = client.__class__(), client.__class__()
    for other in (first, second):
        other.post(reverse("login"), {"username": "staff_carol", "password": PASSWORD})
    used = first.post(reverse("two_factor_verify"), {"token": code})
    again = second.post(reverse("two_factor_verify"), {"token": code})

    assert used.status_code == 302
    assert again.status_code == 400


def test_an_external_next_is_not_followed(client, staff_carol):
    client.post(reverse("login"), {"username": "staff_carol", "password": PASSWORD})

    response = client.post(
        reverse("two_factor_verify"), {"token": current_totp(staff_carol), "next": "https://evil.example/"}
    )

    assert response.url == "/"


def test_a_lead_who_opts_in_is_asked_for_the_code_next_time(client, lead_alice):
    client.force_login(lead_alice)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=lead_alice)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    client.post(reverse("two_factor_setup"), {"token": f"{totp.token():06d}"})
    client.logout()

    client.post(reverse("login"), {"username": "lead_alice", "password": PASSWORD})
    response = client.get(reverse("partnerships:lead_home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_verify"))


def test_log_out_works_before_the_second_factor(client, staff_carol):
    client.post(reverse("login"), {"username": "staff_carol", "password": PASSWORD})

    client.post(reverse("logout"))

    assert "_auth_user_id" not in client.session
    assert User.objects.filter(username="staff_carol").exists()
