"""templates/portal/field.html draws a field as crispy's as_crispy_field did: label, widget with
Bootstrap's classes, the error next to the field (linked by aria-describedby), help text."""

import re
from pathlib import Path

from django import forms
from django.conf import settings
from django.template import engines

FIELD = '{% include "portal/field.html" %}'


class _Form(forms.Form):
    q = forms.CharField(label="Search", max_length=5, required=False, help_text="Reference or URN.")
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any"), ("a", "A & B"), ("b", "B")])
    mine = forms.BooleanField(label="Mine", required=False)


def _draw(form, name):
    return engines["django"].from_string(FIELD).render({"field": form[name]})


def test_an_error_is_shown_next_to_its_field_and_linked_to_it():
    form = _Form({"q": "too long", "kind": "zzz"})
    assert not form.is_valid()
    html = _draw(form, "q")
    assert '<label for="id_q" class="form-label">Search</label>' in html
    assert 'class="form-control is-invalid"' in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_q_helptext id_q_error"' in html
    assert re.search(
        r'<div id="id_q_error" class="invalid-feedback"><p id="error_1_id_q"><strong>Ensure', html
    )
    assert '<div id="id_q_helptext" class="form-text">Reference or URN.</div>' in html
    assert 'class="form-select is-invalid"' in _draw(form, "kind")


def test_a_select_keeps_its_choice_and_escapes_labels():
    html = _draw(_Form({"kind": "a"}), "kind")
    assert '<select name="kind" class="form-select" id="id_kind">' in html
    assert '<option value="a" selected>A &amp; B</option>' in html
    assert '<option value="">Any</option><option value="a"' in html


def test_a_checkbox_has_its_label_after_it():
    html = _draw(_Form({"mine": "on"}), "mine")
    assert re.search(
        r'<input type="checkbox" name="mine" class="form-check-input" id="id_mine" checked>\s*'
        r'<label for="id_mine" class="form-check-label">Mine</label>',
        html,
    )


def test_the_review_queue_draws_its_filters_without_crispy():
    source = (Path(settings.BASE_DIR) / "templates/grants/review_queue.html").read_text()
    assert "crispy" not in source
