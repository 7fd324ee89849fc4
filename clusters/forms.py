from django import forms

from clusters.models import CPDActivity, Feedback, FocusArea
from clusters.services import ACTIVITY_FIELDS, MAX_HOURS
from partnerships.models import School

RATING_CHOICES = [(n, str(n)) for n in range(1, 6)]


class ActivityForm(forms.ModelForm):
    class Meta:
        model = CPDActivity
        fields = [*ACTIVITY_FIELDS, "schools"]  # the view hands ACTIVITY_FIELDS on to the service
        labels = {"held_on": "Date held", "schools": "Schools taking part"}
        widgets = {
            "held_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 3}),
            "schools": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "hours": "More than 0, at most 1,000.",
            "held_on": "Within the cohort's delivery period.",
            "schools": "Only member schools are listed; tick at least one.",
            "teachers_reached": "At most one per 10 pupils of the schools taking part.",
            "students_reached": "At most the pupils on the register of the schools taking part.",
        }

    def __init__(self, *args, member_schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["schools"].queryset = member_schools

    def clean_hours(self):
        hours = self.cleaned_data["hours"]
        if hours is not None and not 0 < hours <= MAX_HOURS:
            raise forms.ValidationError(f"Hours must be more than 0 and at most {MAX_HOURS}.")
        return hours


def rating_field(name: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=Feedback._meta.get_field(name).verbose_name,
        choices=RATING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        help_text="1 = not useful, 5 = very useful.",
    )


class FeedbackForm(forms.ModelForm):
    engaging_ideas = rating_field("engaging_ideas")
    hands_on = rating_field("hands_on")
    sharing_across_schools = rating_field("sharing_across_schools")
    overall_usefulness = rating_field("overall_usefulness")

    class Meta:
        model = Feedback
        fields = [
            "engaging_ideas",
            "hands_on",
            "sharing_across_schools",
            "overall_usefulness",
            "expects_more_cpd",
            "comments",
        ]
        widgets = {"comments": forms.Textarea(attrs={"rows": 4})}


class ClusterBuildForm(forms.Form):
    """Name a cluster and choose its schools. Any school may be posted: the service refuses an
    ineligible or already clustered one with its reason, next to the field."""

    name = forms.CharField(max_length=200, label="Cluster name")
    schools = forms.ModelMultipleChoiceField(
        queryset=School.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        label="Schools",
        help_text="Eligible schools of this cohort's programme that are in no cluster yet.",
    )

    def __init__(self, *args, candidates, size, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["schools"]
        field.help_text = f"Choose exactly {size}. " + field.help_text
        field.widget.choices = [
            (
                school.pk,
                f"{school.name} (URN {school.urn}) · {school.get_phase_display()} · "
                f"{school.local_authority or 'no LA'} · {school.opportunity_area}",
            )
            for school in candidates
        ]


SCORE_CHOICES = [
    ("", "Not answered yet"),
    ("1", "1 – great need"),
    ("2", "2"),
    ("3", "3"),
    ("4", "4"),
    ("5", "5 – little need"),
]
FOCUS_QUESTIONS = {
    "leadership": "How well do senior leaders plan, support and monitor STEM across the school?",
    "great_teaching": "How confident and well supported are teachers in practical science and maths?",
    "science_capital": "How far do lessons draw on pupils' and families' experience of science?",
    "careers_guidance": "How well do pupils learn about STEM careers and meet people who work in them?",
}


class NeedsQuestionnaireForm(forms.Form):
    """The four focus areas: a score and notes each. Everything optional here: the service decides
    what a draft may leave empty and what submitting needs. No HTML maxlength: the service refuses
    too long notes with the count, never cuts them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for area, label in FocusArea.choices:
            self.fields[f"{area}_score"] = forms.ChoiceField(
                label=f"{label}: score",
                choices=SCORE_CHOICES,
                required=False,
                help_text=FOCUS_QUESTIONS[area],
            )
            self.fields[f"{area}_notes"] = forms.CharField(
                label=f"{label}: what you see and what you need",
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
                strip=False,
            )

    def answers(self) -> dict:
        data = self.cleaned_data
        return {
            area: {"score": data.get(f"{area}_score") or None, "notes": data.get(f"{area}_notes") or ""}
            for area in FocusArea.values
        }


class NeedsReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("accept", "Reviewed: write the plan"), ("return", "Return to the school to change")],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Comment")


class PlanItemForm(forms.Form):
    school = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Every school in the cluster", label="School"
    )
    focus_area = forms.ChoiceField(choices=[], label="Focus area")
    title = forms.CharField(label="Title")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Description"
    )
    planned_hours = forms.DecimalField(label="Planned hours", max_digits=6, decimal_places=1)
    planned_on = forms.DateField(label="Planned for", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools
        self.fields["focus_area"].choices = [("", "Choose…"), *FocusArea.choices]
