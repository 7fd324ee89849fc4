from tests.matrix import LOGIN, STAFF_ONLY_GET, Row, expect

# A cohort's pages: programme staff of the cohort's programme and admins; staff of another
# programme get a 404 (never a leak); leads a 403; visitors the login page.
COHORT_PAGE = expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=200, admin=200)
COHORT_ACTION = expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=302, admin=302)
NOT_FOUND_FOR_STAFF = expect(
    anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=404, admin=404
)

ROWS = [
    Row("evaluation:dashboard", STAFF_ONLY_GET),
    Row("evaluation:programme", COHORT_PAGE, args=lambda w: [w.programme.pk]),
    Row("evaluation:cohort", COHORT_PAGE, args=lambda w: [w.cohort.pk]),
    Row("evaluation:cohort_partnerships", COHORT_PAGE, args=lambda w: [w.cohort.pk]),
    Row("evaluation:cohort_status", COHORT_PAGE, args=lambda w: [w.cohort.pk]),
    Row("evaluation:cohort_rebuild", COHORT_ACTION, args=lambda w: [w.cohort.pk], method="post"),
    Row("evaluation:cohort_export", COHORT_PAGE, args=lambda w: [w.cohort.pk, "phase"]),
    Row("evaluation:cohort_export", COHORT_PAGE, args=lambda w: [w.cohort.pk, "partnerships"], note="(live)"),
    Row(
        "evaluation:cohort_export",
        NOT_FOUND_FOR_STAFF,
        args=lambda w: [w.cohort.pk, "no-such-table"],
        note="(unknown table)",
    ),
]
from tests.evaluation.impact_permission_rows import ROWS as _IMPACT_ROWS  # noqa: E402

ROWS += _IMPACT_ROWS
