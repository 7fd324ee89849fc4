from django.urls import path

from partnerships import public_views

app_name = "public"

urlpatterns = [
    path("programmes/", public_views.front_door, name="front_door"),
    path("programmes/check-a-school/", public_views.eligibility_check, name="eligibility_check"),
]
