"""Nothing a lead has seen saved is lost: budget lines through autosave and "Save and continue",
every text limit refused (never cut) next to its field, malformed numbers a form error."""

from decimal import Decimal

import pytest
from django.urls import reverse

from grants import forms as f
from grants.models import Application, BudgetLine
from grants.services import COMMENT_LIMIT, NOTE_LIMIT, TEXT_LIMIT
from tests.grants.test_views import budget_post, step_url


@pytest.fixture
def alice(client, lead_alice):
    client.force_login(lead_alice)
    return client


def autosave_url(application, step):
    return reverse("grants:application_autosave", args=[application.pk, step])


def lines_of(application):
    return list(BudgetLine.objects.filter(application=application).values_list("category", "amount", "note"))


def test_a_line_autosaved_then_posted_again_by_save_and_continue_stays(alice, draft):
    """The page was drawn with no lines (INITIAL_FORMS=0); autosave stores the typed line; the
    button then posts exactly the same form. The line must survive."""
    page = budget_post(draft, [("travel", "1234.50", "Minibus")])

    assert alice.post(autosave_url(draft, 4), page).json()["saved"] is True
    response = alice.post(step_url(draft, 4), page)

    assert response.status_code == 302
    assert lines_of(draft) == [("travel", Decimal("1234.50"), "Minibus")]
    assert Application.objects.get(pk=draft.pk).requested == Decimal("1234.50")


def test_posting_the_page_drawn_with_saved_lines_keeps_them(alice, draft):
    alice.post(
        step_url(draft, 4), budget_post(draft, [("travel", "100.00", ""), ("resources", "200.00", "")])
    )
    data = budget_post(draft, [("travel", "100.00", ""), ("resources", "200.00", ""), ("", "", "")])
    data["lines-INITIAL_FORMS"] = "2"  # as the page now draws them

    alice.post(step_url(draft, 4), data)

    assert lines_of(draft) == [("travel", Decimal("100.00"), ""), ("resources", Decimal("200.00"), "")]


def test_a_removed_line_goes_and_a_blank_extra_line_is_ignored(alice, draft):
    alice.post(
        step_url(draft, 4), budget_post(draft, [("travel", "100.00", ""), ("resources", "200.00", "")])
    )
    data = budget_post(draft, [("travel", "100.00", ""), ("resources", "200.00", ""), ("", "", "")])
    data["lines-1-DELETE"] = "on"

    alice.post(step_url(draft, 4), data)

    assert lines_of(draft) == [("travel", Decimal("100.00"), "")]


def test_a_saved_line_blanked_out_is_removed_like_a_deleted_one(alice, draft):
    alice.post(step_url(draft, 4), budget_post(draft, [("travel", "100.00", "")]))

    alice.post(step_url(draft, 4), budget_post(draft, [("", "", "")]))

    assert lines_of(draft) == []


@pytest.mark.parametrize(
    "amount", ["sNaN", "NaN", "-sNaN", "Infinity", "-Infinity", "1e400", "9" * 40, "\x00"]
)
def test_a_malformed_amount_is_a_form_error_and_the_saved_lines_stay(alice, draft, amount):
    alice.post(step_url(draft, 4), budget_post(draft, [("travel", "100.00", "")]))
    data = budget_post(draft, [("travel", "100.00", ""), ("resources", amount, "")])
    data["lines-INITIAL_FORMS"] = "1"

    page = alice.post(step_url(draft, 4), data)
    autosave = alice.post(autosave_url(draft, 4), data)

    assert page.status_code == 200
    assert "There is a problem with the budget lines" in page.text
    assert autosave.status_code == 400
    assert autosave.json()["saved"] is False
    assert lines_of(draft) == [("travel", Decimal("100.00"), "")]


# --- Limits: refused, never cut ----------------------------------------------------------------


LIMITED = [
    (f.AimsForm, "aims", TEXT_LIMIT),
    (f.AimsForm, "local_stem_issue", TEXT_LIMIT),
    (f.ActivitiesForm, "planned_teacher_cpd", TEXT_LIMIT),
    (f.ActivitiesForm, "planned_student_activities", TEXT_LIMIT),
    (f.TimelineForm, "timeline", TEXT_LIMIT),
    (f.BudgetLineForm, "note", NOTE_LIMIT),
    (f.ReportForm, "outcomes", TEXT_LIMIT),
    (f.RequestChangesForm, "comment", COMMENT_LIMIT),
    (f.ApproveForm, "comment", COMMENT_LIMIT),
    (f.RejectForm, "reason", COMMENT_LIMIT),
    (f.ScoreForm, "comment", COMMENT_LIMIT),
    (f.WithdrawForm, "comment", COMMENT_LIMIT),
    (f.ReportReturnForm, "comment", COMMENT_LIMIT),
    (f.ReportAcceptForm, "comment", COMMENT_LIMIT),
]


@pytest.mark.parametrize(("form_class", "name", "limit"), LIMITED, ids=lambda v: getattr(v, "__name__", v))
def test_every_limited_text_has_a_counted_limit_and_no_html_maxlength(form_class, name, limit):
    field = form_class.base_fields[name]
    html = str(field.widget.render(name, "", attrs=field.widget_attrs(field.widget)))

    assert "maxlength" not in html  # a browser would silently cut a paste at it
    assert f'data-limit="{limit}"' in html


@pytest.mark.parametrize(("form_class", "name", "limit"), LIMITED, ids=lambda v: getattr(v, "__name__", v))
def test_every_limited_text_refuses_one_character_too_many_and_takes_the_limit(form_class, name, limit):
    field = form_class.base_fields[name]

    assert field.clean("x" * limit) == "x" * limit
    with pytest.raises(Exception, match=f"Keep this to {limit:,} characters: it has {limit + 1:,}"):
        field.clean("x" * (limit + 1))


def test_a_line_break_counts_as_one_character_as_the_service_counts_it():
    field = f.AimsForm.base_fields["aims"]

    text = "a\r\n" * (TEXT_LIMIT // 2)  # 10,000 characters once \r\n is one line break

    assert field.clean(text) == "a\n" * (TEXT_LIMIT // 2)


def test_15000_characters_pasted_into_an_answer_are_refused_next_to_it_and_nothing_is_saved(alice, draft):
    data = {"partnership": draft.partnership_id, "aims": "x" * 15_000, "local_stem_issue": "Kept"}

    page = alice.post(step_url(draft, 1), data)
    autosave = alice.post(autosave_url(draft, 1), data)

    assert page.status_code == 200
    assert "Keep this to 10,000 characters: it has 15,000." in page.text
    assert autosave.json()["errors"]["aims"][0]["message"].startswith("Keep this to 10,000 characters")
    draft.refresh_from_db()
    assert draft.aims == ""  # refused whole, not cut to 10,000
