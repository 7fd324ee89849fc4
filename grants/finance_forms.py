"""Forms of the finance pages (issue 19). They only shape input: every rule is in
grants/payments.py, grants/agreements.py and grants/payees.py."""

from django import forms

from grants.models import BudgetLine, Payment

TRIGGER_CHOICES = [(t.value, t.label) for t in Payment.Trigger if t != Payment.Trigger.ON_APPROVAL]


class RecordPaymentForm(forms.Form):
    amount = forms.CharField(label="Amount paid (£)", max_length=20)
    paid_on = forms.DateField(
        label="Date paid", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    reference = forms.CharField(label="Payment reference (from the finance system)", max_length=100)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class ReclaimForm(ReasonForm):
    amount = forms.CharField(label="Amount to reclaim (£)", max_length=20)


class InstalmentForm(forms.Form):
    amount = forms.CharField(label="Amount (£)", max_length=20, required=False)
    trigger = forms.ChoiceField(label="Paid", choices=[("", "—"), *TRIGGER_CHOICES], required=False)
    due_on = forms.DateField(
        label="Date (if paid on a date)",
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )


InstalmentFormSet = forms.formset_factory(
    InstalmentForm, extra=0, max_num=12, absolute_max=12, validate_max=True
)


class ScheduleReasonForm(forms.Form):
    reason = forms.CharField(
        label="Why the schedule changes (kept in the grant's history)",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
    )


class AcceptAgreementForm(forms.Form):
    signed_name = forms.CharField(label="Your full name", max_length=200)
    signed_role = forms.CharField(label="Your role at the school", max_length=200)
    terms_version = forms.CharField(widget=forms.HiddenInput, max_length=40)
    confirmed = forms.BooleanField(
        label=(
            "I have read the award letter and the terms above, and accept them on behalf of the lead school"
        ),
        required=True,
    )


class DeclineAgreementForm(forms.Form):
    decline_reason = forms.CharField(
        label="Why the school declines the grant", widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


class PayeeForm(forms.Form):
    finance_contact_name = forms.CharField(label="Finance contact's name", max_length=200)
    finance_contact_email = forms.CharField(label="Finance contact's e-mail", max_length=254)
    account_name = forms.CharField(label="Name on the bank account", max_length=40)
    sort_code = forms.CharField(label="Sort code", max_length=12, help_text="6 digits, like 30-99-50.")
    account_number = forms.CharField(label="Account number", max_length=12, help_text="8 digits.")


CATEGORY_CHOICES = [("", "—"), *BudgetLine.Category.choices]


class VariationForm(forms.Form):
    from_category = forms.ChoiceField(label="Move money from", choices=CATEGORY_CHOICES)
    to_category = forms.ChoiceField(label="To", choices=CATEGORY_CHOICES)
    amount = forms.CharField(label="Amount (£)", max_length=20)
    reason = forms.CharField(
        label="Why the budget needs to change", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class DecideVariationForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=[("approve", "Approve"), ("refuse", "Refuse")],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="Comment to the lead school (needed to refuse)",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        required=False,
    )
