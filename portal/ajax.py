"""Endpoints that a page's script calls (autosave): they answer JSON, never an HTML error page.

A draft can go while its page is open: deleted, withdrawn or submitted by someone else, or the
person's right to change it taken away. The script then needs words it can show and a sign to
stop retrying (`stop`), while the page keeps what was typed. `json_endpoint` turns the "not
found" and "not allowed" a view raises (also from `refresh_from_db` or a service's `.get()`
after the page was drawn) into such an answer; a 500 never reaches the script for these.
"""

from functools import wraps

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, JsonResponse

KEEP_TEXT = "Nothing you typed is lost from this page: copy it before you leave."

GONE = "This draft is no longer in the portal (it may have been deleted), so it could not be saved."
NOT_ALLOWED = "You can no longer change this draft, so it could not be saved."


def refused(message: str, *, status: int) -> JsonResponse:
    """A save that can never succeed as things are: the script shows `message` and stops."""
    return JsonResponse(
        {"saved": False, "stop": True, "message": f"{message} {KEEP_TEXT}", "errors": {}}, status=status
    )


def json_endpoint(view):
    """Put outermost, above the role check, so every refusal the script can meet is JSON
    (anonymous people are still sent to the login page: the script says so)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (Http404, ObjectDoesNotExist):
            return refused(GONE, status=404)
        except PermissionDenied:
            return refused(NOT_ALLOWED, status=403)

    return wrapper
