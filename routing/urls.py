from django.urls import path

from routing.views import lead, queue

app_name = "routing"

urlpatterns = [
    path("queue/", queue.assignment_queue, name="queue"),
    path("leads/<int:lead_id>/", lead.lead_workspace, name="lead_workspace"),
]
