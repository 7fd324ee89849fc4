"""Permission-matrix rows for the impact and process evaluation pages and the 360Giving exports
(appended to tests/evaluation/permission_rows.py). A cohort's pages: staff of its programme and
admins; staff of another programme 404; leads 403; visitors the login page."""

from decimal import Decimal

from django.utils import timezone

from grants.models import Application
from tests import factories
from tests.matrix import LOGIN, STAFF_ONLY_GET, Row, expect

COHORT_PAGE = expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=200, admin=200)
COHORT_ACTION = expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=302, admin=302)
NOT_FOUND = expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=404, admin=404)


def awarded_cohort(world) -> list[int]:
    """The world's cohort with one approved grant in it, so the 360Giving exports have data."""
    if Application.objects.filter(reference="MATRIX-1").exists():  # the layout test's shared world
        return [world.cohort.pk]
    partnership = factories.PartnershipFactory(cohort=world.cohort, partners=4)
    factories.ApplicationFactory(
        partnership=partnership,
        status=Application.Status.APPROVED,
        requested=Decimal("12000.00"),
        awarded=Decimal("11500.00"),
        reference="MATRIX-1",
        decided_at=timezone.now(),
    )
    return [world.cohort.pk]


ROWS = [
    Row("evaluation:impact_index", STAFF_ONLY_GET),
    Row("evaluation:impact_cohort", COHORT_PAGE, args=lambda w: [w.cohort.pk]),
    Row("evaluation:impact_cohort", NOT_FOUND, args=lambda w: [999999], note="(no such cohort)"),
    Row("evaluation:impact_compute", COHORT_ACTION, args=lambda w: [w.cohort.pk], method="post"),
    Row("evaluation:impact_status", COHORT_PAGE, args=lambda w: [w.cohort.pk]),
    Row("evaluation:impact_estimates_csv", COHORT_PAGE, args=lambda w: [w.cohort.pk]),
    Row("evaluation:impact_plan", COHORT_PAGE, args=lambda w: [w.cohort.pk]),
    Row("evaluation:impact_plan", NOT_FOUND, args=lambda w: [999999], note="(no such cohort)"),
    Row("evaluation:impact_plan_freeze", COHORT_ACTION, args=lambda w: [w.cohort.pk], method="post"),
    Row(
        "evaluation:impact_plan_amend",
        COHORT_ACTION,
        args=lambda w: [w.cohort.pk],
        method="post",
        data=lambda w: {
            "primary_outcome": "ks2_science_ta",
            "secondary_outcomes": ["ks2_rwm_expected"],
            "years_before": "3",
            "years_after": "3",
            "caliper_sd": "0.25",
        },
    ),
    Row("evaluation:process_cohort", COHORT_PAGE, args=lambda w: [w.cohort.pk]),
    Row("evaluation:process_cohort_csv", COHORT_PAGE, args=lambda w: [w.cohort.pk, "delivery"]),
    Row("evaluation:export_360giving_json", COHORT_PAGE, args=awarded_cohort),
    Row("evaluation:export_360giving_xlsx", COHORT_PAGE, args=awarded_cohort),
    Row(
        "evaluation:export_360giving_json",
        NOT_FOUND,
        args=lambda w: [w.cohort.pk],
        note="(no awarded grant yet)",
    ),
]
