from django.urls import path

from routing.views import actions, lead, queue

app_name = "routing"

urlpatterns = [
    path("queue/", queue.assignment_queue, name="queue"),
    path("leads/<int:lead_id>/", lead.lead_workspace, name="lead_workspace"),
    path("assignments/<int:assignment_id>/accept/", actions.assignment_accept, name="assignment_accept"),
    path("assignments/<int:assignment_id>/log/", actions.assignment_log, name="assignment_log"),
    path("assignments/<int:assignment_id>/reject/", actions.assignment_reject, name="assignment_reject"),
]
