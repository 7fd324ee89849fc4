"""Messaging: the outbox, notifications and the one API every app uses to tell people things.

    import messaging
    messaging.send("approved", school_contacts(school), {...}, about=application)

The functions here load their modules lazily: this package is imported while Django loads its
apps, before models may be imported.
"""


def send(kind, recipients, context, *, about=None, fail_silently=True):
    from messaging.delivery import send as _send

    return _send(kind, recipients, context, about=about, fail_silently=fail_silently)


def muted():
    from messaging.delivery import muted as _muted

    return _muted()
