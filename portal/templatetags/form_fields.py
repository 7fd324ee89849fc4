"""{{ field|bootstrap_widget }}: a form field's widget with Bootstrap 5's classes (and
"is-invalid" when it has errors), for templates/portal/field.html.

That include draws a field as crispy-forms' `as_crispy_field` does (label, widget, errors, help),
without its per-field template machinery: on the review queue's ten filters crispy cost about
as much as the rest of the page. Django itself writes `aria-invalid` and `aria-describedby`
(the help text's and the errors' ids), so the include keeps those ids.

A single-choice <select> is written here in Python from the widget's own context (the same
attributes and options Django's select.html / select_option.html write): Django draws every
<option> through a template of its own, and the queue's selects have about sixty."""

from django import template
from django.forms import Select, SelectMultiple
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

register = template.Library()

WIDGET_CLASSES = {
    "select": "form-select",
    "selectmultiple": "form-select",
    "checkbox": "form-check-input",
}


@register.filter
def bootstrap_widget(field):
    css = WIDGET_CLASSES.get(field.widget_type, "form-control")
    if field.errors:
        css += " is-invalid"
    widget = field.field.widget
    if type(widget) is Select and not isinstance(widget, SelectMultiple):
        return _select(field, {"class": css})
    return field.as_widget(attrs={"class": css})


def _select(field, attrs):
    attrs = field.build_widget_attrs(attrs)
    if field.auto_id and "id" not in field.field.widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = field.field.widget.get_context(field.html_name, field.value(), attrs)["widget"]
    parts = []
    for group, options, _index in context["optgroups"]:
        rows = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((str(o["value"]), flatatt(o["attrs"]), o["label"]) for o in options),
        )
        parts.append(format_html('<optgroup label="{}">{}</optgroup>', group, rows) if group else rows)
    body = format_html_join("", "{}", ((p,) for p in parts))
    return format_html('<select name="{}"{}>{}</select>', context["name"], flatatt(context["attrs"]), body)
