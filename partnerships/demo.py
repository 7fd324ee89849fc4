"""Demo schools register, programmes, the open ENTHUSE cohort and Alice's forming partnership.

Idempotent: the register is imported from tests/data/gias_sample.csv through `import_gias`
(a second run reports every row unchanged) and everything else is get-or-create.
"""

from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from partnerships.eligibility import eligible_schools_q
from partnerships.gias import import_gias
from partnerships.models import (
    Cohort,
    Membership,
    OfstedRating,
    Partnership,
    Phase,
    Programme,
    School,
    SchoolLead,
)

SAMPLE = settings.BASE_DIR / "tests" / "data" / "gias_sample.csv"
ALICE_PARTNERSHIP = "Fylde Coast STEM Partnership"


def seed(*, users, stdout):
    if SAMPLE.exists():
        report = import_gias(SAMPLE)
        stdout.write(f"Schools register from {SAMPLE.name}: {report.summary()}.")
    school_a = _school(100001, "Alder Primary School", Phase.PRIMARY, "North West", "Blackpool", "Blackpool")
    school_b = _school(
        100002, "Beech Academy", Phase.SECONDARY, "Yorkshire and the Humber", "Bradford", "Bradford"
    )
    SchoolLead.objects.get_or_create(
        user=users["lead_alice"], school=school_a, defaults={"verified_at": timezone.now()}
    )
    SchoolLead.objects.get_or_create(
        user=users["lead_bob"], school=school_b, defaults={"verified_at": timezone.now()}
    )

    enthuse, _ = Programme.objects.get_or_create(
        slug="enthuse-partnerships",
        defaults={
            "name": "ENTHUSE Partnerships",
            "kind": Programme.Kind.PARTNERSHIPS,
            "description": "Partnerships of a lead school and at least four partners apply for up to "
            "£12,000 for two years of sustained STEM CPD addressing a local issue.",
            "grant_cap": Decimal("12000.00"),
            "min_schools": 5,
            "eligible_phases": [Phase.PRIMARY, Phase.SECONDARY, Phase.FE_COLLEGE],
            "state_funded_only": True,
        },
    )
    enthuse.staff.add(users["staff_carol"])
    aspire, _ = Programme.objects.get_or_create(
        slug="aspire-to-stem",
        defaults={
            "name": "Aspire to STEM",
            "kind": Programme.Kind.CLUSTERS,
            "description": "Clusters of five schools rated Requires improvement or Inadequate in Opportunity "
            "Areas: a needs analysis, bespoke CPD and STEM enrichment (TLIF-funded).",
            "grant_cap": Decimal("0.00"),
            "min_schools": 5,
            "cluster_size": 5,
            "eligible_phases": [Phase.PRIMARY, Phase.SECONDARY],
            "state_funded_only": True,
            "eligible_ofsted_ratings": [OfstedRating.REQUIRES_IMPROVEMENT, OfstedRating.INADEQUATE],
            "opportunity_areas_only": True,
        },
    )
    aspire.staff.add(users["staff_carol"])

    tz = timezone.get_current_timezone()
    cohort, _ = Cohort.objects.get_or_create(
        programme=enthuse,
        name="2026–28",
        defaults={
            "starts_on": date(2027, 1, 1),
            "ends_on": date(2028, 12, 31),
            "applications_open_at": datetime(2026, 9, 1, tzinfo=tz),
            "applications_close_at": datetime(2027, 3, 31, 17, tzinfo=tz),
            "budget": Decimal("480000.00"),
        },
    )
    _alices_partnership(cohort, school_a, users["lead_alice"], stdout)


def _school(urn, name, phase, region, authority, district) -> School:
    school, _ = School.objects.get_or_create(
        urn=urn,
        defaults={
            "name": name,
            "phase": phase,
            "region": region,
            "local_authority": authority,
            "district": district,
            "opportunity_area": district,
            "ofsted_rating": OfstedRating.GOOD,
        },
    )
    return school


def _alices_partnership(cohort, school_a, alice, stdout) -> None:
    """Alder Primary leads a forming partnership: four confirmed partners (five schools, enough
    to apply) and one invitation still waiting for an answer."""
    if Partnership.objects.filter(cohort=cohort, lead_school=school_a).exists():
        return
    partnership = Partnership.objects.create(
        cohort=cohort,
        name=ALICE_PARTNERSHIP,
        lead_school=school_a,
        local_stem_issue="Few pupils on the Fylde coast see science as something for people like them, and "
        "primary teachers lack confidence with practical work; the secondary school's specialists will "
        "co-plan investigations and run STEM days with local employers.",
        created_by=alice,
    )
    now = timezone.now()
    Membership.objects.create(
        partnership=partnership,
        school=school_a,
        cohort=cohort,
        role=Membership.Role.LEAD,
        status=Membership.Status.CONFIRMED,
        invited_by=alice,
        responded_by=alice,
        responded_at=now,
    )
    taken = Membership.objects.filter(cohort=cohort).exclude(status=Membership.Status.DECLINED)
    free = (
        School.objects.filter(eligible_schools_q(cohort.programme), region="North West")
        .exclude(lead_links__isnull=False)
        .exclude(pk__in=taken.values("school_id"))
    )
    partners = [
        *free.filter(phase=Phase.SECONDARY).order_by("urn")[:1],
        *free.filter(phase=Phase.PRIMARY).order_by("urn")[:4],
    ]
    for index, school in enumerate(partners):
        confirmed = index < 4
        Membership.objects.create(
            partnership=partnership,
            school=school,
            cohort=cohort,
            status=Membership.Status.CONFIRMED if confirmed else Membership.Status.INVITED,
            invited_by=alice,
            responded_at=now if confirmed else None,
        )
    stdout.write(f"{ALICE_PARTNERSHIP}: led by {school_a.name}, {len(partners)} partner schools invited.")
