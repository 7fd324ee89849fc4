"""Every message the portal sends, in one list. A kind names its subject (a template string
rendered with the message's context), its text and HTML templates, who it goes to (for the
reader: the recipients themselves come from the selectors of the app that knows the people),
whether it is mandatory (a decision or a security notice: no preference can silence it) and how
it is delivered unless the person chose otherwise.

The generic templates (emails/message.txt, emails/message.html) render a context with
`paragraphs`, optional `items`, `link` (a path in the portal, or an absolute URL) and
`link_label` (and `kept`: paragraphs after the opening text that no programme wording removes,
such as the comment from staff); a kind with more to show (a receipt with a copy of what was
submitted) names its own templates.
"""

from dataclasses import dataclass

from django.db import models


class Delivery(models.TextChoices):
    # The same choices as messaging.models.Preference.Delivery (kept here so that this list
    # loads without the models).
    IMMEDIATE = "immediate", "E-mail at once"
    DIGEST = "digest", "In a daily digest e-mail"
    PORTAL = "portal", "In the portal only"


@dataclass(frozen=True)
class MessageKind:
    key: str
    label: str
    subject: str
    recipients: str
    mandatory: bool = False
    delivery: Delivery = Delivery.IMMEDIATE
    text_template: str = "emails/message.txt"
    html_template: str = "emails/message.html"
    # Sent to an address rather than to an account (sign-up, invitations by e-mail): no
    # notification row, no preferences.
    address_only: bool = False
    # Programme staff may reword the kinds that have a `body` (messaging/programme_templates.py):
    # `subject` and `body` are then string.Template texts ($name) using only `placeholders`,
    # each (name, what it is, an example). The body is the opening text; what a message must
    # carry (a comment from staff, the amount, a copy of the answers, the link) is added below
    # it by the sender, so no wording can leave it out.
    body: str = ""
    placeholders: tuple = ()

    @property
    def editable(self) -> bool:
        return bool(self.body)

    @property
    def placeholder_names(self) -> list[str]:
        return [name for name, _what, _example in self.placeholders]


# Placeholders every application message offers (grants/notifications.py fills them).
APPLICATION = (
    ("name", "The application's reference and partnership", "ENT-2026-0012 · Fylde Coast STEM"),
    ("reference", "The application's reference", "ENT-2026-0012"),
    ("partnership", "The partnership's name", "Fylde Coast STEM"),
    ("school", "The lead school's name", "Alder Primary School"),
    ("programme", "The programme's name", "ENTHUSE Partnerships"),
    ("cohort", "The cohort (programme and round)", "ENTHUSE Partnerships 2026"),
)
AMOUNT = (("amount", "The amount, in pounds", "£12,000.00"),)
REQUESTED = (("requested", "The amount requested, in pounds", "£12,000.00"),)
AUTHOR = (("author", "The name of the person who wrote", "Carol Jones"),)

LEADS = "the school's verified leads"
LEAD_SCHOOL = "the lead school's verified leads"
# Both window reminders: an extended draft counts down to its own deadline (grants.reminders).
WINDOW_SUBJECT = (
    "{% if extended %}Your extended deadline for {{ cohort }} is {{ when }}"
    "{% else %}Applications to {{ cohort }} close {{ when }}{% endif %}"
)
STAFF = "the programme's staff"

KINDS: list[MessageKind] = [
    # --- Accounts and who speaks for a school (partnerships) ---------------------------------
    MessageKind(
        "email_confirm",
        "Confirm your e-mail address",
        "Confirm your e-mail address for the STEM Partnerships Portal",
        "the address signing up",
        mandatory=True,
        address_only=True,
    ),
    MessageKind(
        "already_registered",
        "Someone tried to sign up with your address",
        "You already have an account on the STEM Partnerships Portal",
        "the address signing up",
        mandatory=True,
        address_only=True,
    ),
    MessageKind(
        "verification_request",
        "A school lead asks to be verified",
        "Please confirm a school lead: {{ person }} at {{ school }}",
        "programme staff and admins",
    ),
    MessageKind(
        "verification_outcome",
        "Your lead verification was decided",
        "{% if approved %}You are verified as a lead of {{ school }}"
        "{% else %}We could not confirm you as a lead of {{ school }}{% endif %}",
        "the person who asked",
        mandatory=True,
    ),
    MessageKind(
        "data_import",
        "A public-data import finished or failed",
        "{{ title|default:'Public-data import' }}",
        "admins",
        mandatory=True,  # a failed daily refresh is an operational alarm
    ),
    MessageKind(
        "daily_digest",
        "Your daily summary",
        "Your daily summary: {{ count }} notification{{ count|pluralize }}",
        "each person who chose a digest for some kind (messaging.delivery.send_digests)",
        address_only=True,
    ),
    # --- Partnerships and invitations --------------------------------------------------------
    MessageKind(
        "membership_invited",
        "Your school is invited to a partnership",
        "Invitation to join {{ partnership }}",
        "the invited school's verified leads",
    ),
    MessageKind(
        "email_invitation",
        "An invitation by e-mail",
        "{% if reminder %}Reminder: {% endif %}Invitation for {{ school }} to join {{ partnership }}",
        "the invited address",
        address_only=True,
    ),
    MessageKind(
        "survey_invitation",
        "A teacher's survey link",
        "How useful was “{{ activity }}”? A short survey",
        "the teachers' addresses programme staff or a school's lead entered (clusters.surveys)",
        mandatory=True,  # sent on a person's request, to an address, once: no preference applies
        address_only=True,
    ),
    MessageKind(
        "invitation_code",
        "A one-time code to answer an invitation",
        "Your code to answer the invitation to {{ partnership }}: {{ code }}",
        "the invited address",
        mandatory=True,
        address_only=True,
    ),
    MessageKind(
        "invitation_answered",
        "An invited school answered",
        "{{ school }} {% if accepted %}accepted{% else %}declined{% endif %} "
        "the invitation to {{ partnership }}",
        LEAD_SCHOOL,
    ),
    MessageKind(
        "partner_confirmed",
        "A partner school now counts",
        "{{ school }} now counts in {{ partnership }}",
        LEAD_SCHOOL,
    ),
    MessageKind(
        "acceptance_withdrawn",
        "A partner school's acceptance is withdrawn",
        "{{ school }} is no longer in {{ partnership }}",
        LEAD_SCHOOL,
    ),
    # --- Reminders (partnerships/reminders.py, grants/reminders.py) ---------------------------
    MessageKind(
        "window_7d",
        "Applications close in a week",
        WINDOW_SUBJECT,
        LEAD_SCHOOL + " (draft applications)",
    ),
    MessageKind(
        "window_1d",
        "Applications close tomorrow",
        WINDOW_SUBJECT,
        LEAD_SCHOOL + " (draft applications)",
    ),
    MessageKind(
        "invitation_5d",
        "An invitation waits for your answer",
        "Reminder: {{ partnership }} is waiting for your answer",
        "the invited school's verified leads",
    ),
    MessageKind(
        "report_due",
        "A grant report is due",
        "Due soon: {{ report|default:'end-of-grant report' }} for {{ name }}",
        LEAD_SCHOOL,
    ),
    MessageKind(
        "report_overdue",
        "A grant report is overdue",
        "Overdue: {{ report|default:'end-of-grant report' }} for {{ name }}",
        LEAD_SCHOOL,
    ),
    MessageKind(
        "report_overdue_staff",
        "A grant report is long overdue",
        "Long overdue: {{ report|default:'end-of-grant report' }} for {{ name }}",
        STAFF,
    ),
    MessageKind(
        "staff_digest",
        "Applications waiting for review",
        "{{ count }} application{{ count|pluralize }} waiting for review over {{ days }} working days",
        STAFF,
    ),
    # --- Applications and grants (grants): programme staff may reword these ------------------
    MessageKind(
        "submission_receipt",
        "Receipt for your application",
        "Received: $name$resubmitted",
        LEAD_SCHOOL,
        body=(
            "Your application $reference to $cohort has been $action. Programme staff will review it; "
            "you will hear from us when they decide.\n\n"
            "Below is a copy of what you submitted. Quote the reference if you contact us."
        ),
        placeholders=(
            *APPLICATION,
            ("action", "“submitted”, or “resubmitted” after changes", "submitted"),
            ("resubmitted", "“ (resubmitted)” after changes, otherwise nothing", ""),
        ),
    ),
    MessageKind(
        "application_submitted",
        "An application was submitted for review",
        "For review: $name",
        STAFF,
        body="A new application has been submitted for review.",
        placeholders=(*APPLICATION, *REQUESTED),
    ),
    MessageKind(
        "application_resubmitted",
        "An application was resubmitted",
        "For review: $name",
        STAFF,
        body="An application has been resubmitted after changes were requested.",
        placeholders=(*APPLICATION, *REQUESTED),
    ),
    MessageKind(
        "report_submitted",
        "An end-of-grant report was submitted",
        "For review: $name",
        STAFF,
        body="An end-of-grant report has been submitted for review.",
        placeholders=(*APPLICATION, *REQUESTED),
    ),
    MessageKind(
        "below_minimum",
        "A grant's partnership fell below the minimum",
        "For review: $name",
        STAFF,
        body=(
            "An approved grant's partnership has fallen below the programme's minimum of schools (see the "
            "application's history)."
        ),
        placeholders=(*APPLICATION, *REQUESTED),
    ),
    MessageKind(
        "changes_requested",
        "Changes requested to your application",
        "Changes requested: $name",
        LEAD_SCHOOL,
        mandatory=True,
        body=(
            "Programme staff have asked for changes to your application. Please edit it and submit it again."
        ),
        placeholders=APPLICATION,
    ),
    MessageKind(
        "approved",
        "Your application was approved",
        "Approved: $name",
        LEAD_SCHOOL,
        mandatory=True,
        body="Your application has been approved.",
        placeholders=(*APPLICATION, *AMOUNT),
    ),
    MessageKind(
        "rejected",
        "Your application was not approved",
        "Not approved: $name",
        LEAD_SCHOOL,
        mandatory=True,
        body="Your application has not been approved.",
        placeholders=APPLICATION,
    ),
    MessageKind(
        "payment_paid",
        "An instalment of your grant was paid",
        "Instalment $sequence paid: $name",
        LEAD_SCHOOL,
        body="Instalment $sequence of your grant, $amount, has been paid.",
        placeholders=(*APPLICATION, *AMOUNT, ("sequence", "The instalment's number", "1")),
    ),
    MessageKind(
        "application_message_to_staff",
        "The applicant wrote in an application's conversation",
        "New message: $name",
        STAFF,
        body="$author wrote about the application $name:",
        placeholders=(*APPLICATION, *AUTHOR),
    ),
    MessageKind(
        "application_message_to_lead",
        "Programme staff wrote in your application's conversation",
        "New message about your application: $name",
        LEAD_SCHOOL,
        body="$author wrote about the application $name:",
        placeholders=(*APPLICATION, *AUTHOR),
    ),
    MessageKind(
        "report_accepted",
        "Your end-of-grant report was accepted",
        "Report accepted: $name",
        LEAD_SCHOOL,
        mandatory=True,
        body=(
            "Your end-of-grant report has been accepted; the final instalment has been released and the "
            "grant is complete."
        ),
        placeholders=APPLICATION,
    ),
    MessageKind(
        "report_returned",
        "Your end-of-grant report was returned",
        "Report returned: $name",
        LEAD_SCHOOL,
        mandatory=True,
        body=(
            "Programme staff have returned your end-of-grant report with comments. Please edit it and submit "
            "it again."
        ),
        placeholders=APPLICATION,
    ),
]

# Finance (issue 19)
KINDS += [
    MessageKind(
        "remittance_notice",
        "A payment of your grant was made (remittance notice)",
        "Remittance: {{ amount }} paid, reference {{ reference }}",
        LEAD_SCHOOL,
        text_template="emails/remittance.txt",
        html_template="emails/remittance.html",
    ),
    MessageKind(
        "agreement_reminder",
        "Your grant agreement waits for acceptance",
        "Accept your grant agreement: {{ name }}",
        LEAD_SCHOOL,
        mandatory=True,
    ),
    MessageKind(
        "agreement_lapsed",
        "Your grant agreement was not accepted in time",
        "Grant agreement not accepted in time: {{ name }}",
        LEAD_SCHOOL,
        mandatory=True,
    ),
    MessageKind(
        "agreement_reoffered",
        "Your grant agreement is offered again",
        "Grant agreement offered again: {{ name }}",
        LEAD_SCHOOL,
        mandatory=True,
    ),
    MessageKind(
        "agreement_declined",
        "A lead school declined its grant agreement",
        "Grant agreement declined: {{ name }}",
        STAFF,
    ),
    MessageKind(
        "payee_details_changed",
        "A school's payee (bank) details changed",
        "Payee details of {{ school }} changed",
        LEADS,
        mandatory=True,
    ),
    MessageKind(
        "budget_variation_requested",
        "A lead school asks to move money between budget lines",
        "Budget change asked for: {{ name }}",
        STAFF,
    ),
    MessageKind(
        "budget_variation_decided",
        "Your request to change the budget was decided",
        "Budget change {% if approved %}approved{% else %}refused{% endif %}: {{ name }}",
        LEAD_SCHOOL,
        mandatory=True,
    ),
]

# Review and deadlines (issue 17).
KINDS += [
    MessageKind(
        "deadline_extended",
        "Your application was given more time",
        "{% if reopened %}Reopened{% else %}More time{% endif %}: submit {{ name }} by {{ until }}",
        LEAD_SCHOOL,
        mandatory=True,  # it decides whether the school can still apply
    ),
    MessageKind(
        "reviewer_assigned",
        "You were asked to review an application",
        "Please review {{ reference }} ({{ cohort }})",
        "the reviewer assigned (under blind review, no applicant's name is in it)",
    ),
]

REGISTRY: dict[str, MessageKind] = {kind.key: kind for kind in KINDS}


def choosable() -> list[MessageKind]:
    """The kinds a person may choose how to receive (not mandatory, sent to accounts)."""
    return [kind for kind in KINDS if not kind.mandatory and not kind.address_only]


def editable() -> list[MessageKind]:
    """The kinds programme staff may reword for their programme."""
    return [kind for kind in KINDS if kind.editable]


def get(key: str) -> MessageKind:
    try:
        return REGISTRY[key]
    except KeyError:
        raise LookupError(f"No message kind {key!r}: add it to messaging/kinds.py") from None
