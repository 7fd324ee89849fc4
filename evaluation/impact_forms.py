"""The analysis plan form: what staff may set in a cohort's plan (the rest of the content keeps
its default), and the reason a frozen plan is changed."""

import copy
from decimal import Decimal

from django import forms

from evaluation import impact_data, impact_plans


def _choices():
    return [
        (o, impact_data.outcome_label(o)) for o in impact_plans.OUTCOMES if o not in impact_data.GAP_PARTS
    ] + [(o, impact_data.outcome_label(o)) for o in impact_data.GAP_PARTS]


class PlanForm(forms.Form):
    primary_outcome = forms.ChoiceField(
        label="Primary outcome", help_text="The one outcome the evaluation stands on."
    )
    secondary_outcomes = forms.MultipleChoiceField(
        label="Secondary outcomes",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Reported with Holm's correction for testing several outcomes.",
    )
    years_before = forms.IntegerField(
        label="Years before the start (including the baseline year)", min_value=2, max_value=10
    )
    years_after = forms.IntegerField(label="Years after the start", min_value=1, max_value=10)
    caliper_sd = forms.DecimalField(
        label="Caliper (standard deviations of the logit of the propensity score)",
        min_value=Decimal("0.01"),
        max_value=Decimal("1"),
        decimal_places=2,
    )
    pupil_sd = forms.DecimalField(
        label="Pupil-level standard deviation of the primary outcome (optional)",
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("999"),
        decimal_places=2,
        help_text="From the publisher's national figures; needed for the EEF months' progress conversion.",
    )
    reason = forms.CharField(
        label="Reason for the change",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed once the plan is frozen: the change becomes a new, dated version.",
    )

    def __init__(self, *args, plan=None, **kwargs):
        self.plan = plan
        content = plan.content if plan is not None else {}
        initial = kwargs.pop("initial", None) or {}
        if content:
            pupil = content.get("effect_size", {}).get("pupil_sd", {}).get(content["primary_outcome"])
            initial = {
                "primary_outcome": content["primary_outcome"],
                "secondary_outcomes": content.get("secondary_outcomes", []),
                "years_before": content["window"]["years_before"],
                "years_after": content["window"]["years_after"],
                "caliper_sd": Decimal(str(content["matching"]["caliper_sd"])),
                "pupil_sd": None if pupil is None else Decimal(str(pupil)),
                **initial,
            }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["primary_outcome"].choices = _choices()
        self.fields["secondary_outcomes"].choices = _choices()
        if plan is not None and plan.is_frozen:
            self.fields["reason"].required = True

    def clean(self):
        data = super().clean()
        primary, secondary = data.get("primary_outcome"), data.get("secondary_outcomes") or []
        if primary and primary in secondary:
            self.add_error("secondary_outcomes", "The primary outcome cannot also be a secondary outcome.")
        return data

    def content(self, base: dict) -> dict:
        """The plan content this form describes, on top of `base` (the current content)."""
        data = self.cleaned_data
        content = copy.deepcopy(base)
        content["primary_outcome"] = data["primary_outcome"]
        content["secondary_outcomes"] = [o for o in _choices_order() if o in set(data["secondary_outcomes"])]
        content["window"] = {"years_before": data["years_before"], "years_after": data["years_after"]}
        content["matching"]["caliper_sd"] = float(data["caliper_sd"])
        pupil = {} if data.get("pupil_sd") is None else {data["primary_outcome"]: float(data["pupil_sd"])}
        content.setdefault("effect_size", {})["pupil_sd"] = pupil
        return content


def _choices_order() -> list[str]:
    return [value for value, _ in _choices()]
