from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from portal.roles import Role, role_of


def role_required(*roles: Role):
    """Logged-in users with one of `roles`; others get a 403 page, anonymous users the login page."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if role_of(request.user) not in roles:
                raise PermissionDenied(
                    "This page is for " + " or ".join(r.label.lower() for r in roles) + "."
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


staff_required = role_required(Role.STAFF, Role.ADMIN)
lead_required = role_required(Role.LEAD)
admin_required = role_required(Role.ADMIN)
finance_required = role_required(Role.FINANCE, Role.ADMIN)
# The payments pages: programme staff read their programmes' payments; finance acts on them.
payments_required = role_required(Role.STAFF, Role.FINANCE, Role.ADMIN)
