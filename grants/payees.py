"""A school's payee details: its finance contact and the bank account its grant is paid into
(issue 19).

Validation is of the format only, as UK banks publish it for BACS: a sort code of 6 digits
(typed with or without dashes or spaces), an account number of 8 digits (6 or 7 digits are
padded with leading zeros, as banks instruct), an account name of at most 18 characters. No
modulus check: none of the well-kept libraries in the registry does UK modulus checking
(schwifty validates IBANs and BICs, python-stdnum has no UK bank account), and the Vocalink
weight tables change several times a year; finance confirm a new account with the school before
paying it (the e-mail below goes to every verified lead of the school).

Who may change them: a verified lead of the school, or the finance team. Programme staff may not
and never see them in full (shown masked; the full numbers only to finance). Every change is
recorded (PayeeChange, numbers masked) and e-mailed to the school's verified leads.
"""

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction

from grants import notifications
from grants.models import PayeeChange, PayeeDetails
from partnerships.models import School, SchoolLead
from partnerships.selectors import school_contacts
from portal.roles import is_finance

LABELS = {
    "finance_contact_name": "finance contact",
    "finance_contact_email": "finance contact's e-mail",
    "account_name": "account name",
    "sort_code": "sort code",
    "account_number": "account number",
}
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9 &\-./']{1,18}$")


def may_edit(user, school) -> bool:
    if is_finance(user):
        return True
    return SchoolLead.objects.filter(user=user, school=school, verified_at__isnull=False).exists()


def may_see_full(user) -> bool:
    return is_finance(user)


def clean_sort_code(value) -> str:
    digits = re.sub(r"[\s-]", "", value or "")
    if not re.fullmatch(r"\d{6}", digits):
        raise ValidationError({"sort_code": "Enter a sort code of 6 digits, like 30-99-50."})
    return digits


def clean_account_number(value) -> str:
    digits = re.sub(r"\s", "", value or "")
    if not re.fullmatch(r"\d{6,8}", digits):
        raise ValidationError({"account_number": "Enter an account number of 8 digits, like 12345678."})
    return digits.zfill(8)


def clean(data: dict) -> dict:
    errors, cleaned = {}, {}
    name = (data.get("finance_contact_name") or "").strip()
    if not name or len(name) > 200:
        errors["finance_contact_name"] = (
            "Enter the name of the school's finance contact (200 characters at most)."
        )
    cleaned["finance_contact_name"] = name
    email = (data.get("finance_contact_email") or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        errors["finance_contact_email"] = (
            "Enter the finance contact's e-mail address, like bursar@school.sch.uk."
        )
    cleaned["finance_contact_email"] = email
    account_name = " ".join((data.get("account_name") or "").split())
    if not ACCOUNT_NAME.fullmatch(account_name):
        errors["account_name"] = (
            "Enter the name on the account as the bank shows it: at most 18 letters, digits, spaces "
            "and & - . / '."
        )
    cleaned["account_name"] = account_name
    for field, cleaner in (("sort_code", clean_sort_code), ("account_number", clean_account_number)):
        try:
            cleaned[field] = cleaner(data.get(field))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _masked(field, value) -> str:
    if field == "sort_code":
        return f"••-••-{value[-2:]}"
    if field == "account_number":
        return f"••••{value[-4:]}"
    return value


def payee_save(*, school_id: int, by, data: dict) -> PayeeDetails:
    """Create or change a school's payee details; audited and e-mailed to its verified leads."""
    with transaction.atomic():
        school = School.objects.select_for_update().get(pk=school_id)
        if not may_edit(by, school):
            raise PermissionDenied(
                "Only a verified lead of the school or the finance team can change its payee details."
            )
        cleaned = clean(data)
        payee = PayeeDetails.objects.select_for_update().filter(school=school).first()
        if payee is None:
            changed = list(LABELS)
            payee = PayeeDetails(school=school)
            before = {}
        else:
            changed = [f for f in LABELS if getattr(payee, f) != cleaned[f]]
            before = {f: getattr(payee, f) for f in changed}
            if not changed:
                return payee
        for field, value in cleaned.items():
            setattr(payee, field, value)
        payee.updated_by = by
        payee.save()
        summary = "; ".join(
            f"{LABELS[f]}: {_masked(f, before[f]) if f in before else '(none)'} → {_masked(f, cleaned[f])}"
            for f in changed
        )
        PayeeChange.objects.create(school=school, changed_by=by, fields=changed, summary=summary)
        notifications.send_payee_changed(
            school, recipients=school_contacts(school.pk), by=by, fields=[LABELS[f] for f in changed]
        )
    return payee
