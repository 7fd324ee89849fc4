from django import template

from portal.money import format_gbp

register = template.Library()


@register.filter
def gbp(value) -> str:
    """{{ amount|gbp }} -> £12,000.00"""
    return format_gbp(value)
