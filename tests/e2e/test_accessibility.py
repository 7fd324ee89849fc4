"""axe-core on every main page, as the role that uses it: no serious or critical violations."""

import pytest

from tests.conftest import login
from tests.e2e.axe import serious_violations

PAGES = [
    # (user or None, path)
    (None, "/accounts/login/"),
    (None, "/accounts/password_reset/"),
    ("lead_alice", "/partnerships/"),
    ("lead_alice", "/account/"),
    ("staff_carol", "/grants/review/"),
    ("staff_carol", "/clusters/"),
    ("admin_dan", "/evaluation/"),
]


@pytest.fixture
def axe_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("username", "path"), PAGES)
def test_page_has_no_serious_accessibility_violations(axe_page, request, username, path):
    if username:
        request.getfixturevalue(username)
        login(axe_page, username)
        axe_page.wait_for_load_state()
    axe_page.goto(path)

    assert serious_violations(axe_page) == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_login_form_error_summary_has_no_violations(axe_page, lead_alice):
    login(axe_page, "lead_alice", "wrong-password")

    assert axe_page.get_by_text("There is a problem").is_visible()
    assert serious_violations(axe_page) == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_lead_can_log_in_with_the_keyboard_alone(page, lead_alice, password):
    page.goto("/accounts/login/")
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Tab")  # brand
    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "id_username":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("lead_alice")
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")

    page.wait_for_url("**/partnerships/")
    page.shot("keyboard-login")
