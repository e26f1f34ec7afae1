from django.urls import path

from routing.api import views

app_name = "routing-api"
urlpatterns = [
    path("queue/", views.AssignmentQueueApi.as_view(), name="queue"),
    path("assignments/", views.AssignmentListApi.as_view(), name="assignment-list"),
    path("assignments/<int:assignment_id>/", views.AssignmentDetailApi.as_view(), name="assignment-detail"),
    path("assignments/<int:assignment_id>/accept/", views.AssignmentAcceptApi.as_view(), name="assignment-accept"),
    path("assignments/<int:assignment_id>/reject/", views.AssignmentRejectApi.as_view(), name="assignment-reject"),
    path(
        "assignments/<int:assignment_id>/activities/",
        views.AssignmentActivityCreateApi.as_view(),
        name="assignment-activities",
    ),
    path(
        "assignments/<int:assignment_id>/meeting/", views.AssignmentMeetingBookApi.as_view(), name="assignment-meeting"
    ),
    path("assignments/<int:assignment_id>/convert/", views.AssignmentConvertApi.as_view(), name="assignment-convert"),
    path(
        "assignments/<int:assignment_id>/disqualify/",
        views.AssignmentDisqualifyApi.as_view(),
        name="assignment-disqualify",
    ),
    path(
        "assignments/<int:assignment_id>/request-reassignment/",
        views.AssignmentRequestReassignmentApi.as_view(),
        name="assignment-request-reassignment",
    ),
    path(
        "assignments/<int:assignment_id>/reassign/", views.AssignmentReassignApi.as_view(), name="assignment-reassign"
    ),
    path("leads/<int:lead_id>/route/", views.LeadRouteApi.as_view(), name="lead-route"),
    path("leads/<int:lead_id>/preview/", views.LeadRoutePreviewApi.as_view(), name="lead-preview"),
    path("leads/<int:lead_id>/timeline/", views.LeadTimelineApi.as_view(), name="lead-timeline"),
    path("leads/<int:lead_id>/owner/", views.LeadOwnerSetApi.as_view(), name="lead-owner"),
    path("accounts/<int:account_id>/owner/", views.AccountOwnerSetApi.as_view(), name="account-owner"),
    path("reps/<int:rep_id>/capacity/", views.RepCapacitySetApi.as_view(), name="rep-capacity"),
    path("reps/<int:rep_id>/out-of-office/", views.RepOutOfOfficeAddApi.as_view(), name="rep-out-of-office"),
]
