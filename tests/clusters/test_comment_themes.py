"""Themes of teachers' survey comments (issue 18): programme staff give comments barrier or
facilitator themes; the process evaluation page groups the comments by theme, with a CSV."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from clusters.models import CommentTheme
from clusters.services import comment_theme_assign, comment_theme_remove
from evaluation import process
from tests import factories


@pytest.fixture
def partnership(cohort):
    return factories.PartnershipFactory(cohort=cohort, partners=4, name="Fylde Coast")


@pytest.fixture
def comment(partnership, staff_carol):
    partnership.cohort.programme.staff.add(staff_carol)
    return factories.FeedbackFactory(
        activity__partnership=partnership, comments="Supply cover was hard to find."
    )


def test_staff_theme_a_comment_and_the_same_name_reuses_the_theme(comment, staff_carol):
    first = comment_theme_assign(feedback=comment, kind="barrier", name="Supply  cover", by=staff_carol)
    again = comment_theme_assign(feedback=comment, kind="barrier", name="supply cover", by=staff_carol)

    assert first == again
    assert first.name == "Supply cover"
    assert list(comment.themes.all()) == [first]


def test_a_lead_cannot_theme_comments(comment, lead_alice):
    with pytest.raises(PermissionDenied):
        comment_theme_assign(feedback=comment, kind="barrier", name="Supply cover", by=lead_alice)
    assert not CommentTheme.objects.exists()


def test_another_programmes_staff_cannot_theme_comments(comment):
    other = factories.StaffFactory()
    factories.ProgrammeFactory().staff.add(other)

    with pytest.raises(PermissionDenied):
        comment_theme_assign(feedback=comment, kind="barrier", name="Supply cover", by=other)


@pytest.mark.parametrize(
    ("kind", "name", "field"),
    [("barrier", "  ", "name"), ("weather", "Rain", "kind"), ("barrier", "x" * 81, "name")],
)
def test_a_theme_needs_a_kind_and_a_name_of_at_most_80_characters(comment, staff_carol, kind, name, field):
    with pytest.raises(ValidationError) as refused:
        comment_theme_assign(feedback=comment, kind=kind, name=name, by=staff_carol)

    assert field in refused.value.message_dict
    assert not CommentTheme.objects.exists()


def test_a_theme_of_exactly_80_characters_is_accepted(comment, staff_carol):
    assert comment_theme_assign(feedback=comment, kind="facilitator", name="x" * 80, by=staff_carol)


def test_an_answer_without_a_comment_has_nothing_to_theme(partnership, staff_carol):
    partnership.cohort.programme.staff.add(staff_carol)
    silent = factories.FeedbackFactory(activity__partnership=partnership, comments="")

    with pytest.raises(ValidationError):
        comment_theme_assign(feedback=silent, kind="barrier", name="Supply cover", by=staff_carol)


def test_the_page_shows_the_form_error_next_to_the_field(client, comment, staff_carol):
    client.force_login(staff_carol)

    response = client.post(
        reverse("clusters:comment_theme_add", args=[comment.pk]), {"kind": "barrier", "name": ""}
    )

    assert response.status_code == 400
    assert f'id="theme-{comment.pk}-name"' in response.content.decode()
    assert not CommentTheme.objects.exists()


def test_process_page_groups_comments_by_theme_with_a_csv(client, comment, partnership, staff_carol):
    other = factories.FeedbackFactory(activity=comment.activity, comments="Our head gave us the time.")
    factories.FeedbackFactory(activity=comment.activity, comments="No theme for me yet.")
    cover = comment_theme_assign(feedback=comment, kind="barrier", name="Supply cover", by=staff_carol)
    comment_theme_assign(feedback=other, kind="facilitator", name="Support from the head", by=staff_carol)
    comment_theme_assign(feedback=other, kind="barrier", name="Supply cover", by=staff_carol)
    client.force_login(staff_carol)

    body = client.get(reverse("evaluation:process_cohort", args=[partnership.cohort_id])).content.decode()
    themes = process.comment_themes(partnership.cohort)
    response = client.get(
        reverse("evaluation:process_cohort_csv", args=[partnership.cohort_id, "comment_themes"])
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))

    assert [(g["kind"], g["theme"], len(g["comments"])) for g in themes["groups"]] == [
        ("Barrier", "Supply cover", 2),
        ("Facilitator", "Support from the head", 1),
    ]
    assert themes["unthemed"] == 1
    assert "Barrier: Supply cover" in body
    assert "1 comment without a theme yet" in body
    assert rows[0] == ["Barrier or facilitator", "Theme", "Partnership or cluster", "Activity", "Comment"]
    assert [
        "Barrier",
        "Supply cover",
        "Fylde Coast",
        comment.activity.title,
        "Supply cover was hard to find.",
    ] in rows
    assert len(rows) == 4

    comment_theme_remove(feedback=comment, theme=cover, by=staff_carol)
    assert [len(g["comments"]) for g in process.comment_themes(partnership.cohort)["groups"]] == [1, 1]


def test_comment_themes_take_two_queries_whatever_the_number(
    partnership, staff_carol, django_assert_num_queries
):
    partnership.cohort.programme.staff.add(staff_carol)
    for n in range(6):
        feedback = factories.FeedbackFactory(activity__partnership=partnership, comments=f"Comment {n}")
        comment_theme_assign(feedback=feedback, kind="barrier", name=f"Theme {n % 3}", by=staff_carol)

    with django_assert_num_queries(2):
        process.comment_themes(partnership.cohort)


def test_staff_theme_a_comment_on_the_comments_page(client, comment, staff_carol):
    client.force_login(staff_carol)
    url = reverse("clusters:comment_themes", args=[comment.activity.partnership.cohort_id])
    assert "Supply cover was hard to find." in client.get(url + "?unthemed=1").content.decode()

    client.post(
        reverse("clusters:comment_theme_add", args=[comment.pk]), {"kind": "barrier", "name": "Supply cover"}
    )

    assert "Every comment has a theme." in client.get(url + "?unthemed=1").content.decode()
    assert "Barrier: Supply cover" in client.get(url).content.decode()
