"""Forms for the grants pages. They check the shape of what was typed; the rules live in
grants/services.py, whose ValidationErrors the views attach to these forms' fields."""

from decimal import Decimal

from django import forms
from django.core import validators
from django.core.exceptions import ValidationError

from grants.models import ApplicationMessage, BudgetLine, Payment, Score
from grants.reports import IMPACT_ANSWERS, IMPACT_QUESTIONS
from grants.services import (
    BARRIER_TAGS,
    COMMENT_LIMIT,
    DECLARATIONS,
    FACILITATOR_TAGS,
    MAX_BUDGET_LINES,
    MAX_REACH,
    NOTE_LIMIT,
    TEXT_FIELDS,
    TEXT_LIMIT,
)
from messaging import programme_templates
from portal.money import format_gbp

MONEY_ARGS = {"max_digits": 10, "decimal_places": 2}


class LimitedTextField(forms.CharField):
    """Text with a length limit that is *refused*, never cut: the widget gets no HTML maxlength
    (a browser silently drops whatever is pasted past it) but a data-limit that
    static/grants/autosave.js turns into a live character count, and the form says by how much
    a text is too long. Line breaks count as one character, as the services count them."""

    def __init__(self, *, max_length, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, validators.MaxLengthValidator)]
        self.validators.append(self._refuse_over_limit)

    def _refuse_over_limit(self, value):
        if value is not None and len(value) > self.max_length:
            raise forms.ValidationError(
                f"Keep this to {self.max_length:,} characters: it has {len(value):,}. Nothing was cut: "
                "shorten it and save again.",
                code="max_length",
            )

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        attrs["data-limit"] = str(self.max_length)
        return attrs


def _text(label, help_text="", rows=6):
    return LimitedTextField(
        label=label,
        required=False,
        max_length=TEXT_LIMIT,
        strip=False,
        help_text=help_text or f"Up to {TEXT_LIMIT:,} characters. Saved as you type.",
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def _comment(label, *, required=True, rows=4, help_text=""):
    return LimitedTextField(
        label=label,
        required=required,
        max_length=COMMENT_LIMIT,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class PartnershipCheckForm(forms.Form):
    """Carries the partnership the page was drawn for; a form posted for another partnership
    (a stale tab, a tampered field) is refused rather than saved into the wrong application."""

    partnership = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, application, **kwargs):
        self.application = application
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("partnership", application.partnership_id)
        super().__init__(*args, **kwargs)

    def clean_partnership(self):
        value = self.cleaned_data["partnership"]
        if value != self.application.partnership_id:
            raise forms.ValidationError(
                "This form was for another partnership's application. Reload the page and try again."
            )
        return value


class AimsForm(PartnershipCheckForm):
    aims = _text(TEXT_FIELDS["aims"])
    local_stem_issue = _text(TEXT_FIELDS["local_stem_issue"])


class ActivitiesForm(PartnershipCheckForm):
    planned_teacher_cpd = _text(TEXT_FIELDS["planned_teacher_cpd"])
    planned_student_activities = _text(TEXT_FIELDS["planned_student_activities"])


class TimelineForm(PartnershipCheckForm):
    timeline = _text(
        TEXT_FIELDS["timeline"], help_text="Term by term: what happens when, and who leads it.", rows=10
    )


class DeclarationsForm(PartnershipCheckForm):
    declaration_accurate = forms.BooleanField(label=DECLARATIONS["declaration_accurate"], required=False)
    declaration_state_funded = forms.BooleanField(
        label=DECLARATIONS["declaration_state_funded"], required=False
    )
    declaration_data_sharing = forms.BooleanField(
        label=DECLARATIONS["declaration_data_sharing"], required=False
    )


class BudgetHeaderForm(PartnershipCheckForm):
    pass


class BudgetLineForm(forms.Form):
    category = forms.ChoiceField(
        label="Category",
        choices=[("", "Choose…"), *BudgetLine.Category.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    # No max_digits: an amount too large to store is answered in the programme's terms ("The cap
    # is £12,000.00"), not with "no more than 10 digits in total" (issue 21).
    amount = forms.DecimalField(
        label="Amount (£)",
        decimal_places=2,
        error_messages={"max_decimal_places": "Enter pounds and pence: at most 2 decimal places."},
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.01", "min": "0.01"}),
    )
    note = LimitedTextField(
        label="Note",
        required=False,
        max_length=NOTE_LIMIT,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args, cap: Decimal | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cap = cap

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is None:
            return amount
        if amount <= 0:
            raise forms.ValidationError("Enter an amount above £0.00, or remove the line.")
        if amount >= Decimal("100000000"):  # too large to store, or to print as pounds
            cap = f"The cap is {format_gbp(self.cap)}" if self.cap is not None else "That is too much"
            raise forms.ValidationError(f"{cap}; this line is more than that.")
        if self.cap is not None and amount > self.cap:
            raise forms.ValidationError(
                f"The cap is {format_gbp(self.cap)}; this line is {format_gbp(amount)}."
            )
        return amount


class BaseBudgetLineFormSet(forms.BaseFormSet):
    """The budget lines as posted replace the saved ones. A posted formset is therefore never
    compared with the saved lines: every form counts as new (checked if anything is in it,
    dropped if it is blank), whatever the page's INITIAL_FORMS says. Comparing with the saved
    lines is what made a line that autosave had already stored look "unchanged" to "Save and
    continue", which then replaced the lines with nothing."""

    def __init__(self, data=None, *args, initial=None, **kwargs):
        super().__init__(data, *args, initial=None if data is not None else initial, **kwargs)

    def initial_form_count(self):
        return 0 if self.is_bound else super().initial_form_count()


BudgetLineFormSet = forms.formset_factory(
    BudgetLineForm,
    formset=BaseBudgetLineFormSet,
    extra=1,
    can_delete=True,
    max_num=MAX_BUDGET_LINES,
    validate_max=True,
)


class SubmitForm(PartnershipCheckForm):
    pass


STEPS = {
    1: ("Aims and the local STEM issue", AimsForm),
    2: ("Planned CPD and student activities", ActivitiesForm),
    3: ("Timeline", TimelineForm),
    4: ("Budget", BudgetHeaderForm),
    5: ("Declarations", DeclarationsForm),
    6: ("Review and submit", SubmitForm),
}


# --- Staff ----------------------------------------------------------------------------------


class OwnIdsForm(forms.Form):
    """The application page holds several of these forms at once, with the same field names
    (`comment`): each form gets its own id prefix, so every label points at its own field."""

    id_prefix = "id"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class RequestChangesForm(OwnIdsForm):
    id_prefix = "changes"

    comment = _comment("Changes needed", help_text="The lead sees this comment and edits the application.")


class ApproveForm(OwnIdsForm):
    id_prefix = "approve"

    amount = forms.DecimalField(
        label="Amount to award (£)",
        min_value=Decimal("0.01"),
        help_text="At most the sum requested.",
        **MONEY_ARGS,
    )
    comment = _comment("Comment (optional)", required=False, rows=3)


class RejectForm(OwnIdsForm):
    id_prefix = "reject"

    reason = _comment("Reason")


class ScoreForm(OwnIdsForm):
    id_prefix = "score"

    criterion = forms.ChoiceField(label="Criterion", choices=[("", "Choose…"), *Score.Criterion.choices])
    score = forms.TypedChoiceField(
        label="Score",
        coerce=int,
        choices=[("", "Choose…")] + [(n, f"{n}") for n in range(1, 6)],
        help_text="1 = weak, 5 = excellent.",
    )
    comment = _comment("Comment", required=False, rows=3)


class WithdrawForm(OwnIdsForm):
    id_prefix = "withdraw"

    comment = _comment("Why are you withdrawing? (optional)", required=False, rows=2)


class ReportReturnForm(OwnIdsForm):
    id_prefix = "return"

    comment = _comment("What needs changing")


class ReportAcceptForm(OwnIdsForm):
    id_prefix = "accept"

    comment = _comment("Comment (optional)", required=False, rows=2)


class ReportForm(PartnershipCheckForm):
    activities = forms.ModelMultipleChoiceField(
        label="Activities delivered",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The partnership's CPD and student activities this grant paid for.",
    )
    teachers_reached = forms.IntegerField(
        label="Teachers reached", min_value=0, max_value=MAX_REACH, initial=0
    )
    students_reached = forms.IntegerField(
        label="Students reached", min_value=0, max_value=MAX_REACH, initial=0
    )
    outcomes = _text("Outcomes observed", help_text="What changed for teachers and students.")
    barriers = forms.MultipleChoiceField(
        label="Barriers",
        required=False,
        choices=list(BARRIER_TAGS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    facilitators = forms.MultipleChoiceField(
        label="What helped",
        required=False,
        choices=list(FACILITATOR_TAGS.items()),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, application, **kwargs):
        super().__init__(*args, application=application, **kwargs)
        self.fields["activities"].queryset = application.partnership.activities.order_by("held_on", "title")
        self.spend_fields = []
        from grants.variations import varied_budget  # the approved budget with its approved changes

        for category, amount in varied_budget(application).items():
            name = f"spend_{category}"
            self.fields[name] = forms.DecimalField(
                label=f"Spent on {BudgetLine.Category(category).label.lower()} (£)",
                required=False,
                min_value=Decimal("0.00"),
                help_text=f"Budgeted: £{amount:,.2f}",
                **MONEY_ARGS,
            )
            self.spend_fields.append(name)
            self.fields[f"variance_{category}"] = LimitedTextField(
                label=f"Why spend on {BudgetLine.Category(category).label.lower()} differs from the budget",
                max_length=1000,
                required=False,
                help_text="Needed when spend is more than 10% above or below the budget line.",
            )
        for question, (audience, label) in IMPACT_QUESTIONS.items():
            self.fields[f"impact_{question}"] = forms.ChoiceField(
                label=f"{audience}: {label}",
                required=False,
                choices=[("", "Not answered"), *IMPACT_ANSWERS.items()],
            )

    def spend(self) -> dict:
        return {name.removeprefix("spend_"): self.cleaned_data.get(name) for name in self.spend_fields}

    def explanations(self) -> dict:
        return {
            name.removeprefix("spend_"): self.cleaned_data.get(f"variance_{name.removeprefix('spend_')}", "")
            for name in self.spend_fields
        }

    def impact(self) -> dict:
        return {q: self.cleaned_data.get(f"impact_{q}", "") for q in IMPACT_QUESTIONS}


# --- Filters --------------------------------------------------------------------------------


class PaymentFilterForm(forms.Form):
    """An instalment is in the period when it was due, released, paid (a transfer's date) or
    closed in it (grants.finance_views._filtered_payments)."""

    cohort = forms.ModelChoiceField(label="Cohort", queryset=None, required=False, empty_label="All cohorts")
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "All"), *Payment.Status.choices])
    date_from = forms.DateField(
        label="From (due, released, paid or closed)",
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )

    def __init__(self, *args, cohorts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = cohorts

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end of the period is before its start.")
        return data


class StartForm(forms.Form):
    """Starting an application has nothing to fill in: the page confirms the partnership."""


class MessageForm(OwnIdsForm):
    """A message in the application's conversation; staff may instead keep a staff note."""

    id_prefix = "message"

    body = LimitedTextField(
        label="Message",
        max_length=ApplicationMessage.BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class StaffMessageForm(MessageForm):
    staff_only = forms.BooleanField(
        label="Staff note — not shown to the applicant",
        required=False,
        help_text="Only programme staff see a staff note; nobody is told of it.",
    )


class ProgrammeTemplateForm(forms.Form):
    """A programme's wording of one message kind. The placeholders and syntax are checked by
    messaging.programme_templates.check, whose errors land next to the field they are about."""

    subject = forms.CharField(max_length=300, strip=False, required=False)
    body = forms.CharField(
        label="Opening text", widget=forms.Textarea(attrs={"rows": 8}), strip=False, required=False
    )

    def __init__(self, *args, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        names = ", ".join(f"${name}" for name in kind.placeholder_names)
        self.fields["subject"].help_text = f"Placeholders: {names}."
        self.fields["body"].help_text = (
            "Separate paragraphs with an empty line. What the message must carry (the comment from "
            "programme staff, amounts, the link) is added below your text."
        )

    def clean(self):
        data = super().clean()
        if "subject" in data and "body" in data:
            try:
                programme_templates.check(self.kind, subject=data["subject"], body=data["body"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return data


# --- Files (issue 20) --------------------------------------------------------------------------


class AttachmentForm(forms.Form):
    """One upload. The file is checked by grants.attachments (content, size, totals); the field
    is not required here so that a missing file gets the service's plain message."""

    attachment_type = forms.IntegerField(widget=forms.HiddenInput, required=False)
    school = forms.IntegerField(widget=forms.HiddenInput, required=False)
    file = forms.FileField(label="File", required=False, max_length=10_000, allow_empty_file=True)


class EvidenceForm(forms.Form):
    file = forms.FileField(
        label="Evidence file",
        required=False,
        max_length=10_000,
        allow_empty_file=True,
        help_text="A photo of students' work, an attendance sheet, a session plan: PDF, Word, Excel, CSV, "
        "PNG or JPEG.",
    )
    caption = forms.CharField(label="What it shows", required=False, max_length=10_000)


class BulkAcceptForm(forms.Form):
    reports = forms.TypedMultipleChoiceField(
        label="Reports to accept", coerce=int, choices=(), widget=forms.CheckboxSelectMultiple
    )
    comment = forms.CharField(label="Comment to the leads (optional)", required=False, max_length=10_000)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, reports, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reports"].choices = [(r.pk, str(r)) for r in reports]
