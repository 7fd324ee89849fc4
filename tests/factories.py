"""factory_boy factories for every model the tests build."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from clusters.models import Cluster, ClusterMembership, ClusterReport, CPDActivity, Feedback
from grants.models import Application, BudgetLine
from partnerships.models import (
    Cohort,
    Funding,
    Membership,
    OfstedRating,
    Partnership,
    Phase,
    Programme,
    School,
    SchoolLead,
)
from portal.roles import ADMINS_GROUP, FINANCE_GROUP, LEADS_GROUP, REVIEWERS_GROUP, STAFF_GROUP

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(self, create, extracted, **kwargs):
        if create:
            self.save()


def _joins(group_name):
    @factory.post_generation
    def group(user, create, extracted, **kwargs):
        if create:
            user.groups.add(Group.objects.get(name=group_name))

    return group


class LeadFactory(UserFactory):
    group = _joins(LEADS_GROUP)


class ReviewerFactory(UserFactory):
    """A reviewer from outside the programme team (issue 17): add them to a programme's pool
    with `grants.models.ProgrammeReviewer`."""

    group = _joins(REVIEWERS_GROUP)


def rubric(programme, *, weights=(3, 1), scale_max=5, by=None):
    """Publish a rubric of len(weights) criteria through the service (by an admin if no one is given)."""
    from grants import review

    by = by or AdminFactory()
    return review.rubric_publish(
        programme_id=programme.pk,
        by=by,
        scale_max=scale_max,
        criteria=[
            review.CriterionSpec(
                name=f"Criterion {n}",
                weight=w,
                guidance=f"How well does it do {n}?",
                descriptors=[f"Level {k}" for k in range(1, scale_max + 1)],
            )
            for n, w in enumerate(weights, start=1)
        ],
    )


# Staff and admins must sign in with a second factor (portal/two_factor.py): their factories
# give them a confirmed authenticator device with this key, so `client.force_login` (patched in
# tests/conftest.py) and the browser `login()` helper can pass it. `otp_device=False` makes a
# user who has not enrolled yet.
TOTP_KEY = "3132333435363738393031323334353637383930"  # hex of b"12345678901234567890" (RFC 6238)


def second_factor(user) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.get_or_create(
        user=user, name="Test authenticator", defaults={"key": TOTP_KEY, "confirmed": True}
    )


def _enrols():
    @factory.post_generation
    def otp_device(user, create, extracted, **kwargs):
        if create and extracted is not False:
            second_factor(user)

    return otp_device


class StaffFactory(UserFactory):
    group = _joins(STAFF_GROUP)
    otp_device = _enrols()


class FinanceFactory(UserFactory):
    """The finance team (issue 19): payments and bank details of every programme, no decisions."""

    group = _joins(FINANCE_GROUP)
    otp_device = _enrols()


class AdminFactory(UserFactory):
    group = _joins(ADMINS_GROUP)
    otp_device = _enrols()
    is_staff = True
    is_superuser = True


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School
        django_get_or_create = ["urn"]

    urn = factory.Sequence(lambda n: 200000 + n)
    name = factory.Sequence(lambda n: f"School {n}")
    phase = Phase.PRIMARY
    establishment_type = "Community school"
    funding = Funding.STATE
    local_authority = "Blackpool"
    region = "North West"
    district = "Blackpool"
    postcode = factory.Sequence(lambda n: f"FY{n % 9 + 1} {n % 9 + 1}AB")
    pupils = 300
    fsm_percent = Decimal("25.0")
    ofsted_rating = OfstedRating.GOOD
    is_open = True
    opportunity_area = ""


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Programme {n}")
    slug = factory.Sequence(lambda n: f"programme-{n}")
    grant_cap = Decimal("12000.00")
    min_schools = 5
    cluster_size = 5
    eligible_phases = [Phase.PRIMARY, Phase.SECONDARY, Phase.FE_COLLEGE]
    state_funded_only = True


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cohort

    programme = factory.SubFactory(ProgrammeFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")
    starts_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=60))
    ends_on = factory.LazyAttribute(lambda c: c.starts_on + timedelta(days=730))
    applications_open_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    applications_close_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    budget = Decimal("100000.00")


class PartnershipFactory(factory.django.DjangoModelFactory):
    """A partnership with its lead membership; `partners=N` adds N confirmed partner schools."""

    class Meta:
        model = Partnership
        skip_postgeneration_save = True

    cohort = factory.SubFactory(CohortFactory)
    name = factory.Sequence(lambda n: f"Partnership {n}")
    lead_school = factory.SubFactory(SchoolFactory)
    local_stem_issue = "Low attainment in KS2 science across the town."

    @factory.post_generation
    def partners(self, create, extracted, **kwargs):
        if not create:
            return
        Membership.objects.get_or_create(
            partnership=self,
            school=self.lead_school,
            defaults={
                "cohort": self.cohort,
                "role": Membership.Role.LEAD,
                "status": Membership.Status.CONFIRMED,
            },
        )
        for _ in range(extracted or 0):
            MembershipFactory(partnership=self)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    partnership = factory.SubFactory(PartnershipFactory)
    school = factory.SubFactory(SchoolFactory)
    cohort = factory.LazyAttribute(lambda m: m.partnership.cohort)
    role = Membership.Role.PARTNER
    status = Membership.Status.CONFIRMED
    responded_at = factory.LazyFunction(timezone.now)


def link_lead(user, school, **extra) -> SchoolLead:
    link, _ = SchoolLead.objects.get_or_create(
        user=user, school=school, defaults={"verified_at": timezone.now(), **extra}
    )
    return link


class ClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cluster

    cohort = factory.SubFactory(CohortFactory, programme__kind="clusters")
    name = factory.Sequence(lambda n: f"Cluster {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """A completed cluster has an accepted final report (PostgreSQL trigger
        cluster_completed_has_accepted_report): made active, reported, then completed."""
        if kwargs.get("status") != Cluster.Status.COMPLETED:
            return super()._create(model_class, *args, **kwargs)
        cluster = super()._create(model_class, *args, **{**kwargs, "status": Cluster.Status.ACTIVE})
        now = timezone.now()
        ClusterReport.objects.create(
            cluster=cluster,
            summary="Delivered as planned.",
            status="accepted",
            submitted_at=now,
            accepted_at=now,
        )
        Cluster.objects.filter(pk=cluster.pk).update(status=Cluster.Status.COMPLETED)
        cluster.status = Cluster.Status.COMPLETED
        return cluster


class ClusterMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClusterMembership

    cluster = factory.SubFactory(ClusterFactory)
    school = factory.SubFactory(SchoolFactory)
    cohort = factory.LazyAttribute(lambda m: m.cluster.cohort)


class CPDActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CPDActivity

    partnership = factory.SubFactory(PartnershipFactory)
    cluster = None
    kind = CPDActivity.Kind.TEACHER_CPD
    title = factory.Sequence(lambda n: f"Activity {n}")
    held_on = factory.LazyFunction(lambda: date(2015, 3, 1))
    hours = Decimal("3.0")
    teachers_reached = 10
    students_reached = 0


class FeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feedback

    activity = factory.SubFactory(CPDActivityFactory)
    engaging_ideas = 5
    hands_on = 4
    sharing_across_schools = 4
    overall_usefulness = 5
    expects_more_cpd = True


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    partnership = factory.SubFactory(PartnershipFactory, partners=4)
    cohort = factory.LazyAttribute(lambda a: a.partnership.cohort)
    grant_cap = factory.LazyAttribute(lambda a: a.cohort.programme.grant_cap)
    aims = "Raise attainment in science."
    requested = Decimal("0.00")


class BudgetLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BudgetLine

    application = factory.SubFactory(ApplicationFactory)
    category = BudgetLine.Category.SUPPLY_COVER
    amount = Decimal("1000.00")


# --- Onboarding and e-mail invitations (partnerships/onboarding.py, invitations.py) --------


def pending_lead(school, *, email="pending.lead@example.sch.uk", **extra) -> User:
    """A lead who signed up for `school` and has not yet confirmed their e-mail address."""
    from partnerships.models import EmailConfirmation

    user = LeadFactory(username=email, email=email, is_active=False, **extra)
    EmailConfirmation.objects.create(user=user)
    SchoolLead.objects.create(user=user, school=school, role_at_school="Head of science")
    return user


class EmailInvitationFactory(factory.django.DjangoModelFactory):
    """An e-mail invitation of a partner school, with its invited membership."""

    class Meta:
        model = "partnerships.EmailInvitation"

    partnership = factory.SubFactory(PartnershipFactory)
    school = factory.SubFactory(SchoolFactory)
    membership = factory.LazyAttribute(
        lambda i: MembershipFactory(
            partnership=i.partnership, school=i.school, status=Membership.Status.INVITED, responded_at=None
        )
    )
    email = factory.Sequence(lambda n: f"contact{n}@partner{n}.sch.uk")
    nonce = factory.Sequence(lambda n: f"nonce-{n}")
    sent_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda i: i.sent_at + timedelta(days=14))


# --- Files (issue 20) --------------------------------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def attachment_type(programme, **extra):
    from grants.models import AttachmentType

    values = {"name": "Budget spreadsheet", "formats": ["pdf", "xlsx"], "required": True, **extra}
    return AttachmentType.objects.create(programme=programme, **values)


def upload(name="letter.pdf", content=PDF_BYTES, content_type="application/pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)
