from django.urls import path

from routing import views

app_name = "routing"

urlpatterns = [
    path("leads/<int:lead_id>/", views.lead_workspace, name="lead_workspace"),
]
