from django.contrib.auth.models import AnonymousUser

from portal.roles import role_of


def role(request):
    # An error page can be drawn for a request the middleware never finished (an unknown Host
    # header is refused before AuthenticationMiddleware runs): no user then.
    return {"role": role_of(getattr(request, "user", None) or AnonymousUser()).value}
