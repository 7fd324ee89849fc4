"""Demo applications in the open ENTHUSE cohort, one in every state, made through the services.

Idempotent: partnerships are found by name, applications already there are left as they are
(so a second run, or clicks in the running demo, are not undone). Partnerships are built from
whatever open, state-funded, eligible schools the register holds that are in no partnership of
the cohort yet; with too few, the seed says so and stops.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

import messaging
from clusters.models import CPDActivity
from grants import agreements, payments, services
from grants.models import Application, GrantAgreement
from partnerships.eligibility import eligible_schools_q
from partnerships.models import Cohort, Membership, Partnership, Phase, School, SchoolLead
from portal.roles import LEADS_GROUP

PROGRAMME_SLUG = "enthuse-partnerships"
S = Application.Status

TEXT = {
    "aims": "Build teachers' confidence with practical science and maths so that more pupils see STEM "
    "as something for them, and keep it going after the grant ends.",
    "local_stem_issue": "Attainment in science at KS2 and uptake of triple science at KS4 are below the "
    "national average, and few local employers are involved with schools.",
    "planned_teacher_cpd": "Six twilight sessions on practical work led by STEM Learning facilitators; "
    "paired lesson study between primary and secondary teachers; a subject-leader network each term.",
    "planned_student_activities": "A STEM fair for every Year 6; STEM Ambassador visits; a Year 9 "
    "engineering challenge with a local employer.",
    "timeline": "Autumn 1: needs audit and first CPD. Spring: lesson study and STEM fair. Summer: "
    "engineering challenge, evaluation and plans for year two.",
    "declaration_accurate": True,
    "declaration_state_funded": True,
    "declaration_data_sharing": True,
}

# name, state, budget lines (category, amount, note), award
DEMO = [
    (
        "Tees Valley Science Partnership",
        S.SUBMITTED,
        [("supply_cover", "6000.00", "Twelve supply days"), ("external_provider", "5850.00", "Facilitators")],
        None,
    ),
    (
        "Wear Valley Maths Network",
        S.CHANGES_REQUESTED,
        [("supply_cover", "4000.00", "Eight supply days"), ("resources", "5400.00", "Practical kits")],
        None,
    ),
    (
        "Severn Engineering Partnership",
        S.APPROVED,
        [("supply_cover", "5000.00", ""), ("travel", "1000.00", "Coach hire"), ("resources", "6000.00", "")],
        Decimal("11500.00"),
    ),
    (
        "Pennine Primary Science Hub",
        S.REJECTED,
        [("other", "7250.50", "Residential trip")],
        None,
    ),
    (
        "Marsh Lane Computing Collaborative",
        S.WITHDRAWN,
        [("resources", "3000.00", "Microcontrollers")],
        None,
    ),
    (
        "Downs STEM Careers Partnership",
        S.COMPLETED,
        [("supply_cover", "4400.00", ""), ("external_provider", "4400.00", "Careers provider")],
        Decimal("8800.00"),
    ),
]


def open_cohort() -> Cohort | None:
    now = timezone.now()
    return (
        Cohort.objects.filter(
            programme__slug=PROGRAMME_SLUG, applications_open_at__lte=now, applications_close_at__gte=now
        )
        .select_related("programme")
        .order_by("applications_close_at")
        .first()
    )


def seed(*, users, stdout):
    cohort = open_cohort()
    if cohort is None:
        stdout.write("Grants demo skipped: no ENTHUSE Partnerships cohort is open for applications now.")
        return
    with messaging.muted(), transaction.atomic():
        made = [_alices_draft(cohort, users["lead_alice"], stdout)]
        for name, state, lines, award in DEMO:
            application = _demo_application(cohort, name, state, lines, award, users, stdout)
            if application is None:
                break
            made.append(application)
    summary = ", ".join(f"{a.partnership.name} ({a.get_status_display().lower()})" for a in made if a)
    stdout.write(f"Grant applications in {cohort}: {summary}.")


def _alices_draft(cohort, alice, stdout) -> Application | None:
    """Alice's school leads a draft: the aims written and one budget line so far."""
    partnership = Partnership.objects.filter(cohort=cohort, lead_school__lead_links__user=alice).first()
    if partnership is None:
        stdout.write(
            "Grants demo: lead_alice's school leads no partnership in the open cohort; no draft made."
        )
        return None
    existing = Application.objects.filter(partnership=partnership).first()
    if existing is not None:
        return existing
    application = services.application_start(partnership_id=partnership.pk, by=alice)
    return services.application_save_draft(
        application_id=application.pk,
        by=alice,
        fields={"aims": TEXT["aims"]},
        budget_lines=[
            {"category": "supply_cover", "amount": Decimal("3600.00"), "note": "Supply for CPD days"}
        ],
        current_step=2,
    )


def _free_schools(cohort):
    taken = Membership.objects.filter(cohort=cohort).exclude(status=Membership.Status.DECLINED)
    return (
        School.objects.filter(eligible_schools_q(cohort.programme))
        .exclude(lead_links__isnull=False)
        .exclude(pk__in=taken.values("school_id"))
        .order_by("region", "urn")
    )


def _pick_schools(cohort, size) -> list[School]:
    """`size` free eligible schools, from one region when one has enough: a secondary lead
    with (mostly) primary partners."""
    free = list(_free_schools(cohort))
    by_region = {}
    for school in free:
        by_region.setdefault(school.region, []).append(school)
    group = next((schools for schools in by_region.values() if len(schools) >= size), free)
    if len(group) < size:
        return []
    # A secondary school leads when there is one; the partners are mostly primaries.
    lead = next((s for s in group if s.phase == Phase.SECONDARY), group[0])
    partners = sorted((s for s in group if s is not lead), key=lambda s: (s.phase == Phase.SECONDARY, s.urn))
    return [lead, *partners[: size - 1]]


def _demo_lead(school: School) -> User:
    username = "demo_lead_" + str(school.urn)
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": "Demo", "last_name": f"lead, {school.name}"[:150], "email": ""},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=LEADS_GROUP))
    SchoolLead.objects.get_or_create(user=user, school=school, defaults={"verified_at": timezone.now()})
    return user


def _demo_application(cohort, name, state, lines, award, users, stdout) -> Application | None:
    partnership = Partnership.objects.filter(cohort=cohort, name=name).first()
    if partnership is None:
        schools = _pick_schools(cohort, cohort.programme.min_schools)
        if not schools:
            stdout.write(
                f"Grants demo: fewer than {cohort.programme.min_schools} free eligible schools left in the "
                f"register for “{name}”; stopping here."
            )
            return None
        partnership = _partnership(cohort, name, schools)
    existing = Application.objects.filter(partnership=partnership).first()
    if existing is not None:
        return existing
    lead = _demo_lead(partnership.lead_school)
    staff = users["staff_carol"]
    application = services.application_start(partnership_id=partnership.pk, by=lead)
    services.application_save_draft(
        application_id=application.pk,
        by=lead,
        fields=TEXT,
        budget_lines=[{"category": c, "amount": Decimal(a), "note": n} for c, a, n in lines],
        current_step=6,
    )
    if state == S.WITHDRAWN:
        services.application_withdraw(
            application_id=application.pk, by=lead, comment="Our partner schools' timetables changed."
        )
        return Application.objects.get(pk=application.pk)
    services.application_submit(application_id=application.pk, by=lead)
    for criterion, score in (
        ("need", 4),
        ("partnership_strength", 4),
        ("cpd_quality", 3),
        ("value_for_money", 4),
    ):
        services.score_record(application_id=application.pk, by=staff, criterion=criterion, score=score)
    if state == S.CHANGES_REQUESTED:
        services.application_request_changes(
            application_id=application.pk,
            by=staff,
            comment="Please say which teachers take part in each CPD session, and cost the supply days.",
        )
    elif state == S.REJECTED:
        services.application_reject(
            application_id=application.pk,
            by=staff,
            reason="A residential trip for pupils is outside the programme: the grant pays for teacher CPD.",
        )
    elif state in (S.APPROVED, S.COMPLETED):
        services.application_approve(
            application_id=application.pk, by=staff, amount=award, comment="A strong, local plan."
        )
        if state == S.COMPLETED:
            _complete(application, partnership, lead, staff, users["finance_fay"])
    return Application.objects.get(pk=application.pk)


def _partnership(cohort, name, schools) -> Partnership:
    lead_school, *partners = schools
    partnership = Partnership.objects.create(
        cohort=cohort,
        name=name,
        lead_school=lead_school,
        local_stem_issue=TEXT["local_stem_issue"],
    )  # forming: the grant services move it (approved → active, completed, withdrawn)
    now = timezone.now()
    Membership.objects.create(
        partnership=partnership,
        school=lead_school,
        cohort=cohort,
        role=Membership.Role.LEAD,
        status=Membership.Status.CONFIRMED,
        responded_at=now,
    )
    for school in partners:
        Membership.objects.create(
            partnership=partnership,
            school=school,
            cohort=cohort,
            role=Membership.Role.PARTNER,
            status=Membership.Status.CONFIRMED,
            responded_at=now,
        )
    return partnership


def _complete(application, partnership, lead, staff, finance) -> None:
    """Activities delivered, the first instalment paid, the report submitted and accepted."""
    today = timezone.localdate()
    activities = []
    for days, kind, title, teachers, students in (
        (120, CPDActivity.Kind.TEACHER_CPD, "Practical science twilight series", 18, 0),
        (60, CPDActivity.Kind.STUDENT_ACTIVITY, "Year 9 careers day with local employers", 4, 220),
    ):
        activity, _ = CPDActivity.objects.get_or_create(
            partnership=partnership,
            title=title,
            defaults={
                "kind": kind,
                "held_on": today - timedelta(days=days),
                "hours": Decimal("6.0"),
                "teachers_reached": teachers,
                "students_reached": students,
                "created_by": lead,
            },
        )
        activity.schools.set(partnership.memberships.values_list("school_id", flat=True))
        activities.append(activity)
    agreement = GrantAgreement.objects.get(application=application)
    agreements.agreement_accept(
        application_id=application.pk,
        by=lead,
        signed_name=lead.get_full_name() or lead.username,
        signed_role="Headteacher",
        terms_version=agreement.terms_version,
        confirmed=True,
    )
    first = application.payments.get(sequence=1)
    payments.payment_release(payment_id=first.pk, by=finance)
    payments.payment_record(
        payment_id=first.pk,
        by=finance,
        amount=first.amount,
        paid_on=timezone.localdate(),
        reference=f"BACS-DEMO-{application.pk:05d}-1",
    )
    services.report_save(
        application_id=application.pk,
        by=lead,
        teachers_reached=22,
        students_reached=220,
        outcomes="Teachers across the five schools now plan practical lessons together; Year 9 uptake of "
        "triple science rose at the secondary school.",
        barriers=["supply_cover", "time"],
        facilitators=["leadership_support", "external_expertise"],
        activity_ids=[a.pk for a in activities],
        spend={"supply_cover": Decimal("4380.00"), "external_provider": Decimal("4420.00")},
    )
    services.report_submit(application_id=application.pk, by=lead)
    services.report_accept(application_id=application.pk, by=staff, comment="Thank you: a clear report.")
