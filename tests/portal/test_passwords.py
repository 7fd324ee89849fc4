"""No "too similar to the username" for people who never chose one (issue 21)."""

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError


def messages_for(password, user):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=user)
    return " ".join(refused.value.messages)


def test_a_lead_whose_username_is_their_address_hears_about_the_address():
    lead = User(username="rosa.lind@harbour.sch.uk", email="rosa.lind@harbour.sch.uk")

    text = messages_for("rosa.lind@harbour", lead)

    assert "username" not in text
    assert "email address" in text


def test_someone_who_chose_a_username_still_hears_about_it():
    staff = User(username="carolsmith", email="carol@example.org")

    assert "username" in messages_for("carolsmith1", staff)
