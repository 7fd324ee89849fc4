"""Shared pieces of the browser journeys (tests/e2e/test_journey_*.py): extra browser contexts
for the other people in a journey, screenshots numbered across all of them, a watch on the
browser console (a script blocked by the CSP or a JavaScript error fails the journey), keyboard
helpers, and the worlds the journeys start from, built through the services as people would."""

import re
from decimal import Decimal
from itertools import count

from playwright.sync_api import expect

from grants import services as grant_services
from grants.models import Application
from partnerships.models import Funding
from tests import factories
from tests.conftest import RESULTS, login

# Four eligible partner schools and one the search must show as not eligible; the search term
# matches all five and nothing in the cast.
SEARCH_TERM = "Seaview"
PARTNER_SCHOOLS = [
    "Seaview Primary School",
    "Seaview Academy",
    "Seaview Church of England Primary",
    "Seaview Community College",
]
INDEPENDENT_SCHOOL = "Seaview Independent School"

APPLICATION_TEXT = {
    "aims": "Raise confidence in practical science across five Blackpool schools.",
    "local_stem_issue": "Few pupils in the town choose science after sixteen.",
    "planned_teacher_cpd": "Six twilight sessions on practical science, led by the secondary.",
    "planned_student_activities": "A STEM fair and two STEM Ambassador visits per school.",
    "timeline": "Autumn: CPD sessions. Spring: the STEM fair. Summer: review and sharing.",
}
DECLARATION_LABELS = list(grant_services.DECLARATIONS.values())
GBP = re.compile(r"^£\d{1,3}(,\d{3})*\.\d{2}$")


def gbp(amount: Decimal) -> str:
    return f"£{amount:,.2f}"


# --- People, contexts, screenshots, console ---------------------------------------------------


class Journey:
    """Screenshots of every context in one test go into test-results/<test>/ numbered in the
    order they were taken; every page's console errors and uncaught exceptions are kept."""

    def __init__(self, browser, live_server, request):
        self.browser = browser
        self.base_url = live_server.url
        self.folder = RESULTS / request.node.name
        self.counter = count(1)
        self.problems: list[str] = []
        self._contexts = []

    def attach(self, page, who: str):
        """Give `page` a numbered `shot(name)` and a console watch."""

        def shot(name: str):
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{next(self.counter):02d}-{who}-{name}.png"
            page.screenshot(path=str(path), full_page=True)

        page.shot = shot

        def on_console(message):
            where = (message.location or {}).get("url", "")
            if message.type == "error" and not where.endswith("/favicon.ico"):
                self.problems.append(f"{who} console: {message.text} ({where})")

        def on_response(response):
            if response.status >= 500:
                self.problems.append(f"{who} got {response.status} from {response.url}")

        page.on("console", on_console)
        page.on("response", on_response)
        page.on("pageerror", lambda error: self.problems.append(f"{who} page error: {error}"))
        return page

    def new_page(self, who: str, *, bypass_csp: bool = False):
        """A fresh browser context (its own cookies: another person) on the live server."""
        context = self.browser.new_context(base_url=self.base_url, bypass_csp=bypass_csp)
        self._contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return self.attach(page, who)

    def close(self):
        for context in self._contexts:
            context.close()


def link_for_email(address: str) -> str:
    """The portal path in the newest e-mail to `address` (the live server runs in this process,
    so its locmem outbox is ours)."""
    from django.conf import settings
    from django.core import mail

    messages = [m for m in mail.outbox if address in m.to]
    assert messages, f"no e-mail to {address}"
    return re.findall(re.escape(settings.PORTAL_BASE_URL.rstrip("/")) + r"(/\S+)", messages[-1].body)[0]


def log_in(page, username: str):
    """Log in through the form and wait for the landing page of the user's role."""
    login(page, username)
    page.wait_for_load_state()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def status_badge(page):
    """The status badge of an application's page."""
    return page.locator("p.lead .badge")


def headline(page, name: str) -> str:
    return page.locator(f"#headline-{name}").inner_text().strip()


# --- Keyboard ---------------------------------------------------------------------------------

_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el) return {};
  const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
  return {tag: el.tagName.toLowerCase(), id: el.id || "", type: el.type || "",
          text: (el.innerText || el.textContent || el.value || "").trim(), label: label.trim()};
}"""


def focused(page) -> dict:
    return page.evaluate(_FOCUSED)


def enter_and_wait(page):
    """Press Enter on a focused link or submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def tab_to(page, *, id: str | None = None, text: str | None = None, label: str | None = None, limit=80):
    """Press Tab until the focused element has this id, or its text or label contains `text` /
    `label`. Fails if it is not reached within `limit` presses: it cannot be reached by keyboard."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        seen.append(now.get("id") or now.get("text", "")[:30])
        if (
            (id is not None and now.get("id") == id)
            or (text is not None and text in now.get("text", ""))
            or (label is not None and label in now.get("label", ""))
        ):
            return now
    raise AssertionError(f"Not reachable with Tab: {id or text or label!r}; focus went through {seen}")


# --- Worlds the journeys start from ------------------------------------------------------------


def partner_schools_and_leads():
    """Four eligible partner schools, each with its own lead, and an independent school."""
    leads = []
    for n, name in enumerate(PARTNER_SCHOOLS, start=1):
        school = factories.SchoolFactory(name=name, phase="secondary" if "Academy" in name else "primary")
        user = factories.LeadFactory(username=f"lead_partner{n}", first_name=f"Partner{n}")
        factories.link_lead(user, school)
        leads.append((user, school))
    factories.SchoolFactory(name=INDEPENDENT_SCHOOL, funding=Funding.INDEPENDENT)
    return leads


def complete_partnership(cohort, school, name="Blackpool Science Partnership"):
    """A partnership led by `school` with four confirmed eligible partners."""
    return factories.PartnershipFactory(cohort=cohort, lead_school=school, partners=4, name=name)


def submitted_application(partnership, lead, *, lines=None) -> Application:
    """An application written in full and submitted, as journey 1 leaves it."""
    application = grant_services.application_start(partnership_id=partnership.pk, by=lead)
    grant_services.application_save_draft(
        application_id=application.pk,
        by=lead,
        fields={**APPLICATION_TEXT, **dict.fromkeys(grant_services.DECLARATIONS, True)},
        budget_lines=lines
        or [
            {"category": "supply_cover", "amount": Decimal("4800.00"), "note": "Cover for CPD days"},
            {"category": "resources", "amount": Decimal("1450.50"), "note": "Practical kits"},
        ],
    )
    grant_services.application_submit(application_id=application.pk, by=lead)
    return Application.objects.get(pk=application.pk)
