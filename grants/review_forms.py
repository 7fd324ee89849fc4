"""Forms of the review pages (issue 17): the queue's filters, the one-form review, assignment,
conflict declarations, the rubric editor, review settings and the panel's decisions. They check
the shape of what was typed; grants/review.py and grants/services.py hold the rules."""

from decimal import Decimal

from django import forms

from grants.forms import LimitedTextField, OwnIdsForm
from grants.models import Application, Review
from grants.queue import DEFAULT_SORT, SORTS, Round
from grants.review_models import SCALE_MAX_LIMIT, SCALE_MIN
from partnerships.models import Phase

SORT_CHOICES = [
    *((key, f"{label}, lowest first") for key, (label, _) in SORTS.items()),
    *((f"-{key}", f"{label}, highest first") for key, (label, _) in SORTS.items()),
]


class QueueForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Reference, partnership, school name or URN.",
    )
    round = forms.ChoiceField(label="Rounds", required=False, choices=Round.CHOICES)
    cohort = forms.ModelChoiceField(label="Cohort", queryset=None, required=False, empty_label="Any cohort")
    status = forms.ChoiceField(
        label="State",
        required=False,
        choices=[("", "Any state but draft"), *(c for c in Application.Status.choices if c[0] != "draft")],
    )
    reviewer = forms.ModelChoiceField(label="Reviewer", queryset=None, required=False, empty_label="Anyone")
    assigned_to_me = forms.BooleanField(label="Assigned to me", required=False)
    min_score = forms.DecimalField(
        label="Mean score at least", required=False, min_value=0, max_value=SCALE_MAX_LIMIT, decimal_places=2
    )
    region = forms.ChoiceField(label="Region of the lead school", required=False)
    phase = forms.ChoiceField(
        label="Phase of the lead school", required=False, choices=[("", "All phases"), *Phase.choices]
    )
    sort = forms.ChoiceField(label="Sort by", required=False, choices=SORT_CHOICES, initial=DEFAULT_SORT)

    def __init__(self, *args, cohorts, regions, reviewers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = cohorts
        self.fields["reviewer"].queryset = reviewers
        self.fields["reviewer"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["region"].choices = [("", "All regions")] + [(r, r) for r in regions]


class ReviewForm(forms.Form):
    """Every criterion of the rubric at once: a score (its descriptors as the choices' labels)
    and a comment each, then the recommendation, a comment for staff and a private note."""

    recommendation = forms.ChoiceField(
        label="Overall recommendation", choices=Review.Recommendation.choices, widget=forms.RadioSelect
    )
    comment = LimitedTextField(
        label="Comment for programme staff and the panel",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    private_note = LimitedTextField(
        label="Private note (only you see it)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, rubric, **kwargs):
        super().__init__(*args, **kwargs)
        self.rubric = rubric
        self.criteria = list(rubric.criteria.all())
        fields = {}
        for c in self.criteria:
            fields[f"score_{c.pk}"] = forms.TypedChoiceField(
                label=f"Score for {c.name}",
                coerce=int,
                choices=[(n, f"{n} — {d}") for n, d in enumerate(c.descriptors, start=1)],
                widget=forms.RadioSelect,
                help_text=c.guidance,
            )
            fields[f"comment_{c.pk}"] = LimitedTextField(
                label=f"Comment on {c.name}",
                required=False,
                max_length=5000,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        self.fields = {**fields, **self.fields}

    def scores(self) -> dict[int, tuple[int, str]]:
        d = self.cleaned_data
        return {c.pk: (d[f"score_{c.pk}"], d.get(f"comment_{c.pk}", "")) for c in self.criteria}

    def criterion_fields(self):
        """(criterion, score field, comment field) for the template."""
        return [(c, self[f"score_{c.pk}"], self[f"comment_{c.pk}"]) for c in self.criteria]


class ConflictDeclareForm(OwnIdsForm):
    id_prefix = "conflict"
    reason = LimitedTextField(
        label="What is the conflict?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Your assignment ends and you will not be asked to review this application again.",
    )


class AssignForm(OwnIdsForm):
    id_prefix = "assign"
    reviewer = forms.ModelChoiceField(label="Reviewer", queryset=None, empty_label="Choose…")
    override_reason = LimitedTextField(
        label="Reason for overriding a conflict found in the register (only if you must)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, reviewers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = reviewers
        self.fields["reviewer"].label_from_instance = lambda u: u.get_full_name() or u.username


class AutoAssignForm(OwnIdsForm):
    id_prefix = "auto"
    per_application = forms.IntegerField(label="Reviewers per application", min_value=1, max_value=10)


class RubricForm(forms.Form):
    scale_max = forms.TypedChoiceField(
        label="Scores run from 1 to",
        coerce=int,
        choices=[(n, str(n)) for n in range(SCALE_MIN, SCALE_MAX_LIMIT + 1)],
        initial=5,
    )


class CriterionForm(forms.Form):
    name = forms.CharField(label="Criterion", max_length=120)
    weight = forms.IntegerField(label="Weight", min_value=1, max_value=100, initial=1)
    guidance = forms.CharField(
        label="Guidance for reviewers",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    descriptors = forms.CharField(
        label="What each score means, one line per score, lowest first",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def descriptor_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["descriptors"].splitlines() if line.strip()]


# Blank extra forms are left out (an untouched form has no cleaned_data), so staff can add up to
# three criteria per save.
CriterionFormSet = forms.formset_factory(
    CriterionForm, extra=3, max_num=20, validate_max=True, can_delete=True
)


class ReviewSettingsForm(forms.Form):
    blind_review = forms.BooleanField(
        label="Blind review: reviewers do not see the partnership's or the schools' names", required=False
    )
    conflict_same_local_authority = forms.BooleanField(
        label="A reviewer linked to a school in the same local authority is conflicted", required=False
    )
    reviewers_per_application = forms.IntegerField(
        label="Reviewers per application", min_value=1, max_value=10
    )
    disagreement_threshold = forms.DecimalField(
        label="Flag when reviewers' weighted scores differ by more than",
        min_value=Decimal(0),
        max_value=Decimal(SCALE_MAX_LIMIT),
        decimal_places=2,
    )


class ConfirmForm(forms.Form):
    """The second step of an irreversible action: the page shows what will happen, this says yes."""

    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ExtensionForm(forms.Form):
    """Deadline extensions (grants/extensions.py): the new deadline and why."""

    until = forms.DateTimeField(
        label="New deadline",
        help_text="Date and time (UK time). It must be after the round's deadline.",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"],
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"}),
    )
    reason = LimitedTextField(
        label="Reason",
        max_length=2000,
        help_text="The lead school is told this, and it is kept in the application's history.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
