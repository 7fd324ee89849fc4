import pytest

from tests.conftest import login


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_lead_logs_in_through_the_browser_and_lands_on_their_page(page, lead_alice):
    page.goto("/")
    page.shot("login-page")
    login(page, "lead_alice")

    page.wait_for_url("**/partnerships/")
    assert page.get_by_role("heading", name="My partnerships").is_visible()
    assert "Alder Primary School" in page.content()
    page.shot("lead-home")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_shows_an_error_summary_in_the_browser(page, lead_alice):
    login(page, "lead_alice", "not-the-password")

    assert page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    page.shot("login-error")
