from django.http import HttpResponse
from django.shortcuts import render


def bad_request(request, message: str) -> HttpResponse:
    """A 400 page in the portal's layout that says what was wrong with the request."""
    return render(request, "400.html", {"message": message}, status=400)
