from django import forms
from django.core.exceptions import ValidationError

from partnerships.models import Cohort, Partnership, Phase, School


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: field errors on their fields (when the
    form has that field), the rest at the top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class PartnershipForm(forms.Form):
    cohort = forms.ModelChoiceField(
        queryset=Cohort.objects.none(),
        label="Programme and cohort",
        help_text="Cohorts open for applications.",
    )
    lead_school = forms.ModelChoiceField(queryset=School.objects.none(), label="Lead school")
    name = forms.CharField(max_length=200, label="Partnership name")
    local_stem_issue = forms.CharField(
        label="Local STEM issue to address",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="The local problem in science, technology, engineering or maths you will tackle.",
    )

    def __init__(self, *args, cohorts, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = cohorts
        self.fields["lead_school"].queryset = schools
        only = list(schools[:2])
        if len(only) == 1:
            self.fields["lead_school"].initial = only[0]


class SchoolSearchForm(forms.Form):
    q = forms.CharField(
        label="School name, URN or postcode",
        min_length=2,
        max_length=100,
        help_text="At least two characters, e.g. “Oak”, “110007” or “FY1”.",
    )


class StaffPartnershipFilterForm(forms.Form):
    cohort = forms.ModelChoiceField(queryset=Cohort.objects.none(), required=False, empty_label="All cohorts")
    status = forms.ChoiceField(choices=[("", "Any status"), *Partnership.Status.choices], required=False)
    region = forms.ChoiceField(choices=[], required=False, label="Region (lead school)")
    phase = forms.ChoiceField(
        choices=[("", "Any phase"), *Phase.choices], required=False, label="Phase (any confirmed member)"
    )

    def __init__(self, *args, cohorts, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = cohorts
        self.fields["region"].choices = [("", "Any region"), *((r, r) for r in regions)]
