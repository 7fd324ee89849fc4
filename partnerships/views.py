from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from partnerships.selectors import lead_schools, partnerships_for


@login_required
def lead_home(request):
    partnerships = partnerships_for(request.user).select_related("cohort__programme", "lead_school")
    return render(
        request,
        "partnerships/lead_home.html",
        {"partnerships": partnerships, "schools": lead_schools(request.user)},
    )
