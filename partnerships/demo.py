"""Demo schools, programmes and the leads' links (extended by issue #4)."""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from partnerships.models import Cohort, Phase, Programme, School, SchoolLead


def seed(*, users, stdout):
    school_a, _ = School.objects.get_or_create(
        urn=100001,
        defaults={
            "name": "Alder Primary School",
            "phase": Phase.PRIMARY,
            "region": "North West",
            "local_authority": "Blackpool",
            "district": "Blackpool",
            "opportunity_area": "Blackpool",
        },
    )
    school_b, _ = School.objects.get_or_create(
        urn=100002,
        defaults={
            "name": "Beech Academy",
            "phase": Phase.SECONDARY,
            "region": "Yorkshire and the Humber",
            "local_authority": "Bradford",
            "district": "Bradford",
            "opportunity_area": "Bradford",
        },
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
            "grant_cap": Decimal("12000.00"),
            "min_schools": 5,
            "eligible_phases": [Phase.PRIMARY, Phase.SECONDARY, Phase.FE_COLLEGE],
            "state_funded_only": True,
        },
    )
    enthuse.staff.add(users["staff_carol"])
    tz = timezone.get_current_timezone()
    Cohort.objects.get_or_create(
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
