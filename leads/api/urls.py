from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from leads.api import views

app_name = "leads-api"
urlpatterns = [
    path("auth/token/", obtain_auth_token, name="token"),
    path("leads/", views.LeadListApi.as_view(), name="lead-list"),
    path("leads/<int:lead_id>/", views.LeadDetailApi.as_view(), name="lead-detail"),
    path("accounts/", views.AccountListApi.as_view(), name="account-list"),
    path("accounts/<int:account_id>/", views.AccountDetailApi.as_view(), name="account-detail"),
    path("events/", views.EventListApi.as_view(), name="event-list"),
    path("events/<int:event_id>/", views.EventDetailApi.as_view(), name="event-detail"),
]
