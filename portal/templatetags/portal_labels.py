"""{{ value|label }} / {{ value|label:"audit_action" }}, {{ x|num:2 }}, {% interval low high 2 %}."""

from django import template

from portal import labels

register = template.Library()


@register.filter(name="label")
def label_filter(value, group=None) -> str:
    return labels.label(value, group)


@register.filter(name="num")
def num_filter(value, places=2) -> str:
    try:
        places = int(places)
    except (TypeError, ValueError):
        places = 2
    return labels.num(value, places)


@register.simple_tag(name="interval")
def interval_tag(low, high, places=2) -> str:
    return labels.interval(low, high, int(places))
