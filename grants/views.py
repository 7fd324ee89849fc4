from django.shortcuts import render

from grants.models import Application
from portal.decorators import staff_required


@staff_required
def review_queue(request):
    applications = Application.objects.filter(cohort__programme__staff=request.user).select_related(
        "partnership", "cohort__programme"
    )
    return render(request, "grants/review_queue.html", {"applications": applications})
