"""Schools register, programmes and their cohorts, partnerships and their member schools."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone


class Phase(models.TextChoices):
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"
    ALL_THROUGH = "all_through", "All-through"
    SIXTEEN_PLUS = "16_plus", "16 plus"
    FE_COLLEGE = "fe_college", "FE college"
    OTHER = "other", "Other"


class Funding(models.TextChoices):
    STATE = "state", "State-funded"
    INDEPENDENT = "independent", "Independent"


class OfstedRating(models.TextChoices):
    OUTSTANDING = "outstanding", "Outstanding"
    GOOD = "good", "Good"
    REQUIRES_IMPROVEMENT = "requires_improvement", "Requires improvement"
    INADEQUATE = "inadequate", "Inadequate"
    # Inspected, but the latest graded inspection gave no overall effectiveness grade (Ofsted
    # stopped single-word judgements for state-funded schools from September 2024).
    NOT_JUDGED = "not_judged", "No graded judgement"
    NOT_RATED = "not_rated", "Not yet rated"


class School(models.Model):
    """One establishment of the DfE register (Get Information about Schools)."""

    urn = models.PositiveIntegerField("URN", unique=True)
    name = models.CharField(max_length=200)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.OTHER)
    establishment_type = models.CharField(max_length=100, blank=True)
    funding = models.CharField(max_length=12, choices=Funding.choices, default=Funding.STATE)
    local_authority = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    district = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    pupils = models.PositiveIntegerField(null=True, blank=True)
    fsm_percent = models.DecimalField(
        "% FSM",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    ofsted_rating = models.CharField(
        max_length=24, choices=OfstedRating.choices, default=OfstedRating.NOT_RATED
    )
    ofsted_inspected_on = models.DateField(
        "Ofsted inspected on",
        null=True,
        blank=True,
        help_text="Start date of the inspection behind ofsted_rating (Ofsted management information).",
    )
    ofsted_source = models.CharField(
        max_length=200,
        blank=True,
        help_text="Where ofsted_rating comes from: empty or 'GIAS' (older GIAS files), else the Ofsted file.",
    )
    is_open = models.BooleanField(default=True)
    opportunity_area = models.CharField(max_length=60, blank=True)
    # Further register fields (GIAS), each optional in the file and blank when absent.
    website = models.CharField(max_length=200, blank=True, help_text="GIAS SchoolWebsite.")
    la_code = models.CharField("LA code", max_length=3, blank=True, help_text="GIAS LA (code), e.g. 890.")
    district_code = models.CharField(
        max_length=9, blank=True, help_text="GIAS DistrictAdministrative (code), e.g. E06000009."
    )
    ward_code = models.CharField(max_length=9, blank=True, help_text="GIAS AdministrativeWard (code).")
    lsoa_code = models.CharField("LSOA code", max_length=9, blank=True, help_text="GIAS LSOA (code).")
    constituency_code = models.CharField(
        max_length=9, blank=True, help_text="GIAS ParliamentaryConstituency (code)."
    )
    trust_code = models.CharField(max_length=20, blank=True, help_text="GIAS Trusts (code).")
    trust_name = models.CharField(max_length=200, blank=True, help_text="GIAS Trusts (name).")
    federation_code = models.CharField(max_length=20, blank=True, help_text="GIAS Federations (code).")
    federation_name = models.CharField(max_length=200, blank=True, help_text="GIAS Federations (name).")
    easting = models.PositiveIntegerField(null=True, blank=True, help_text="GIAS Easting (metres, OSGB36).")
    northing = models.PositiveIntegerField(null=True, blank=True, help_text="GIAS Northing (metres, OSGB36).")
    last_changed_on = models.DateField(null=True, blank=True, help_text="GIAS LastChangedDate.")
    is_synthetic = models.BooleanField(
        default=False,
        help_text="Generated for the demo or a benchmark, not a real establishment: never searchable, "
        "eligible or invitable.",
    )
    leads = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="SchoolLead", related_name="schools", blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["postcode"]),
            models.Index(fields=["phase", "region"]),
            models.Index(fields=["trust_code"]),
            models.Index(fields=["federation_code"]),
            models.Index(fields=["district_code"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(fsm_percent__isnull=True) | Q(fsm_percent__gte=0, fsm_percent__lte=100),
                name="school_fsm_percent_0_100",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.urn})"

    @property
    def in_opportunity_area(self) -> bool:
        return bool(self.opportunity_area)


class OfstedInspection(models.Model):
    """One inspection as Ofsted's management information reports it; the history is kept
    (each import adds the inspections it has not seen)."""

    class Kind(models.TextChoices):
        GRADED = "graded", "Graded (full) inspection"
        UNGRADED = "ungraded", "Ungraded inspection"

    class Judgement(models.TextChoices):
        OUTSTANDING = "1", "Outstanding"
        GOOD = "2", "Good"
        REQUIRES_IMPROVEMENT = "3", "Requires improvement"
        INADEQUATE = "4", "Inadequate"
        NOT_JUDGED = "not_judged", "Not judged (no overall effectiveness grade)"

    urn = models.PositiveIntegerField("URN", db_index=True)
    school = models.ForeignKey(
        School, on_delete=models.SET_NULL, null=True, blank=True, related_name="ofsted_inspections"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GRADED)
    inspection_type = models.CharField(max_length=120, blank=True)
    started_on = models.DateField()
    published_on = models.DateField(null=True, blank=True)
    overall_effectiveness = models.CharField(max_length=10, choices=Judgement.choices, blank=True)
    source_file = models.CharField(max_length=200)
    publication = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["urn", "-started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["urn", "kind", "started_on"], name="ofstedinspection_unique_event"
            ),
            models.CheckConstraint(
                condition=Q(kind="ungraded", overall_effectiveness="") | Q(kind="graded"),
                name="ofstedinspection_ungraded_has_no_judgement",
            ),
        ]

    def __str__(self):
        return f"URN {self.urn}: {self.get_kind_display()} {self.started_on}"


class SchoolLead(models.Model):
    """A user who acts for a school. A school may have several leads."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="school_links")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="lead_links")
    role_at_school = models.CharField(max_length=100, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "school"], name="schoollead_unique_user_school")
        ]

    def __str__(self):
        return f"{self.user} at {self.school}"


# A cost code: letters, digits and . / _ - , starting with a letter or digit (so no export cell
# can begin with a formula character), or empty.
COST_CODE_PATTERN = r"^([A-Za-z0-9][A-Za-z0-9./_-]*)?$"


class Programme(models.Model):
    class Kind(models.TextChoices):
        PARTNERSHIPS = "partnerships", "Partnerships of schools"
        CLUSTERS = "clusters", "Clusters of schools"

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PARTNERSHIPS)
    description = models.TextField(blank=True)
    grant_cap = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("12000.00"))
    min_schools = models.PositiveSmallIntegerField(
        default=5, help_text="Minimum confirmed schools, lead included."
    )
    cluster_size = models.PositiveSmallIntegerField(
        default=5, help_text="Exact number of schools in a cluster."
    )
    eligible_phases = models.JSONField(default=list, blank=True, help_text="Empty means every phase.")
    state_funded_only = models.BooleanField(default=True)
    eligible_ofsted_ratings = models.JSONField(default=list, blank=True, help_text="Empty means any rating.")
    opportunity_areas_only = models.BooleanField(default=False)
    first_instalment_percent = models.PositiveSmallIntegerField(
        default=50,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Share of the award paid on approval; the rest when the end-of-grant report is accepted.",
    )
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="programmes", blank=True)
    # The funder's accounting code for the programme's grants (finance exports; issue 19). A
    # cohort may have its own (Cohort.cost_code), else it uses this one.
    cost_code = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cost_code__regex=COST_CODE_PATTERN), name="programme_cost_code_format"
            ),
            models.CheckConstraint(condition=Q(grant_cap__gte=0), name="programme_grant_cap_gte_0"),
            models.CheckConstraint(condition=Q(min_schools__gte=1), name="programme_min_schools_gte_1"),
            models.CheckConstraint(
                condition=Q(first_instalment_percent__lte=100), name="programme_instalment_lte_100"
            ),
        ]

    def __str__(self):
        return self.name


class Cohort(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(max_length=120)
    starts_on = models.DateField()
    ends_on = models.DateField()
    applications_open_at = models.DateTimeField()
    applications_close_at = models.DateTimeField()
    budget = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    cost_code = models.CharField(max_length=40, blank=True)  # empty: the programme's

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cost_code__regex=COST_CODE_PATTERN), name="cohort_cost_code_format"
            ),
            models.UniqueConstraint(fields=["programme", "name"], name="cohort_unique_name_per_programme"),
            models.CheckConstraint(condition=Q(budget__gte=0), name="cohort_budget_gte_0"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="cohort_ends_after_start"),
            models.CheckConstraint(
                condition=Q(applications_close_at__gte=F("applications_open_at")),
                name="cohort_window_closes_after_opening",
            ),
        ]

    def __str__(self):
        return f"{self.programme.name} {self.name}"

    @property
    def effective_cost_code(self) -> str:
        return self.cost_code or self.programme.cost_code

    def is_open_for_applications(self, at=None) -> bool:
        at = at or timezone.now()
        return self.applications_open_at <= at <= self.applications_close_at

    def is_running(self, on=None) -> bool:
        on = on or timezone.localdate()
        return self.starts_on <= on <= self.ends_on


class Partnership(models.Model):
    class Status(models.TextChoices):
        FORMING = "forming", "Forming"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="partnerships")
    name = models.CharField(max_length=200)
    lead_school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="led_partnerships")
    local_stem_issue = models.TextField("Local STEM issue to address", max_length=5000)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.FORMING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("view_all_partnerships", "Can see every partnership")]
        indexes = [models.Index(fields=["cohort", "status"])]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A school in a partnership. `cohort` repeats the partnership's so that the
    database itself can refuse one school in two partnerships of the same cohort."""

    class Role(models.TextChoices):
        LEAD = "lead", "Lead school"
        PARTNER = "partner", "Partner school"

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        # Said yes (or started the partnership) as a person not yet verified for the school:
        # counts towards nothing and holds no place until programme staff or the school's
        # mail domain vouch for them (docs/architecture.md, "Who speaks for a school").
        ACCEPTED = "accepted", "Accepted — awaiting verification"
        CONFIRMED = "confirmed", "Confirmed"
        DECLINED = "declined", "Declined"

    # The statuses that hold the school's one place in the cohort.
    HOLDS_PLACE = ("invited", "confirmed")

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="memberships")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="memberships")
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.PARTNER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INVITED)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invited_at = models.DateTimeField(default=timezone.now)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-role", "school__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "cohort"],
                condition=Q(status__in=["invited", "confirmed"]),
                name="membership_one_partnership_per_cohort",
                violation_error_message="This school is already in a partnership in this cohort.",
            ),
            models.UniqueConstraint(
                fields=["partnership", "school"], name="membership_unique_school_per_partnership"
            ),
            models.UniqueConstraint(
                fields=["partnership"], condition=Q(role="lead"), name="membership_one_lead_per_partnership"
            ),
            models.CheckConstraint(
                condition=~Q(role="lead") | Q(status__in=["confirmed", "accepted"]),
                name="membership_lead_confirmed_or_awaiting",
            ),
        ]

    def __str__(self):
        return f"{self.school} in {self.partnership} ({self.get_status_display()})"


# --- Onboarding: sign-up, verification, e-mail invitations, reminders, notifications -------


class EmailConfirmation(models.Model):
    """A sign-up waiting for its e-mail address to be confirmed (confirmed_at empty), or the
    record of when it was. The verification link is single-use because its signature covers
    confirmed_at and the password hash (partnerships/onboarding.py)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"E-mail confirmation for {self.user}"


class VerifiedDomain(models.Model):
    """An e-mail domain known to belong to a school's staff: a lead signing up for the school
    with an address at this domain is verified for it without waiting for programme staff."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="verified_domains")
    domain = models.CharField(max_length=253)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["school", "domain"], name="verifieddomain_unique_school_domain"),
            models.CheckConstraint(condition=Q(domain=Lower("domain")), name="verifieddomain_lower"),
        ]

    def __str__(self):
        return f"{self.domain} for {self.school}"

    def clean(self):
        from partnerships.trust import public_provider_reason

        self.domain = (self.domain or "").strip().lower()
        reason = public_provider_reason(self.domain)
        if reason:
            raise ValidationError({"domain": reason})


class LeadVerificationRequest(models.Model):
    """A programme-staff task: confirm that this person works at this school."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for programme staff"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class Source(models.TextChoices):
        SIGNUP = "signup", "Signed up as a lead"
        INVITATION = "invitation", "Accepted an e-mail invitation"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    role_at_school = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.SIGNUP)
    invitation = models.ForeignKey(
        "EmailInvitation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["status", "requested_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "school"],
                condition=Q(status="pending"),
                name="leadverificationrequest_one_pending_per_link",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reason=""),
                name="leadverificationrequest_rejected_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.user} at {self.school}: {self.get_status_display()}"


class EmailInvitation(models.Model):
    """A partner school's contact invited by e-mail into a partnership. The link carries the
    id and `nonce` signed; resending replaces the nonce, so only the newest link works."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        OPENED = "opened", "Opened"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    LIVE = ("sent", "opened")

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="email_invitations")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="email_invitations"
    )
    email = models.EmailField(max_length=254, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    nonce = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    send_count = models.PositiveSmallIntegerField(default=1)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["status", "sent_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "email"],
                condition=Q(status__in=["sent", "opened"]) & ~Q(email=""),
                name="emailinvitation_one_live_per_address",
            ),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="emailinvitation_email_lower"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("sent_at")), name="emailinvitation_expires_after_sent"
            ),
        ]

    def __str__(self):
        return f"Invitation of {self.school} to {self.partnership} ({self.email})"

    @property
    def state(self) -> str:
        """sent, opened, accepted, declined, withdrawn or expired, as the inviting lead sees it."""
        if self.status in self.LIVE:
            if self.membership_id is None:
                return self.Status.WITHDRAWN
            if self.membership.status in (Membership.Status.CONFIRMED, Membership.Status.ACCEPTED):
                return self.Status.ACCEPTED
            if self.membership.status == Membership.Status.DECLINED:
                return self.Status.DECLINED
            if self.expires_at <= timezone.now():
                return "expired"
        return self.status

    @property
    def state_label(self) -> str:
        return "Expired" if self.state == "expired" else self.Status(self.state).label


# --- Trust: one-time codes for invitations, and the trail of who vouched for whom -----------


class InvitationCode(models.Model):
    """A one-time code e-mailed to an invitation's address: with the signed link it lets the
    invited person accept without a password. Only a hash is kept; it expires, it is good for
    one use, and a few wrong tries use it up (partnerships/invitations.py)."""

    invitation = models.ForeignKey(EmailInvitation, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="invitationcode_expires_after_created"
            ),
        ]

    def __str__(self):
        return f"Code for invitation {self.invitation_id}"


class TrustEvent(models.Model):
    """Append-only: who vouched for whom, and what a refused claim undid."""

    class Action(models.TextChoices):
        VERIFIED_BY_STAFF = "verified_by_staff", "Verified by programme staff"
        VERIFIED_BY_DOMAIN = "verified_by_domain", "Verified by the school's mail domain"
        CLAIM_REJECTED = "claim_rejected", "Claim to the school rejected"
        DOMAIN_TRUSTED = "domain_trusted", "Mail domain trusted for the school"
        ACCEPTED_AWAITING = "accepted_awaiting", "Accepted, awaiting verification"
        MEMBERSHIP_CONFIRMED = "membership_confirmed", "Membership confirmed on verification"
        MEMBERSHIP_LAPSED = "membership_lapsed", "Acceptance lapsed: the school joined elsewhere"
        PARTNERSHIP_WITHDRAWN = "partnership_withdrawn", "Partnership withdrawn: its lead's claim was refused"
        ACCEPTANCE_WITHDRAWN = "acceptance_withdrawn", "Acceptance withdrawn: the claim was refused"
        INVITATION_WITHDRAWN = "invitation_withdrawn", "Invitation withdrawn: the claim was refused"
        MEMBERSHIP_MOVED = "membership_moved", "Membership moved to the school's successor URN"

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=30, choices=Action.choices)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    school = models.ForeignKey(School, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    partnership = models.ForeignKey(
        Partnership, on_delete=models.SET_NULL, null=True, blank=True, related_name="trust_events"
    )
    comment = models.TextField(blank=True, max_length=5000)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["school", "at"])]

    def __str__(self):
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Trust events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Trust events cannot be deleted.")

    @classmethod
    def record(cls, action, *, by=None, subject=None, school=None, partnership=None, comment=""):
        return cls.objects.create(
            action=action, actor=by, subject=subject, school=school, partnership=partnership, comment=comment
        )


class SchoolLink(models.Model):
    """One row of the GIAS links file (`links_edubasealldata*.csv`): establishment `urn` is linked to
    `linked_urn` as, for example, its "Successor" (an academy conversion gives the converter a new
    URN). Keyed by URN, not by School: either end may be missing from the register.

    `relation` is the direction the link type gives: `successor` (the linked URN came after this
    one), `predecessor` (it came before), `merged` ("Merged - …": the schools became one; followed
    like a successor, see partnerships.lineage for the direction), or `other` (sixth-form centres
    and the like, shown but never followed).
    """

    class Relation(models.TextChoices):
        SUCCESSOR = "successor", "Successor"
        PREDECESSOR = "predecessor", "Predecessor"
        MERGED = "merged", "Merged"
        OTHER = "other", "Other link"

    urn = models.PositiveIntegerField("URN")
    linked_urn = models.PositiveIntegerField("linked URN")
    linked_name = models.CharField(max_length=200, blank=True, help_text="GIAS LinkName.")
    link_type = models.CharField(max_length=100, help_text="GIAS LinkType, as published.")
    relation = models.CharField(max_length=12, choices=Relation.choices)
    established_on = models.DateField(null=True, blank=True, help_text="GIAS LinkEstablishedDate.")
    source = models.CharField(max_length=200, blank=True, help_text="File it was imported from.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["urn", "established_on", "linked_urn"]
        indexes = [models.Index(fields=["linked_urn"])]
        constraints = [
            models.UniqueConstraint(fields=["urn", "linked_urn", "link_type"], name="schoollink_unique"),
            models.CheckConstraint(condition=~Q(urn=F("linked_urn")), name="schoollink_not_to_itself"),
        ]

    def __str__(self):
        return f"{self.urn} → {self.linked_urn} ({self.link_type})"


class DataImport(models.Model):
    """One run of a public-data import (GIAS register, GIAS links, outcomes …), uploaded by staff
    or fetched by the daily refresh, run as a Celery task (partnerships.tasks.run_data_import).
    The page polls `state`/`rows_done`; `report` holds the importer's counts when done."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        UPLOAD = "upload", "Uploaded by hand"
        DAILY = "daily", "Daily refresh"

    kind = models.CharField(max_length=20, help_text="A kind registered in partnerships.imports.")
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.UPLOAD)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    file_name = models.CharField(max_length=200, help_text="The file's name as uploaded or downloaded.")
    stored_path = models.CharField(max_length=500, blank=True, help_text="Where the file waits for the task.")
    size = models.PositiveBigIntegerField(default=0)
    options = models.JSONField(default=dict, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    rows_expected = models.PositiveIntegerField(
        default=0, help_text="Lines in the file, for the progress bar."
    )
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rows_expected=0) | Q(rows_done__lte=F("rows_expected")),
                name="dataimport_rows_done_lte_expected",
            ),
        ]

    def __str__(self):
        return f"{self.kind} import of {self.file_name} ({self.get_state_display()})"

    @property
    def percent(self) -> int:
        if self.state in (self.State.DONE, self.State.FAILED):
            return 100
        if not self.rows_expected:
            return 0
        return min(99, round(100 * self.rows_done / self.rows_expected))

    @property
    def is_busy(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)
