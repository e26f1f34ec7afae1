from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser

from leads.api import views
from qualify_site.api.parsers import BoundedJSONParser

app_name = "leads-api"
urlpatterns = [
    # DRF's own view, with our JSON parser: its default one fails on deeply nested bodies with a 500.
    path(
        "auth/token/",
        ObtainAuthToken.as_view(parser_classes=[BoundedJSONParser, FormParser, MultiPartParser]),
        name="token",
    ),
    path("leads/", views.LeadListApi.as_view(), name="lead-list"),
    path("leads/<int:lead_id>/", views.LeadDetailApi.as_view(), name="lead-detail"),
    path("accounts/", views.AccountListApi.as_view(), name="account-list"),
    path("accounts/<int:account_id>/", views.AccountDetailApi.as_view(), name="account-detail"),
    path("events/", views.EventListApi.as_view(), name="event-list"),
    path("events/<int:event_id>/", views.EventDetailApi.as_view(), name="event-detail"),
]
