"""Forms for sign-up, e-mail confirmation, e-mail invitations, verification decisions and
closing an account."""

from django import forms
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError

from partnerships.models import School


class PasswordPair(forms.Form):
    """A new password, typed twice, checked by the project's validators (settings)."""

    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def user_for_validation(self) -> User:
        data = self.cleaned_data
        return User(
            username=data.get("email", ""),
            email=data.get("email", ""),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
        )

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords are different.")
        elif first:
            try:
                validate_password(first, user=self.user_for_validation())
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class PersonFields(forms.Form):
    first_name = forms.CharField(
        label="First name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label="Last name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    role_at_school = forms.CharField(
        label="Your role at the school",
        max_length=100,
        help_text="For example: Head of science, STEM co-ordinator, Deputy head.",
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )


class SignupForm(PersonFields, PasswordPair):
    email = forms.EmailField(
        label="Work e-mail address",
        max_length=254,
        help_text="Your school address if you have one: it can confirm at once that you work there.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    school = forms.ModelChoiceField(queryset=School.objects.filter(is_open=True), widget=forms.HiddenInput)

    field_order = ["first_name", "last_name", "email", "role_at_school", "password1", "password2", "school"]

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class InvitationSignupForm(PersonFields, PasswordPair):
    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def user_for_validation(self) -> User:
        user = super().user_for_validation()
        user.username = user.email = self.email
        return user


class ConfirmEmailForm(forms.Form):
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="The password you chose when you signed up.",
    )


class EmailInviteForm(forms.Form):
    email = forms.EmailField(
        label="Partner contact's e-mail address",
        max_length=254,
        help_text="The person at the partner school who will confirm that it joins.",
    )
    school = forms.ModelChoiceField(queryset=School.objects.all(), widget=forms.HiddenInput)


class VerificationDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    trust_domain = forms.BooleanField(required=False)
    reason = forms.CharField(
        label="Reason (needed to reject)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CloseAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    understood = forms.BooleanField(
        label="I understand that my account will be closed and my name and e-mail address removed",
    )


class InvitationCodeForm(forms.Form):
    """Answer an invitation with the one-time code e-mailed to the invited address."""

    code = forms.CharField(
        label="The 6-digit code from the e-mail",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    first_name = forms.CharField(
        label="First name",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label="Last name",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    role_at_school = forms.CharField(
        label="Your role at the school",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    answer = forms.ChoiceField(choices=[("confirm", "Confirm"), ("decline", "Decline")])
