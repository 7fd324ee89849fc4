"""Every page fits its window (issue 21): each GET page of the permission matrix, as the person it
belongs to, at phone, tablet, laptop and desktop widths; the document is never wider than the
viewport (wide tables scroll inside their own region, the navigation wraps or collapses)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from tests.matrix import World
from tests.portal.test_words import GET_ROWS, _owner, _world_with_history

WIDTHS = (375, 768, 1280, 1920)

# The elements that stick out past the window's right edge (for the failure message).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 1 && r.width > 0 && !el.closest('.table-responsive, .scroll-region')) {
      const cls = typeof el.className === 'string' ? el.className.trim().replace(/\\s+/g, '.') : '';
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (cls ? '.' + cls : '') +
               ' right=' + Math.round(r.right));
    }
    if (out.length >= 4) break;
  }
  return {scroll: document.documentElement.scrollWidth, width: width, out: out};
}"""


def _session_cookie(user, base_url):
    client = Client()
    client.force_login(user)  # with the second factor passed (tests/conftest.py)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_every_page_fits_the_window_for_its_owner(browser, live_server):
    """Each page is loaded once and measured at every width in turn (the window resized, as a
    person turning a tablet does; the portal's layout is CSS alone, no script reads the width),
    so one world and one load per page serve all four widths."""
    world = _world_with_history(World())
    contexts, problems, skipped, measured_pages = {}, [], [], 0
    try:
        for row in GET_ROWS:
            role = _owner(row)
            if role not in contexts:
                context = browser.new_context(
                    base_url=live_server.url, viewport={"width": WIDTHS[0], "height": 900}
                )
                if world.users[role] is not None:
                    context.add_cookies([_session_cookie(world.users[role], live_server.url)])
                contexts[role] = context.new_page()
            page = contexts[role]
            try:
                with transaction.atomic():
                    url = reverse(row.url_name, args=row.args(world))
            except (IntegrityError, ValidationError):
                # The row builds an object of its own that one shared world already has, or that an
                # earlier row's state forbids (each matrix test gets a fresh world; here one world
                # serves every row for speed).
                skipped.append(row.id)
                continue
            page.set_viewport_size({"width": WIDTHS[0], "height": 900})
            try:
                response = page.goto(url)
            except Exception as exc:  # a download (CSV, workbook) is not a page
                if "Download is starting" in str(exc):
                    continue
                raise
            if response is None or "text/html" not in response.headers.get("content-type", ""):
                continue
            measured_pages += 1
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                measured = page.evaluate(OVERFLOW)
                assert width - 40 < measured["width"] <= width, (url, width, measured)  # resized
                if measured["scroll"] > measured["width"]:
                    problems.append(
                        f"{url} as {role} at {width} px: {measured['scroll']} px wide; {measured['out']}"
                    )
    finally:
        for page in contexts.values():
            page.context.close()

    # The rows' builders reuse what an earlier row made in this shared world (permission_rows.py),
    # so every row is checked here, the interim report and payment pages included (issue 21).
    assert not skipped, skipped
    assert measured_pages > 50, measured_pages  # the loop reached the pages, not only downloads
    assert not problems, "\n".join(problems)
