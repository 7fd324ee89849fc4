from django.http import HttpResponse
from django.shortcuts import render


def bad_request(request, message: str) -> HttpResponse:
    """A 400 page in the portal's layout that says what was wrong with the request (the plain
    error page, with the same words, if the layout cannot be drawn)."""
    try:
        return render(request, "400.html", {"message": message}, status=400)
    except Exception:
        from portal.views import plain_error

        return plain_error(400, message)
