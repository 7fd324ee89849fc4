from django.shortcuts import render

from clusters.selectors import clusters_for
from portal.decorators import staff_required


@staff_required
def cluster_list(request):
    clusters = clusters_for(request.user).select_related("cohort__programme")
    return render(request, "clusters/cluster_list.html", {"clusters": clusters})
