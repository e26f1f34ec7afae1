from django.urls import path

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("definitions/", views.stage_definitions, name="definitions"),
]
