from django.urls import path

from routing import views

app_name = "routing"

urlpatterns = [
    path("queue/", views.assignment_queue, name="queue"),
    path("leads/<int:lead_id>/", views.lead_workspace, name="lead_workspace"),
]
