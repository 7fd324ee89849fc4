from django.shortcuts import render

from partnerships.selectors import programmes_for
from portal.decorators import staff_required


@staff_required
def dashboard(request):
    programmes = programmes_for(request.user).prefetch_related("cohorts")
    return render(request, "evaluation/dashboard.html", {"programmes": programmes})
