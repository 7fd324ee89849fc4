from django import template

from messaging.delivery import unread_count

register = template.Library()


@register.simple_tag
def unread_notifications(user) -> int:
    """How many of the user's notifications are unread (one COUNT query)."""
    return unread_count(user)
