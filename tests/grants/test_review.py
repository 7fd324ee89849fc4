"""Review (issue 17): conflicts of interest from the register, assignment by hand and
automatically, the one-form review with weighted scores and kept history, what a reviewer
sees (blind review), the panel's ranking and funding line, and the queue as officers use it."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from grants import conflicts, review, services
from grants.models import (
    Application,
    AuditEvent,
    ConflictOverride,
    CriterionScore,
    ProgrammeReviewer,
    Review,
    ReviewerAssignment,
    ReviewSettings,
)
from portal.roles import REVIEWERS_GROUP
from tests import factories

S = Application.Status


@pytest.fixture
def submitted(application_in):
    return application_in(S.SUBMITTED)


@pytest.fixture
def carol(client, staff_carol):
    client.force_login(staff_carol)
    return client


@pytest.fixture
def rubric(programme):
    return factories.rubric(programme, weights=(3, 1))


def external_reviewer(programme, username, school=None):
    user = factories.ReviewerFactory(username=username, first_name=username.title(), last_name="Reviewer")
    ProgrammeReviewer.objects.get_or_create(programme=programme, user=user)
    if school is not None:
        factories.link_lead(user, school)
    return user


def partner_school(application):
    return application.partnership.memberships.filter(role="partner").first().school


def logged_in(client, user):
    client.force_login(user)
    return client


def scores_for(rubric, *values, comment="Fine."):
    return {c.pk: (v, f"{comment} {c.name}") for c, v in zip(rubric.criteria.all(), values, strict=True)}


# --- Conflicts of interest from the register -------------------------------------------------


def test_a_reviewer_from_a_member_school_cannot_be_assigned_and_staff_are_told_why(
    submitted, programme, staff_carol
):
    school = partner_school(submitted)
    reviewer = external_reviewer(programme, "rita", school)

    with pytest.raises(ValidationError) as refused:
        review.assignment_add(application_id=submitted.pk, reviewer_id=reviewer.pk, by=staff_carol)

    assert f"linked to {school.name}, which is in this partnership" in " ".join(refused.value.messages)
    assert not ReviewerAssignment.objects.filter(application=submitted).exists()


def test_a_reviewer_from_a_school_of_the_same_trust_cannot_be_assigned(submitted, programme, staff_carol):
    school = partner_school(submitted)
    school.trust_code, school.trust_name = "5001", "Coastal Learning Trust"
    school.save()
    sister = factories.SchoolFactory(
        trust_code="5001", trust_name="Coastal Learning Trust", local_authority="Leeds"
    )
    reviewer = external_reviewer(programme, "tess", sister)

    with pytest.raises(ValidationError, match="same academy trust \\(Coastal Learning Trust\\)"):
        review.assignment_add(application_id=submitted.pk, reviewer_id=reviewer.pk, by=staff_carol)


def test_a_reviewer_from_a_school_of_the_same_federation_cannot_be_assigned(
    submitted, programme, staff_carol
):
    school = submitted.partnership.lead_school
    school.federation_code, school.federation_name = "F77", "Fylde Schools Federation"
    school.save()
    sister = factories.SchoolFactory(federation_code="F77", federation_name="Fylde Schools Federation")
    reviewer = external_reviewer(programme, "fern", sister)

    with pytest.raises(ValidationError, match="same federation"):
        review.assignment_add(application_id=submitted.pk, reviewer_id=reviewer.pk, by=staff_carol)


def test_the_same_local_authority_is_a_conflict_only_where_the_programme_says_so(
    submitted, programme, staff_carol
):
    neighbour = factories.SchoolFactory(local_authority="Blackpool")  # the partnership's schools' LA
    reviewer = external_reviewer(programme, "lana", neighbour)
    assert not conflicts.is_conflicted(reviewer, submitted)

    ReviewSettings.objects.create(programme=programme, conflict_same_local_authority=True)

    assert conflicts.is_conflicted(reviewer, submitted)
    with pytest.raises(ValidationError, match="same local authority \\(Blackpool\\)"):
        review.assignment_add(application_id=submitted.pk, reviewer_id=reviewer.pk, by=staff_carol)


def test_a_reviewer_with_no_tie_is_assigned_and_it_is_audited(submitted, programme, staff_carol):
    elsewhere = factories.SchoolFactory(local_authority="Leeds", trust_code="9999", federation_code="F1")
    reviewer = external_reviewer(programme, "nina", elsewhere)
    ReviewSettings.objects.create(programme=programme, conflict_same_local_authority=True)

    assignment = review.assignment_add(application_id=submitted.pk, reviewer_id=reviewer.pk, by=staff_carol)

    assert assignment.active
    assert AuditEvent.objects.filter(application=submitted, action="reviewer_assigned").count() == 1
    assert conflicts.conflicted_user_ids(submitted, [reviewer.pk, staff_carol.pk]) == set()


def test_a_register_conflict_can_be_overridden_with_a_reason_and_it_is_audited(
    submitted, programme, staff_carol
):
    reviewer = external_reviewer(programme, "owen", partner_school(submitted))

    review.assignment_add(
        application_id=submitted.pk, reviewer_id=reviewer.pk, by=staff_carol, override_reason="Left in 2019."
    )

    assert ConflictOverride.objects.get(application=submitted, reviewer=reviewer).reason == "Left in 2019."
    assert (
        "Left in 2019." in AuditEvent.objects.get(application=submitted, action="conflict_overridden").comment
    )
    assert conflicts.is_conflicted(reviewer, submitted, honour_overrides=False)


def test_a_declared_conflict_ends_the_assignment_and_can_never_be_overridden(
    submitted, programme, staff_carol
):
    reviewer = external_reviewer(programme, "dora")
    review.assignment_add(application_id=submitted.pk, reviewer_id=reviewer.pk, by=staff_carol)

    review.conflict_declare(application_id=submitted.pk, by=reviewer, reason="My sister teaches there.")

    assert not ReviewerAssignment.objects.filter(
        application=submitted, reviewer=reviewer, active=True
    ).exists()
    assert AuditEvent.objects.filter(application=submitted, action="conflict_declared").exists()
    with pytest.raises(ValidationError, match="declared a conflict"):
        review.assignment_add(
            application_id=submitted.pk, reviewer_id=reviewer.pk, by=staff_carol, override_reason="Please."
        )


def test_a_person_outside_the_programmes_reviewers_cannot_be_assigned(submitted, staff_carol):
    stranger = factories.ReviewerFactory(username="stan")

    with pytest.raises(ValidationError, match="Choose one of this programme's reviewers"):
        review.assignment_add(application_id=submitted.pk, reviewer_id=stranger.pk, by=staff_carol)


# --- Automatic assignment --------------------------------------------------------------------


def _submitted_in(cohort, n):
    apps = []
    for _ in range(n):
        a = factories.ApplicationFactory(
            partnership=factories.PartnershipFactory(cohort=cohort, partners=2), status=S.SUBMITTED
        )
        apps.append(a)
    return apps


def test_auto_assignment_never_assigns_a_conflicted_reviewer_and_balances_load(
    cohort, programme, staff_carol
):
    apps = _submitted_in(cohort, 5)
    member = apps[0].partnership.memberships.exclude(role="lead").first().school
    conflicted = external_reviewer(programme, "cora", member)
    others = [external_reviewer(programme, name) for name in ("abe", "bea", "cal")]
    programme.staff.remove(staff_carol)  # staff assign; the pool is the four reviewers
    admin = factories.AdminFactory()

    result = review.assign_automatically(cohort_id=cohort.pk, by=admin, per_application=2)

    assert result.assigned == 10
    assert not ReviewerAssignment.objects.filter(application=apps[0], reviewer=conflicted).exists()
    for a in apps:
        reviewers = list(
            ReviewerAssignment.objects.filter(application=a, active=True).values_list("reviewer", flat=True)
        )
        assert len(reviewers) == len(set(reviewers)) == 2
    load = review.loads(programme)
    counts = [load.get(u.pk, 0) for u in [conflicted, *others]]
    assert max(counts) - min(counts) <= 1, counts


def test_auto_assignment_reports_applications_it_could_not_staff(cohort, programme):
    (app,) = _submitted_in(cohort, 1)
    school = app.partnership.lead_school
    external_reviewer(programme, "only", school)
    admin = factories.AdminFactory()
    programme.staff.clear()

    result = review.assign_automatically(cohort_id=cohort.pk, by=admin, per_application=1)

    assert result.assigned == 0
    assert result.short == [(app, 1)]


def test_auto_assignment_twice_adds_nobody_the_second_time(cohort, programme):
    _submitted_in(cohort, 2)
    for name in ("abe", "bea"):
        external_reviewer(programme, name)
    admin = factories.AdminFactory()

    first = review.assign_automatically(cohort_id=cohort.pk, by=admin, per_application=2)
    second = review.assign_automatically(cohort_id=cohort.pk, by=admin, per_application=2)

    assert first.assigned == 4
    assert second.assigned == 0


# --- The review: one form, weighted, history kept ------------------------------------------------


def test_weighted_scores_match_a_hand_computation(submitted, programme, staff_carol, rubric):
    ann, ben = external_reviewer(programme, "ann"), external_reviewer(programme, "ben")
    for r in (ann, ben):
        review.assignment_add(application_id=submitted.pk, reviewer_id=r.pk, by=staff_carol)

    a = review.review_submit(
        application_id=submitted.pk, by=ann, scores=scores_for(rubric, 4, 2), recommendation="fund"
    )
    b = review.review_submit(
        application_id=submitted.pk,
        by=ben,
        scores=scores_for(rubric, 5, 5),
        recommendation="fund_with_changes",
    )

    # weights 3 and 1: (3×4 + 1×2) / 4 = 3.5; (3×5 + 1×5) / 4 = 5
    assert a.weighted_score == Decimal("3.500")
    assert b.weighted_score == Decimal("5.000")
    assert a.rubric == rubric
    assert review.weighted_score([(2, 3), (1, 4), (4, 2)]) == Decimal("2.571")  # (6 + 4 + 8) / 7


def test_re_scoring_keeps_the_earlier_review_and_its_comments(submitted, programme, staff_carol, rubric):
    ann = external_reviewer(programme, "ann")
    review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)
    first = review.review_submit(
        application_id=submitted.pk,
        by=ann,
        scores=scores_for(rubric, 2, 2, comment="Thin."),
        recommendation="do_not_fund",
    )

    second = review.review_submit(
        application_id=submitted.pk,
        by=ann,
        scores=scores_for(rubric, 4, 4, comment="Better."),
        recommendation="fund",
    )

    first.refresh_from_db()
    assert not first.is_current
    assert second.is_current
    assert second.supersedes == first
    assert [s.score for s in first.scores.all()] == [2, 2]
    assert all(s.comment.startswith("Thin.") for s in first.scores.all())
    assert Review.objects.filter(application=submitted, reviewer=ann).count() == 2
    assert AuditEvent.objects.filter(application=submitted, action="review_revised").count() == 1


def test_the_same_review_twice_changes_nothing(submitted, programme, staff_carol, rubric):
    ann = external_reviewer(programme, "ann")
    review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)
    args = {
        "application_id": submitted.pk,
        "by": ann,
        "scores": scores_for(rubric, 3, 3),
        "recommendation": "fund",
    }

    assert review.review_submit(**args) == review.review_submit(**args)
    assert Review.objects.filter(application=submitted).count() == 1


@pytest.mark.parametrize("bad", [0, 6, "x", None])
def test_a_score_outside_the_scale_is_refused_and_nothing_is_saved(
    submitted, programme, staff_carol, rubric, bad
):
    ann = external_reviewer(programme, "ann")
    review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)

    with pytest.raises(ValidationError, match="score from 1 to 5"):
        review.review_submit(
            application_id=submitted.pk, by=ann, scores=scores_for(rubric, 3, bad), recommendation="fund"
        )
    assert not Review.objects.exists()


def test_an_unassigned_person_cannot_review(submitted, programme, rubric):
    ann = external_reviewer(programme, "ann")

    with pytest.raises(Exception, match="Only a reviewer assigned"):
        review.review_submit(
            application_id=submitted.pk, by=ann, scores=scores_for(rubric, 3, 3), recommendation="fund"
        )


def test_the_database_holds_score_ranges_and_one_current_review(submitted, programme, staff_carol, rubric):
    ann = external_reviewer(programme, "ann")
    review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)
    r = review.review_submit(
        application_id=submitted.pk, by=ann, scores=scores_for(rubric, 3, 3), recommendation="fund"
    )
    criterion = rubric.criteria.first()

    with pytest.raises(IntegrityError, match="criterionscore_score_in_scale"), transaction.atomic():
        CriterionScore.objects.filter(review=r, criterion=criterion).update(score=6)
    # PostgreSQL names the constraint; SQLite (the embedded default) names its columns.
    one_current = "review_one_current_per_reviewer|grants_review.application_id, grants_review.reviewer_id"
    with pytest.raises(IntegrityError, match=one_current), transaction.atomic():
        Review.objects.create(
            application=submitted, reviewer=ann, rubric=rubric, recommendation="fund", weighted_score=3
        )
    with pytest.raises(IntegrityError, match="review_weighted_score_in_range"), transaction.atomic():
        Review.objects.filter(pk=r.pk).update(weighted_score=0)


def test_a_new_rubric_version_leaves_earlier_reviews_on_theirs(submitted, programme, staff_carol, rubric):
    ann = external_reviewer(programme, "ann")
    review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)
    old = review.review_submit(
        application_id=submitted.pk, by=ann, scores=scores_for(rubric, 3, 3), recommendation="fund"
    )

    v2 = factories.rubric(programme, weights=(1, 1, 1), scale_max=4, by=staff_carol)

    assert v2.version == rubric.version + 1
    old.refresh_from_db()
    assert old.rubric == rubric
    new = review.review_submit(
        application_id=submitted.pk, by=ann, scores=scores_for(v2, 4, 4, 1), recommendation="fund"
    )
    assert (new.rubric, new.weighted_score) == (v2, Decimal("3.000"))


def test_a_rubric_needs_a_descriptor_for_every_score_point(programme, staff_carol):
    with pytest.raises(ValidationError, match="describe each score from 1 to 5"):
        review.rubric_publish(
            programme_id=programme.pk,
            by=staff_carol,
            scale_max=5,
            criteria=[review.CriterionSpec(name="Need", weight=1, descriptors=["Weak", "Strong"])],
        )


# --- What a reviewer sees ------------------------------------------------------------------------


def test_a_reviewer_sees_nothing_of_an_application_not_assigned_to_them(
    client, submitted, programme, staff_carol
):
    ann, ben = external_reviewer(programme, "ann"), external_reviewer(programme, "ben")
    bens = review.assignment_add(application_id=submitted.pk, reviewer_id=ben.pk, by=staff_carol)
    logged_in(client, ann)

    assert client.get(reverse("grants:review_page", args=[bens.pk])).status_code == 404
    assert client.post(reverse("grants:conflict_declare", args=[bens.pk]), {"reason": "x"}).status_code == 404
    assert client.get(reverse("grants:application_detail", args=[submitted.pk])).status_code == 404
    assert client.get(reverse("grants:review_queue")).status_code == 403
    assert client.get(reverse("grants:payments_csv")).status_code == 403
    assert submitted.partnership.name not in client.get(reverse("grants:my_reviews")).content.decode()


def test_an_unassigned_reviewer_loses_the_page(client, submitted, programme, staff_carol):
    ann = external_reviewer(programme, "ann")
    mine = review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)
    logged_in(client, ann)
    assert client.get(reverse("grants:review_page", args=[mine.pk])).status_code == 200

    review.assignment_end(assignment_id=mine.pk, by=staff_carol)

    assert client.get(reverse("grants:review_page", args=[mine.pk])).status_code == 404


def _names(application):
    memberships = application.partnership.memberships.select_related("school")
    return [
        application.partnership.name,
        *(m.school.name for m in memberships),
        *(str(m.school.urn) for m in memberships),
    ]


def test_blind_review_hides_the_applicants_names_on_every_page_a_reviewer_opens(
    client, submitted, programme, staff_carol, rubric
):
    ReviewSettings.objects.create(programme=programme, blind_review=True)
    ann = external_reviewer(programme, "ann")
    mine = review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)
    logged_in(client, ann)
    pages = [
        client.get(reverse("grants:my_reviews")),
        client.get(reverse("grants:review_page", args=[mine.pk])),
        client.post(reverse("grants:review_page", args=[mine.pk]), {"recommendation": "fund"}),  # form errors
        client.post(reverse("grants:conflict_declare", args=[mine.pk]), {"reason": ""}),
    ]

    for response in pages:
        body = response.content.decode()
        assert response.status_code == 200
        for name in _names(submitted):
            assert name not in body, name
    assert "Blind review" in pages[1].content.decode()


def test_without_blind_review_the_reviewer_sees_the_partnership(
    client, submitted, programme, staff_carol, rubric
):
    ann = external_reviewer(programme, "ann")
    mine = review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)

    body = logged_in(client, ann).get(reverse("grants:review_page", args=[mine.pk])).content.decode()

    assert submitted.partnership.name in body
    assert submitted.partnership.lead_school.name in body


def test_the_review_form_scores_every_criterion_at_once(client, submitted, programme, staff_carol, rubric):
    ann = external_reviewer(programme, "ann")
    mine = review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)
    c1, c2 = rubric.criteria.all()
    logged_in(client, ann)
    url = reverse("grants:review_page", args=[mine.pk])

    missing = client.post(url, {f"score_{c1.pk}": "4", "recommendation": "fund"})
    assert missing.status_code == 200
    assert "There is a problem" in missing.content.decode()
    assert not Review.objects.exists()

    done = client.post(
        url,
        {
            f"score_{c1.pk}": "4",
            f"comment_{c1.pk}": "Clear need.",
            f"score_{c2.pk}": "2",
            "recommendation": "fund_with_changes",
            "private_note": "Ask about cover.",
        },
    )
    assert done.status_code == 302
    r = Review.objects.get()
    assert (r.weighted_score, r.recommendation, r.private_note) == (
        Decimal("3.500"),
        "fund_with_changes",
        "Ask about cover.",
    )


# --- The panel ---------------------------------------------------------------------------------


def _reviewed(cohort, programme, rubric, staff, values_by_app, requested):
    """Applications of the cohort each scored by reviewers (values: list of (c1, c2) per reviewer)."""
    reviewers = [external_reviewer(programme, f"panel{n}") for n in range(3)]
    apps = []
    for values in values_by_app:
        a = factories.ApplicationFactory(
            partnership=factories.PartnershipFactory(cohort=cohort, partners=4),
            status=S.SUBMITTED,
            requested=requested,
            reference=f"P-{Application.objects.count() + 1}",
        )
        for reviewer, pair in zip(reviewers, values, strict=False):
            review.assignment_add(application_id=a.pk, reviewer_id=reviewer.pk, by=staff)
            review.review_submit(
                application_id=a.pk, by=reviewer, scores=scores_for(rubric, *pair), recommendation="fund"
            )
        apps.append(a)
    return apps


def test_the_panel_ranks_by_mean_weighted_score_flags_disagreement_and_draws_the_line(
    carol, cohort, programme, staff_carol, rubric
):
    cohort.budget = Decimal("10000.00")
    cohort.save()
    low, high, split = _reviewed(
        cohort,
        programme,
        rubric,
        staff_carol,
        [[(2, 2), (2, 2)], [(5, 5), (4, 4)], [(5, 5), (1, 1)]],
        Decimal("4000.00"),
    )

    response = carol.get(reverse("grants:panel", args=[cohort.pk]))

    rows = response.context["panel"].rows
    assert [r.application for r in rows] == [high, split, low]  # 4.5, 3.0, 2.0
    assert [r.mean for r in rows] == [Decimal("4.500"), Decimal("3.000"), Decimal("2.000")]
    assert [r.spread for r in rows] == [Decimal("1.000"), Decimal("4.000"), Decimal("0.000")]
    assert [r.disagree for r in rows] == [False, True, False]  # threshold 1.00: more than it
    assert [r.above_line for r in rows] == [True, True, False]  # £4,000 + £4,000 ≤ £10,000 < £12,000
    assert "Reviewers disagree" in response.content.decode()


def test_funding_down_the_line_asks_for_confirmation_with_the_total_and_what_remains(
    carol, cohort, programme, staff_carol, rubric
):
    cohort.budget = Decimal("10000.00")
    cohort.save()
    a, b = _reviewed(cohort, programme, rubric, staff_carol, [[(5, 5)], [(4, 4)]], Decimal("4000.00"))
    url = reverse("grants:panel_decide", args=[cohort.pk])
    data = {
        f"decision_{a.pk}": "approve",
        f"amount_{a.pk}": "4000.00",
        f"decision_{b.pk}": "approve",
        f"amount_{b.pk}": "3500.00",
    }

    asked = carol.post(url, data)

    body = asked.content.decode()
    assert "Total awarded by these decisions: £7,500.00" in body
    assert "from £10,000.00 to £2,500.00" in body
    assert not Application.objects.filter(status=S.APPROVED).exists()

    done = carol.post(url, {**data, "confirm": "yes"})

    assert done.status_code == 302
    assert set(Application.objects.filter(status=S.APPROVED).values_list("awarded", flat=True)) == {
        Decimal("4000.00"),
        Decimal("3500.00"),
    }
    assert AuditEvent.objects.filter(action="approved", application__in=[a, b]).count() == 2


def test_a_panel_over_the_budget_records_nothing_and_names_the_application(
    carol, cohort, programme, staff_carol, rubric
):
    cohort.budget = Decimal("6000.00")
    cohort.save()
    a, b = _reviewed(cohort, programme, rubric, staff_carol, [[(5, 5)], [(4, 4)]], Decimal("4000.00"))
    data = {
        f"decision_{a.pk}": "approve",
        f"amount_{a.pk}": "4000.00",
        f"decision_{b.pk}": "approve",
        f"amount_{b.pk}": "4000.00",
    }

    response = carol.post(reverse("grants:panel_decide", args=[cohort.pk]), {**data, "confirm": "yes"})

    assert response.status_code == 400
    assert "Only £2,000.00 is left" in response.content.decode()
    assert not Application.objects.filter(status=S.APPROVED).exists()


def test_a_panel_cannot_decide_another_programmes_application(client, cohort, programme, staff_carol):
    other_staff = factories.StaffFactory(username="erin")
    factories.ProgrammeFactory(slug="other").staff.add(other_staff)
    (a,) = _submitted_in(cohort, 1)
    logged_in(client, other_staff)

    response = client.post(
        reverse("grants:panel_decide", args=[cohort.pk]),
        {f"decision_{a.pk}": "approve", f"amount_{a.pk}": "1"},
    )

    assert response.status_code == 404


# --- Query counts: the queue and the panel do not grow with applications --------------------------


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_queue_and_panel_query_counts_do_not_grow_with_applications(
    carol, cohort, programme, staff_carol, rubric
):
    _reviewed(cohort, programme, rubric, staff_carol, [[(3, 3), (4, 4)]] * 3, Decimal("1000.00"))
    queue_url, panel_url = reverse("grants:review_queue"), reverse("grants:panel", args=[cohort.pk])
    _count(carol, queue_url)  # warms the cached regions
    few = (_count(carol, queue_url), _count(carol, panel_url))

    _reviewed(cohort, programme, rubric, staff_carol, [[(2, 2), (5, 5)]] * 12, Decimal("1000.00"))

    assert (_count(carol, queue_url), _count(carol, panel_url)) == few


# --- Staff with a conflict, and reviewers who are also leads ---------------------------------------


def test_staff_from_a_school_of_the_same_trust_cannot_decide_and_see_no_scores(
    client, submitted, programme, staff_carol, rubric, cohort
):
    school = partner_school(submitted)
    school.trust_code = "7001"
    school.save()
    trusted = factories.StaffFactory(username="tom")
    programme.staff.add(trusted)
    factories.link_lead(trusted, factories.SchoolFactory(trust_code="7001", local_authority="Leeds"))
    ann = external_reviewer(programme, "ann")
    review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)
    review.review_submit(
        application_id=submitted.pk,
        by=ann,
        scores=scores_for(rubric, 4, 4, comment="Secret."),
        recommendation="fund",
    )
    logged_in(client, trusted)

    with pytest.raises(PermissionDenied):
        services.application_approve(application_id=submitted.pk, by=trusted, amount=Decimal("100.00"))
    detail = client.get(reverse("grants:application_detail", args=[submitted.pk])).content.decode()
    panel = client.get(reverse("grants:panel", args=[cohort.pk])).content.decode()
    assert "Secret." not in detail
    assert "Ann Reviewer" not in panel
    assert "Hidden: you have a conflict of interest" in panel
    assert client.get(reverse("grants:application_reviewers", args=[submitted.pk])).status_code == 403


def test_a_school_lead_who_also_reviews_reaches_their_reviews(
    client, submitted, programme, staff_carol, school_b
):
    teacher = factories.LeadFactory(username="teacher")
    factories.link_lead(teacher, school_b)
    teacher.groups.add(Group.objects.get(name=REVIEWERS_GROUP))
    ProgrammeReviewer.objects.create(programme=programme, user=teacher)
    mine = review.assignment_add(application_id=submitted.pk, reviewer_id=teacher.pk, by=staff_carol)
    logged_in(client, teacher)

    assert client.get(reverse("grants:my_reviews")).status_code == 200
    assert client.get(reverse("grants:review_page", args=[mine.pk])).status_code == 200


# --- The reviewer is told (by message) ----------------------------------------------------------


def test_a_reviewer_assigned_by_hand_is_emailed_a_link_to_their_review(
    submitted, programme, staff_carol, django_capture_on_commit_callbacks
):
    from django.core import mail

    ann = external_reviewer(programme, "ann")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        mine = review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)

    assert [m.to for m in mail.outbox] == [[ann.email]]
    body = mail.outbox[0].body
    assert submitted.reference in mail.outbox[0].subject
    assert reverse("grants:review_page", args=[mine.pk]) in body
    assert submitted.partnership.name in body  # not blind: the partnership is named


def test_under_blind_review_the_assignment_email_names_no_partnership_school_or_urn(
    submitted, programme, staff_carol, django_capture_on_commit_callbacks
):
    from django.core import mail

    from messaging.models import Notification

    ReviewSettings.objects.create(programme=programme, blind_review=True)
    ann, ben = external_reviewer(programme, "ann"), external_reviewer(programme, "ben")
    programme.staff.remove(staff_carol)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=factories.AdminFactory())
        review.assign_automatically(
            cohort_id=submitted.cohort_id, by=factories.AdminFactory(), per_application=2
        )

    assert sorted(m.to[0] for m in mail.outbox) == sorted([ann.email, ben.email])
    texts = [m.subject + m.body + m.alternatives[0][0] for m in mail.outbox]
    texts += [n.title + n.body for n in Notification.objects.filter(kind="reviewer_assigned")]
    for text in texts:
        assert submitted.reference in text or "review" in text
        for name in _names(submitted):
            assert name not in text, name


def test_a_refused_assignment_emails_nobody(
    submitted, programme, staff_carol, django_capture_on_commit_callbacks
):
    from django.core import mail

    cora = external_reviewer(programme, "cora", submitted.partnership.lead_school)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        review.assignment_add(application_id=submitted.pk, reviewer_id=cora.pk, by=staff_carol)

    assert mail.outbox == []


# --- The database refuses a conflicted assignment (PostgreSQL trigger, migration 0014) -------------


def _raw_assign(application, reviewer):
    with transaction.atomic():
        return ReviewerAssignment.objects.create(application=application, reviewer=reviewer)


@pytest.mark.postgres
def test_on_postgres_a_raw_assignment_of_a_reviewer_from_a_member_school_trust_or_federation_is_refused(
    submitted, programme
):
    member = partner_school(submitted)
    member.trust_code, member.federation_code = "TR1", "FED1"
    member.save()
    same_school = external_reviewer(programme, "sam", member)
    same_trust = external_reviewer(programme, "tia", factories.SchoolFactory(trust_code="TR1"))
    same_federation = external_reviewer(programme, "fen", factories.SchoolFactory(federation_code="FED1"))

    for reviewer in (same_school, same_trust, same_federation):
        with pytest.raises(IntegrityError, match="reviewerassignment_not_conflicted"):
            _raw_assign(submitted, reviewer)
    assert not ReviewerAssignment.objects.exists()


@pytest.mark.postgres
def test_on_postgres_a_raw_assignment_without_a_tie_or_with_an_override_goes_in(
    submitted, programme, staff_carol
):
    free = external_reviewer(programme, "fay", factories.SchoolFactory(trust_code="OTHER"))
    overridden = external_reviewer(programme, "ola", submitted.partnership.lead_school)
    ConflictOverride.objects.create(
        application=submitted, reviewer=overridden, reason="Left.", by=staff_carol
    )

    _raw_assign(submitted, free)
    _raw_assign(submitted, overridden)

    assert ReviewerAssignment.objects.filter(application=submitted).count() == 2


@pytest.mark.postgres
def test_on_postgres_the_same_local_authority_is_refused_only_where_the_programme_says_so(
    submitted, programme
):
    lead_school = submitted.partnership.lead_school
    lead_school.la_code = "890"
    lead_school.save()
    neighbour = external_reviewer(programme, "nia", factories.SchoolFactory(la_code="890"))

    assignment = _raw_assign(submitted, neighbour)  # not configured: allowed
    assignment.active, assignment.ended_at = False, assignment.assigned_at
    assignment.save()
    ReviewSettings.objects.create(programme=programme, conflict_same_local_authority=True)
    with pytest.raises(IntegrityError, match="reviewerassignment_not_conflicted"):
        _raw_assign(submitted, neighbour)


@pytest.mark.postgres
def test_on_postgres_a_declared_conflict_refuses_a_raw_assignment_even_with_an_override(
    submitted, programme, staff_carol
):
    from grants.models import ConflictDeclaration

    ann = external_reviewer(programme, "ann")
    ConflictDeclaration.objects.create(application=submitted, reviewer=ann, reason="My sister teaches there.")
    ConflictOverride.objects.create(application=submitted, reviewer=ann, reason="No.", by=staff_carol)

    with pytest.raises(IntegrityError, match="declared a conflict"):
        _raw_assign(submitted, ann)


# --- National size: 5 vs 500 applications, and the panel a page at a time --------------------------


def _bulk_submitted(cohort, rubric, reviewers, n, requested=Decimal("1000.00")):
    """`n` submitted applications of the cohort, written in bulk (a lead school each, two current
    reviews each): the shapes the queue and the panel read, without a service call per row."""
    from partnerships.models import Membership, Partnership, School

    start = Application.objects.count()
    schools = School.objects.bulk_create(factories.SchoolFactory.build_batch(n))
    partnerships = Partnership.objects.bulk_create(
        Partnership(cohort=cohort, name=f"Bulk partnership {start + i}", lead_school=s, local_stem_issue="x")
        for i, s in enumerate(schools)
    )
    Membership.objects.bulk_create(
        Membership(partnership=p, school=p.lead_school, cohort=cohort, role="lead", status="confirmed")
        for p in partnerships
    )
    apps = Application.objects.bulk_create(
        Application(
            partnership=p,
            cohort=cohort,
            status=S.SUBMITTED,
            reference=f"BULK-{start + i:05d}",
            grant_cap=cohort.programme.grant_cap,
            requested=requested,
            submitted_at=timezone.now(),
        )
        for i, p in enumerate(partnerships)
    )
    Review.objects.bulk_create(
        Review(
            application=a,
            reviewer=r,
            rubric=rubric,
            recommendation="fund",
            weighted_score=Decimal(1 + (a.pk * (k + 1)) % 4),
            is_current=True,
        )
        for a in apps
        for k, r in enumerate(reviewers)
    )
    return apps


def test_queue_and_panel_query_counts_are_the_same_for_5_and_500_applications(
    carol, cohort, programme, staff_carol, rubric, pages_drawn
):
    reviewers = [external_reviewer(programme, name) for name in ("ann", "ben")]
    _bulk_submitted(cohort, rubric, reviewers, 5)
    urls = [
        reverse("grants:review_queue") + "?round=current",
        reverse("grants:review_queue") + "?q=school&round=all&sort=-score",
        reverse("grants:panel", args=[cohort.pk]),
    ]

    def counts():
        # Each page twice, the second counted: the queue writes its kept filters to the session
        # only when they change, and the first request also warms the cached regions.
        return [(_count(carol, url), _count(carol, url))[1] for url in urls]

    few = counts()

    _bulk_submitted(cohort, rubric, reviewers, 495)

    assert counts() == few
    assert _count(carol, urls[2] + "?page=10") == few[2]


def test_the_panel_shows_fifty_ranks_a_page_with_the_funding_line_of_the_whole_cohort(
    carol, cohort, programme, staff_carol, rubric
):
    from grants.panel import PANEL_PAGE_SIZE

    reviewers = [external_reviewer(programme, name) for name in ("ann", "ben")]
    cohort.budget = Decimal("60000.00")  # 60 awards of £1,000: the line falls on page 2
    cohort.save()
    _bulk_submitted(cohort, rubric, reviewers, 70)
    url = reverse("grants:panel", args=[cohort.pk])

    first = carol.get(url).content.decode()
    second = carol.get(url + "?page=2").content.decode()

    assert first.count('name="decision_') == PANEL_PAGE_SIZE
    assert second.count('name="decision_') == 20
    assert "Showing ranks 51 to 70 of 70" in second
    assert second.count("above the line") == 10  # ranks 51–60 still fit the budget
    assert "£60,000.00" in second  # the running total at the line, counted over both pages


def test_a_panel_decision_on_page_two_goes_back_to_page_two(carol, cohort, programme, staff_carol, rubric):
    reviewers = [external_reviewer(programme, name) for name in ("ann", "ben")]
    apps = _bulk_submitted(cohort, rubric, reviewers, 55)
    url = reverse("grants:panel_decide", args=[cohort.pk])
    last = apps[-1]
    data = {f"decision_{last.pk}": "reject", "reason": "Out of scope.", "page": "2", "confirm": "yes"}

    response = carol.post(url, data)

    assert response.status_code == 302
    assert response.url.endswith("?page=2")
    assert Application.objects.get(pk=last.pk).status == S.REJECTED


# --- Blind review: names the applicant typed are redacted ------------------------------------------


def _typed_names(application):
    """Write the application's own names into its free text and a budget note, as applicants do."""
    lead = application.partnership.lead_school
    member = partner_school(application)
    Application.objects.filter(pk=application.pk).update(
        aims=f"{lead.name} and {member.name.upper()} will share a technician.",
        local_stem_issue=f"At {lead.name.rsplit(' ', 1)[0]} (URN {lead.urn}) few pupils take triple science.",
        timeline=f"Autumn: {application.partnership.name} meets. Spring: a STEM fair.",
    )
    application.budget_lines.update(note=f"Supply cover at {member.name}")
    return lead, member


def test_blind_review_redacts_school_and_partnership_names_and_urns_from_the_applicants_text(
    client, submitted, programme, staff_carol, rubric
):
    ReviewSettings.objects.create(programme=programme, blind_review=True)
    lead, member = _typed_names(submitted)
    ann = external_reviewer(programme, "ann")
    mine = review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)

    body = logged_in(client, ann).get(reverse("grants:review_page", args=[mine.pk])).content.decode()

    for name in [*_names(submitted), lead.name.rsplit(" ", 1)[0], member.name.upper()]:
        assert name not in body, name
    assert "[name withheld] and [name withheld] will share a technician." in body
    assert "[URN withheld]" in body
    assert "few pupils take triple science" in body  # the rest of the text is kept
    assert "Supply cover at [name withheld]" in body


def test_blind_review_withholds_the_schools_people_and_email_addresses_too(
    client, submitted, programme, staff_carol, rubric
):
    ReviewSettings.objects.create(programme=programme, blind_review=True)
    lead = submitted.partnership.lead_school
    head = factories.LeadFactory(username="head", first_name="Grace", last_name="Okafor")
    factories.link_lead(head, lead)
    Application.objects.filter(pk=submitted.pk).update(
        aims="Grace Okafor leads the work; Mrs Okafor and Dr. Okafor are one person. "
        "Write to g.okafor@oak-primary.sch.uk. A green roof for the science club.",
    )
    ann = external_reviewer(programme, "ann")
    mine = review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)

    body = logged_in(client, ann).get(reverse("grants:review_page", args=[mine.pk])).content.decode()

    assert "Okafor" not in body
    assert "oak-primary" not in body
    assert (
        "[name withheld] leads the work; [name withheld] and [name withheld] are one person. "
        "Write to [e-mail withheld]." in body
    )
    assert "A green roof for the science club." in body  # the rest is kept


def test_without_blind_review_the_applicants_text_is_shown_as_written(
    client, submitted, programme, staff_carol, rubric
):
    lead, member = _typed_names(submitted)
    ann = external_reviewer(programme, "ann")
    mine = review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)

    body = logged_in(client, ann).get(reverse("grants:review_page", args=[mine.pk])).content.decode()

    assert f"{lead.name} and {member.name.upper()} will share a technician." in body
    assert "withheld" not in body


def test_redaction_takes_whole_words_only_and_the_trust_name_too(submitted):
    from grants.blind import redactor

    lead = submitted.partnership.lead_school
    lead.name, lead.trust_name = "Oak Primary School", "Northern Lights Academy Trust"
    lead.save()

    redact = redactor(Application.objects.select_related("partnership__lead_school").get(pk=submitted.pk))

    assert redact("Oak Primary School and Northern Lights Academy Trust") == (
        "[name withheld] and [name withheld]"
    )
    assert redact("Oak Primary pupils") == "[name withheld] pupils"
    assert redact("Oakwood and a primary school") == "Oakwood and a primary school"
    assert redact(f"URN {lead.urn}0 is another school") == f"URN {lead.urn}0 is another school"


# --- The reviewer's personal data ------------------------------------------------------------------


def test_a_reviewers_personal_data_download_holds_their_reviews_and_history_without_the_applicants_names(
    client, submitted, programme, staff_carol, rubric
):
    import json

    ReviewSettings.objects.create(programme=programme, blind_review=True)
    ann = external_reviewer(programme, "ann")
    review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)
    for values, note in (((2, 3), "First look."), ((4, 4), "After the call.")):
        review.review_submit(
            application_id=submitted.pk,
            by=ann,
            scores=scores_for(rubric, *values),
            recommendation="fund",
            private_note=note,
        )
    logged_in(client, ann)

    body = client.get(reverse("partnerships:personal_data_download")).content.decode()

    data = json.loads(body)["reviews"]
    assert [r["private_note"] for r in data["reviews"]] == ["First look.", "After the call."]
    assert [r["current"] for r in data["reviews"]] == [False, True]
    assert data["reviews"][1]["scores"][0]["score"] == 4
    assert data["assignments"][0]["application"] == submitted.reference
    for name in _names(submitted):
        assert name not in body, name


def test_a_lead_who_never_reviewed_has_an_empty_reviews_section(client, lead_alice):
    import json

    client.force_login(lead_alice)
    data = json.loads(client.get(reverse("partnerships:personal_data_download")).content)

    assert data["reviews"] == {"reviews": [], "assignments": [], "conflicts_declared": []}


def test_closing_a_reviewers_account_blanks_their_private_notes_and_keeps_the_reviews(
    submitted, programme, staff_carol, rubric
):
    from partnerships import privacy

    ann = external_reviewer(programme, "ann")
    review.assignment_add(application_id=submitted.pk, reviewer_id=ann.pk, by=staff_carol)
    review.review_submit(
        application_id=submitted.pk,
        by=ann,
        scores=scores_for(rubric, 3, 3),
        recommendation="fund",
        comment="Solid plan.",
        private_note="Reminds me of my old school.",
    )

    privacy.anonymise_user(ann)

    kept = Review.objects.get(application=submitted)
    assert kept.comment == "Solid plan."
    assert kept.private_note == ""
