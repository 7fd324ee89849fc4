"""Demo Aspire to STEM cohort: two clusters of five eligible schools in Opportunity Areas, each
with its needs analysis, a CPD plan and a few activities with feedback. Built through the
services (as admin_dan), so the demo obeys the same rules as the screens. Idempotent."""

import random
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from clusters import services, surveys
from clusters.models import Cluster, CommentTheme, CPDActivity, Feedback, FocusArea
from partnerships.eligibility import eligible_schools_q
from partnerships.models import Cohort, Programme, School

PLAN = {
    FocusArea.LEADERSHIP: ("STEM leadership coaching for senior leaders", Decimal("6.0")),
    FocusArea.GREAT_TEACHING: ("Practical science and maths mastery CPD", Decimal("12.0")),
    FocusArea.SCIENCE_CAPITAL: ("Science capital teaching approach with families", Decimal("4.5")),
    FocusArea.CAREERS_GUIDANCE: ("STEM careers: Ambassadors and local employers", Decimal("3.0")),
}


def seed(*, users, stdout):
    aspire = Programme.objects.filter(slug="aspire-to-stem").first()
    if aspire is None:
        return
    tz = timezone.get_current_timezone()
    cohort, _ = Cohort.objects.get_or_create(
        programme=aspire,
        name="2018–20",
        defaults={
            "starts_on": date(2018, 9, 1),
            "ends_on": date(2020, 7, 31),
            "applications_open_at": datetime(2018, 1, 15, tzinfo=tz),
            "applications_close_at": datetime(2018, 6, 29, 17, tzinfo=tz),
            "budget": Decimal("0.00"),
        },
    )
    if Cluster.objects.filter(cohort=cohort).exists():
        return
    admin = users["admin_dan"]
    by_area = defaultdict(list)
    pool = (
        School.objects.filter(eligible_schools_q(aspire))
        .exclude(lead_links__isnull=False)
        .order_by("opportunity_area", "urn")
    )
    for school in pool:
        by_area[school.opportunity_area].append(school)
    areas = sorted((area for area, schools in by_area.items() if len(schools) >= aspire.cluster_size))[:2]
    rng = random.Random(2018)
    for area in areas:
        schools = by_area[area][: aspire.cluster_size]
        cluster = services.cluster_build(
            cohort=cohort, name=f"{area} Aspire cluster", schools=schools, by=admin
        )
        for n, school in enumerate(schools):
            answers = {
                focus_area: {
                    "score": rng.choice([1, 2, 2, 3, 3, 4]),
                    "notes": rng.choice(
                        ["", "Identified in the initial visit.", "Priority for the head teacher."]
                    ),
                }
                for focus_area in FocusArea.values
            }
            services.needs_questionnaire_save(
                cluster=cluster, school=school, answers=answers, by=admin, submit=True
            )
            services.needs_questionnaire_review(
                cluster=cluster, school=school, by=admin, comment="Discussed at the first cluster meeting."
            )
            weakest = min(answers, key=lambda area: answers[area]["score"])
            services.cpd_plan_item_add(
                cluster=cluster,
                school=school,
                focus_area=weakest,
                title=f"Bespoke support: {FocusArea(weakest).label.lower()}",
                planned_hours=Decimal("3.0"),
                planned_on=date(2019, 2, 4 + n),
                by=admin,
            )
        for month, (focus_area, (title, hours)) in enumerate(PLAN.items()):
            services.cpd_plan_item_add(
                cluster=cluster,
                focus_area=focus_area,
                title=title,
                planned_hours=hours,
                planned_on=date(2018, 10 + month, 1) if month < 3 else date(2019, 1, 15),
                by=admin,
            )
            activity = services.activity_create(
                cluster=cluster,
                schools=schools,
                by=admin,
                kind=CPDActivity.Kind.TEACHER_CPD if month % 2 == 0 else CPDActivity.Kind.STUDENT_ACTIVITY,
                title=title,
                held_on=date(2018, 10 + month, 10) if month < 3 else date(2019, 1, 22),
                hours=hours,
                teachers_reached=rng.randint(8, 25),
                students_reached=0 if month % 2 == 0 else rng.randint(60, 180),
                focus_area=focus_area,
            )
            # The survey by link: two invitations per school, most answered (response rates per school).
            for school in schools:
                for invitation in surveys.invitations_create(
                    activity=activity, by=admin, count=2, school=school
                ):
                    if rng.random() < 0.7:
                        surveys.answer(
                            invitation=invitation,
                            ratings={
                                "engaging_ideas": rng.choice([3, 4, 5, 5]),
                                "hands_on": rng.choice([3, 4, 4, 5]),
                                "sharing_across_schools": rng.choice([2, 3, 4, 5]),
                                "overall_usefulness": rng.choice([3, 4, 5, 5]),
                            },
                            expects_more_cpd=rng.random() < 0.8,
                            comments=rng.choice(
                                ["", "", "Finding supply cover was hard.", "Great to share across schools."]
                            ),
                        )
        stdout.write(f"{cluster.name}: {len(schools)} schools, needs analysis, CPD plan and activities.")
    # Staff theme the teachers' comments, so the process page groups barriers and facilitators.
    themes = {
        "Finding supply cover was hard.": (CommentTheme.Kind.BARRIER, "Supply cover"),
        "Great to share across schools.": (CommentTheme.Kind.FACILITATOR, "Sharing across schools"),
    }
    for feedback in Feedback.objects.filter(activity__cluster__cohort=cohort).exclude(comments=""):
        kind, name = themes[feedback.comments]
        services.comment_theme_assign(feedback=feedback, kind=kind, name=name, by=admin)
