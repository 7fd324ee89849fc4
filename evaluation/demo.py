"""Demo data: the first ENTHUSE Partnerships cohort (2014–16) as published — 38 funded, completed
partnerships of 248 distinct schools, 201 primary and 47 secondary — with plausible CPD
activities, teachers' feedback, awards and payments; then every cohort's summary, built
in-process. Called by `seed_demo`; idempotent (a second run adds nothing).

Schools come from the register (open, state-funded primary and secondary schools not yet
in this cohort and not linked to a demo lead) when it holds enough of them, for instance
after `import_gias`; otherwise clearly named synthetic schools are created with URNs in the
reserved range 900000+. Everything else is generated from a fixed random seed, so the figures
are the same on every machine.
"""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clusters.models import CPDActivity, Feedback
from evaluation import tasks
from grants.models import Application, BudgetLine, EndOfGrantReport, Payment
from grants.services import BARRIER_TAGS, FACILITATOR_TAGS
from partnerships.models import (
    Cohort,
    Funding,
    Membership,
    OfstedRating,
    Partnership,
    Phase,
    Programme,
    School,
)
from portal.money import money

PROGRAMME_SLUG = "enthuse-partnerships"
COHORT_NAME = "2014–16"
REFERENCE_PREFIX = "ENT1416-"
GRANT_CAP = Decimal("12000.00")
PARTNERSHIPS = 38
SYNTHETIC_URN_BASE = 900000
SYNTHETIC_TYPE = "Academy (synthetic demo school)"

# (schools, of which secondary) per partnership: 20 of seven and 18 of six schools = 248;
# the first nine have two secondary schools, the rest one = 47 secondary, 201 primary.
LAYOUT = [(7 if i < 20 else 6, 2 if i < 9 else 1) for i in range(PARTNERSHIPS)]

REGIONS = [
    ("North West", ["Blackpool", "Oldham", "Lancashire"]),
    ("North East", ["Sunderland", "County Durham"]),
    ("Yorkshire and the Humber", ["Bradford", "Doncaster", "North Yorkshire"]),
    ("East Midlands", ["Derby", "Nottinghamshire"]),
    ("West Midlands", ["Stoke-on-Trent", "Birmingham"]),
    ("East of England", ["Norfolk", "Suffolk"]),
    ("London", ["Hackney", "Newham"]),
    ("South East", ["Kent", "East Sussex"]),
    ("South West", ["Cornwall", "Plymouth"]),
]
OPPORTUNITY_AREAS = {"Blackpool", "Oldham", "Bradford", "Doncaster", "Derby", "Stoke-on-Trent"}
STEM_ISSUES = [
    "Few pupils see science as something for people like them; we will bring practical science "
    "into every classroom and show local STEM careers.",
    "Primary teachers lack confidence teaching working scientifically; the secondary school's "
    "specialists will co-plan and team-teach investigations.",
    "Attainment in KS2 science and the transition to KS3 lag behind the national average; we "
    "will align practical work and assessment across the phases.",
    "Girls' uptake of physics and computing after 16 is low; we will run role-model enrichment "
    "and CPD on inclusive teaching.",
]
CPD_TITLES = [
    "Working scientifically: planning fair tests",
    "Practical electricity for KS2",
    "Assessing science without levels",
    "Forces and motion: hands-on demonstrations",
    "Outdoor science and the school grounds",
    "Science capital teaching approach",
]
STUDENT_TITLES = [
    "STEM challenge day",
    "Year 6 science at the secondary school",
    "Science fair",
    "Coding club",
]
ENRICHMENT_TITLES = ["STEM Ambassador careers talk", "Visit to the science centre", "Family science evening"]


def seed(*, users, stdout):
    # Placeholder schools an earlier demo made before they were flagged synthetic are marked now.
    School.objects.filter(
        urn__gte=SYNTHETIC_URN_BASE, establishment_type=SYNTHETIC_TYPE, is_synthetic=False
    ).update(is_synthetic=True)
    programme, _ = Programme.objects.get_or_create(
        slug=PROGRAMME_SLUG,
        defaults={
            "name": "ENTHUSE Partnerships",
            "grant_cap": GRANT_CAP,
            "min_schools": 5,
            "eligible_phases": [Phase.PRIMARY, Phase.SECONDARY, Phase.FE_COLLEGE],
            "state_funded_only": True,
        },
    )
    if users.get("staff_carol"):
        programme.staff.add(users["staff_carol"])
    tz = timezone.get_current_timezone()
    cohort, _ = Cohort.objects.get_or_create(
        programme=programme,
        name=COHORT_NAME,
        defaults={
            "starts_on": date(2014, 9, 1),
            "ends_on": date(2016, 8, 31),
            "applications_open_at": datetime(2014, 1, 13, 9, tzinfo=tz),
            "applications_close_at": datetime(2014, 4, 30, 17, tzinfo=tz),
            "budget": GRANT_CAP * PARTNERSHIPS,
        },
    )
    done = set(
        Application.objects.filter(cohort=cohort, reference__startswith=REFERENCE_PREFIX).values_list(
            "reference", flat=True
        )
    )
    missing = [i for i in range(PARTNERSHIPS) if _reference(i) not in done]
    if missing:
        with transaction.atomic():
            _seed_partnerships(cohort, missing)
        stdout.write(f"ENTHUSE Partnerships {COHORT_NAME}: created {len(missing)} partnerships.")
    else:
        stdout.write(f"ENTHUSE Partnerships {COHORT_NAME}: already there.")

    for each in Cohort.objects.order_by("pk"):
        tasks.build(each.pk)
    stdout.write(f"Built the summaries of {Cohort.objects.count()} cohorts.")
    return cohort


def _reference(i: int) -> str:
    return f"{REFERENCE_PREFIX}{i + 1:02d}"


def _seed_partnerships(cohort, indexes):
    primaries_needed = sum(LAYOUT[i][0] - LAYOUT[i][1] for i in indexes)
    secondaries_needed = sum(LAYOUT[i][1] for i in indexes)
    primaries = _register_schools(cohort, Phase.PRIMARY, primaries_needed)
    secondaries = _register_schools(cohort, Phase.SECONDARY, secondaries_needed)
    if primaries is None or secondaries is None:
        primaries, secondaries = _synthetic_schools(indexes)

    tz = timezone.get_current_timezone()
    at = lambda d, hour=10: datetime.combine(d, time(hour), tzinfo=tz)  # noqa: E731

    plans = []
    for i in indexes:
        size, n_secondary = LAYOUT[i]
        schools = [secondaries.pop(0) for _ in range(n_secondary)] + [
            primaries.pop(0) for _ in range(size - n_secondary)
        ]
        plans.append((i, schools))

    partnerships = Partnership.objects.bulk_create(
        [
            Partnership(
                cohort=cohort,
                name=f"{schools[0].local_authority or 'Local'} STEM Partnership {i + 1:02d}",
                lead_school=schools[0],  # a secondary school leads, as in most 2014–16 partnerships
                local_stem_issue=STEM_ISSUES[i % len(STEM_ISSUES)],
                status=Partnership.Status.COMPLETED,
            )
            for i, schools in plans
        ]
    )
    memberships, applications = [], []
    for partnership, (i, schools) in zip(partnerships, plans, strict=True):
        rng = random.Random(1416_000 + i)
        for n, school in enumerate(schools):
            memberships.append(
                Membership(
                    partnership=partnership,
                    school=school,
                    cohort=cohort,
                    role=Membership.Role.LEAD if n == 0 else Membership.Role.PARTNER,
                    status=Membership.Status.CONFIRMED,
                    invited_at=at(date(2014, 2, 3 + n)),
                    responded_at=at(date(2014, 2, 10 + n)),
                )
            )
        requested = Decimal(rng.randrange(180, 241) * 50)  # £9,000 – £12,000
        awarded = requested if rng.random() < 0.8 else requested - Decimal(rng.randrange(1, 11) * 100)
        applications.append(
            Application(
                reference=_reference(i),
                partnership=partnership,
                cohort=cohort,
                # Completed (fully paid, final report accepted) once its budget lines are in: the
                # lines of an awarded grant are frozen (trigger budgetline_frozen_after_award).
                status=Application.Status.SUBMITTED,
                aims="Sustained CPD in practical science for every teacher in the partnership.",
                local_stem_issue=partnership.local_stem_issue,
                planned_teacher_cpd="Termly twilight sessions and team-teaching led by the lead school.",
                planned_cpd_hours=Decimal(20 + (i % 5) * 2),  # no draw from rng: the figures stay put
                planned_student_activities="STEM challenge days, transition science, a science fair.",
                timeline="September 2014 to July 2016.",
                declaration_accurate=True,
                declaration_state_funded=True,
                declaration_data_sharing=True,
                grant_cap=GRANT_CAP,
                requested=requested,
                awarded=awarded,
                current_step=5,
                submitted_at=at(date(2014, 4, 14 + i % 14)),
                decided_at=at(date(2014, 6, 23)),
            )
        )
    Membership.objects.bulk_create(memberships)
    applications = Application.objects.bulk_create(applications)

    budget_lines, payments = [], []
    for application in applications:
        shares = [
            (BudgetLine.Category.SUPPLY_COVER, Decimal("0.50")),
            (BudgetLine.Category.RESOURCES, Decimal("0.25")),
            (BudgetLine.Category.TRAVEL, Decimal("0.10")),
        ]
        lines = [(category, money(application.requested * share)) for category, share in shares]
        lines.append(
            (BudgetLine.Category.EXTERNAL_PROVIDER, application.requested - sum(a for _, a in lines))
        )
        budget_lines += [BudgetLine(application=application, category=c, amount=a) for c, a in lines]
        first = money(application.awarded * cohort.programme.first_instalment_percent / 100)
        for sequence, amount, trigger, paid_on in [
            (1, first, Payment.Trigger.ON_APPROVAL, date(2014, 9, 1)),
            (2, application.awarded - first, Payment.Trigger.ON_FINAL_REPORT, date(2016, 9, 30)),
        ]:
            payments.append(
                Payment(
                    application=application,
                    sequence=sequence,
                    amount=amount,
                    paid_amount=amount,
                    trigger=trigger,
                    status=Payment.Status.PAID,
                    released_at=at(paid_on - timedelta(days=7)),
                    paid_at=at(paid_on),
                )
            )
    BudgetLine.objects.bulk_create(budget_lines)
    Application.objects.filter(pk__in=[a.pk for a in applications]).update(
        status=Application.Status.COMPLETED
    )
    for application in applications:
        application.status = Application.Status.COMPLETED
    Payment.objects.bulk_create(payments)
    reports = []
    for application in applications:
        rng = random.Random(2016_000 + application.pk)
        reports.append(
            EndOfGrantReport(
                application=application,
                status=EndOfGrantReport.Status.ACCEPTED,
                outcomes="Teachers in every school now run practical science lessons together.",
                barriers=rng.sample(sorted(BARRIER_TAGS), 2),
                facilitators=rng.sample(sorted(FACILITATOR_TAGS), 2),
                submitted_at=at(date(2016, 7, 15)),
                decided_at=at(date(2016, 9, 23)),
            )
        )
    EndOfGrantReport.objects.bulk_create(reports)
    _seed_activities(partnerships, plans)


def _term_date(rng: random.Random) -> date:
    """A school day between September 2014 and July 2016, avoiding August."""
    while True:
        day = date(2014, 9, 15) + timedelta(days=rng.randrange(0, 670))
        if day.month != 8 and day.weekday() < 5:
            return day


def _seed_activities(partnerships, plans):
    activities, activity_schools = [], []
    for partnership, (i, schools) in zip(partnerships, plans, strict=True):
        rng = random.Random(2014_16 + i)
        kinds = (
            [CPDActivity.Kind.TEACHER_CPD] * rng.randint(3, 5)
            + [CPDActivity.Kind.STUDENT_ACTIVITY] * rng.randint(2, 4)
            + [CPDActivity.Kind.ENRICHMENT] * rng.randint(1, 2)
        )
        for kind in kinds:
            taking_part = rng.sample(schools, rng.randint(2, len(schools)))
            if kind == CPDActivity.Kind.TEACHER_CPD:
                title, hours = rng.choice(CPD_TITLES), Decimal(rng.choice(["2.0", "3.0", "6.0"]))
                teachers, students = 2 * len(taking_part) + rng.randint(0, 6), 0
            elif kind == CPDActivity.Kind.STUDENT_ACTIVITY:
                title, hours = rng.choice(STUDENT_TITLES), Decimal(rng.choice(["3.0", "5.0"]))
                teachers, students = len(taking_part), 30 * len(taking_part) + rng.randint(0, 40)
            else:
                title, hours = rng.choice(ENRICHMENT_TITLES), Decimal("2.0")
                teachers, students = rng.randint(1, 4), 20 * len(taking_part) + rng.randint(0, 60)
            activities.append(
                CPDActivity(
                    partnership=partnership,
                    kind=kind,
                    title=title,
                    held_on=_term_date(rng),
                    hours=hours,
                    teachers_reached=teachers,
                    students_reached=students,
                )
            )
            activity_schools.append(taking_part)
    activities = CPDActivity.objects.bulk_create(activities)

    through = CPDActivity.schools.through
    links, feedback = [], []
    for activity, taking_part in zip(activities, activity_schools, strict=True):
        links += [through(cpdactivity_id=activity.pk, school_id=school.pk) for school in taking_part]
        if activity.kind != CPDActivity.Kind.TEACHER_CPD:
            continue
        rng = random.Random(activity.held_on.toordinal() + activity.teachers_reached)
        for _ in range(rng.randint(3, min(8, activity.teachers_reached))):
            feedback.append(
                Feedback(
                    activity=activity,
                    engaging_ideas=rng.choice([3, 4, 4, 5, 5, 5]),
                    hands_on=rng.choice([3, 4, 4, 5, 5, 5]),
                    sharing_across_schools=rng.choice([2, 3, 4, 4, 5]),
                    overall_usefulness=rng.choice([3, 4, 4, 5, 5]),
                    expects_more_cpd=rng.random() < 0.85,
                )
            )
    through.objects.bulk_create(links)
    Feedback.objects.bulk_create(feedback)


def _register_schools(cohort, phase, needed) -> list[School] | None:
    """`needed` open state-funded schools of `phase` from the register that are free in this
    cohort and not demo leads' schools, grouped by area; None when there are too few."""
    in_cohort = Membership.objects.filter(cohort=cohort).exclude(status=Membership.Status.DECLINED)
    pool = list(
        School.objects.filter(is_open=True, funding=Funding.STATE, phase=phase, is_synthetic=False)
        .exclude(urn__gte=SYNTHETIC_URN_BASE)
        .exclude(pk__in=in_cohort.values("school_id"))
        .exclude(lead_links__isnull=False)
        .order_by("region", "local_authority", "urn")[:needed]
    )
    return pool if len(pool) == needed else None


def _synthetic_schools(indexes) -> tuple[list[School], list[School]]:
    """Clearly named synthetic schools, URN 900000 + 10 × partnership + place; the same
    partnership always gets the same schools."""
    wanted = {}
    for i in indexes:
        size, n_secondary = LAYOUT[i]
        region, authorities = REGIONS[i % len(REGIONS)]
        authority = authorities[(i // len(REGIONS)) % len(authorities)]
        for place in range(size):
            phase = Phase.SECONDARY if place < n_secondary else Phase.PRIMARY
            urn = SYNTHETIC_URN_BASE + 10 * (i + 1) + place
            rng = random.Random(urn)
            wanted[urn] = School(
                urn=urn,
                name=f"{authority} {phase.label} {urn} (synthetic)",
                phase=phase,
                establishment_type=SYNTHETIC_TYPE,
                funding=Funding.STATE,
                local_authority=authority,
                region=region,
                district=authority,
                pupils=rng.randint(600, 1500) if phase == Phase.SECONDARY else rng.randint(120, 450),
                fsm_percent=Decimal(rng.randint(50, 450)) / 10,
                ofsted_rating=rng.choice(
                    [
                        OfstedRating.GOOD,
                        OfstedRating.GOOD,
                        OfstedRating.OUTSTANDING,
                        OfstedRating.REQUIRES_IMPROVEMENT,
                    ]
                ),
                is_open=True,
                opportunity_area=authority if authority in OPPORTUNITY_AREAS else "",
                is_synthetic=True,  # never searchable, eligible or invitable; badged where shown
            )
    existing = {school.urn: school for school in School.objects.filter(urn__in=wanted)}
    School.objects.bulk_create([school for urn, school in wanted.items() if urn not in existing])
    schools = {school.urn: school for school in School.objects.filter(urn__in=wanted)}
    ordered = [schools[urn] for urn in sorted(wanted)]
    return (
        [s for s in ordered if s.phase == Phase.PRIMARY],
        [s for s in ordered if s.phase == Phase.SECONDARY],
    )
